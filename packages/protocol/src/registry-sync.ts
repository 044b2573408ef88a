import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { ProtocolError } from "./errors";
import { GENESIS_CHECKPOINT, nextCheckpoint } from "./registry";
import { RegistryTree } from "./tree";

/**
 * One event that changes the registry tree: a registration appends a leaf; a departure
 * (withdrawal requested, slashed, expired) empties the deposit's leaf.
 */
export type TreeEvent =
    | { readonly kind: "registered"; readonly block: number; readonly identityCommitment: bigint; readonly leafIndex: number; readonly amount: bigint }
    | { readonly kind: "departed"; readonly block: number; readonly identityCommitment: bigint };

/** What a sync has established: every tree event up to a block, and the registrations' hash chain. */
export interface SyncSnapshot {
    readonly events: readonly TreeEvent[];
    readonly checkpoint: string;
    readonly syncedBlock: number;
}

/** Where a sync keeps its progress between runs (so a restart resumes, not restarts). */
export interface SyncCache {
    load(): Promise<SyncSnapshot | undefined>;
    save(snapshot: SyncSnapshot): Promise<void>;
}

/** An epoch root: the registry tree after every event of blocks ≤ boundary. */
export interface EpochRoot {
    readonly epoch: number;
    readonly boundary: number;
    readonly root: bigint;
}

export interface RegistrySyncOptions {
    readonly registry: ICreditRegistry;
    /** The registry's deployment block: nothing before it is scanned. */
    readonly fromBlock: number;
    /** Blocks per epoch (the registry's epochBlocks). */
    readonly epochBlocks: number;
    readonly cache?: SyncCache;
    /** Largest block range per eth_getLogs call (RPC providers cap it). */
    readonly maxBlockRange?: number;
    /** Blocks to stay behind the head (reorg safety on public chains). */
    readonly confirmations?: number;
}

/** The boundary block of the epoch that `block` is in. */
export function epochBoundary(block: number, epochBlocks: number): number {
    return Math.floor(block / epochBlocks) * epochBlocks;
}

/**
 * Rebuilds the registry's epoch trees from its events, incrementally and resumably. Clients
 * prove against the current epoch root, the same for every prover of the epoch, so a root
 * tells the provider nothing about when a ticket was proved; the gateway accepts the
 * current and the previous epoch root. The registrations are proved complete against the
 * registry's own checkpoint at the synced block: a node or provider that withholds, reorders
 * or alters a registration is caught (CHECKPOINT_MISMATCH) instead of silently splitting the
 * anonymity set. Departures (withdrawal requested, slashed, expired) empty the deposit's
 * leaf from the next epoch on.
 */
export class RegistrySync {
    private readonly events: TreeEvent[] = [];
    private readonly leafIndices = new Map<bigint, number>();
    private registrationCount = 0;
    private checkpoint = GENESIS_CHECKPOINT;
    private syncedBlock: number;
    /** The tree at the current boundary, and how many events it has applied. */
    private readonly epochTree = new RegistryTree();
    private applied = 0;
    private currentRoot?: EpochRoot;
    private previousRoot?: EpochRoot;
    private loaded = false;
    private syncing?: Promise<void>;

    constructor(private readonly options: RegistrySyncOptions) {
        if (!Number.isInteger(options.epochBlocks) || options.epochBlocks < 1) throw new RangeError("epochBlocks must be a positive integer");
        this.syncedBlock = options.fromBlock - 1;
    }

    /** The tree at the current epoch boundary (what proofs use). */
    get tree(): RegistryTree {
        return this.epochTree;
    }

    /** The current epoch root, once synced. */
    get current(): EpochRoot | undefined {
        return this.currentRoot;
    }

    /** The previous epoch root (still accepted by the gateway). */
    get previous(): EpochRoot | undefined {
        return this.previousRoot;
    }

    /** Every registration seen (including those after the current boundary). */
    get leafCount(): number {
        return this.registrationCount;
    }

    get block(): number {
        return this.syncedBlock;
    }

    /** The roots a gateway accepts now: the current and the previous epoch's. */
    acceptedRoots(): bigint[] {
        return [this.currentRoot?.root, this.previousRoot?.root].filter((r): r is bigint => r !== undefined);
    }

    /** The leaf index of a registered identity, if registered. */
    leafIndexOf(identityCommitment: bigint): number | undefined {
        return this.leafIndices.get(identityCommitment);
    }

    /** True if the identity's leaf is in the current epoch tree (registered by, and not departed at, the boundary). */
    inCurrentEpoch(identityCommitment: bigint): boolean {
        const index = this.leafIndices.get(identityCommitment);
        return index !== undefined && index < this.epochTree.size && this.epochTree.leaf(index) !== 0n;
    }

    /** Fetches new events up to the head (minus confirmations), verifies them, advances the epoch trees. One sync at a time. */
    sync(): Promise<RegistryTree> {
        this.syncing ??= this.syncOnce().finally(() => (this.syncing = undefined));
        return this.syncing.then(() => this.epochTree);
    }

