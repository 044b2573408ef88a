import { expect } from "chai";
import { ethers, network } from "hardhat";
import { getAddress, Interface, ZeroHash } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse, ErrorDescription, Log } from "ethers";
import { GENESIS_CHECKPOINT, nextCheckpoint, RegistryTree } from "@zk-api-credits/protocol";
import type { PropertyFixture } from "./fixture";
import { requestHash, RegistryModel, Status, STATUS_NAMES } from "./model";
import type { PooledFold, PooledTicket, ProofPool } from "./pool";

/** An event the registry must emit, with all its arguments. */
export interface ExpectedEvent {
    name: string;
    args: unknown[];
}

/** A token transfer a transaction must make. */
export interface ExpectedTransfer {
    from: string;
    to: string;
    value: bigint;
}

/** What a call must do: succeed with exactly these events and transfers, or revert with this error. */
export type Expectation =
    | { ok: true; events: ExpectedEvent[]; transfers: ExpectedTransfer[]; apply: () => void }
    | { ok: false; error: string; args: unknown[] };

export function fails(error: string, ...args: unknown[]): Expectation {
    return { ok: false, error, args };
}

/** Payout events: at most one per deposit, ever. */
const LIVE = [BigInt(Status.Active), BigInt(Status.Withdrawing)];

const PAYOUTS = new Set(["WithdrawalFinalized", "Slashed", "WithdrawalChallenged", "DepositExpired"]);

function normalise(value: unknown): string {
    if (typeof value === "bigint") return value.toString();
    if (typeof value === "number") return BigInt(value).toString();
    if (typeof value === "string") return value.toLowerCase();
    if (typeof value === "boolean") return String(value);
    if (Array.isArray(value)) return `[${value.map(normalise).join(", ")}]`;
    throw new Error(`cannot compare ${String(value)}`);
}

function describeArgs(args: readonly unknown[]): string {
    return `(${args.map(normalise).join(", ")})`;
}

/** Counts of every outcome per command, printed at the end. */
export class Stats {
    readonly outcomes = new Map<string, Map<string, number>>();
    runs = 0;
    commands = 0;
    transactions = 0;
    invariantChecks = 0;

    count(command: string, outcome: string): void {
        let byOutcome = this.outcomes.get(command);
        if (byOutcome === undefined) this.outcomes.set(command, (byOutcome = new Map()));
        byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    }

    get(command: string, outcome: string): number {
        return this.outcomes.get(command)?.get(outcome) ?? 0;
    }

    report(): string {
        const lines = [
            `runs (with shrinking): ${this.runs}, commands: ${this.commands}, transactions: ${this.transactions}, invariant checks: ${this.invariantChecks}`
        ];
        for (const [command, byOutcome] of [...this.outcomes.entries()].sort()) {
            const parts = [...byOutcome.entries()].sort((a, b) => b[1] - a[1]).map(([outcome, n]) => `${outcome} ${n}`);
            lines.push(`  ${command}: ${parts.join(", ")}`);
        }
        return lines.join("\n");
    }
}

/**
 * The real system under test (the registry on Hardhat's in-process network) and the checks
 * that compare it with the model after every step.
 */
export class Harness {
    private readonly errors: Interface;
    private readonly holders: string[];
    /** The checkpoint and tree rebuilt from the Registered events seen so far. */
    private eventChain = GENESIS_CHECKPOINT;
    private eventTree = new RegistryTree();
    private eventCount = 0;
    private lastLogBlock: number;
    private lastObserved?: { leafCount: bigint; checkpoint: string };
    /** A block was mined since the events were last read. */
    private mined = true;
    /** Deposits that emitted a payout event in this run (chain-side record, independent of the model). */
    private readonly paidOut = new Set<bigint>();

