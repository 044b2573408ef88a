import type { RegistryTerms } from "@zk-api-credits/protocol";
import { key } from "./account-record";
import type { PreparedTicket } from "./account-record";
import type { AccountBook } from "./account-book";
import { SdkError } from "./errors";
import type { TicketProver } from "./ticket-prover";
import { freeIndices } from "./ticket-window";
import type { OwnerLiveness } from "./ticket-window";

/** Progress of the pre-proving pool: "proving ticket 3/8". */
export interface ProvingProgress {
    readonly circuit: "spend" | "fold" | "withdraw";
    readonly phase: "start" | "done";
    /** The ticket index (spend) or the base folded (fold). */
    readonly index?: bigint;
    /** Spend, pre-proving: this is ticket `position` of the `total` the pool keeps ready. */
    readonly position?: number;
    readonly total?: number;
}

export interface TicketPoolOptions {
    readonly book: AccountBook;
    readonly prover: TicketProver;
    readonly terms: RegistryTerms;
    readonly alive: OwnerLiveness;
    /** Tickets to keep proved ahead (0: none). */
    readonly target: number;
    readonly onError: (error: unknown) => void;
    /** Back-off after an error (the gateway down, the chain unreachable). */
    readonly retryMs: number;
}

/**
 * Keeps the next free indices of the window proved ahead, in the background, so that a request
 * waits for no proving. A prepared ticket stays valid across folds (a stale base only tightens
 * solvency) but not across epochs: one whose root is no longer accepted is proved again (same
 * index, same x). Prepared tickets live in the account file, so every process using the
 * account can use them. Each index is looked up at the gateway before its first proof.
 */
export class TicketPool {
    private running?: Promise<void>;
    private again = false;
    private stopped = false;
    private readonly waiters: { count: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
    private readonly inProgress = new Map<bigint, Promise<PreparedTicket | undefined>>();

    constructor(private readonly options: TicketPoolOptions) {}

    /** True while the pool proves `index`. */
    isProving(index: bigint): boolean {
        return this.inProgress.has(index);
    }

    /** Waits for the pool's proof of `index` if it is being proved now (a request that claims it uses that proof). */
    async proofInProgress(index: bigint): Promise<void> {
        await this.inProgress.get(index)?.catch(() => undefined);
    }

    /** Starts (or re-runs) the pool: after a ticket was used, a fold, an epoch change. */
    kick(): void {
        if (this.stopped || this.options.target === 0) return;
        if (this.running !== undefined) {
            this.again = true;
            return;
        }
        this.running = this.run().finally(() => {
            this.running = undefined;
            if (this.again) {
                this.again = false;
                this.kick();
            }
        });
    }

    /** Resolves once `count` tickets (at most the pool's target) are ready, or fails with the pool's error. */
    ready(count = this.options.target): Promise<void> {
        return new Promise((resolve, reject) => {
            this.waiters.push({ count: Math.min(count, this.options.target), resolve, reject });
            this.kick();
        });
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.running;
        for (const waiter of this.waiters.splice(0)) waiter.reject(new SdkError("CLOSED", "the client was closed"));
    }

    private settleWaiters(ready: number, error?: unknown): void {
        for (let i = this.waiters.length - 1; i >= 0; i--) {
            const waiter = this.waiters[i]!;
            if (error !== undefined) waiter.reject(error);
            else if (ready >= waiter.count) waiter.resolve();
            else continue;
            this.waiters.splice(i, 1);
        }
    }

    private async run(): Promise<void> {
        const { book, prover, terms, alive, target } = this.options;
        for (let failures = 0; !this.stopped; ) {
            try {
                const record = await book.read();
                if (record === undefined || record.withdrawal !== undefined) {
                    this.settleWaiters(0, new SdkError(record === undefined ? "NOT_REGISTERED" : "ACCOUNT_CLOSED", "no tickets can be prepared"));
                    return;
                }
                await prover.sync();
                const candidates = freeIndices(record, terms, alive, target);
                const ready = candidates.filter((index) => prover.isUsable(record.prepared[key(index)]));
                this.settleWaiters(candidates.length === 0 ? target : ready.length);
                const index = candidates.find((i) => !prover.isUsable(record.prepared[key(i)]));
                if (index === undefined) {
                    // Everything the window allows is ready; a waiter asking for more than the window allows is done too.
                    this.settleWaiters(target);
                    return;
                }
                const shown = record.prepared[key(index)] !== undefined || record.tickets[key(index)]?.status === "released";
                // The index is in progress from the look-up on, so a request that takes it meanwhile
                // waits for this proof instead of proving the same index a second time.
                const proving = (async (): Promise<PreparedTicket | undefined> => {
                    if (!shown && (await prover.checkUnused(index)) === "used") return undefined;
                    return prover.prove(index, record, "background", { position: ready.length + 1, total: candidates.length });
                })();
                this.inProgress.set(index, proving);
                let prepared: PreparedTicket | undefined;
                try {
                    prepared = await proving;
                    if (prepared !== undefined) await book.storePrepared(index, prepared);
                } finally {
                    this.inProgress.delete(index);
                }
                if (prepared === undefined) continue;
                failures = 0;
            } catch (error) {
                if (error instanceof SdkError && (error.code === "INSOLVENT" || error.code === "NOT_IN_EPOCH" || error.code === "ACCOUNT_CLOSED")) {
                    this.settleWaiters(0, error);
                    return;
                }
                this.options.onError(error);
                this.settleWaiters(0, error);
                failures++;
                await new Promise((resolve) => setTimeout(resolve, this.options.retryMs * 2 ** Math.min(failures - 1, 5)));
            }
        }
    }
}
