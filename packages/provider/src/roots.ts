import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { RegistrySync } from "@zk-api-credits/sdk";
import type { Provider } from "ethers";

export interface RecentRootsOptions {
    readonly deployment: RegistryDeployment;
    readonly provider: Provider;
    /** How many of the latest roots are accepted (a client may be a few registrations behind). */
    readonly keep?: number;
    /** How long a superseded root stays acceptable. */
    readonly graceMs?: number;
    readonly now?: () => number;
}

/**
 * The registry roots the gateway accepts: its own tree, rebuilt from the registry's events
 * and verified against the on-chain checkpoint (the same RegistrySync clients use), and the
 * roots it had recently. A root older than both limits is refused: a client must resync.
 */
export class RecentRoots {
    private readonly sync: RegistrySync;
    /** root -> time it was superseded (Infinity while it is the current root). */
    private readonly roots = new Map<bigint, number>();
    private readonly order: bigint[] = [];
    private syncing?: Promise<void>;

    constructor(private readonly options: RecentRootsOptions) {
        this.sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(options.deployment.contracts.registry, options.provider),
            fromBlock: options.deployment.deploymentBlock,
            onRoot: (root) => this.add(root)
        });
    }

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    private add(root: bigint): void {
        const previous = this.order[this.order.length - 1];
        if (previous !== undefined) this.roots.set(previous, this.now());
        this.roots.set(root, Infinity);
        this.order.push(root);
        const keep = this.options.keep ?? 128;
        while (this.order.length > keep) {
            const oldest = this.order[0]!;
            const supersededAt = this.roots.get(oldest)!;
            if (this.now() - supersededAt < (this.options.graceMs ?? 10 * 60_000)) break;
            this.order.shift();
            this.roots.delete(oldest);
        }
    }

    /** Pulls new registrations from the chain (one sync at a time). */
    refresh(): Promise<void> {
        this.syncing ??= this.sync
            .sync()
            .then(() => undefined)
            .finally(() => (this.syncing = undefined));
        return this.syncing;
    }

    /** True if `root` is accepted now; refreshes once from the chain if it is unknown. */
    async accepts(root: bigint): Promise<boolean> {
        if (this.roots.has(root)) return true;
        await this.refresh();
        return this.roots.has(root);
    }

    get current(): bigint | undefined {
        return this.order[this.order.length - 1];
    }

    get leafCount(): number {
        return this.sync.leafCount;
    }
}
