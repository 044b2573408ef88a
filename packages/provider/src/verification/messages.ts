import type { ProviderPrivateKey, Signature, VerificationKey } from "@zk-api-credits/protocol";
import type { BatchVerifierStats, Groth16BatchItem, Groth16BatchVerifierOptions } from "../batch-verifier";
import type { BaseToSign, ChargeToSign, SignedCharge } from "../provider-signer";
import type { RequestSignatureCheck, TicketVerdict } from "../ticket-checker";

/** What a verification worker is started with. */
export interface WorkerSetup {
    readonly verificationKey: VerificationKey;
    readonly engine: Groth16BatchVerifierOptions;
    /** The provider's signing key, if this worker signs charges and bases (it never leaves the process). */
    readonly signingKey?: ProviderPrivateKey;
}

/** A proof to verify, after its request signature if it has one (a bad signature: the proof is not verified). */
export interface CheckItem extends Groth16BatchItem {
    readonly requestSignature?: RequestSignatureCheck;
}

/** Something to sign with the provider key. */
export type SignJob = { readonly kind: "charge"; readonly request: ChargeToSign } | { readonly kind: "base"; readonly request: BaseToSign };

/** What signing one job gave. */
export type SignOutcome =
    | { readonly kind: "charge"; readonly signed: SignedCharge }
    | { readonly kind: "base"; readonly signature: Signature }
    | { readonly kind: "error"; readonly message: string };

/**
 * A batch for a worker: jobs to sign (done first, answered at once), then items to check; or
 * (with `split`, and nothing else) one proof to check split with the calling thread
 * (Groth16BatchVerifier.verifySplit): the worker waits for a SplitKeyLoops of the same id.
 */
export interface WorkerRequest {
    readonly id: number;
    readonly signs: readonly SignJob[];
    readonly checks: readonly CheckItem[];
    readonly split?: Groth16BatchItem;
}

/** The calling thread's half of a split check (keyMillerLoops), or null: the ticket is refused (verdict "invalid-proof", nothing more computed). */
export interface SplitKeyLoops {
    readonly kind: "key-loops";
    readonly id: number;
    readonly loops: Uint8Array | null;
}

/** What the pool sends a worker. */
export type WorkerMessage = WorkerRequest | SplitKeyLoops;

/** What a worker answers: once ready (or not), then per batch its signatures (if any) and its verdicts. */
export type WorkerReply =
    | { readonly kind: "ready" }
    | { readonly kind: "failed"; readonly message: string }
    | { readonly kind: "signed"; readonly id: number; readonly outcomes: readonly SignOutcome[] }
    | { readonly kind: "verified"; readonly id: number; readonly verdicts: readonly TicketVerdict[]; readonly stats: BatchVerifierStats }
    | { readonly kind: "error"; readonly id: number; readonly message: string };
