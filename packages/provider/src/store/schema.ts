/**
 * The store's tables, the same for SQLite and PostgreSQL (BIGINT holds millisecond times).
 * `tickets` is keyed by nullifier and `folds` by fold nullifier: their primary keys make
 * "a ticket is recorded once", "a ticket has exactly one charge", "a base is folded once"
 * and "nothing is served or folded under a withdrawal's disclosed nullifiers" atomic across
 * replicas. No secret is stored: a double-spender's key is recomputed from the two shares
 * when the slash is sent, and the second share is dropped once the slash has landed.
 */
export const SCHEMA = [
    `CREATE TABLE IF NOT EXISTS tickets (
        nullifier TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        kind TEXT NOT NULL,
        x TEXT NOT NULL,
        y TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        ticket TEXT NOT NULL,
        lease_owner TEXT NOT NULL,
        lease_until BIGINT NOT NULL,
        charge TEXT,
        response TEXT,
        identity_commitment TEXT,
        created_at BIGINT NOT NULL,
        completed_at BIGINT
    )`,
    `CREATE TABLE IF NOT EXISTS folds (
        fold_nullifier TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        new_base TEXT NOT NULL,
        proof TEXT NOT NULL,
        signature TEXT NOT NULL,
        identity_commitment TEXT,
        created_at BIGINT NOT NULL
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
