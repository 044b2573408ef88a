import type { BaseState, Point, Signature } from "@zk-api-credits/protocol";
import { SdkError } from "./errors";

/**
 * The account file of protocol v2: everything a client keeps about its deposit with one
 * registry. Secrets are not in it: every per-index key and blinding is derived from the
 * identity (derivation.ts), so the file holds only what the gateway signed, what was sent,
 * and proofs (which are not secret). Every mutation is a locked read-modify-write
 * (account-store.ts), shared by every process using the account.
 */
export interface AccountRecord {
    readonly version: 2;
    readonly chainId: bigint;
    readonly registry: string;
    readonly identityCommitment: bigint;
    readonly deposit: bigint;
    readonly leafIndex: number;
    /** Block of the registration (the deposit is provable from the first epoch boundary at or after it). */
    readonly registrationBlock: number;
    /** The newest base this account holds: genesis (no signature) or signed by the provider. Its blinding is r_f. */
    readonly base: SignedBaseRecord;
    /** Charges held beyond the base, by ticket index (decimal string). */
    readonly charges: Readonly<Record<string, HeldCharge>>;
    /** Tickets written down and not yet folded, by index. */
    readonly tickets: Readonly<Record<string, TicketRecord>>;
    /** Tickets proved in advance and not yet used, by index. */
    readonly prepared: Readonly<Record<string, PreparedTicket>>;
    /** A fold proved and (perhaps) sent whose answer is not yet stored. */
    readonly fold?: InFlightFold;
    /** Set when the gateway misbehaved (a fold answered with another base): no more folds; withdraw. */
    readonly providerFault?: string;
    readonly withdrawal?: WithdrawalRecord;
}

export interface SignedBaseRecord {
    readonly state: BaseState;
    /** The provider's base signature (none for genesis). */
    readonly signature?: Signature;
}

/** A charge the provider signed for one of this account's tickets (Δ is derived: T_i + cost·2^144·G + penalty·2^48·G). */
export interface HeldCharge {
    readonly cost: bigint;
    readonly penalty: bigint;
    readonly signature: Signature;
}

/**
 * Where a written-down ticket is:
 * - `claimed`: an index taken by a process for a request; its proof has not left the client.
 * - `sent`: the ticket (with its proof) left, or may have left, with `request`; no charge yet.
 * - `released`: the gateway refused the ticket before recording it; the index is free for another
 *   request (same x), but its proof was shown, so a withdrawal voids or declares it.
 * - `settled`: its charge is held (in `charges`), perhaps adopted from a look-up.
 * - `voided`: closed by a void; its cost-0 charge is held.
 */
export type TicketStatus = "claimed" | "sent" | "released" | "settled" | "voided";

/** The process working on a claimed or sent ticket. */
export interface TicketOwner {
    /** Random per client instance. */
    readonly id: string;
    readonly pid: number;
    readonly host: string;
}

/** A request exactly as it was (or will be) sent, so that a retry sends the same bytes. */
export interface StoredRequest {
    readonly method: string;
    /** Path with query, as bound into H(request). */
    readonly path: string;
    readonly headers: Readonly<Record<string, string>>;
    /** base64 of the body. */
    readonly body: string;
}

export interface TicketRecord {
    readonly status: TicketStatus;
    readonly owner?: TicketOwner;
    readonly nullifier?: bigint;
    /** The request the ticket paid for (while it is `sent`), for re-sending. */
    readonly request?: StoredRequest;
    /** The ticket header the gateway saw (or may have seen): `zkapi-ticket` value. */
    readonly ticketHeader?: string;
    /** Why the gateway refused it (`released`). */
    readonly refusal?: string;
    /** The charge was adopted from a look-up (another copy of the account used the index). */
    readonly adopted?: boolean;
}

