/** A stored HTTP answer, replayed verbatim for a repeated request or a receipt lookup. */
export interface StoredResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    /** base64 of the body. */
    readonly body: string;
}

/** The state of a nullifier in the store. */
export type TicketStatus =
    /** Recorded, being served (by the replica holding the lease). */
    | "pending"
    /** Served and signed; the response and receipt are stored. */
    | "complete"
    /** The nullifier of a withdrawal's claimed state: no request may use it. */
    | "withdrawn";

/** Everything the provider keeps about one ticket (a spent nullifier). */
export interface TicketRecord {
    readonly nullifier: string;
    readonly status: TicketStatus;
    readonly x: string;
    readonly y: string;
    readonly requestHash: string;
    /** The ticket envelope as received (JSON, with the proof): kept for challenges. */
    readonly ticket: string;
    readonly leaseUntil: number;
    readonly receipt?: string;
    readonly response?: StoredResponse;
    readonly createdAt: number;
}

export interface NewTicket {
    readonly nullifier: string;
    readonly x: string;
    readonly y: string;
    readonly requestHash: string;
    readonly ticket: string;
}

/** What recording a ticket found. */
export type ClaimResult =
    /** First sight of this nullifier (or a takeover of an abandoned lease): serve it. */
    | { readonly kind: "claimed"; readonly takeover: boolean }
    /** The same request again: answer from the record (or wait if still pending). */
    | { readonly kind: "replay"; readonly record: TicketRecord }
    /** The nullifier is taken by a different request or is a withdrawal's. */
    | { readonly kind: "conflict"; readonly record: TicketRecord };

/** On-chain work the replicas share: slashes, challenges, violation reports. */
export interface ChainJob {
    readonly id: string;
    readonly kind: "slash" | "challenge" | "violation";
    readonly payload: string;
    readonly status: "pending" | "running" | "done" | "failed";
    readonly attempts: number;
    readonly result?: string;
}

export interface StoreStats {
    readonly tickets: number;
    readonly complete: number;
    readonly withdrawn: number;
    readonly doubleSpends: number;
    readonly jobs: Record<string, number>;
}

/**
 * The nullifier store: one per registry, shared by every replica of the gateway. Each
 * method is atomic; `claim` is the linearisation point of "a ticket is served at most once".
 */
export interface NullifierStore {
    /** Records a ticket unless its nullifier is known; `leaseMs` bounds how long a pending record is ours. */
    claim(ticket: NewTicket, now: number, leaseMs: number): Promise<ClaimResult>;
    /** Stores the signed result of a claimed ticket. */
    complete(nullifier: string, receipt: string, response: StoredResponse, now: number): Promise<void>;
    get(nullifier: string): Promise<TicketRecord | undefined>;
    /** Marks a withdrawal's nullifier; returns the ticket already recorded under it, if any. */
    markWithdrawn(nullifier: string, identityCommitment: string, now: number): Promise<TicketRecord | undefined>;
    /** Records a second share of a ticket; false if it was already known. */
    recordDoubleSpend(nullifier: string, x: string, y: string, now: number): Promise<boolean>;
    /** Adds a job unless one with its id exists; false if it did. */
    enqueueJob(id: string, kind: ChainJob["kind"], payload: string, now: number): Promise<boolean>;
    /** Takes the next due job for `lockMs` (other replicas skip it meanwhile). */
    leaseJob(now: number, lockMs: number): Promise<ChainJob | undefined>;
    finishJob(id: string, outcome: { status: "done" | "failed"; result: string } | { status: "retry"; result: string; retryAt: number }, now: number): Promise<void>;
    getJob(id: string): Promise<ChainJob | undefined>;
    getCursor(name: string): Promise<number | undefined>;
    setCursor(name: string, block: number): Promise<void>;
    stats(): Promise<StoreStats>;
    close(): Promise<void>;
}
