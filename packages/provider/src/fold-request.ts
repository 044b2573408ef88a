import {
    EnvelopeError,
    foldAnswerBody,
    parseFoldRequest,
    isFieldElement
} from "@zk-api-credits/protocol";
import type { FoldRequest, RegistryDeployment, Signature } from "@zk-api-credits/protocol";
import { inCurve } from "@zk-kit/baby-jubjub";
import { GatewayError } from "./errors";
import type { GatewayMetrics } from "./metrics";
import { admissionRefusal, errorReply } from "./paid-request";
import type { AdmittedCheck, GatewayReply, ProofAdmission } from "./paid-request";
import { InThreadProviderSigner } from "./provider-signer";
import type { ProviderSigner } from "./provider-signer";
import type { NullifierStore } from "./store/types";
import { foldSignals } from "./ticket-verifier";
import type { ProofVerifier } from "./ticket-verifier";

export interface FoldHandlerOptions {
    readonly deployment: RegistryDeployment;
    readonly signingKey: string | Uint8Array;
    /** Signs new bases with that key (default: on the event loop). */
    readonly signer?: ProviderSigner;
    readonly store: NullifierStore;
    /** Verifies Fold proofs (the fold-2 verification key). */
    readonly verifier: ProofVerifier;
    readonly metrics: GatewayMetrics;
    /** Refuses clients whose proofs keep failing (the same admission as paid requests). */
    readonly admission?: ProofAdmission;
    readonly now?: () => number;
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;
const signatureJson = (s: Signature): string => JSON.stringify({ R8: [hex(s.R8[0]), hex(s.R8[1])], S: hex(s.S) });
function signatureFromJson(text: string): Signature {
    const raw = JSON.parse(text) as { R8: [string, string]; S: string };
    return { R8: [BigInt(raw.R8[0]), BigInt(raw.R8[1])], S: BigInt(raw.S) };
}

/**
 * The free fold route (docs/protocol.md, "Fold"): verifies a Fold proof, records its fold
 * nullifier atomically with the new base, and signs the new base with the base tag. The same
 * fold again gets the stored signature (signing is deterministic); another fold of the same
 * base is refused, so an account's signed bases form one chain; a fold nullifier that a
 * withdrawal disclosed is closed.
 */
export class FoldHandler {
    private readonly signer: ProviderSigner;
    private readonly now: () => number;

    constructor(private readonly options: FoldHandlerOptions) {
        this.signer = options.signer ?? new InThreadProviderSigner(options.signingKey);
        this.now = options.now ?? Date.now;
    }

    async handle(body: Buffer, client = ""): Promise<GatewayReply> {
        try {
            return await this.process(body, client);
        } catch (error) {
            if (error instanceof GatewayError) {
                this.options.metrics.folds.inc({ outcome: error.code });
                this.options.metrics.rejected.inc({ reason: error.code });
                return errorReply(error);
            }
            throw error;
        }
    }

    private async process(body: Buffer, client: string): Promise<GatewayReply> {
        const admission = this.options.admission;
        const admitted = admission?.admit(client, "proof");
        if (typeof admitted === "string") throw admissionRefusal(admitted, "proofs");
        // The admitted check ends in exactly one of failed() or released().
        let checked: FoldRequest;
        let failed = false;
        try {
            checked = await this.check(body, admitted, () => (failed = true));
        } finally {
            if (!failed) admitted?.released();
        }
        return this.record(checked, client);
    }

    /** Parses a fold and verifies its proof (`markFailed` is told before a failed check is reported to admission). */
    private async check(body: Buffer, admitted: AdmittedCheck | undefined, markFailed: () => void): Promise<FoldRequest> {
        let fold: FoldRequest;
        try {
            fold = parseFoldRequest(body);
        } catch (error) {
            if (error instanceof EnvelopeError) throw new GatewayError(400, error.code === "UNSUPPORTED_VERSION" ? "UNSUPPORTED_VERSION" : "MALFORMED_BODY", error.message);
            throw error;
        }
        const { context } = this.options.deployment.parameters;
        if (fold.context !== context) throw new GatewayError(422, "WRONG_CONTEXT", "the fold is bound to another registry, provider key or terms");
        if (!isFieldElement(fold.newBase[0]) || !isFieldElement(fold.newBase[1]) || !inCurve(fold.newBase)) {
            throw new GatewayError(400, "MALFORMED_BODY", "newBase is not a point of Baby Jubjub");
        }
        // The pairing is due: a client the gateway does not know may be throttled here (its cheap checks passed).
        const held = admitted?.holdForProof();
        if (typeof held === "string") throw admissionRefusal(held, "proofs");
        if (!(await this.options.verifier.verify(fold.proof, foldSignals(fold), { alone: held?.alone === true }))) {
            markFailed();
            admitted?.failed();
            throw new GatewayError(403, "INVALID_PROOF", "the Fold proof does not verify");
        }
        return fold;
    }

    /** Signs and records a verified fold (or answers the one recorded for its base). */
    private async record(fold: FoldRequest, client: string): Promise<GatewayReply> {
        const { context } = this.options.deployment.parameters;
        const signature = await this.signer.signBase({ context, base: fold.newBase });
        const result = await this.options.store.recordFold(
            {
                foldNullifier: hex(fold.foldNullifier),
                newBase: JSON.stringify([hex(fold.newBase[0]), hex(fold.newBase[1])]),
                proof: JSON.stringify(fold.proof.map(hex)),
                signature: signatureJson(signature)
            },
            this.now()
        );
        if (result.kind === "closed") throw new GatewayError(403, "FOLD_CLOSED", "a withdrawal disclosed this base: it cannot be folded any more");
        if (result.kind === "conflict") throw new GatewayError(409, "FOLD_ALREADY_USED", "this base was already folded into another new base");
        if (result.kind !== "replay") this.options.admission?.recorded?.(client);
        const answer = result.kind === "replay" ? signatureFromJson(result.record.signature) : signature;
        this.options.metrics.folds.inc({ outcome: result.kind });
        return {
            status: 200,
            headers: { "content-type": "application/json" },
            body: Buffer.from(foldAnswerBody({ version: 2, foldNullifier: fold.foldNullifier, newBase: fold.newBase, signature: answer }))
        };
    }
}