/** A Spend proof made in advance for ticket `index` (proofs are not secret). */
export interface PreparedTicket {
    /** The epoch root it proves membership under, and that epoch's number (unknown for a ticket read back from a header). */
    readonly root: bigint;
    readonly epoch?: number;
    /** The base (folded count) it was proved on: any base whose window holds the index (unknown for a ticket read back from a header). */
    readonly baseFolded?: bigint;
    readonly x: bigint;
    readonly y: bigint;
    readonly nullifier: bigint;
    readonly ticketCommitment: Point<bigint>;
    /** The Groth16 proof, 8 words in verifier order. */
    readonly proof: readonly bigint[];
}

/** A fold proved for base `from` (deterministic: a retry sends the same newBase). */
export interface InFlightFold {
    readonly from: bigint;
    readonly newState: BaseState;
    readonly newBase: Point<bigint>;
    readonly foldNullifier: bigint;
    readonly proof: readonly bigint[];
}

/** What the registry's WithdrawalRequest carries (besides the recipient). */
export interface WithdrawalClaimRecord {
    readonly spent: bigint;
    readonly burned: bigint;
    readonly declaredSlots: number;
    readonly foldNullifier: bigint;
    readonly slotNullifiersHash: bigint;
    readonly slotNullifiers: readonly bigint[];
}

/**
 * The withdrawal: `resolving` stops every process from taking new tickets while the account's
 * open tickets and folds are resolved; `requested` once requestWithdrawal is mined.
 */
export interface WithdrawalRecord {
    readonly phase: "resolving" | "requested" | "finalized";
    readonly recipient: string;
    readonly claim?: WithdrawalClaimRecord;
    readonly transactionHash?: string;
    /** Timestamp from which finalizeWithdrawal succeeds. */
    readonly finalizableAt?: bigint;
    readonly refund?: bigint;
    /** The token refused the refund at finalization: it is owed (claimRefund). */
    readonly refundOwed?: boolean;
}

/** The key of index `i` in the record's maps. */
export const key = (index: bigint): string => index.toString();

/** The indices of a map of the record, ascending. */
export function indicesOf(map: Readonly<Record<string, unknown>>): bigint[] {
    return Object.keys(map)
        .map((k) => BigInt(k))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A fresh account at genesis. */
export function newAccountRecord(fields: {
    chainId: bigint;
    registry: string;
    identityCommitment: bigint;
    deposit: bigint;
    leafIndex: number;
    registrationBlock: number;
}): AccountRecord {
    return { version: 2, ...fields, base: { state: { spent: 0n, burned: 0n, folded: 0n } }, charges: {}, tickets: {}, prepared: {} };
}

const BIGINT_TAG = "bigint:";

/** The account file's text: JSON, bigints as "bigint:<decimal>". */
export function encodeAccountRecord(record: AccountRecord): string {
    return `${JSON.stringify(record, (_, value: unknown) => (typeof value === "bigint" ? `${BIGINT_TAG}${value.toString()}` : value), 2)}\n`;
}

/** Parses an account file; BAD_ACCOUNT_FILE if it is not a v2 account. */
export function decodeAccountRecord(text: string): AccountRecord {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text, (_, value: unknown) =>
            typeof value === "string" && value.startsWith(BIGINT_TAG) ? BigInt(value.slice(BIGINT_TAG.length)) : value
        );
    } catch (error) {
        throw new SdkError("BAD_ACCOUNT_FILE", `the account file is not JSON: ${String(error)}`);
    }
    const record = parsed as Partial<AccountRecord> | null;
    if (record === null || typeof record !== "object" || record.version !== 2) {
        throw new SdkError("BAD_ACCOUNT_FILE", "not a protocol v2 account file (a v1 account cannot be used with v2: withdraw it with a v1 client)");
    }
    for (const field of ["chainId", "identityCommitment", "deposit"] as const) {
        if (typeof record[field] !== "bigint") throw new SdkError("BAD_ACCOUNT_FILE", `the account file has no ${field}`);
    }
    if (record.base === undefined || typeof record.base.state?.folded !== "bigint") throw new SdkError("BAD_ACCOUNT_FILE", "the account file has no base");
    return { ...record, charges: record.charges ?? {}, tickets: record.tickets ?? {}, prepared: record.prepared ?? {} } as AccountRecord;
}
