import Database from "better-sqlite3";
import type { Database as SqliteDatabase } from "better-sqlite3";
import { SCHEMA } from "./schema";
import { CLAIM_COLUMNS, claimValues, foldFromRow, jobFromRow, ticketFromRow } from "./rows";
import type { FoldRow, JobRow, TicketRow } from "./rows";
import type {
    ChainJob,
    ClaimResult,
    FoldRecord,
    FoldResult,
    KnownAnswer,
    NewTicket,
    NullifierStore,
    StoreStats,
    StoredCharge,
    StoredResponse,
    TicketRecord
} from "./types";

/**
 * The nullifier store in an embedded SQLite file (the default): WAL journal with
 * synchronous=FULL, so a recorded nullifier survives a crash or power loss. Several
 * gateway processes on one machine may share the file; replicas on several machines share
 * a PostgreSQL store instead.
 */
export class SqliteNullifierStore implements NullifierStore {
    private readonly db: SqliteDatabase;

    constructor(file: string) {
        this.db = new Database(file);
        this.db.pragma("journal_mode = WAL");
        this.db.pragma("synchronous = FULL");
        this.db.pragma("busy_timeout = 5000");
        for (const statement of SCHEMA) this.db.exec(statement);
    }

    async claim(ticket: NewTicket, owner: string, now: number, leaseMs: number, answer?: KnownAnswer): Promise<ClaimResult> {
        return this.db.transaction((): ClaimResult => {
            const inserted = this.db
                .prepare(
                    `INSERT INTO tickets (${CLAIM_COLUMNS})
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (nullifier) DO NOTHING`
                )
                .run(...claimValues(ticket, owner, now, leaseMs, answer));
            if (inserted.changes === 1) return { kind: "claimed", takeover: false, completed: answer !== undefined };
            const record = this.ticket(ticket.nullifier)!;
            if (record.status === "withdrawn" || record.x !== ticket.x) return { kind: "conflict", record };
            if (record.status === "pending" && record.leaseUntil < now && record.requestHash === ticket.requestHash) {
                const taken = this.db
                    .prepare(`UPDATE tickets SET lease_owner = ?, lease_until = ? WHERE nullifier = ? AND status = 'pending' AND lease_until < ?`)
                    .run(owner, now + leaseMs, ticket.nullifier, now);
                if (taken.changes === 1) return { kind: "claimed", takeover: true, completed: false };
            }
            return { kind: "known", record };
        }).immediate();
    }

    async renewLease(nullifier: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
        return (
            this.db
                .prepare(`UPDATE tickets SET lease_until = ? WHERE nullifier = ? AND status = 'pending' AND lease_owner = ?`)
                .run(now + leaseMs, nullifier, owner).changes === 1
        );
    }

    async complete(nullifier: string, charge: string, response: StoredResponse | undefined, now: number): Promise<StoredCharge> {
        return this.db.transaction((): StoredCharge => {
            const updated = this.db
                .prepare(`UPDATE tickets SET status = 'complete', charge = ?, response = ?, completed_at = ? WHERE nullifier = ? AND status = 'pending'`)
                .run(charge, response === undefined ? null : JSON.stringify(response), now, nullifier);
            if (updated.changes === 1) return { charge, response, won: true };
            const record = this.ticket(nullifier);
            if (record?.charge === undefined) throw new Error(`ticket ${nullifier} cannot be completed (status ${record?.status ?? "unknown"})`);
            return { charge: record.charge, response: record.response, won: false };
        }).immediate();
    }

    async get(nullifier: string): Promise<TicketRecord | undefined> {
        return this.ticket(nullifier);
    }

    private ticket(nullifier: string): TicketRecord | undefined {
        const row = this.db.prepare(`SELECT * FROM tickets WHERE nullifier = ?`).get(nullifier) as TicketRow | undefined;
        return row === undefined ? undefined : ticketFromRow(row);
    }

    async markWithdrawn(nullifier: string, identityCommitment: string, now: number): Promise<TicketRecord | undefined> {
        return this.db.transaction((): TicketRecord | undefined => {
            const inserted = this.db
                .prepare(
                    `INSERT INTO tickets (nullifier, status, kind, x, y, request_hash, ticket, lease_owner, lease_until, identity_commitment, created_at)
                     VALUES (?, 'withdrawn', 'request', '', '', '', '', '', 0, ?, ?) ON CONFLICT (nullifier) DO NOTHING`
                )
                .run(nullifier, identityCommitment, now);
            if (inserted.changes === 1) return undefined;
            const record = this.ticket(nullifier)!;
            return record.status === "withdrawn" ? undefined : record;
        }).immediate();
    }

    async recordFold(fold: Omit<FoldRecord, "status">, now: number): Promise<FoldResult> {
        return this.db.transaction((): FoldResult => {
            const inserted = this.db
                .prepare(
                    `INSERT INTO folds (fold_nullifier, status, new_base, proof, signature, created_at)
                     VALUES (?, 'folded', ?, ?, ?, ?) ON CONFLICT (fold_nullifier) DO NOTHING`
                )
                .run(fold.foldNullifier, fold.newBase, fold.proof, fold.signature, now);
            if (inserted.changes === 1) return { kind: "recorded" };
            const record = foldFromRow(this.db.prepare(`SELECT * FROM folds WHERE fold_nullifier = ?`).get(fold.foldNullifier) as FoldRow);
            if (record.status === "closed") return { kind: "closed" };
            return record.newBase === fold.newBase ? { kind: "replay", record } : { kind: "conflict", record };
        }).immediate();
    }

