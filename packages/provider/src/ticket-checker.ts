import { requestSignatureValid } from "./request-signature";
import type { ProofVerifier, VerificationHint } from "./ticket-verifier";

/** A ticket's request signature to check: the ephemeral key's (Ed25519) signature of the request hash. */
export interface RequestSignatureCheck {
    readonly message: bigint;
    readonly signature: Uint8Array;
    readonly publicKey: Uint8Array;
}

/** A ticket to check: its request signature first, then (only if that holds) its Spend proof. */
export interface TicketCheck extends VerificationHint {
    readonly requestSignature: RequestSignatureCheck;
    readonly proof: readonly bigint[];
    readonly publicSignals: readonly bigint[];
    /**
     * True if the calling thread has I/O to get on with (an upstream call started ahead of the
     * checks, not answered yet): nothing of the check is then computed on it, even when a
     * worker is idle.
     */
    readonly keepThreadFree?: boolean;
}

/** A ticket check's verdict: "invalid-signature" whatever the proof (verified only when it ran alongside, on an idle pool). */
export type TicketVerdict = "valid" | "invalid-signature" | "invalid-proof";

/** Checks a ticket's request signature and Spend proof (in-thread, or on verification workers). */
export interface TicketChecker {
    checkTicket(check: TicketCheck): Promise<TicketVerdict>;
}

/** The request signature check itself, the same in-thread and on a worker. */
export function requestSignatureHolds(check: RequestSignatureCheck): boolean {
    return requestSignatureValid(check.message, check.signature, check.publicKey);
}

/** Checks the signature on the calling thread, then verifies the proof with any ProofVerifier. */
export class InThreadTicketChecker implements TicketChecker {
    constructor(private readonly verifier: ProofVerifier) {}

    async checkTicket(check: TicketCheck): Promise<TicketVerdict> {
        if (!requestSignatureHolds(check.requestSignature)) return "invalid-signature";
        const valid = await this.verifier.verify(check.proof, check.publicSignals, { alone: check.alone === true });
        return valid ? "valid" : "invalid-proof";
    }
}

/** A verifier that checks whole tickets itself (a VerificationPool), or an in-thread checker around it. */
export function ticketCheckerFor(verifier: ProofVerifier | (ProofVerifier & TicketChecker)): TicketChecker {
    return "checkTicket" in verifier && typeof verifier.checkTicket === "function" ? verifier : new InThreadTicketChecker(verifier);
}
