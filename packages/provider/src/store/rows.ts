import type { ChainJob, FoldRecord, StoredResponse, TicketKind, TicketRecord, TicketStatus } from "./types";

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
