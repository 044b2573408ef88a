import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { slotNullifiersHash } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import type { Provider } from "ethers";
import type { NullifierStore } from "../store/types";
import { requestFromEvent } from "./withdrawal-request";
import type { WithdrawalRequestJson } from "./withdrawal-request";

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

/** What a challenge job carries (JSON in the store). */
export type ChallengePayload =
    | { readonly kind: "stale-base"; readonly identityCommitment: string; readonly request: WithdrawalRequestJson; readonly newBase: string; readonly proof: string }
    | { readonly kind: "undeclared-ticket"; readonly identityCommitment: string; readonly request: WithdrawalRequestJson; readonly slot: number; readonly ticket: string }
    | { readonly kind: "disclosure"; readonly identityCommitment: string; readonly request: WithdrawalRequestJson };

/**
 * Follows the registry's WithdrawalRequested events. Needs no key: every nullifier a
 * withdrawal discloses is closed in the store (no later request may use it), and so is its
 * fold nullifier (no later fold). Whatever the store already holds under them is evidence:
 * a ticket under a disclosed slot (the user hid a used ticket) or a fold under the fold
 * nullifier (the user held a newer base); then a challenge is queued, which the chain worker
 * sends if the gateway has an operator key. A disclosed list that does not hash to the
 * proof's value is challenged too. The store's primary keys decide, across replicas, whether
 * a ticket or the withdrawal came first.
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

    /** Processes every withdrawal request up to the current head; returns how many. */
    async poll(): Promise<number> {
        const { store } = this.options;
        const from = ((await store.getCursor(CURSOR)) ?? this.options.deployment.deploymentBlock - 1) + 1;
        const head = await this.options.provider.getBlockNumber();
        let processed = 0;
        const range = this.options.maxBlockRange ?? 10_000;
        for (let start = from; start <= head; start += range) {
            const end = Math.min(head, start + range - 1);
            const events = await this.registry.queryFilter(this.registry.filters.WithdrawalRequested(), start, end);
            for (const event of events) {
                await this.close(event.args.identityCommitment, requestFromEvent(event.args));
                processed++;
            }
            await store.setCursor(CURSOR, end);
        }
        return processed;
    }

    private async close(identityCommitment: bigint, request: WithdrawalRequestJson): Promise<void> {
        const { store } = this.options;
        const now = this.options.now ?? Date.now;
        const idc = hex(identityCommitment);
        const challenge = async (payload: ChallengePayload): Promise<void> => {
            if (await store.enqueueJob(`challenge:${idc}`, "challenge", JSON.stringify(payload), now())) {
                this.options.log?.(`withdrawal of ${idc}: ${payload.kind} challenge queued`);
            }
        };
        const nullifiers = request.slotNullifiers.map(BigInt);
        if (slotNullifiersHash(nullifiers) !== BigInt(request.slotNullifiersHash)) {
            await challenge({ kind: "disclosure", identityCommitment: idc, request });
        }
        const fold = await store.closeFold(hex(BigInt(request.foldNullifier)), idc, now());
        if (fold !== undefined) await challenge({ kind: "stale-base", identityCommitment: idc, request, newBase: fold.newBase, proof: fold.proof });
        for (const [slot, nullifier] of nullifiers.entries()) {
            if (nullifier === 0n) continue;
            const ticket = await store.markWithdrawn(hex(nullifier), idc, now());
            if (ticket !== undefined && ticket.ticket.length > 0) {
                await challenge({ kind: "undeclared-ticket", identityCommitment: idc, request, slot, ticket: ticket.ticket });
            }
        }
    }
}
