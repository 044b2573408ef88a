/** What a {@link WriteBatcher} sent so far. */
export interface WriteBatchStats {
    /** Writes submitted. */
    readonly writes: number;
    /** Batches sent: one statement each (a lone write is a batch of one); the per-row look-ups of repeats and fallbacks are not counted. */
    readonly statements: number;
    /** Batches whose statement the database refused, so that each of their writes was sent again on its own. */
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
    /**
     * True if a failed batch statement surely wrote nothing, so that its writes may be sent
     * again one by one (e.g. the database refused it). Otherwise (a connection lost, perhaps
     * after the commit) every write of the batch fails with the error, as a lone write would.
     */
    readonly refusedWhole: (error: unknown) => boolean;
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
 * refuses fails alone and never takes the others with it. A statement whose fate is unknown
 * (the connection broke, perhaps after the commit) fails every write of its batch, as it
 * would have failed a lone write: sent again, a write would find its own row and answer as
 * if it had come twice.
 *
 * One statement of each kind is in flight at a time, so a statement that waits (a lock, a
 * slow link) holds back the writes queued behind it; callers keep lock waits short by writing
 * rows in one order (see the PostgreSQL store).
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
        const one = (queued: Queued<Item, Result>): Promise<void> =>
            Promise.resolve()
                .then(() => this.options.one(queued.item))
                .then(queued.resolve, queued.reject);
        if (batch.length === 1) return one(batch[0]!);
        let results: readonly (Result | Promise<Result>)[];
        try {
            results = await this.options.many(batch.map((queued) => queued.item));
        } catch (error) {
            if (!this.options.refusedWhole(error)) {
                for (const queued of batch) queued.reject(error);
                return;
            }
            this.counts.fallbacks++;
            await Promise.all(batch.map(one));
            return;
        }
        if (results.length !== batch.length) {
            for (const result of results) void Promise.resolve(result).catch(() => undefined);
            const error = new Error(`a batched write answered ${results.length} results for ${batch.length} writes`);
            for (const queued of batch) queued.reject(error);
            return;
        }
        batch.forEach((queued, i) => void Promise.resolve(results[i]!).then(queued.resolve, queued.reject));
    }
}