    private async syncOnce(): Promise<void> {
        await this.loadCache();
        const { registry } = this.options;
        const provider = registry.runner?.provider;
        if (provider == null) throw new Error("the registry contract needs a provider to sync");
        const head = (await provider.getBlockNumber()) - (this.options.confirmations ?? 0);
        if (head > this.syncedBlock) await this.fetch(head);
        this.advance(epochBoundary(this.syncedBlock, this.options.epochBlocks));
    }

    private async fetch(head: number): Promise<void> {
        const { registry } = this.options;
        const range = this.options.maxBlockRange ?? 10_000;
        const fresh: (TreeEvent & { logIndex: number })[] = [];
        for (let from = this.syncedBlock + 1; from <= head; from += range) {
            const to = Math.min(head, from + range - 1);
            const [registered, withdrawn, slashed, expired] = await Promise.all([
                registry.queryFilter(registry.filters.Registered(), from, to),
                registry.queryFilter(registry.filters.WithdrawalRequested(), from, to),
                registry.queryFilter(registry.filters.Slashed(), from, to),
                registry.queryFilter(registry.filters.DepositExpired(), from, to)
            ]);
            for (const e of registered) {
                fresh.push({
                    kind: "registered",
                    block: e.blockNumber,
                    logIndex: e.index,
                    identityCommitment: e.args.identityCommitment,
                    leafIndex: Number(e.args.leafIndex),
                    amount: e.args.amount
                });
            }
            for (const e of [...withdrawn, ...slashed, ...expired]) {
                fresh.push({ kind: "departed", block: e.blockNumber, logIndex: e.index, identityCommitment: e.args.identityCommitment });
            }
        }
        fresh.sort((a, b) => a.block - b.block || a.logIndex - b.logIndex);

        let checkpoint = this.checkpoint;
        let count = this.registrationCount;
        for (const event of fresh) {
            if (event.kind !== "registered") continue;
            if (event.leafIndex !== count) {
                throw new ProtocolError("CHECKPOINT_MISMATCH", `event for leaf ${event.leafIndex} where leaf ${count} was expected`);
            }
            checkpoint = nextCheckpoint(checkpoint, event.identityCommitment, event.amount);
            count++;
        }
        const onChain = await registry.checkpointAt(count, { blockTag: head });
        if (onChain !== checkpoint) {
            throw new ProtocolError("CHECKPOINT_MISMATCH", `the ${count} registrations received do not hash to the registry's checkpoint at block ${head}`);
        }
        for (const { logIndex: _, ...event } of fresh) this.record(event);
        this.checkpoint = checkpoint;
        this.syncedBlock = head;
        await this.options.cache?.save({ events: this.events, checkpoint, syncedBlock: head });
    }

    private record(event: TreeEvent): void {
        this.events.push(event);
        if (event.kind === "registered") {
            this.leafIndices.set(event.identityCommitment, event.leafIndex);
            this.registrationCount++;
        }
    }

    /** Applies events up to `boundary`, recording the roots of the last two epochs. */
    private advance(boundary: number): void {
        const epochBlocks = this.options.epochBlocks;
        if (this.currentRoot !== undefined && this.currentRoot.boundary >= boundary) return;
        const previousBoundary = boundary - epochBlocks;
        if (previousBoundary >= 0) {
            this.applyUpTo(previousBoundary);
            this.previousRoot = { epoch: previousBoundary / epochBlocks, boundary: previousBoundary, root: this.epochTree.root ?? 0n };
        }
        this.applyUpTo(boundary);
        this.currentRoot = { epoch: boundary / epochBlocks, boundary, root: this.epochTree.root ?? 0n };
    }

    private applyUpTo(block: number): void {
        const fresh: { identityCommitment: bigint; deposit: bigint }[] = [];
        const flush = (): void => {
            if (fresh.length > 0) this.epochTree.insertMany(fresh.splice(0));
        };
        while (this.applied < this.events.length && this.events[this.applied]!.block <= block) {
            const event = this.events[this.applied++]!;
            if (event.kind === "registered") {
                fresh.push({ identityCommitment: event.identityCommitment, deposit: event.amount });
            } else {
                flush();
                const index = this.leafIndices.get(event.identityCommitment);
                if (index !== undefined && index < this.epochTree.size) this.epochTree.remove(index);
            }
        }
        flush();
    }

    private async loadCache(): Promise<void> {
        if (this.loaded) return;
        this.loaded = true;
        const snapshot = await this.options.cache?.load();
        if (snapshot === undefined || snapshot.syncedBlock < this.options.fromBlock) return;
        let checkpoint = GENESIS_CHECKPOINT;
        let count = 0;
        for (const event of snapshot.events) {
            if (event.kind !== "registered") continue;
            if (event.leafIndex !== count++) return; // a corrupt cache is ignored: sync from scratch
            checkpoint = nextCheckpoint(checkpoint, event.identityCommitment, event.amount);
        }
        if (checkpoint !== snapshot.checkpoint) return;
        for (const event of snapshot.events) this.record(event);
        this.checkpoint = checkpoint;
        this.syncedBlock = snapshot.syncedBlock;
    }
}
