import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { providerPublicKey } from "@zk-api-credits/protocol";
import type { Point, ProviderPrivateKey, Signature, VerificationKey } from "@zk-api-credits/protocol";
import { assertVerificationKey, Groth16BatchVerifier, loadVerificationKey } from "../batch-verifier";
import type { BatchVerifierStats, Groth16BatchItem, Groth16BatchVerifierOptions } from "../batch-verifier";
import type { BaseToSign, ChargeToSign, ProviderSigner, SignedCharge } from "../provider-signer";
import { requestSignatureHolds } from "../ticket-checker";
import type { RequestSignatureCheck, TicketCheck, TicketChecker, TicketVerdict } from "../ticket-checker";
import type { ProofVerifier } from "../ticket-verifier";
import type { CheckItem, SignJob, SignOutcome, SplitKeyLoops, WorkerReply, WorkerRequest, WorkerSetup } from "./messages";

export interface VerificationPoolOptions {
    /** Worker threads, each with its own engine (default: one per CPU but one, at least 1, at most 4). */
    readonly threads?: number;
    /** Most proofs sent to a worker at once (default 64). */
    readonly maxBatch?: number;
    /** Passed to each worker's engine (group sizes, failure smoothing). */
    readonly engine?: Groth16BatchVerifierOptions;
    /** The provider's signing key: the workers then sign charges and bases too (see providerSigner()). */
    readonly signingKey?: ProviderPrivateKey;
    /**
     * When a ticket finds the pool idle (nothing queued, no worker busy), split its check between
     * the idle worker and the calling thread (default true): the worker checks the proof's
     * points and computes the Miller loop of (A, B) while the calling thread checks the request
     * signature and computes the key's Miller loops on an engine of its own; the worker then
     * finishes with the final exponentiation. A lone ticket's checks then take the longer half
     * plus the final exponentiation (6.9 ms p50 against 9.5 with the signature and then the
     * proof on the worker: scripts/bench/verification.ts, "lone ticket", same run). A ticket
     * that finds the pool busy has its request signature checked on the calling thread, and
     * its proof queued only if the signature holds (so a bad one costs no pairing): under load
     * the workers are what limits throughput, and the calling thread has time to spare
     * (PostgreSQL bench, same hour: 262 → 289 req/s median). A ticket marked `alone` (a
     * suspect client's) is checked signature first on a worker; so is a ticket marked
     * `keepThreadFree` (its upstream call, started ahead, is still waiting to be sent or
     * answered on the calling thread: computing there would delay it). False: every ticket
     * is checked on a worker, signature first.
     */
    readonly overlapWhenIdle?: boolean;
}

/** A task waiting for (or on) a worker. */
interface Pending<Task, Result> {
    readonly task: Task;
    readonly resolve: (result: Result) => void;
    readonly reject: (error: unknown) => void;
    /** Workers that died with this task in flight (it is retried once on another). */
    attempts: number;
}

type PendingCheck = Pending<CheckItem, TicketVerdict>;
type PendingSign = Pending<SignJob, SignOutcome>;

/** What the pool did besides verifying proofs (counted as each check ends: on a worker, as its answer arrives). */
export interface PoolTaskStats {
    /** Request signatures checked, and how many of them were refused (their proofs never verified, unless split). */
    readonly signatureChecks: number;
    readonly invalidSignatures: number;
    /** Of those, the signatures of split checks, checked on the calling thread (overlapWhenIdle). */
    readonly overlapped: number;
    /** Of those, the signatures checked on the calling thread before their proofs were queued for a busy pool (overlapWhenIdle). */
    readonly checkedHere: number;
    /** Charges and bases signed on the workers. */
    readonly signatures: number;
}

interface Slot {
    readonly worker: Worker;
    ready: boolean;
    /** The batch in flight, if any (one at a time per worker); its signs are settled first. */
    inFlight?: {
        readonly id: number;
        signs: PendingSign[];
        readonly checks: PendingCheck[];
        /** A split check: its signature was checked on the calling thread (counted there). */
        readonly split?: boolean;
    };
    stats?: BatchVerifierStats;
    /** The worker ended (crashed, or terminated by close()). */
    gone: boolean;
}

