import { AbiCoder, getAddress, keccak256 } from "ethers";
import { GENESIS_CHECKPOINT, nextCheckpoint, RegistryTree } from "@zk-api-credits/protocol";
import type { PooledIdentity, ProofPool } from "./pool";

/** ICreditRegistry.DepositStatus. */
export const Status = { None: 0, Active: 1, Withdrawing: 2, Withdrawn: 3, Slashed: 4, Expired: 5 } as const;
export type DepositStatus = (typeof Status)[keyof typeof Status];

export const STATUS_NAMES = ["None", "Active", "Withdrawing", "Withdrawn", "Slashed", "Expired"] as const;

/** ICreditRegistry.WithdrawalRequest. */
export interface Request {
    nullifier: bigint;
    recipient: string;
    spent: bigint;
    burned: bigint;
}

/** What the model expects ICreditRegistry.deposits(idc) to return, plus the pending request. */
export interface ModelDeposit {
    identityCommitment: bigint;
    amount: bigint;
    registeredAt: bigint;
    withdrawalRequestedAt: bigint;
    leafIndex: number;
    status: DepositStatus;
    request?: Request;
}

/** A ticket the provider served, as its shared store records it (keyed by nullifier). */
export interface StoredTicket {
    identity: number;
    seq: number;
    x: bigint;
    y: bigint;
    penalty: bigint;
}

/** The registry's parameters the model needs. */
export interface ModelTerms {
    minimumDeposit: bigint;
    reserveBps: bigint;
    challengeWindow: bigint;
    depositTerm: bigint;
}

export const MAX_AMOUNT = (1n << 96n) - 1n;

export function requestHash(request: Request): string {
    return keccak256(
        AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "uint96", "uint96"],
            [request.nullifier, request.recipient, request.spent, request.burned]
        )
    );
}

/**
 * The expected state of the registry, its token and the provider, written from the
 * specification (PROTOCOL.md and ICreditRegistry's NatSpec) independently of the contract.
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
    readonly violations = new Set<bigint>();
    violationCount = 0n;
    /** Token balances of every holder the tests watch. */
    readonly balances = new Map<string, bigint>();
    /** Identity commitments outside the pool that some command used (registered or not). */
    readonly extras: bigint[] = [];

    // Off-chain: the users' latest signed states and the provider's store.
    /** seq[i]: requests identity i has made (its latest signed state is state seq[i]). */
    readonly seq: number[];
    readonly store = new Map<bigint, StoredTicket>();
    /** secretKnown[i]: the provider recovered identity i's secret from a reused ticket. */
    readonly secretKnown: boolean[];

    constructor(
        readonly pool: ProofPool,
        readonly terms: ModelTerms,
        readonly holders: readonly string[],
        now: bigint
    ) {
        this.now = now;
        this.seq = pool.identities.map(() => 0);
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

    /** Every identity commitment the tests observe: the pool's and the extras. */
    observedIdentities(): bigint[] {
        return [...this.pool.identities.map((i) => i.commitment), ...this.extras];
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

    bounty(amount: bigint): bigint {
        return (amount * this.terms.reserveBps) / 10_000n;
    }
}
