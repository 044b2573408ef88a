import { FOLD_SIZE, openTicketLimit, reserveOf, spendableOf } from "@zk-api-credits/protocol";
import type { RegistryTerms } from "@zk-api-credits/protocol";
import { indicesOf, key } from "./account-record";
import type { AccountRecord, HeldCharge, TicketOwner, TicketRecord } from "./account-record";

/**
 * The ticket window of an account (docs/protocol.md, "Spend"): the indices f … f+W−1 of the
 * newest base f, of which the deposit can reserve the first openTicketLimit at their worst cost
 * (maxCost + policyPenalty each). Pure functions of the account record: which index the next
 * request takes, what can be folded, what the deposit can still pay.
 */

/** Says whether the process that claimed or sent a ticket may still be working on it. */
export type OwnerLiveness = (owner: TicketOwner) => boolean;

/**
 * True if the index can be taken for a new request: never written down; released (refused
 * before it was recorded, so reusable with the same x); or claimed by a process that is gone
 * (a claimed ticket's proof never left the client).
 */
export function isFreeIndex(ticket: TicketRecord | undefined, alive: OwnerLiveness): boolean {
    if (ticket === undefined || ticket.status === "released") return true;
    return ticket.status === "claimed" && (ticket.owner === undefined || !alive(ticket.owner));
}

/** What the window offers the next request. */
export type WindowSlot =
    | { readonly kind: "free"; readonly index: bigint }
    /** Every index the deposit can reserve is taken, and an open ticket or a fold will change that: wait. */
    | { readonly kind: "full" }
    /**
     * No further ticket can be paid: the deposit cannot reserve one more on the newest base, and
     * nothing open or foldable will change it (folding only raises `spent`; a fold needs K charges).
     */
    | { readonly kind: "insolvent" }
    /** The account is being withdrawn. */
    | { readonly kind: "closed" };

/** The lowest free index of the window that solvency allows (skipping `skip`). */
export function nextFreeIndex(record: AccountRecord, terms: RegistryTerms, alive: OwnerLiveness, skip: ReadonlySet<bigint> = new Set()): WindowSlot {
    if (record.withdrawal !== undefined) return { kind: "closed" };
    const base = record.base.state;
    const limit = openTicketLimit(base, record.deposit, terms);
    if (limit === 0) return { kind: "insolvent" };
    for (let offset = 0; offset < limit; offset++) {
        const index = base.folded + BigInt(offset);
        if (!skip.has(index) && isFreeIndex(record.tickets[key(index)], alive)) return { kind: "free", index };
    }
    const pending = openTickets(record).length > 0 || record.fold !== undefined || foldableCharges(record) !== undefined;
    return pending ? { kind: "full" } : { kind: "insolvent" };
}

/** The free indices of the window, lowest first, at most `count` (what the pre-proving pool prepares). */
export function freeIndices(record: AccountRecord, terms: RegistryTerms, alive: OwnerLiveness, count: number): bigint[] {
    if (record.withdrawal !== undefined) return [];
    const base = record.base.state;
    const limit = openTicketLimit(base, record.deposit, terms);
    const free: bigint[] = [];
    for (let offset = 0; offset < limit && free.length < count; offset++) {
        const index = base.folded + BigInt(offset);
        if (isFreeIndex(record.tickets[key(index)], alive)) free.push(index);
    }
    return free;
}

/** The charges of f … f+K−1 if all are held (what the next fold takes), else undefined. */
export function foldableCharges(record: AccountRecord, foldSize: number = FOLD_SIZE): HeldCharge[] | undefined {
    const charges: HeldCharge[] = [];
    for (let s = 0; s < foldSize; s++) {
        const charge = record.charges[key(record.base.state.folded + BigInt(s))];
        if (charge === undefined) return undefined;
        charges.push(charge);
    }
    return charges;
}

/** The held charges f, f+1, … without a gap (at most `limit`): what a withdrawal can open. */
export function contiguousCharges(record: AccountRecord, limit: number): HeldCharge[] {
    const charges: HeldCharge[] = [];
    for (let s = 0; s < limit; s++) {
        const charge = record.charges[key(record.base.state.folded + BigInt(s))];
        if (charge === undefined) break;
        charges.push(charge);
    }
    return charges;
}

