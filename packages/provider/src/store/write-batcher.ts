/** What a {@link WriteBatcher} sent so far. */
export interface WriteBatchStats {
    /** Writes submitted. */
    readonly writes: number;
    /** Statements that carried them: one per batch (a lone write is a batch of one). */
    readonly statements: number;
    /** Batches whose statement failed, so that each of their writes was sent again on its own. */
    readonly fallbacks: number;
}

export interface WriteBatcherOptions<Item, Result> {
    /** Writes one item with its own statement (the path of a lone write). */
    readonly one: (item: Item) => Promise<Result>;
    /**
     * Writes several items with one statement. Resolves once that statement is done, with one
     * entry per item, in order: its result, or a promise of it for an item that needs more work
     * of its own (which then succeeds or fails alone). Rejects only if the statement failed.
     */
    readonly many: (items: readonly Item[]) => Promise<readonly (Result | Promise<Result>)[]>;
    /** Most items in one statement (default 64). */
    readonly maxBatch?: number;
}

interface Queued<Item, Result> {
    readonly item: Item;
    readonly resolve: (result: Result) => void;
    readonly reject: (error: unknown) => void;
}

/**
 * Groups the single-row writes of one kind (recording a ticket, storing a charge) into fewer
 * statements, as a database's group commit groups their commits. A write that finds no
 * statement of its kind in flight is sent at once, alone: a request that comes alone waits for
 * nothing. Writes that arrive while a statement is in flight wait for it and then go together,
 * up to `maxBatch`, in the next one: batches grow with the load by themselves, and each write
 * waits at most for the statement in flight.
 *
 * Each write gets its own result, as if it had been sent alone (`many` must keep that promise,
 * e.g. one write per key per statement). A statement that fails wrote nothing (one statement is
 * one transaction), so each of its writes is sent again with `one`: a write the database
 * refuses fails alone and never takes the others with it. (Should the connection break after
 * the commit, each write sent again finds its own row, as a lone write whose answer was lost
 * would when its client tries again.)
 */
export class WriteBatcher<Item, Result> {
    private readonly queue: Queued<Item, Result>[] = [];
    private readonly maxBatch: number;
    private inFlight = false;
    private readonly counts = { writes: 0, statements: 0, fallbacks: 0 };

    constructor(private readonly options: WriteBatcherOptions<Item, Result>) {
        this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 64));
    }

    get stats(): WriteBatchStats {
        return { ...this.counts };
    }

    submit(item: Item): Promise<Result> {
        this.counts.writes++;
        return new Promise<Result>((resolve, reject) => {
            this.queue.push({ item, resolve, reject });
            if (!this.inFlight) void this.send();
        });
    }

    /** Sends what waits, one statement at a time, until nothing waits. */
    private async send(): Promise<void> {
        this.inFlight = true;
        try {
            while (this.queue.length > 0) {
                const batch = this.queue.splice(0, this.maxBatch);
                this.counts.statements++;
                await this.write(batch);
            }
        } finally {
            this.inFlight = false;
        }
    }

    private async write(batch: readonly Queued<Item, Result>[]): Promise<void> {
        if (batch.length === 1) {
            const [only] = batch;
            await this.options.one(only!.item).then(only!.resolve, only!.reject);
            return;
        }
        let results: readonly (Result | Promise<Result>)[];
        try {
            results = await this.options.many(batch.map((queued) => queued.item));
            if (results.length !== batch.length) throw new Error(`a batched write answered ${results.length} results for ${batch.length} writes`);
        } catch {
            this.counts.fallbacks++;
            await Promise.all(batch.map((queued) => this.options.one(queued.item).then(queued.resolve, queued.reject)));
            return;
        }
        batch.forEach((queued, i) => void Promise.resolve(results[i]!).then(queued.resolve, queued.reject));
    }
}
