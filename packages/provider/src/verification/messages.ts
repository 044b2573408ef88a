import type { VerificationKey } from "@zk-api-credits/protocol";
import type { BatchVerifierStats, Groth16BatchItem, Groth16BatchVerifierOptions } from "../batch-verifier";

/** What a verification worker is started with. */
export interface WorkerSetup {
    readonly verificationKey: VerificationKey;
    readonly engine: Groth16BatchVerifierOptions;
}

/** A batch for a worker to verify. */
export interface WorkerRequest {
    readonly id: number;
    readonly items: readonly Groth16BatchItem[];
}

/** What a worker answers: once ready (or not), then one verdict list per batch. */
export type WorkerReply =
    | { readonly kind: "ready" }
    | { readonly kind: "failed"; readonly message: string }
    | { readonly kind: "verified"; readonly id: number; readonly results: readonly boolean[]; readonly stats: BatchVerifierStats }
    | { readonly kind: "error"; readonly id: number; readonly message: string };
