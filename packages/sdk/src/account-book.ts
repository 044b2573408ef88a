import { indicesOf, key } from "./account-record";
import type {
    AccountRecord,
    HeldCharge,
    InFlightFold,
    PreparedTicket,
    StoredRequest,
    TicketOwner,
    TicketRecord,
    WithdrawalRecord
} from "./account-record";
import type { AccountStore } from "./account-store";
import { SdkError } from "./errors";
import type { Signature } from "@zk-api-credits/protocol";
import type { RegistryTerms } from "@zk-api-credits/protocol";
import { nextFreeIndex } from "./ticket-window";
import type { OwnerLiveness, WindowSlot } from "./ticket-window";

type Tickets = Record<string, TicketRecord>;

function without<T>(map: Readonly<Record<string, T>>, index: bigint): Record<string, T> {
    const copy = { ...map };
    delete copy[key(index)];
    return copy;
}

function from<T>(map: Readonly<Record<string, T>>, folded: bigint): Record<string, T> {
    const copy: Record<string, T> = {};
    for (const index of indicesOf(map)) if (index >= folded) copy[key(index)] = map[key(index)]!;
    return copy;
}

/** A ticket given back: released if its proof was shown (a header exists), else removed. */
function releasedOrRemoved(tickets: Readonly<Record<string, TicketRecord>>, index: bigint, ticket: TicketRecord, refusal: string): Tickets {
    if (ticket.ticketHeader === undefined) return without(tickets, index);
    return { ...tickets, [key(index)]: { status: "released", nullifier: ticket.nullifier, ticketHeader: ticket.ticketHeader, refusal } };
}

/** What a sent ticket records: its nullifier, the request it pays for and the header the gateway sees. */
export interface SentTicket {
    readonly nullifier: bigint;
    readonly request: StoredRequest;
    readonly ticketHeader: string;
}

const sameOwner = (a: TicketOwner | undefined, b: TicketOwner): boolean => a !== undefined && a.id === b.id;

/**
 * Every change this SDK makes to an account, each one locked read-modify-write on the store
 * (account-store.ts): the change is decided on the record as it is in the file at that
 * moment, so processes sharing the account take turns and each adopts what the others did.
 * Keeps the last record it saw for synchronous reads (balance).
 */
export class AccountBook {
    private last?: AccountRecord;

    constructor(readonly store: AccountStore) {}

    /** The record as of the last read or change (may be behind other processes). */
    get snapshot(): AccountRecord | undefined {
        return this.last;
    }

    async read(): Promise<AccountRecord | undefined> {
        this.last = await this.store.read();
        return this.last;
    }

    async require(): Promise<AccountRecord> {
        const record = await this.read();
        if (record === undefined) throw new SdkError("NOT_REGISTERED", "no account in the store: register a deposit first");
        return record;
    }

    private async change<T>(decide: (record: AccountRecord) => { next?: AccountRecord; result: T }): Promise<T> {
        return this.store.update((current) => {
            if (current === undefined) throw new SdkError("NOT_REGISTERED", "no account in the store: register a deposit first");
            const { next, result } = decide(current);
            this.last = next ?? current;
            return { next, result };
        });
    }

    /** Writes a new account, or keeps the one stored for the same identity and registry. */
    async create(record: AccountRecord): Promise<AccountRecord> {
        return this.store.update((current) => {
            if (current !== undefined) {
                if (current.identityCommitment !== record.identityCommitment || current.registry !== record.registry) {
                    throw new SdkError("WRONG_DEPLOYMENT", "the store already holds another account");
                }
                this.last = current;
                return { result: current };
            }
            this.last = record;
            return { next: record, result: record };
        });
    }

    /**
     * Takes the lowest free index of the window for `owner` (written down as claimed).
     * `taking` runs with the index before the record is written (to mark it as being worked on).
     */
    claim(
        owner: TicketOwner,
        terms: RegistryTerms,
        alive: OwnerLiveness,
        skip?: ReadonlySet<bigint>,
        taking?: (index: bigint) => void,
        sendAtOnce?: (index: bigint, record: AccountRecord) => SentTicket | undefined
    ): Promise<WindowSlot & { sent?: SentTicket }> {
        return this.change<WindowSlot & { sent?: SentTicket }>((record) => {
            const slot = nextFreeIndex(record, terms, alive, skip);
            if (slot.kind !== "free") return { result: slot };
            taking?.(slot.index);
            // A ticket proved ahead is written down as sent in the same locked write (one write per request less).
            const sent = sendAtOnce?.(slot.index, record);
            if (sent !== undefined) {
                const tickets: Tickets = { ...record.tickets, [key(slot.index)]: { status: "sent", owner, ...sent } };
                return { next: { ...record, tickets, prepared: without(record.prepared, slot.index) }, result: { ...slot, sent } };
            }
            // A released index keeps what was shown of it (its proof left once): given back, it is released again.
            const previous = record.tickets[key(slot.index)];
            const shown = previous?.ticketHeader === undefined ? {} : { nullifier: previous.nullifier, ticketHeader: previous.ticketHeader, refusal: previous.refusal };
            const tickets: Tickets = { ...record.tickets, [key(slot.index)]: { status: "claimed", owner, ...shown } };
            return { next: { ...record, tickets }, result: slot };
        });
    }

