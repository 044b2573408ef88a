import { Interface, NonceManager } from "ethers";
import type { Signer } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { decodeTicket, identityCommitment, slashInputs, slashReceiverBinding, toSolidityProof, unpackProof } from "@zk-api-credits/protocol";
import { secretFromShares } from "../paid-request";
import { pendingRequest, requestStruct } from "./withdrawal-request";
import type { ChallengePayload } from "./withdrawal-watcher";
import type { CircuitProver, RegistryDeployment } from "@zk-api-credits/protocol";
import type { GatewayMetrics } from "../metrics";
import type { ChainJob, NullifierStore } from "../store/types";

export interface ChainWorkerOptions {
    readonly deployment: RegistryDeployment;
    readonly store: NullifierStore;
    /** Sends the transactions (pays gas); must be the registry owner to report violations. */
    readonly operator: Signer;
    /** Proves Slash statements. */
    readonly slashProver: CircuitProver;
    readonly metrics: GatewayMetrics;
    readonly pollMs?: number;
    readonly log?: (message: string, fields?: Record<string, unknown>) => void;
    readonly now?: () => number;
}

const STATUS_ACTIVE = 1n;
const STATUS_WITHDRAWING = 2n;

/** The job's payloads (JSON in the store). A slash job names the double-spent ticket only: the secret is recomputed from the two shares when the slash is sent, never stored. */
interface SlashPayload {
    nullifier: string;
}
interface ViolationPayload {
    nullifier: string;
    evidenceHash: string;
}

/**
 * Runs the on-chain jobs the gateway queues (shared by every replica through the store):
 * slashing double-spenders with the secret recomputed from their two shares (bounty to the
 * treasury; no bounty while a withdrawal is pending), challenging withdrawals (stale base,
 * undeclared ticket, disclosure), reporting policy violations. Retries with backoff; a job
 * whose target is already settled on-chain is done, not failed.
 */
export class ChainWorker {
    private readonly registry: ICreditRegistry;
    private readonly errors = new Interface(ICreditRegistry__factory.abi);
    private timer?: NodeJS.Timeout;
    private running?: Promise<void>;
    private stopped = false;

    constructor(private readonly options: ChainWorkerOptions) {
        const signer = new NonceManager(options.operator);
        this.registry = ICreditRegistry__factory.connect(options.deployment.contracts.registry, signer);
    }

    start(): void {
        const tick = async (): Promise<void> => {
            if (this.stopped) return;
            this.running = this.drain().catch((error: unknown) => this.options.log?.("chain worker error", { error: String(error) }));
            await this.running;
            if (!this.stopped) this.timer = setTimeout(() => void tick(), this.options.pollMs ?? 1_000);
        };
        void tick();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
        await this.running;
    }

    /** Runs every due job once. */
    async drain(): Promise<void> {
        const now = this.options.now ?? Date.now;
        for (;;) {
            const job = await this.options.store.leaseJob(now(), 120_000);
            if (job === undefined) return;
            await this.run(job, now);
        }
    }

    private async run(job: ChainJob, now: () => number): Promise<void> {
        try {
            const result = await this.execute(job);
            await this.options.store.finishJob(job.id, { status: "done", result }, now());
            this.options.metrics.chainJobs.inc({ kind: job.kind, outcome: result.startsWith("skipped") ? "skipped" : "done" });
            this.options.log?.(`chain job ${job.id}: ${result}`);
        } catch (error) {
            const reason = this.describe(error);
            if (job.attempts >= 8) {
                await this.options.store.finishJob(job.id, { status: "failed", result: reason }, now());
                this.options.metrics.chainJobs.inc({ kind: job.kind, outcome: "failed" });
            } else {
                const retryAt = now() + Math.min(60_000, 1_000 * 2 ** job.attempts);
                await this.options.store.finishJob(job.id, { status: "retry", result: reason, retryAt }, now());
                this.options.metrics.chainJobs.inc({ kind: job.kind, outcome: "retry" });
            }
            this.options.log?.(`chain job ${job.id} failed (attempt ${job.attempts}): ${reason}`);
        }
    }

