import { AbiCoder, getAddress, keccak256 } from "ethers";
import { GENESIS_CHECKPOINT, nextCheckpoint, RegistryTree } from "@zk-api-credits/protocol";
import type { PooledIdentity, PooledRequest, ProofPool } from "./pool";

/** ICreditRegistry.DepositStatus. */
export const Status = { None: 0, Active: 1, Withdrawing: 2, Withdrawn: 3, Slashed: 4, Expired: 5 } as const;
export type DepositStatus = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES = ["None", "Active", "Withdrawing", "Withdrawn", "Slashed", "Expired"] as const;

/** ICreditRegistry.ChallengeKind. */
export const ChallengeKind = { StaleBase: 0n, UndeclaredTicket: 1n, Disclosure: 2n } as const;

/** ICreditRegistry.WithdrawalRequest. */
export type Request = PooledRequest;

/** A pending withdrawal as the model knows it. */
export interface PendingRequest {
    request: Request;
    /**
     * The user's truthful account when requested (every used ticket in the totals or declared,
     * no newer base folded, the published nullifiers as proved), and nothing spent or folded since.
     * A successful challenge of an honest request is a protocol failure.
     */
    honest: boolean;
    /** The effective base e of the request (private to its owner; the model uses it to play the strongest challenger). */
    effective: number;
}

/** What the model expects ICreditRegistry.deposits(idc) to return, plus the pending request. */
export interface ModelDeposit {
    identityCommitment: bigint;
    amount: bigint;
    registeredAt: bigint;
    withdrawalRequestedAt: bigint;
    leafIndex: number;
    status: DepositStatus;
    pending?: PendingRequest;
}

/** A ticket the provider served, as its shared store records it (keyed by nullifier). */
export interface StoredTicket {
    identity: number;
    index: number;
    x: bigint;
    y: bigint;
    penalty: bigint;
}

/** A fold the gateway recorded (keyed by fold nullifier): it signed the new base. */
export interface StoredFold {
    identity: number;
    from: number;
}

/** The registry's parameters the model needs. */
export interface ModelTerms {
    minimumDeposit: bigint;
    maxCost: bigint;
    reserveBps: bigint;
    challengeWindow: bigint;
    depositTerm: bigint;
}

export const MAX_AMOUNT = (1n << 96n) - 1n;

/** keccak256(abi.encode(request)): what the registry stores for a pending withdrawal. */
export function requestHash(request: Request): string {
    return keccak256(
        AbiCoder.defaultAbiCoder().encode(
            ["tuple(address,uint96,uint96,uint8,uint256,uint256,uint256[8])"],
            [
                [
                    request.recipient,
                    request.spent,
                    request.burned,
                    request.declaredSlots,
                    request.foldNullifier,
                    request.slotNullifiersHash,
                    request.slotNullifiers
                ]
            ]
        )
    );
}

export function isDeclared(request: Request, slot: number): boolean {
    return ((request.declaredSlots >> BigInt(slot)) & 1n) === 1n;
}

function popcount(mask: bigint): bigint {
    let count = 0n;
    for (let rest = mask; rest !== 0n; rest &= rest - 1n) count++;
    return count;
}

/**
 * The expected state of the registry, its token and the provider, written from the
 * specification (docs/protocol.md and ICreditRegistry's NatSpec) independently of the contract.
 */
export class RegistryModel {
    /** Timestamp of the next block: every transaction is mined at exactly this time. */
    now: bigint;
    readonly deposits = new Map<bigint, ModelDeposit>();
    readonly registrations: { identityCommitment: bigint; amount: bigint }[] = [];
    checkpoint: string = GENESIS_CHECKPOINT;
    readonly tree = new RegistryTree();
    pendingTreasury = 0n;
    pendingBurn = 0n;
    readonly refundsOwed = new Map<string, bigint>();
    readonly violations = new Set<bigint>();
    violationCount = 0n;
    /** Token balances of every holder the tests watch. */
    readonly balances = new Map<string, bigint>();
    /** Addresses the token refuses. */
    readonly blocked = new Set<string>();
    /** Identity commitments outside the pool that some command used (registered or not). */
    readonly extras: bigint[] = [];

