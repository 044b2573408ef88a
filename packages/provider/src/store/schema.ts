/**
 * The store's tables, the same for SQLite and PostgreSQL (BIGINT holds millisecond times).
 * `tickets` is keyed by nullifier: its primary key is what makes "served at most once" and
 * "no request under a withdrawal's nullifier" atomic across replicas.
 */
export const SCHEMA = [
    `CREATE TABLE IF NOT EXISTS tickets (
        nullifier TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        x TEXT NOT NULL,
        y TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        ticket TEXT NOT NULL,
        lease_until BIGINT NOT NULL,
        receipt TEXT,
        response TEXT,
        identity_commitment TEXT,
        created_at BIGINT NOT NULL,
        completed_at BIGINT
    )`,
    `CREATE TABLE IF NOT EXISTS double_spends (
        nullifier TEXT NOT NULL,
        x TEXT NOT NULL,
        y TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (nullifier, x)
    )`,
    `CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at BIGINT NOT NULL,
        locked_until BIGINT NOT NULL,
        result TEXT,
        updated_at BIGINT NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, next_attempt_at)`,
    `CREATE TABLE IF NOT EXISTS cursors (
        name TEXT PRIMARY KEY,
        block BIGINT NOT NULL
    )`
];