    private async execute(job: ChainJob): Promise<string> {
        if (job.kind === "slash") return this.slash(JSON.parse(job.payload) as SlashPayload);
        if (job.kind === "challenge") return this.challenge(JSON.parse(job.payload) as ChallengePayload);
        return this.report(JSON.parse(job.payload) as ViolationPayload);
    }

    private async slash(payload: SlashPayload): Promise<string> {
        const { store } = this.options;
        const record = await store.get(payload.nullifier);
        const [second] = await store.doubleSpendShares(payload.nullifier);
        if (record === undefined || second === undefined) return "skipped: the shares are gone (already slashed)";
        const secret = secretFromShares(record, second);
        const idc = identityCommitment(secret);
        const deposit = await this.registry.deposits(idc);
        if (deposit.status !== STATUS_ACTIVE && deposit.status !== STATUS_WITHDRAWING) {
            await store.forgetDoubleSpend(payload.nullifier);
            return `skipped: deposit status ${deposit.status}`;
        }
        const { deployment } = this.options;
        const receiver = deployment.parameters.treasury;
        const binding = slashReceiverBinding(deployment.chainId, deployment.contracts.registry, receiver);
        const { proof } = await this.options.slashProver.prove(slashInputs({ secret, receiverBinding: binding }));
        const { pA, pB, pC } = toSolidityProof(proof);
        const groth16 = { a: pA, b: pB, c: pC };
        let hash: string;
        if (deposit.status === STATUS_ACTIVE) {
            hash = (await (await this.registry.slash(idc, receiver, groth16)).wait())!.hash;
        } else {
            const request = await pendingRequest(this.registry, idc, deployment.deploymentBlock);
            if (request === undefined) throw new Error(`no withdrawal request found for ${idc}`);
            hash = (await (await this.registry.slashWithdrawal(idc, requestStruct(request), receiver, groth16)).wait())!.hash;
        }
        // The slash landed: drop the second share, so no recoverable secret stays in the store.
        await store.forgetDoubleSpend(payload.nullifier);
        return `slashed in ${hash}`;
    }

    private async challenge(payload: ChallengePayload): Promise<string> {
        const idc = BigInt(payload.identityCommitment);
        const record = await this.registry.deposits(idc);
        if (record.status !== STATUS_WITHDRAWING) return `skipped: deposit status ${record.status}`;
        const request = requestStruct(payload.request);
        let hash: string;
        if (payload.kind === "stale-base") {
            const newBase = (JSON.parse(payload.newBase) as string[]).map(BigInt) as [bigint, bigint];
            const { pA, pB, pC } = toSolidityProof(unpackProof((JSON.parse(payload.proof) as string[]).map(BigInt)));
            hash = (await (await this.registry.challengeStaleBase(idc, request, newBase, { a: pA, b: pB, c: pC })).wait())!.hash;
        } else if (payload.kind === "undeclared-ticket") {
            const ticket = decodeTicket(payload.ticket);
            const { pA, pB, pC } = toSolidityProof(unpackProof(ticket.proof));
            const spend = { root: ticket.root, ticketX: ticket.ticketCommitment[0], ticketY: ticket.ticketCommitment[1], y: ticket.y, x: ticket.x };
            hash = (await (await this.registry.challengeUndeclaredTicket(idc, request, payload.slot, spend, { a: pA, b: pB, c: pC })).wait())!.hash;
        } else {
            hash = (await (await this.registry.challengeDisclosure(idc, request)).wait())!.hash;
        }
        return `challenged (${payload.kind}) in ${hash}`;
    }

    private async report(payload: ViolationPayload): Promise<string> {
        const nullifier = BigInt(payload.nullifier);
        if (await this.registry.violationReported(nullifier)) return "skipped: already reported";
        const receipt = await (await this.registry.reportViolation(nullifier, payload.evidenceHash)).wait();
        return `reported in ${receipt!.hash}`;
    }

    private describe(error: unknown): string {
        const data = (error as { data?: string })?.data;
        if (typeof data === "string") {
            try {
                const parsed = this.errors.parseError(data);
                if (parsed) return `${parsed.name}(${parsed.args.join(", ")})`;
            } catch {
                // not a registry error
            }
        }
        return error instanceof Error ? error.message.split("\n")[0]! : String(error);
    }
}