    constructor(
        readonly fx: PropertyFixture,
        readonly pool: ProofPool,
        readonly stats: Stats,
        holders: readonly string[]
    ) {
        const fragments = [...fx.registry.interface.fragments, ...fx.token.interface.fragments].filter((f) => f.type === "error");
        const seen = new Set<string>();
        this.errors = new Interface(fragments.filter((f) => !seen.has(f.format()) && seen.add(f.format())));
        this.holders = holders.map((h) => getAddress(h));
        this.lastLogBlock = fx.deploymentBlock;
    }

    /** Sends a transaction mined at exactly `model.now` and checks it against `expected`. */
    async call(
        model: RegistryModel,
        command: string,
        send: () => Promise<ContractTransactionResponse>,
        expected: Expectation
    ): Promise<ContractTransactionReceipt | undefined> {
        await network.provider.send("evm_setNextBlockTimestamp", [Number(model.now)]);
        let receipt: ContractTransactionReceipt | undefined;
        let error: ErrorDescription | undefined;
        try {
            receipt = (await (await send()).wait()) ?? undefined;
        } catch (e) {
            error = this.decode(e);
            // Hardhat mines a reverted transaction (automine): it must have left no trace but its failure.
            const hash = (e as { transactionHash?: unknown }).transactionHash;
            if (typeof hash === "string") {
                const failed = await ethers.provider.getTransactionReceipt(hash);
                expect(failed!.status, `${command}: reverted transaction status`).to.equal(0);
                expect(failed!.logs, `${command}: a reverted transaction emitted logs`).to.deep.equal([]);
                this.stats.transactions++;
                this.mined = true;
                model.now += 1n;
            }
        }
        if (expected.ok) {
            expect(error, `${command}: expected success, reverted with ${error?.name}${describeArgs(error?.args ?? [])}`).to.equal(undefined);
            this.stats.count(command, "ok");
            this.stats.transactions++;
            this.mined = true;
            this.checkLogs(model, command, receipt!, expected);
            expected.apply();
            model.now += 1n;
            return receipt;
        }
        expect(error, `${command}: expected ${expected.error}${describeArgs(expected.args)}, but it succeeded`).to.not.equal(undefined);
        const actual = `${error!.name}${describeArgs(error!.args)}`;
        expect(actual, `${command}: wrong error`).to.equal(`${expected.error}${describeArgs(expected.args)}`);
        this.stats.count(command, expected.error);
        return undefined;
    }

    /** The provider's check of a Spend proof (its own verifier call, as the gateway makes it). */
    async verifySpend(ticket: PooledTicket): Promise<boolean> {
        const s = ticket.signals;
        const signals = [s.root, this.fx.context, s.ticketX, s.ticketY, ticket.nullifier, s.y, s.x] as const;
        return this.fx.spendVerifier.verifyProof(ticket.proof.a, ticket.proof.b, ticket.proof.c, [...signals]);
    }

    /** The provider's check of a Fold proof before it signs the new base. */
    async verifyFold(fold: PooledFold): Promise<boolean> {
        const signals = [this.fx.context, fold.foldNullifier, fold.newBase[0], fold.newBase[1]] as const;
        return this.fx.foldVerifier.verifyProof(fold.proof.a, fold.proof.b, fold.proof.c, [...signals]);
    }

    /** A set-up transaction (mint, approve) that must succeed; mined at `model.now`. */
    async setup(model: RegistryModel, send: () => Promise<ContractTransactionResponse>): Promise<void> {
        await network.provider.send("evm_setNextBlockTimestamp", [Number(model.now)]);
        await (await send()).wait();
        this.mined = true;
        model.now += 1n;
    }

    private decode(e: unknown): ErrorDescription {
        const data = (e as { data?: unknown }).data;
        if (typeof data !== "string" || data.length < 10) throw e;
        const parsed = this.errors.parseError(data);
        if (parsed === null) throw new Error(`unknown revert data ${data}`);
        return parsed;
    }