    async closeFold(foldNullifier: string, identityCommitment: string, now: number): Promise<FoldRecord | undefined> {
        return this.db.transaction((): FoldRecord | undefined => {
            const inserted = this.db
                .prepare(
                    `INSERT INTO folds (fold_nullifier, status, new_base, proof, signature, identity_commitment, created_at)
                     VALUES (?, 'closed', '', '', '', ?, ?) ON CONFLICT (fold_nullifier) DO NOTHING`
                )
                .run(foldNullifier, identityCommitment, now);
            if (inserted.changes === 1) return undefined;
            const record = foldFromRow(this.db.prepare(`SELECT * FROM folds WHERE fold_nullifier = ?`).get(foldNullifier) as FoldRow);
            return record.status === "folded" ? record : undefined;
        }).immediate();
    }

    async recordDoubleSpend(nullifier: string, x: string, y: string, now: number): Promise<boolean> {
        return (
            this.db
                .prepare(`INSERT INTO double_spends (nullifier, x, y, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`)
                .run(nullifier, x, y, now).changes === 1
        );
    }

    async doubleSpendShares(nullifier: string): Promise<{ x: string; y: string }[]> {
        return this.db.prepare(`SELECT x, y FROM double_spends WHERE nullifier = ? ORDER BY created_at`).all(nullifier) as { x: string; y: string }[];
    }

    async forgetDoubleSpend(nullifier: string): Promise<void> {
        this.db.prepare(`DELETE FROM double_spends WHERE nullifier = ?`).run(nullifier);
    }

    async enqueueJob(id: string, kind: ChainJob["kind"], payload: string, now: number): Promise<boolean> {
        return (
            this.db
                .prepare(
                    `INSERT INTO jobs (id, kind, payload, status, attempts, next_attempt_at, locked_until, updated_at)
                     VALUES (?, ?, ?, 'pending', 0, ?, 0, ?) ON CONFLICT (id) DO NOTHING`
                )
                .run(id, kind, payload, now, now).changes === 1
        );
    }

    async leaseJob(now: number, lockMs: number): Promise<ChainJob | undefined> {
        return this.db.transaction((): ChainJob | undefined => {
            const row = this.db
                .prepare(
                    `SELECT * FROM jobs WHERE status IN ('pending', 'running') AND next_attempt_at <= ? AND locked_until < ?
                     ORDER BY next_attempt_at LIMIT 1`
                )
                .get(now, now) as JobRow | undefined;
            if (row === undefined) return undefined;
            this.db
                .prepare(`UPDATE jobs SET status = 'running', locked_until = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`)
                .run(now + lockMs, now, row.id);
            return jobFromRow({ ...row, status: "running", attempts: row.attempts + 1 });
        }).immediate();
    }

    async finishJob(
        id: string,
        outcome: { status: "done" | "failed"; result: string } | { status: "retry"; result: string; retryAt: number },
        now: number
    ): Promise<void> {
        if (outcome.status === "retry") {
            this.db
                .prepare(`UPDATE jobs SET status = 'pending', result = ?, next_attempt_at = ?, locked_until = 0, updated_at = ? WHERE id = ?`)
                .run(outcome.result, outcome.retryAt, now, id);
        } else {
            this.db.prepare(`UPDATE jobs SET status = ?, result = ?, locked_until = 0, updated_at = ? WHERE id = ?`).run(outcome.status, outcome.result, now, id);
        }
    }

    async getJob(id: string): Promise<ChainJob | undefined> {
        const row = this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
        return row === undefined ? undefined : jobFromRow(row);
    }

    async getCursor(name: string): Promise<number | undefined> {
        const row = this.db.prepare(`SELECT block FROM cursors WHERE name = ?`).get(name) as { block: number } | undefined;
        return row === undefined ? undefined : Number(row.block);
    }

    async setCursor(name: string, block: number): Promise<void> {
        this.db
            .prepare(`INSERT INTO cursors (name, block) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET block = MAX(cursors.block, excluded.block)`)
            .run(name, block);
    }

    async stats(): Promise<StoreStats> {
        const count = (sql: string): number => Number((this.db.prepare(sql).get() as { n: number }).n);
        const jobs: Record<string, number> = {};
        for (const row of this.db.prepare(`SELECT kind || ':' || status AS key, COUNT(*) AS n FROM jobs GROUP BY kind, status`).all() as { key: string; n: number }[]) {
            jobs[row.key] = Number(row.n);
        }
        return {
            tickets: count(`SELECT COUNT(*) AS n FROM tickets WHERE status <> 'withdrawn'`),
            complete: count(`SELECT COUNT(*) AS n FROM tickets WHERE status = 'complete'`),
            withdrawn: count(`SELECT COUNT(*) AS n FROM tickets WHERE status = 'withdrawn'`),
            folds: count(`SELECT COUNT(*) AS n FROM folds WHERE status = 'folded'`),
            doubleSpends: count(`SELECT COUNT(*) AS n FROM double_spends`),
            jobs
        };
    }

    async close(): Promise<void> {
        this.db.close();
    }
}
