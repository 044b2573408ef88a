import { GENESIS_CHECKPOINT, nextCheckpoint, RegistryTree } from "@zk-api-credits/protocol";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { readFileIfExists, writeFileDurably } from "./durable-file";
import { SdkError } from "./errors";

/** One registration, as the registry's `Registered` event carries it. */
export interface Registration {
    readonly identityCommitment: bigint;
    readonly amount: bigint;
}

/** What a sync has established: the registrations up to a block, and their hash chain. */
export interface SyncSnapshot {
    readonly registrations: readonly Registration[];
    readonly checkpoint: string;
    readonly syncedBlock: number;
}

/** Where a sync keeps its progress between runs (so a restart resumes, not restarts). */
export interface SyncCache {
    load(): Promise<SyncSnapshot | undefined>;
    save(snapshot: SyncSnapshot): Promise<void>;
}

export class FileSyncCache implements SyncCache {
    constructor(readonly file: string) {}

    async load(): Promise<SyncSnapshot | undefined> {
        const text = readFileIfExists(this.file);
        if (text === undefined) return undefined;
        const raw = JSON.parse(text) as { registrations: [string, string][]; checkpoint: string; syncedBlock: number };
        return {
            registrations: raw.registrations.map(([idc, amount]) => ({ identityCommitment: BigInt(idc), amount: BigInt(amount) })),
            checkpoint: raw.checkpoint,
            syncedBlock: raw.syncedBlock
        };
    }

    async save(snapshot: SyncSnapshot): Promise<void> {
        const registrations = snapshot.registrations.map((r) => [r.identityCommitment.toString(), r.amount.toString()]);
        writeFileDurably(this.file, JSON.stringify({ registrations, checkpoint: snapshot.checkpoint, syncedBlock: snapshot.syncedBlock }));
    }
}

export interface RegistrySyncOptions {
    readonly registry: ICreditRegistry;
    /** The registry's deployment block: nothing before it is scanned. */
    readonly fromBlock: number;
    readonly cache?: SyncCache;
    /** Largest block range per eth_getLogs call (RPC providers cap it). */
    readonly maxBlockRange?: number;
    /** Blocks to stay behind the head (reorg safety on public chains). */
    readonly confirmations?: number;
    /** Called with the root after every leaf, in order (the gateway keeps recent roots). */
    readonly onRoot?: (root: bigint, leafCount: number) => void;
}

/**
 * Rebuilds the registry tree from the `Registered` events, incrementally and resumably, and
 * proves the event list complete: the hash chain over the events must equal the registry's
 * own checkpoint at the same block. A node or provider that withholds, reorders or alters
 * an event is caught here (CHECKPOINT_MISMATCH) instead of silently splitting the anonymity set.
 */
export class RegistrySync {
    private readonly registrations: Registration[] = [];
    private checkpoint = GENESIS_CHECKPOINT;
    private syncedBlock: number;
    private readonly treeInstance = new RegistryTree();
    private loaded = false;

    constructor(private readonly options: RegistrySyncOptions) {
        this.syncedBlock = options.fromBlock - 1;
    }

    /** The tree as of the last sync. */
    get tree(): RegistryTree {
        return this.treeInstance;
    }

    get leafCount(): number {
        return this.registrations.length;
    }

    get block(): number {
        return this.syncedBlock;
    }

    /** Fetches new registrations up to the head (minus confirmations) and verifies them. */
    async sync(): Promise<RegistryTree> {
        await this.loadCache();
        const runner = this.options.registry.runner;
        const provider = runner?.provider;
        if (provider == null) throw new Error("the registry contract needs a provider to sync");
        const head = (await provider.getBlockNumber()) - (this.options.confirmations ?? 0);
        if (head <= this.syncedBlock) return this.treeInstance;

        const range = this.options.maxBlockRange ?? 10_000;
        const fresh: Registration[] = [];
        for (let from = this.syncedBlock + 1; from <= head; from += range) {
            const to = Math.min(head, from + range - 1);
            const events = await this.options.registry.queryFilter(this.options.registry.filters.Registered(), from, to);
            for (const event of events) {
                const expected = this.registrations.length + fresh.length;
                if (Number(event.args.leafIndex) !== expected) {
                    throw new SdkError("CHECKPOINT_MISMATCH", `event for leaf ${event.args.leafIndex} where leaf ${expected} was expected`);
                }
                fresh.push({ identityCommitment: event.args.identityCommitment, amount: event.args.amount });
            }
        }
        let checkpoint = this.checkpoint;
        for (const registration of fresh) checkpoint = nextCheckpoint(checkpoint, registration.identityCommitment, registration.amount);
        const count = this.registrations.length + fresh.length;
        const onChain = await this.options.registry.checkpointAt(count, { blockTag: head });
        if (onChain !== checkpoint) {
            throw new SdkError("CHECKPOINT_MISMATCH", `the ${count} registrations received do not hash to the registry's checkpoint at block ${head}`);
        }
        this.append(fresh);
        this.checkpoint = checkpoint;
        this.syncedBlock = head;
        await this.options.cache?.save({ registrations: this.registrations, checkpoint, syncedBlock: head });
        return this.treeInstance;
    }

    /**
     * Syncs until the tree holds at least `leafCount` leaves (a registration just mined may
     * not be visible yet to a provider that caches the block number), or fails after `timeoutMs`.
     */
    async syncUntil(leafCount: number, timeoutMs = 30_000): Promise<RegistryTree> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const tree = await this.sync();
            if (tree.size >= leafCount) return tree;
            if (Date.now() > deadline) throw new SdkError("CHECKPOINT_MISMATCH", `the registry has ${tree.size} registrations, expected at least ${leafCount}`);
            await new Promise((resolve) => setTimeout(resolve, 250));
        }
    }

    private append(registrations: readonly Registration[]): void {
        if (registrations.length === 0) return;
        const onRoot = this.options.onRoot;
        if (onRoot === undefined) {
            this.registrations.push(...registrations);
            this.treeInstance.insertMany(registrations.map((r) => ({ identityCommitment: r.identityCommitment, deposit: r.amount })));
            return;
        }
        for (const registration of registrations) {
            this.registrations.push(registration);
            this.treeInstance.insert(registration.identityCommitment, registration.amount);
            onRoot(this.treeInstance.root, this.registrations.length);
        }
    }

    private async loadCache(): Promise<void> {
        if (this.loaded) return;
        this.loaded = true;
        const snapshot = await this.options.cache?.load();
        if (snapshot === undefined || snapshot.syncedBlock < this.options.fromBlock) return;
        let checkpoint = GENESIS_CHECKPOINT;
        for (const registration of snapshot.registrations) checkpoint = nextCheckpoint(checkpoint, registration.identityCommitment, registration.amount);
        if (checkpoint !== snapshot.checkpoint) return; // a corrupt cache is ignored: sync from scratch
        this.append(snapshot.registrations);
        this.checkpoint = checkpoint;
        this.syncedBlock = snapshot.syncedBlock;
    }
}
