import type { ChainJob, StoredResponse, TicketRecord, TicketStatus } from "./types";

/** A `tickets` row as both databases return it (BIGINT may come back as a string from pg). */
export interface TicketRow {
    nullifier: string;
    status: string;
    x: string;
    y: string;
    request_hash: string;
    ticket: string;
    lease_until: number | string;
    receipt: string | null;
    response: string | null;
    created_at: number | string;
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
        x: row.x,
        y: row.y,
        requestHash: row.request_hash,
        ticket: row.ticket,
        leaseUntil: Number(row.lease_until),
        receipt: row.receipt ?? undefined,
        response: row.response === null ? undefined : (JSON.parse(row.response) as StoredResponse),
        createdAt: Number(row.created_at)
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