    private checkLogs(model: RegistryModel, command: string, receipt: ContractTransactionReceipt, expected: Expectation & { ok: true }): void {
        const events: string[] = [];
        const transfers: string[] = [];
        for (const log of receipt.logs as Log[]) {
            const address = getAddress(log.address);
            if (address === this.fx.registryAddress) {
                const parsed = this.fx.registry.interface.parseLog(log)!;
                events.push(`${parsed.name}${describeArgs(parsed.args.toArray())}`);
                if (PAYOUTS.has(parsed.name)) {
                    const idc = parsed.args[0] as bigint;
                    expect(this.paidOut.has(idc), `${command}: deposit ${idc} paid out twice`).to.equal(false);
                    this.paidOut.add(idc);
                    this.checkSplit(model, parsed.name, parsed.args.toArray() as bigint[]);
                }
            } else if (address === this.fx.tokenAddress) {
                const parsed = this.fx.token.interface.parseLog(log)!;
                if (parsed.name === "Transfer") transfers.push(`${parsed.args[0]}->${parsed.args[1]}:${parsed.args[2]}`.toLowerCase());
                else if (parsed.name !== "Approval") throw new Error(`unexpected token event ${parsed.name}`);
            } else {
                throw new Error(`${command}: unexpected log from ${address}`);
            }
        }
        expect(events, `${command}: registry events`).to.deep.equal(expected.events.map((e) => `${e.name}${describeArgs(e.args)}`));
        expect(transfers, `${command}: token transfers`).to.deep.equal(
            expected.transfers.map((t) => `${getAddress(t.from)}->${getAddress(t.to)}:${t.value}`.toLowerCase())
        );
    }

    /** Every payout splits the whole deposit, to the unit. */
    private checkSplit(model: RegistryModel, name: string, args: bigint[]): void {
        const amount = model.deposit(args[0]!)!.amount;
        const total =
            name === "WithdrawalFinalized" || name === "Slashed"
                ? args[2]! + args[3]! + args[4]! // refund (bounty) + toTreasury + toBurn
                : name === "WithdrawalChallenged"
                  ? args[3]! + args[4]! // toTreasury + toBurn
                  : args[1]!; // DepositExpired: the whole amount
        expect(total, `${name}: the payout split does not sum to the deposit`).to.equal(amount);
    }