    /**
     * Writes the ticket down as sent, with the request and the ticket header, BEFORE it leaves.
     * False if the index is no longer this owner's (a withdrawal started, or it was resolved).
     */
    markSent(index: bigint, owner: TicketOwner, sent: SentTicket): Promise<boolean> {
        return this.change((record) => {
            const ticket = record.tickets[key(index)];
            const resend = ticket?.status === "sent" && sameOwner(ticket.owner, owner);
            const fresh = ticket?.status === "claimed" && sameOwner(ticket.owner, owner) && record.withdrawal === undefined;
            if (!resend && !fresh) return { result: false };
            const tickets: Tickets = { ...record.tickets, [key(index)]: { status: "sent", owner, ...sent } };
            return { next: { ...record, tickets, prepared: without(record.prepared, index) }, result: true };
        });
    }

    /** Gives a claimed index back: free again (released, if its proof was shown before). */
    abandon(index: bigint, owner: TicketOwner): Promise<void> {
        return this.change((record) => {
            const ticket = record.tickets[key(index)];
            if (ticket?.status !== "claimed" || !sameOwner(ticket.owner, owner)) return { result: undefined };
            return { next: { ...record, tickets: releasedOrRemoved(record.tickets, index, ticket, ticket.refusal ?? "ABANDONED") }, result: undefined };
        });
    }

    /**
     * The gateway refused the ticket before recording it: the index is free again (same x), but
     * its proof was shown, so it stays written down as released until it is used or voided.
     */
    release(index: bigint, refusal: string): Promise<void> {
        return this.change((record) => {
            const ticket = record.tickets[key(index)];
            if (ticket === undefined || (ticket.status !== "sent" && ticket.status !== "claimed")) return { result: undefined };
            return { next: { ...record, tickets: releasedOrRemoved(record.tickets, index, ticket, refusal) }, result: undefined };
        });
    }

    /**
     * Stores the charge of ticket `index` (exactly one per ticket: a charge already held is
     * kept). `adopted`: found by a look-up, the index was used by another copy of the account.
     * Returns false if the index is already folded into the base.
     */
    settle(index: bigint, charge: HeldCharge, how: { nullifier: bigint; adopted?: boolean; voided?: boolean }): Promise<boolean> {
        return this.change((record) => {
            if (index < record.base.state.folded) return { result: false };
            const held = record.charges[key(index)];
            const existing = record.tickets[key(index)];
            const kept = held !== undefined && (existing?.status === "settled" || existing?.status === "voided");
            const ticket: TicketRecord = kept
                ? existing!
                : { status: how.voided ? "voided" : "settled", nullifier: how.nullifier, ...(how.adopted ? { adopted: true } : {}) };
            return {
                next: {
                    ...record,
                    charges: held === undefined ? { ...record.charges, [key(index)]: charge } : record.charges,
                    tickets: { ...record.tickets, [key(index)]: ticket },
                    prepared: without(record.prepared, index)
                },
                result: true
            };
        });
    }

    /** Stores a ticket proved in advance, unless the index was used or folded meanwhile. */
    storePrepared(index: bigint, prepared: PreparedTicket): Promise<boolean> {
        return this.change((record) => {
            const ticket = record.tickets[key(index)];
            const usable = index >= record.base.state.folded && (ticket === undefined || ticket.status === "released" || ticket.status === "claimed");
            if (!usable) return { result: false };
            return { next: { ...record, prepared: { ...record.prepared, [key(index)]: prepared } }, result: true };
        });
    }

    dropPrepared(index: bigint): Promise<void> {
        return this.change((record) => (record.prepared[key(index)] === undefined ? { result: undefined } : { next: { ...record, prepared: without(record.prepared, index) }, result: undefined }));
    }

    /**
     * Records a fold before it is sent (a retry after a crash sends the same one). Returns the
     * fold in flight for this base: `fold`, or the one another process recorded first; undefined
     * if the base has moved past it.
     */
    beginFold(fold: InFlightFold): Promise<InFlightFold | undefined> {
        return this.change((record) => {
            if (record.base.state.folded !== fold.from || record.providerFault !== undefined) return { result: undefined };
            if (record.fold !== undefined && record.fold.from === fold.from) return { result: record.fold };
            return { next: { ...record, fold }, result: fold };
        });
    }

    /** Advances the base with the provider's signature on the fold's new base; drops what it folded. */
    completeFold(fold: InFlightFold, signature: Signature): Promise<void> {
        return this.change((record) => {
            const folded = fold.newState.folded;
            if (record.base.state.folded !== fold.from) {
                if (record.fold?.from === fold.from) return { next: { ...record, fold: undefined }, result: undefined };
                return { result: undefined };
            }
            return {
                next: {
                    ...record,
                    base: { state: fold.newState, signature },
                    charges: from(record.charges, folded),
                    tickets: from(record.tickets, folded),
                    prepared: from(record.prepared, folded),
                    fold: undefined
                },
                result: undefined
            };
        });
    }

    /** The gateway misbehaved (e.g. answered a fold with another base): stop folding; the charges are kept. */
    recordProviderFault(message: string): Promise<void> {
        return this.change((record) => (record.providerFault !== undefined ? { result: undefined } : { next: { ...record, providerFault: message }, result: undefined }));
    }

    /** Drops a withdrawal that is still resolving (nothing was sent on-chain): tickets can be taken again. */
    cancelWithdrawal(): Promise<boolean> {
        return this.change((record) => {
            if (record.withdrawal?.phase !== "resolving") return { result: false };
            return { next: { ...record, withdrawal: undefined }, result: true };
        });
    }

    /** Sets (or replaces) the withdrawal record. */
    setWithdrawal(decide: (record: AccountRecord) => WithdrawalRecord | undefined): Promise<AccountRecord> {
        return this.change((record) => {
            const withdrawal = decide(record);
            if (withdrawal === undefined) return { result: record };
            const next = { ...record, withdrawal };
            return { next, result: next };
        });
    }
}
