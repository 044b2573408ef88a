import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { RegistrySync } from "@zk-api-credits/protocol";
import type { EpochRoot, RegistryDeployment } from "@zk-api-credits/protocol";
import type { Provider } from "ethers";

export interface EpochRootsOptions {
    readonly deployment: RegistryDeployment;
    readonly provider: Provider;
    /** Blocks to stay behind the head (reorg safety on public chains). */
    readonly confirmations?: number;
    /** Least time between two refreshes triggered by unknown roots (junk tickets must not flood the RPC). */
    readonly minRefreshMs?: number;
    /** How often the epoch roots follow the chain in the background (so a superseded root stops being accepted). */
    readonly pollMs?: number;
    readonly now?: () => number;
}

/**
 * The registry roots the gateway accepts: the current and the previous epoch root of its own
 * tree, rebuilt from the registry's events and checked against the on-chain checkpoint (the
 * same RegistrySync clients use). An unknown root triggers at most one refresh per
 * `minRefreshMs`; a root older than the previous epoch is refused: the client proves again.
 */
export class EpochRoots {
    private readonly sync: RegistrySync;
    private lastRefresh = -Infinity;
    private refreshing?: Promise<void>;
    private timer?: NodeJS.Timeout;

    constructor(private readonly options: EpochRootsOptions) {
        this.sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(options.deployment.contracts.registry, options.provider),
            fromBlock: options.deployment.deploymentBlock,
            epochBlocks: Number(options.deployment.parameters.epochBlocks),
            confirmations: options.confirmations
        });
    }

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    /** Follows the chain in the background until {@link stop}. */
    start(): void {
        if (this.timer !== undefined) return;
        this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.options.pollMs ?? 1_000);
        this.timer.unref();
    }

    async stop(): Promise<void> {
        if (this.timer !== undefined) clearInterval(this.timer);
        this.timer = undefined;
        await this.refreshing?.catch(() => undefined);
    }

    /** Pulls new events from the chain (one sync at a time; concurrent callers share it). */
    refresh(): Promise<void> {
        this.lastRefresh = this.now();
        this.refreshing ??= this.sync
            .sync()
            .then(() => undefined)
            .finally(() => (this.refreshing = undefined));
        return this.refreshing;
    }

    /**
     * True if `root` is accepted now. An unknown root waits for the refresh in flight, or starts
     * one unless one started less than `minRefreshMs` ago (junk roots must not flood the RPC).
     */
    async accepts(root: bigint): Promise<boolean> {
        if (this.sync.acceptedRoots().includes(root)) return true;
        if (this.refreshing !== undefined) await this.refreshing;
        else if (this.now() - this.lastRefresh >= (this.options.minRefreshMs ?? 1_000)) await this.refresh();
        return this.sync.acceptedRoots().includes(root);
    }

    /** The current and previous epoch roots. */
    get accepted(): { current?: EpochRoot; previous?: EpochRoot } {
        return { current: this.sync.current, previous: this.sync.previous };
    }

    get leafCount(): number {
        return this.sync.leafCount;
    }
}