    /** Compares the registry, its token and its events with the model; run after every step. */
    async checkInvariants(model: RegistryModel, changedRegistrations: boolean): Promise<void> {
        this.stats.invariantChecks++;
        const ids = model.observedIdentities();
        const o = await this.fx.probe.observe(this.fx.registryAddress, ids, this.holders);

        // Custody, from the chain alone: balance = live deposits + pending revenue + pending burn + refunds owed.
        let live = 0n;
        for (const record of o.records) if (record.status === LIVE[0] || record.status === LIVE[1]) live += record.amount;
        if (o.registryBalance !== live + o.pendingTreasury + o.pendingBurn + o.totalRefundsOwed) {
            expect.fail(
                `balance ${o.registryBalance} != live deposits ${live} + pendingTreasury ${o.pendingTreasury} + pendingBurn ${o.pendingBurn} + refunds owed ${o.totalRefundsOwed}`
            );
        }
        let owed = 0n;
        for (const value of o.refundsOwed) owed += value;
        expect(owed, "refunds owed to the watched holders != totalRefundsOwed").to.equal(o.totalRefundsOwed);

        // The chain matches the model, field by field (rendered as lines, compared at once).
        const actual = [
            `pendingTreasury ${o.pendingTreasury}`,
            `pendingBurn ${o.pendingBurn}`,
            `balance ${o.registryBalance}`,
            `totalRefundsOwed ${o.totalRefundsOwed}`,
            `violationCount ${o.violationCount}`,
            `leafCount ${o.leafCount}`,
            `checkpoint ${o.checkpoint}`
        ];
        const wanted = [
            `pendingTreasury ${model.pendingTreasury}`,
            `pendingBurn ${model.pendingBurn}`,
            `balance ${model.liveDeposits() + model.pendingTreasury + model.pendingBurn + model.totalRefundsOwed()}`,
            `totalRefundsOwed ${model.totalRefundsOwed()}`,
            `violationCount ${model.violationCount}`,
            `leafCount ${model.registrations.length}`,
            `checkpoint ${model.checkpoint}`
        ];
        ids.forEach((idc, i) => {
            const r = o.records[i]!;
            actual.push(
                `deposit ${idc}: ${r.amount} ${r.registeredAt} ${r.withdrawalRequestedAt} ${r.leafIndex} ${STATUS_NAMES[Number(r.status)]} ${o.withdrawalCommitments[i]}`
            );
            const d = model.deposit(idc);
            const commitment = d?.status === Status.Withdrawing ? requestHash(d.pending!.request) : ZeroHash;
            wanted.push(
                d === undefined
                    ? `deposit ${idc}: 0 0 0 0 None ${ZeroHash}`
                    : `deposit ${idc}: ${d.amount} ${d.registeredAt} ${d.withdrawalRequestedAt} ${d.leafIndex} ${STATUS_NAMES[d.status]} ${commitment}`
            );
        });
        this.holders.forEach((holder, i) => {
            actual.push(`balance of ${holder} ${o.balances[i]}, owed ${o.refundsOwed[i]}`);
            wanted.push(`balance of ${holder} ${model.balances.get(holder)}, owed ${model.refundsOwed.get(holder) ?? 0n}`);
        });
        expect(actual, "the chain differs from the model").to.deep.equal(wanted);

        // leafCount and the checkpoint change only on registration.
        if (this.lastObserved !== undefined && !changedRegistrations) {
            expect(o.leafCount, "leafCount changed without a registration").to.equal(this.lastObserved.leafCount);
            expect(o.checkpoint, "checkpoint changed without a registration").to.equal(this.lastObserved.checkpoint);
        }
        this.lastObserved = { leafCount: o.leafCount, checkpoint: o.checkpoint };

        // The hash chain and tree a client rebuilds from the events match checkpointAt(leafCount).
        if (this.mined) {
            const logs = await this.fx.registry.queryFilter(this.fx.registry.filters.Registered(), this.lastLogBlock + 1);
            for (const log of logs) {
                expect(log.args.leafIndex, "Registered.leafIndex").to.equal(BigInt(this.eventCount));
                this.eventChain = nextCheckpoint(this.eventChain, log.args.identityCommitment, log.args.amount);
                expect(log.args.checkpoint, "Registered.checkpoint").to.equal(this.eventChain);
                this.eventTree.insert(log.args.identityCommitment, log.args.amount);
                this.eventCount++;
                this.lastLogBlock = log.blockNumber;
            }
            this.mined = false;
        }
        expect(this.eventChain, "hash chain rebuilt from events != checkpointAt(leafCount)").to.equal(o.checkpoint);
        expect(BigInt(this.eventCount), "events != leafCount").to.equal(o.leafCount);
        if (changedRegistrations) expect(this.eventTree.root, "tree rebuilt from events != model tree").to.equal(model.tree.root);
    }

    /** End of a run: rebuild the whole chain and tree from every event, from scratch. */
    async checkFromScratch(model: RegistryModel): Promise<void> {
        const logs = await this.fx.registry.queryFilter(this.fx.registry.filters.Registered(), this.fx.deploymentBlock);
        let chain = GENESIS_CHECKPOINT;
        const tree = new RegistryTree();
        for (const log of logs) {
            chain = nextCheckpoint(chain, log.args.identityCommitment, log.args.amount);
            tree.insert(log.args.identityCommitment, log.args.amount);
        }
        const leafCount = await this.fx.registry.leafCount();
        expect(BigInt(logs.length)).to.equal(leafCount);
        expect(chain).to.equal(await this.fx.registry.checkpointAt(leafCount));
        if (logs.length > 0) expect(tree.root).to.equal(model.tree.root);
        await expect(this.fx.registry.checkpointAt(leafCount + 1n)).to.be.revertedWithCustomError(this.fx.registry, "UnknownCheckpoint");
    }
}