/** One verification thread by default on 2 CPUs: the event loop keeps the other. */
export function defaultVerificationThreads(): number {
    const cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
    return Math.max(1, Math.min(4, cpus - 1));
}

/** The worker's entry: the compiled worker.js next to this file, or worker.ts through ts-node when running from the sources. */
function workerEntry(): { file: string; execArgv?: string[] } {
    const compiled = path.join(__dirname, "worker.js");
    if (existsSync(compiled)) return { file: compiled };
    return { file: path.join(__dirname, "worker.ts"), execArgv: ["--require", "ts-node/register/transpile-only"] };
}

const SUMMED = ["batches", "proofs", "malformed", "invalid", "pairingChecks", "groupChecks", "failedGroups", "singleChecks"] as const;

/**
 * A {@link ProofVerifier} that verifies Groth16 proofs of one key on worker threads, so that
 * pairings never block the gateway's event loop (HTTP, the store) and run on the other cores.
 * It is also a {@link TicketChecker} (on a busy pool each ticket's request signature is checked
 * before its proof, on the calling thread or for a suspect client on the worker, and a bad one
 * costs no pairing; a lone ticket on an idle pool has its check split between the idle worker and
 * the calling thread) and, given the provider's signing key, it
 * signs charges and bases on the workers (providerSigner()). Each worker holds a warm batch-verification engine (batch-verifier.ts). A proof
 * is sent as soon as a worker is idle; the proofs that arrive while every worker is busy wait
 * and go together, up to `maxBatch`, to the next worker that frees up: batches grow with the
 * load by themselves, and a lone proof waits for nothing. Verdicts are the engine's: exact
 * per proof, whatever else shared its batch. A worker that dies is replaced and its batch
 * retried once on another.
 */
export class VerificationPool implements ProofVerifier {
    private readonly setup: WorkerSetup;
    private readonly maxBatch: number;
    private readonly threads: number;
    private readonly slots: Slot[] = [];
    private readonly checks: PendingCheck[] = [];
    private readonly signs: PendingSign[] = [];
    private readonly publicKey?: Point<bigint>;
    private readonly counts = { signatureChecks: 0, invalidSignatures: 0, overlapped: 0, checkedHere: 0, signatures: 0 };
    private readonly overlapWhenIdle: boolean;
    /** This thread's engine, for the second half of split checks (overlapWhenIdle). */
    private local?: Groth16BatchVerifier;
    private readonly started: Promise<void>;
    private nextId = 0;
    private closed = false;
    private startError?: Error;
    /** Counters of the workers that ended (so that stats never go backwards). */
    private readonly retired: Record<(typeof SUMMED)[number], number> = { batches: 0, proofs: 0, malformed: 0, invalid: 0, pairingChecks: 0, groupChecks: 0, failedGroups: 0, singleChecks: 0 };

