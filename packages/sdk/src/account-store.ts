import { AccountFileLock, Mutex } from "./account-lock";
import { decodeAccountRecord, encodeAccountRecord } from "./account-record";
import type { AccountRecord } from "./account-record";
import { readFileIfExists, writeFileDurably } from "./durable-file";
import { SdkError } from "./errors";

/**
 * What a change of the account decides: the record to write (undefined: leave it as it is)
 * and a result for the caller.
 */
export interface AccountChange<T> {
    readonly next?: AccountRecord;
    readonly result: T;
}

/**
 * Where a client keeps its account. Every mutation is `update`: under a lock shared by every
 * process using the account, the current record is read again, `change` decides, the new
 * record is written durably, the lock is released. A process never writes from a copy it
 * read earlier, so it never overwrites a newer state with an older one.
 */
export interface AccountStore {
    /** The current record (unlocked read: may be stale the moment it returns). */
    read(): Promise<AccountRecord | undefined>;
    update<T>(change: (current: AccountRecord | undefined) => AccountChange<T>): Promise<T>;
}

/**
 * Refuses a write that would move the account backwards or onto another identity: a bug in a
 * change, never a state a client may reach.
 */
export function assertProgress(current: AccountRecord | undefined, next: AccountRecord): void {
    if (current === undefined) return;
    if (next.identityCommitment !== current.identityCommitment || next.registry !== current.registry || next.chainId !== current.chainId) {
        throw new SdkError("WRONG_DEPLOYMENT", "a change tried to replace the account with another identity's or registry's");
    }
    if (next.base.state.folded < current.base.state.folded) {
        throw new SdkError("BAD_ACCOUNT_FILE", `a change tried to move the base back from ${current.base.state.folded} to ${next.base.state.folded}`);
    }
}

/** The account in a JSON file (mode 0600), locked across processes, replaced atomically and fsynced on every change. */
export class FileAccountStore implements AccountStore {
    private readonly lock: AccountFileLock;

    constructor(readonly file: string) {
        this.lock = new AccountFileLock(file);
    }

    async read(): Promise<AccountRecord | undefined> {
        const text = readFileIfExists(this.file);
        return text === undefined ? undefined : decodeAccountRecord(text);
    }

    update<T>(change: (current: AccountRecord | undefined) => AccountChange<T>): Promise<T> {
        return this.lock.withLock(async () => {
            const current = await this.read();
            const { next, result } = change(current);
            if (next !== undefined) {
                assertProgress(current, next);
                writeFileDurably(this.file, encodeAccountRecord(next));
            }
            return result;
        });
    }
}

/** The account in memory (tests, short-lived scripts); kept encoded, as a file would be. */
export class MemoryAccountStore implements AccountStore {
    private readonly mutex = new Mutex();

    constructor(private text?: string) {}

    /** A store holding a copy of another store's current record (e.g. a backup). */
    static async copyOf(store: AccountStore): Promise<MemoryAccountStore> {
        const record = await store.read();
        return new MemoryAccountStore(record === undefined ? undefined : encodeAccountRecord(record));
    }

    async read(): Promise<AccountRecord | undefined> {
        return this.text === undefined ? undefined : decodeAccountRecord(this.text);
    }

    update<T>(change: (current: AccountRecord | undefined) => AccountChange<T>): Promise<T> {
        return this.mutex.run(async () => {
            const current = await this.read();
            const { next, result } = change(current);
            if (next !== undefined) {
                assertProgress(current, next);
                this.text = encodeAccountRecord(next);
            }
            return result;
        });
    }
}
