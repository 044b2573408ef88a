import type { ChainJob, FoldRecord, KnownAnswer, NewTicket, StoredResponse, TicketKind, TicketRecord, TicketStatus } from "./types";

/** The columns a claim inserts into `tickets`, in this order (both stores' INSERTs list them so). */
export const CLAIM_COLUMNS =
    "nullifier, status, kind, x, y, request_hash, ticket, lease_owner, lease_until, charge, response, created_at, completed_at";

/** A claimed ticket's values for CLAIM_COLUMNS: pending under a lease, or complete with its answer if the claim carried one. */
export function claimValues(ticket: NewTicket, owner: string, now: number, leaseMs: number, answer: KnownAnswer | undefined): (string | number | null)[] {
    return [
        ticket.nullifier,
        answer === undefined ? "pending" : "complete",
        ticket.kind,
        ticket.x,
        ticket.y,
        ticket.requestHash,
        ticket.ticket,
        owner,
        now + leaseMs,
        answer?.charge ?? null,
        answer === undefined ? null : JSON.stringify(answer.response),
        now,
        answer === undefined ? null : now
    ];
}

/** A `tickets` row as both databases return it (BIGINT may come back as a string from pg). */
export interface TicketRow {
    nullifier: string;
    status: string;
    kind: string;
    x: string;
    y: string;
    request_hash: string;
    ticket: string;
    lease_owner: string;
    lease_until: number | string;
    charge: string | null;
    response: string | null;
    created_at: number | string;
}

export interface FoldRow {
    fold_nullifier: string;
    status: string;
    new_base: string;
    proof: string;
    signature: string;
}

export interface JobRow {
    id: string;
    kind: string;
    payload: string;
    status: string;
    attempts: number;
    result: string | null;
}

export function ticketFromRow(row: TicketRow): TicketRecord {
    return {
        nullifier: row.nullifier,
        status: row.status as TicketStatus,
        kind: row.kind as TicketKind,
        x: row.x,
        y: row.y,
        requestHash: row.request_hash,
        ticket: row.ticket,
        leaseOwner: row.lease_owner,
        leaseUntil: Number(row.lease_until),
        charge: row.charge ?? undefined,
        response: row.response === null ? undefined : (JSON.parse(row.response) as StoredResponse),
        createdAt: Number(row.created_at)
    };
}

export function foldFromRow(row: FoldRow): FoldRecord {
    return {
        foldNullifier: row.fold_nullifier,
        status: row.status as FoldRecord["status"],
        newBase: row.new_base,
        proof: row.proof,
        signature: row.signature
    };
}

export function jobFromRow(row: JobRow): ChainJob {
    return {
        id: row.id,
        kind: row.kind as ChainJob["kind"],
        payload: row.payload,
        status: row.status as ChainJob["status"],
        attempts: Number(row.attempts),
        result: row.result ?? undefined
    };
}
