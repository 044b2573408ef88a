/** A stored HTTP answer, replayed verbatim for a repeated request or a look-up. */
export interface StoredResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    /** base64 of the body (the whole event stream for a streamed answer). */
    readonly body: string;
}

/** The state of a nullifier in the store. */
export type TicketStatus =
    /** Recorded, being served (by the replica holding the lease). */
    | "pending"
    /** Served and charged; the charge and the response are stored. */
    | "complete"
    /** Disclosed by a withdrawal (an undeclared slot): no request may use it. */
    | "withdrawn";

/** What a ticket was recorded for. */
export type TicketKind = "request" | "void";

/** Everything the provider keeps about one ticket (a spent nullifier). */
export interface TicketRecord {
    readonly nullifier: string;
    readonly status: TicketStatus;
    readonly kind: TicketKind;
    readonly x: string;
    readonly y: string;
    readonly requestHash: string;
    /** The ticket header as received (with the proof): kept for challenges. */
    readonly ticket: string;
    readonly leaseOwner: string;
    readonly leaseUntil: number;
    /** The signed charge (encoded), once complete. */
    readonly charge?: string;
    readonly response?: StoredResponse;
    readonly createdAt: number;
}

export interface NewTicket {
    readonly nullifier: string;
    readonly kind: TicketKind;
    readonly x: string;
    readonly y: string;
    readonly requestHash: string;
    readonly ticket: string;
}

/** A ticket's answer and charge, known before the ticket is recorded (recorded together with it). */
export interface KnownAnswer {
    readonly charge: string;
    readonly response: StoredResponse;
}

/** What recording a ticket found. */
export type ClaimResult =
    /**
     * First sight of this nullifier (or a takeover of an expired lease): serve it. `completed`:
     * the claim carried the ticket's answer and it was recorded complete with it (first sight
     * only; a takeover still has its charge stored by `complete`).
     */
    | { readonly kind: "claimed"; readonly takeover: boolean; readonly completed: boolean }
    /** Already recorded with the same x: the same request again, a void or a retry (the caller decides). */
    | { readonly kind: "known"; readonly record: TicketRecord }
    /** Recorded with another x (a double-spend), or disclosed by a withdrawal. */
    | { readonly kind: "conflict"; readonly record: TicketRecord };

/** The one charge of a ticket, as stored (the first completion wins). */
export interface StoredCharge {
    readonly charge: string;
    readonly response?: StoredResponse;
    /** True if this call's charge was the one stored. */
    readonly won: boolean;
}

/** A fold the gateway signed (or a fold nullifier a withdrawal closed). */
export interface FoldRecord {
    readonly foldNullifier: string;
    readonly status: "folded" | "closed";
    /** JSON [x, y] of the signed new base. */
    readonly newBase: string;
    /** JSON of the Fold proof words (kept for stale-base challenges). */
    readonly proof: string;
    /** JSON of the base signature. */
    readonly signature: string;
}

/** What recording a fold found. */
export type FoldResult =
    | { readonly kind: "recorded" }
    /** The same fold again: answer with the stored signature. */
    | { readonly kind: "replay"; readonly record: FoldRecord }
    /** This base was already folded into another new base. */
    | { readonly kind: "conflict"; readonly record: FoldRecord }
    /** A withdrawal disclosed this fold nullifier. */
    | { readonly kind: "closed" };

/** On-chain work the replicas share. */
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
    readonly folds: number;
    readonly doubleSpends: number;
    readonly jobs: Record<string, number>;
}

/**
 * The gateway's store: one per registry, shared by every replica. Each method is atomic;
 * `claim` is the linearisation point of "a ticket is recorded once", `complete` of "a ticket
 * has exactly one charge", `recordFold` of "a base is folded once".
 */
export interface NullifierStore {
    /**
     * Records a ticket unless its nullifier is known; the lease (owner, until now + leaseMs) says
     * who serves it. With `answer` (a buffered answer already signed), a ticket seen for the first
     * time is recorded complete with it, in the same write.
     */
    claim(ticket: NewTicket, owner: string, now: number, leaseMs: number, answer?: KnownAnswer): Promise<ClaimResult>;
    /** Extends the lease of a ticket being served; false if another replica took it over or it is complete. */
    renewLease(nullifier: string, owner: string, now: number, leaseMs: number): Promise<boolean>;
    /** Stores the charge and response of a ticket unless one is stored already; returns the stored one. */
    complete(nullifier: string, charge: string, response: StoredResponse | undefined, now: number): Promise<StoredCharge>;
    get(nullifier: string): Promise<TicketRecord | undefined>;
    /** Closes a nullifier a withdrawal disclosed; returns the ticket recorded under it, if any. */
    markWithdrawn(nullifier: string, identityCommitment: string, now: number): Promise<TicketRecord | undefined>;
    /** Records a signed fold unless its fold nullifier is known. */
    recordFold(fold: Omit<FoldRecord, "status">, now: number): Promise<FoldResult>;
    /** Closes a fold nullifier a withdrawal disclosed; returns the fold recorded under it, if any. */
    closeFold(foldNullifier: string, identityCommitment: string, now: number): Promise<FoldRecord | undefined>;
    /** Records a second share of a ticket; false if it was already known. */
    recordDoubleSpend(nullifier: string, x: string, y: string, now: number): Promise<boolean>;
    /** The second shares recorded for a ticket. */
    doubleSpendShares(nullifier: string): Promise<{ x: string; y: string }[]>;
    /** Drops the second shares once the slash has landed (no recoverable secret stays behind). */
    forgetDoubleSpend(nullifier: string): Promise<void>;
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
