import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import type { Provider } from "ethers";
import type { NullifierStore } from "../store/types";

export interface WithdrawalWatcherOptions {
    readonly deployment: RegistryDeployment;
    readonly provider: Provider;
    readonly store: NullifierStore;
    readonly pollMs?: number;
    readonly maxBlockRange?: number;
    readonly log?: (message: string, fields?: Record<string, unknown>) => void;
    readonly now?: () => number;
}

const CURSOR = "withdrawal-watcher";
const hex = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * Follows the registry's WithdrawalRequested events. Each withdrawal's nullifier is written
 * into the ticket store: if a ticket with that nullifier was already served, the claimed
 * state was stale and a challenge is queued with the stored Spend proof; if not, the
 * nullifier is closed and no later request may use it (the store's primary key decides
 * which of the two happened first, across replicas).
 */
export class WithdrawalWatcher {
    private readonly registry: ICreditRegistry;
    private timer?: NodeJS.Timeout;
    private running?: Promise<void>;
    private stopped = false;

    constructor(private readonly options: WithdrawalWatcherOptions) {
        this.registry = ICreditRegistry__factory.connect(options.deployment.contracts.registry, options.provider);
    }

    start(): void {
        const tick = async (): Promise<void> => {
            if (this.stopped) return;
            this.running = this.poll().then(
                () => undefined,
                (error: unknown) => this.options.log?.("withdrawal watcher error", { error: String(error) })
            );
            await this.running;
            if (!this.stopped) this.timer = setTimeout(() => void tick(), this.options.pollMs ?? 2_000);
        };
        void tick();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
        await this.running;
    }

    /** Processes every withdrawal request up to the current head. */
    async poll(): Promise<number> {
        const { store } = this.options;
        const now = this.options.now ?? Date.now;
        const from = ((await store.getCursor(CURSOR)) ?? this.options.deployment.deploymentBlock - 1) + 1;
        const head = await this.options.provider.getBlockNumber();
        let processed = 0;
        const range = this.options.maxBlockRange ?? 10_000;
        for (let start = from; start <= head; start += range) {
            const end = Math.min(head, start + range - 1);
            const events = await this.registry.queryFilter(this.registry.filters.WithdrawalRequested(), start, end);
            for (const event of events) {
                const { identityCommitment, nullifier, recipient, spent, burned } = event.args;
                const spentTicket = await store.markWithdrawn(hex(nullifier), hex(identityCommitment), now());
                if (spentTicket !== undefined && spentTicket.ticket.length > 0) {
                    const payload = {
                        identityCommitment: hex(identityCommitment),
                        request: { nullifier: hex(nullifier), recipient, spent: spent.toString(), burned: burned.toString() },
                        ticket: spentTicket.ticket
                    };
                    if (await store.enqueueJob(`challenge:${hex(identityCommitment)}`, "challenge", JSON.stringify(payload), now())) {
                        this.options.log?.(`withdrawal of ${hex(identityCommitment)} claims a spent state: challenge queued`);
                    }
                }
                processed++;
            }
            await store.setCursor(CURSOR, end);
        }
        return processed;
    }
}