    constructor(verificationKey: string | VerificationKey, options: VerificationPoolOptions = {}) {
        const key = loadVerificationKey(verificationKey);
        assertVerificationKey(key); // fail now on a malformed key
        this.setup = { verificationKey: key, engine: options.engine ?? {}, signingKey: options.signingKey };
        if (options.signingKey !== undefined) this.publicKey = providerPublicKey(options.signingKey);
        this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 64));
        this.overlapWhenIdle = options.overlapWhenIdle ?? true;
        this.threads = Math.max(1, Math.floor(options.threads ?? defaultVerificationThreads()));
        const starts: Promise<void>[] = [];
        for (let i = 0; i < this.threads; i++) starts.push(this.spawn());
        if (this.overlapWhenIdle) {
            starts.push(
                Groth16BatchVerifier.create(key, { ...this.setup.engine, yieldEvery: 1 << 20 }).then((engine) => {
                    this.local = engine;
                })
            );
        }
        this.started = Promise.all(starts).then(() => undefined);
        this.started.catch(() => undefined); // reported by ready() and verify()
    }

    /** Resolves once every worker has built its engine (rejects if the key's points are invalid). */
    ready(): Promise<void> {
        return this.started;
    }

    /** The workers' counters summed (failureRate: the highest of the workers'). */
    get stats(): BatchVerifierStats {
        const total = { ...this.retired };
        let failureRate = 0;
        for (const slot of this.slots) {
            if (slot.stats === undefined) continue;
            for (const name of SUMMED) total[name] += slot.stats[name];
            failureRate = Math.max(failureRate, slot.stats.failureRate);
        }
        return { ...total, failureRate };
    }

    /** Counters of the signature checks and signings the workers did. */
    get taskStats(): PoolTaskStats {
        return { ...this.counts };
    }

    /** Verifies one proof; `hint.alone` keeps it out of every combined check (a suspect client's proof). */
    async verify(proof: readonly bigint[], publicSignals: readonly bigint[], hint?: { readonly alone?: boolean }): Promise<boolean> {
        return (await this.enqueue(this.checks, { proof, publicSignals, alone: hint?.alone === true })) === "valid";
    }

    /**
     * Checks a ticket: its request signature, then (only if that holds) its proof on a worker;
     * the signature on this thread for a busy pool, on the worker for a ticket marked `alone` or
     * `keepThreadFree`; on an idle pool, split across the idle worker and this thread (see
     * overlapWhenIdle).
     */
    checkTicket(check: TicketCheck): Promise<TicketVerdict> {
        const local = this.local;
        if (local !== undefined && check.alone !== true && check.keepThreadFree !== true && this.idle()) return this.checkSplit(check, local);
        if (this.overlapWhenIdle && check.alone !== true && check.keepThreadFree !== true) return this.checkSignatureHere(check);
        return this.enqueue(this.checks, { proof: check.proof, publicSignals: check.publicSignals, alone: check.alone === true, requestSignature: check.requestSignature });
    }

    /**
     * A busy pool: the request signature is checked on this thread, and the proof queued for the
     * workers only if it holds (a bad signature still costs no pairing). Under load the workers
     * are what limits throughput and this thread has time to spare; a suspect client's ticket,
     * or one whose call started ahead still needs this thread, is checked on a worker instead.
     */
    private async checkSignatureHere(check: TicketCheck): Promise<TicketVerdict> {
        // A closed or broken pool refuses every ticket, as enqueue() does, before any check.
        if (this.closed) throw new Error("the verification pool is closed");
        if (this.startError !== undefined) throw this.startError;
        const holds = requestSignatureHolds(check.requestSignature);
        this.counts.signatureChecks++;
        this.counts.checkedHere++;
        if (!holds) {
            this.counts.invalidSignatures++;
            return "invalid-signature";
        }
        return this.enqueue(this.checks, { proof: check.proof, publicSignals: check.publicSignals, alone: false });
    }

    /**
     * True if the whole pool is idle: nothing waits, no worker is busy, and one is ready (a proof
     * sent now starts at once). Under any load, tickets are checked signature first on the workers,
     * and the calling thread is left to its I/O.
     */
    private idle(): boolean {
        if (this.closed || this.startError !== undefined || this.checks.length > 0 || this.signs.length > 0) return false;
        return this.slots.every((slot) => slot.inFlight === undefined) && this.slots.some((slot) => slot.ready && !slot.gone);
    }

    /**
     * A split check (overlapWhenIdle): the proof goes to the idle worker first (posted before
     * this thread does anything else), which checks its points and computes the Miller loop of
     * (A, B); meanwhile the request signature is checked here, then the key's Miller loops are
     * computed here and handed over; the worker multiplies, finishes with the final
     * exponentiation and answers, counting the proof as its own. A bad signature hands over
     * nothing (the worker stops) and is answered once the worker is free again, so that the next
     * ticket finds the pool idle. If the worker dies, the proof is checked whole on another.
     */
    private async checkSplit(check: TicketCheck, local: Groth16BatchVerifier): Promise<TicketVerdict> {
        const item: Groth16BatchItem = { proof: check.proof, publicSignals: check.publicSignals };
        const split = this.sendSplit(item, check.requestSignature);
        split.verdict.catch(() => undefined); // awaited below
        let holds = false;
        let keyLoops: Uint8Array | undefined;
        try {
            holds = requestSignatureHolds(check.requestSignature);
            this.counts.signatureChecks++;
            this.counts.overlapped++;
            if (holds) keyLoops = await local.keyMillerLoops(item);
        } finally {
            split.handOver(keyLoops);
        }
        if (!holds) {
            this.counts.invalidSignatures++;
            await split.verdict.catch(() => undefined);
            return "invalid-signature";
        }
        return split.verdict;
    }

    /** Posts a split check to an idle worker (the caller checked that one is); `handOver` sends this thread's half. */
    private sendSplit(item: Groth16BatchItem, requestSignature: RequestSignatureCheck): { readonly verdict: Promise<TicketVerdict>; handOver(keyLoops: Uint8Array | undefined): void } {
        const slot = this.slots.find((candidate) => candidate.ready && !candidate.gone && candidate.inFlight === undefined);
        if (slot === undefined) return { verdict: Promise.reject(new Error("no idle verification worker")), handOver: () => undefined };
        const id = this.nextId++;
        let fail: (error: unknown) => void = () => undefined;
        const verdict = new Promise<TicketVerdict>((resolve, reject) => {
            fail = reject;
            // If this worker dies, the check is retried whole on another, signature first (a bad one then costs no pairing).
            const task: CheckItem = { ...item, alone: false, requestSignature };
            slot.inFlight = { id, signs: [], checks: [{ task, resolve, reject, attempts: 0 }], split: true };
        });
        const request: WorkerRequest = { id, signs: [], checks: [], split: item };
        try {
            slot.worker.postMessage(request);
        } catch (error) {
            slot.inFlight = undefined;
            fail(error);
            return { verdict, handOver: () => undefined };
        }
        slot.worker.ref();
        return {
            verdict,
            handOver: (keyLoops) => {
                // Not if the worker already answered (a malformed proof) or died (the check was retried whole).
                if (slot.gone || slot.inFlight?.id !== id) return;
                const message: SplitKeyLoops = { kind: "key-loops", id, loops: keyLoops ?? null };
                slot.worker.postMessage(message);
            }
        };
    }

    /** Signs charges and bases with the provider key on the workers (undefined if the pool has no signing key). */
    providerSigner(): ProviderSigner | undefined {
        const publicKey = this.publicKey;
        if (publicKey === undefined) return undefined;
        const sign = async (job: SignJob): Promise<SignOutcome> => {
            const outcome = await this.enqueue(this.signs, job);
            if (outcome.kind === "error") throw new Error(`signing failed: ${outcome.message}`);
            return outcome;
        };
        return {
            publicKey,
            signCharge: async (request: ChargeToSign): Promise<SignedCharge> => {
                const outcome = await sign({ kind: "charge", request });
                if (outcome.kind !== "charge") throw new Error("a verification worker answered a charge with another kind of signature");
                return outcome.signed;
            },
            signBase: async (request: BaseToSign): Promise<Signature> => {
                const outcome = await sign({ kind: "base", request });
                if (outcome.kind !== "base") throw new Error("a verification worker answered a base with another kind of signature");
                return outcome.signature;
            }
        };
    }

    private enqueue<Task, Result>(queue: Pending<Task, Result>[], task: Task): Promise<Result> {
        if (this.closed) return Promise.reject(new Error("the verification pool is closed"));
        if (this.startError !== undefined) return Promise.reject(this.startError);
        return new Promise<Result>((resolve, reject) => {
            queue.push({ task, resolve, reject, attempts: 0 });
            this.pump();
        });
    }

    /** Verifies what is queued or in flight, then stops the workers. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        await this.started.catch(() => undefined);
        await new Promise<void>((resolve) => {
            const check = (): void => {
                if (this.slots.length === 0) this.failQueue(new Error("the verification pool has no worker left"));
                if (this.checks.length === 0 && this.signs.length === 0 && this.slots.every((slot) => slot.inFlight === undefined || slot.gone)) resolve();
                else setTimeout(check, 5);
            };
            check();
        });
        await Promise.all(
            this.slots.map(async (slot) => {
                slot.gone = true;
                await slot.worker.terminate();
            })
        );
        await this.local?.close();
    }

    private spawn(): Promise<void> {
        const entry = workerEntry();
        const worker = new Worker(entry.file, { workerData: this.setup, execArgv: entry.execArgv });
        worker.unref(); // referenced only while a batch is in flight
        const slot: Slot = { worker, ready: false, gone: false };
        this.slots.push(slot);
        return new Promise<void>((resolve, reject) => {
            worker.on("message", (reply: WorkerReply) => {
                if (reply.kind === "ready") {
                    slot.ready = true;
                    resolve();
                    this.pump();
                } else if (reply.kind === "failed") {
                    this.startError = new Error(`a verification worker could not start: ${reply.message}`);
                    reject(this.startError);
                    this.failQueue(this.startError);
                    void worker.terminate();
                } else {
                    this.settle(slot, reply);
                }
            });
            worker.on("error", (error) => {
                if (!slot.ready) {
                    this.startError = error;
                    reject(error);
                    this.failQueue(error);
                }
                this.retire(slot, error);
            });
            worker.on("exit", (code) => this.retire(slot, new Error(`a verification worker exited with code ${code}`)));
        });
    }

    /** Sends what is queued to every idle worker: all the signs waiting, and up to maxBatch checks. */
    private pump(): void {
        for (const slot of this.slots) {
            if (this.checks.length === 0 && this.signs.length === 0) return;
            if (!slot.ready || slot.gone || slot.inFlight !== undefined) continue;
            const signs = this.signs.splice(0, this.maxBatch);
            const checks = this.checks.splice(0, this.maxBatch);
            const id = this.nextId++;
            slot.inFlight = { id, signs, checks };
            slot.worker.ref();
            const request: WorkerRequest = { id, signs: signs.map((pending) => pending.task), checks: checks.map((pending) => pending.task) };
            slot.worker.postMessage(request);
        }
    }

    private settle(slot: Slot, reply: Extract<WorkerReply, { id: number }>): void {
        const flight = slot.inFlight;
        if (flight === undefined || flight.id !== reply.id) return;
        if (reply.kind === "signed") {
            // The signs are answered before the batch's proofs are verified.
            flight.signs.forEach((pending, i) => {
                const outcome = reply.outcomes[i];
                if (outcome === undefined) pending.reject(new Error("a verification worker answered too few signatures"));
                else pending.resolve(outcome);
            });
            this.counts.signatures += reply.outcomes.filter((outcome) => outcome.kind !== "error").length;
            flight.signs = [];
            return;
        }
        slot.inFlight = undefined;
        slot.worker.unref();
        if (reply.kind === "verified") {
            slot.stats = reply.stats;
            flight.checks.forEach((pending, i) => {
                if (pending.task.requestSignature !== undefined && flight.split !== true) this.counts.signatureChecks++;
                if (reply.verdicts[i] === "invalid-signature") this.counts.invalidSignatures++;
                pending.resolve(reply.verdicts[i] ?? "invalid-proof");
            });
        } else {
            const error = new Error(`proof verification failed: ${reply.message}`);
            for (const pending of [...flight.signs, ...flight.checks]) pending.reject(error);
        }
        this.pump();
    }

    /** A worker ended: its batch is retried once elsewhere, and a replacement starts (unless closing). */
    private retire(slot: Slot, error: Error): void {
        if (slot.gone && slot.inFlight === undefined) return;
        const wasGone = slot.gone;
        slot.gone = true;
        const flight = slot.inFlight;
        slot.inFlight = undefined;
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        if (slot.stats !== undefined) for (const name of SUMMED) this.retired[name] += slot.stats[name];
        if (flight !== undefined) {
            this.retry(flight.signs, this.signs, error);
            this.retry(flight.checks, this.checks, error);
        }
        if (!wasGone && !this.closed && slot.ready && this.startError === undefined) {
            this.spawn().catch(() => undefined);
        }
        this.pump();
    }

    /** Puts a dead worker's tasks back at the head of their queue, once; fails them the second time. */
    private retry<Task, Result>(tasks: Pending<Task, Result>[], queue: Pending<Task, Result>[], error: Error): void {
        for (const pending of [...tasks].reverse()) {
            pending.attempts++;
            if (pending.attempts > 1 || this.closed) pending.reject(error);
            else queue.unshift(pending);
        }
    }

    private failQueue(error: Error): void {
        for (const pending of this.signs.splice(0)) pending.reject(error);
        for (const pending of this.checks.splice(0)) pending.reject(error);
    }
}
