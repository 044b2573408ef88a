/**
 * A verification worker thread: one warm batch-verification engine (batch-verifier.ts) for
 * one verification key, handling the batches the pool (pool.ts) sends, one at a time. A batch
 * may carry jobs to sign with the provider key (signed first and answered at once) and items
 * to check: each item's request signature, if it has one, then the proofs of the items whose
 * signature holds, verified together (a junk signature costs no pairing); or one proof checked
 * split with the calling thread (its point checks, the Miller loop of (A, B) and the final
 * exponentiation here, the key's Miller loops there: Groth16BatchVerifier.verifySplit).
 */
import "./no-web-worker"; // first: before ffjavascript is loaded
import { parentPort, workerData } from "node:worker_threads";
import { EdDSAPoseidonSigner } from "@zk-api-credits/protocol";
import { Groth16BatchVerifier } from "../batch-verifier";
import { useWasmPoseidon } from "../poseidon-wasm";
import { servingSigner, signChargeWith } from "../provider-signer";
import { requestSignatureHolds } from "../ticket-checker";
import type { TicketVerdict } from "../ticket-checker";
import type { CheckItem, SignJob, SignOutcome, WorkerMessage, WorkerReply, WorkerSetup } from "./messages";

const port = parentPort;
if (port === null) throw new Error("verification/worker.ts runs as a worker thread");
const setup = workerData as WorkerSetup;
const post = (reply: WorkerReply): void => port.postMessage(reply);
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function sign(signer: EdDSAPoseidonSigner | undefined, job: SignJob): SignOutcome {
    if (signer === undefined) return { kind: "error", message: "this verification worker has no signing key" };
    try {
        if (job.kind === "charge") return { kind: "charge", signed: signChargeWith(signer, job.request) };
        return { kind: "base", signature: signer.signBase(job.request.context, job.request.base) };
    } catch (error) {
        return { kind: "error", message: message(error) };
    }
}

async function check(engine: Groth16BatchVerifier, items: readonly CheckItem[]): Promise<TicketVerdict[]> {
    const verdicts: TicketVerdict[] = items.map(() => "invalid-signature");
    const toVerify = items.flatMap((item, index) => (item.requestSignature === undefined || requestSignatureHolds(item.requestSignature) ? [index] : []));
    for (const index of toVerify) verdicts[index] = "invalid-proof";
    if (toVerify.length === 0) return verdicts;
    const results = await engine.verify(toVerify.map((index) => ({ proof: items[index]!.proof, publicSignals: items[index]!.publicSignals, alone: items[index]!.alone })));
    toVerify.forEach((index, i) => {
        if (results[i] === true) verdicts[index] = "valid";
    });
    return verdicts;
}

// A worker has no event loop to share: yield only between Miller-loop chunks.
// A worker that signs hashes twice per charge: Poseidon in WebAssembly first.
Promise.all([Groth16BatchVerifier.create(setup.verificationKey, { yieldEvery: 1 << 20, ...setup.engine }), setup.signingKey === undefined ? undefined : useWasmPoseidon()]).then(
    ([engine]) => {
        const signer = setup.signingKey === undefined ? undefined : servingSigner(setup.signingKey);
        /** Split checks waiting for the calling thread's half, by batch id. */
        const keyLoops = new Map<number, (loops: Uint8Array | undefined) => void>();
        port.on("message", (request: WorkerMessage) => {
            if ("kind" in request) {
                // Ignored if the check already ended (its proof was malformed).
                keyLoops.get(request.id)?.(request.loops ?? undefined);
                keyLoops.delete(request.id);
                return;
            }
            if (request.split !== undefined) {
                const id = request.id;
                const loops = new Promise<Uint8Array | undefined>((resolve) => keyLoops.set(id, resolve));
                engine.verifySplit(request.split, loops).then(
                    (valid) => post({ kind: "verified", id, verdicts: [valid ? "valid" : "invalid-proof"], stats: engine.stats }),
                    (error: unknown) => post({ kind: "error", id, message: message(error) })
                ).finally(() => keyLoops.delete(id));
                return;
            }
            if (request.signs.length > 0) post({ kind: "signed", id: request.id, outcomes: request.signs.map((job) => sign(signer, job)) });
            check(engine, request.checks).then(
                (verdicts) => post({ kind: "verified", id: request.id, verdicts, stats: engine.stats }),
                (error: unknown) => post({ kind: "error", id: request.id, message: message(error) })
            );
        });
        post({ kind: "ready" });
    },
    (error: unknown) => post({ kind: "failed", message: message(error) })
);