/** Tickets whose answer is awaited: claimed or sent (by any process), by index. */
export function openTickets(record: AccountRecord): bigint[] {
    return indicesOf(record.tickets).filter((index) => {
        const status = record.tickets[key(index)]!.status;
        return status === "claimed" || status === "sent";
    });
}

/** What the deposit can still pay, from the newest base, the charges held beyond it and the open tickets. */
export interface Balance {
    readonly deposit: bigint;
    /** ⌊deposit·reserveBps/10⁴⌋: never spendable (pays slashing bounties; refunded on withdrawal). */
    readonly reserve: bigint;
    /** Charged so far: the base's total plus the charges held beyond it. */
    readonly spent: bigint;
    readonly burned: bigint;
    /** Tickets sent (or being sent) whose charge has not arrived. */
    readonly openTickets: number;
    /** What the open tickets reserve: openTickets · (maxCost + policyPenalty). */
    readonly reservedByOpenTickets: bigint;
    /** deposit − reserve − spent − burned − reservedByOpenTickets: not spent, not reserved. */
    readonly unspent: bigint;
    /**
     * What requests can really spend from now on: `unspent`, less what the last charges strand
     * until K of them can be folded; 0 once no further request can be paid (the rest is
     * refunded by a withdrawal).
     */
    readonly available: bigint;
    /** True if one more request can be paid, now or once the open tickets and held charges are folded. */
    readonly canPay: boolean;
    /** Tickets folded into the newest base (its f). */
    readonly folded: bigint;
    /** Tickets settled so far (folded or held). */
    readonly requests: bigint;
}

/**
 * The balance of an account. A request needs maxCost + policyPenalty (R) free on the base it is
 * proved on, for itself and every unfolded ticket before it; folds take K charges at a time, so
 * the last (unfolded mod K) tickets count at R, not at their cost, until more are folded.
 */
export function balanceOf(record: AccountRecord, terms: RegistryTerms, foldSize: number = FOLD_SIZE): Balance {
    const perTicket = terms.maxCost + terms.policyPenalty;
    const held = Object.values(record.charges);
    const spent = held.reduce((sum, c) => sum + c.cost, record.base.state.spent);
    const burned = held.reduce((sum, c) => sum + c.penalty, record.base.state.burned);
    const open = openTickets(record);
    const reserved = BigInt(open.length) * perTicket;
    const room = spendableOf(record.deposit, terms.reserveBps) - spent - burned - reserved;
    const unspent = room > 0n ? room : 0n;
    // The unfolded tickets (held or open), in index order; the last (count mod K) stay unfolded.
    const unfolded = [...indicesOf(record.charges), ...open].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const stranded = unfolded.slice(unfolded.length - (unfolded.length % foldSize)).reduce((sum, index) => {
        const charge = record.charges[key(index)];
        return charge === undefined ? sum : sum + perTicket - charge.cost - charge.penalty;
    }, 0n);
    const usable = room - stranded;
    const canPay = record.withdrawal === undefined && usable >= perTicket;
    return {
        deposit: record.deposit,
        reserve: reserveOf(record.deposit, terms.reserveBps),
        spent,
        burned,
        openTickets: open.length,
        reservedByOpenTickets: reserved,
        unspent,
        available: canPay ? usable : 0n,
        canPay,
        folded: record.base.state.folded,
        requests: record.base.state.folded + BigInt(held.length)
    };
}

/**
 * About how many more requests costing `cost` each the deposit pays for: each request must
 * find maxCost + policyPenalty free while it is open, and then uses `cost` of it.
 */
export function estimateRequests(balance: Balance, terms: RegistryTerms, cost: bigint): bigint {
    const perTicket = terms.maxCost + terms.policyPenalty;
    if (!balance.canPay) return 0n;
    const each = cost > 0n ? cost : 1n;
    return (balance.available - perTicket) / each + 1n;
}