    // Off-chain: the users' tickets and bases, and the provider's store.
    /** used[i]: tickets identity i has used (0 … used − 1). */
    readonly used: number[];
    /** folded[i]: identity i's newest signed base. */
    readonly folded: number[];
    readonly store = new Map<bigint, StoredTicket>();
    readonly folds = new Map<bigint, StoredFold>();
    /** secretKnown[i]: the provider recovered identity i's secret from a reused ticket. */
    readonly secretKnown: boolean[];

    constructor(
        readonly pool: ProofPool,
        readonly terms: ModelTerms,
        readonly holders: readonly string[],
        now: bigint
    ) {
        this.now = now;
        this.used = pool.identities.map(() => 0);
        this.folded = pool.identities.map(() => 0);
        this.secretKnown = pool.identities.map(() => false);
        for (const holder of holders) this.balances.set(getAddress(holder), 0n);
    }

    deposit(identityCommitment: bigint): ModelDeposit | undefined {
        return this.deposits.get(identityCommitment);
    }

    status(identityCommitment: bigint): DepositStatus {
        return this.deposits.get(identityCommitment)?.status ?? Status.None;
    }

    identity(index: number): PooledIdentity {
        return this.pool.identities[index]!;
    }

    /** Active or under withdrawal: the deposit is still in the registry. */
    static isLive(status: DepositStatus): boolean {
        return status === Status.Active || status === Status.Withdrawing;
    }

    /** Sum of the deposits still held (Active or Withdrawing). */
    liveDeposits(): bigint {
        let sum = 0n;
        for (const d of this.deposits.values()) if (RegistryModel.isLive(d.status)) sum += d.amount;
        return sum;
    }

    totalRefundsOwed(): bigint {
        let sum = 0n;
        for (const owed of this.refundsOwed.values()) sum += owed;
        return sum;
    }

    /** Every identity commitment the tests observe: the pool's and the extras. */
    observedIdentities(): bigint[] {
        return [...this.pool.identities.map((i) => i.commitment), ...this.extras];
    }

    isBlocked(address: string): boolean {
        return this.blocked.has(getAddress(address));
    }

    credit(holder: string, amount: bigint): void {
        const key = getAddress(holder);
        const balance = this.balances.get(key);
        if (balance === undefined) throw new Error(`model: ${key} is not a watched holder`);
        this.balances.set(key, balance + amount);
    }

    debit(holder: string, amount: bigint): void {
        this.credit(holder, -amount);
    }

    owe(recipient: string, amount: bigint): void {
        const key = getAddress(recipient);
        this.refundsOwed.set(key, (this.refundsOwed.get(key) ?? 0n) + amount);
    }

    register(identityCommitment: bigint, amount: bigint): ModelDeposit {
        const record: ModelDeposit = {
            identityCommitment,
            amount,
            registeredAt: this.now,
            withdrawalRequestedAt: 0n,
            leafIndex: this.registrations.length,
            status: Status.Active
        };
        this.deposits.set(identityCommitment, record);
        this.registrations.push({ identityCommitment, amount });
        this.checkpoint = nextCheckpoint(this.checkpoint, identityCommitment, amount);
        this.tree.insert(identityCommitment, amount);
        return record;
    }

    /** The pending request of identity `index`, marked dishonest: its owner acted after requesting it. */
    taint(index: number): void {
        const pending = this.deposit(this.identity(index).commitment)?.pending;
        if (pending !== undefined) pending.honest = false;
    }

    bounty(amount: bigint): bigint {
        return (amount * this.terms.reserveBps) / 10_000n;
    }

    /** finalizeWithdrawal's split: burn first, then spent + maxCost per declared slot, each capped; the rest is refunded. */
    settlement(amount: bigint, request: Request): { refund: bigint; toTreasury: bigint; toBurn: bigint } {
        const toBurn = request.burned < amount ? request.burned : amount;
        const charged = request.spent + popcount(request.declaredSlots) * this.terms.maxCost;
        const toTreasury = charged < amount - toBurn ? charged : amount - toBurn;
        return { refund: amount - toBurn - toTreasury, toTreasury, toBurn };
    }

    /** What a forfeited (challenged or slashed-under-withdrawal) deposit splits into. */
    forfeit(amount: bigint, request: Request): { toTreasury: bigint; toBurn: bigint } {
        const toBurn = request.burned < amount ? request.burned : amount;
        return { toTreasury: amount - toBurn, toBurn };
    }
}
