import { lock } from "proper-lockfile";
import { SdkError } from "./errors";

/**
 * A mutual exclusion inside one process: runs `work` after every earlier holder finished.
 * (proper-lockfile's lock is per process too, but would make a second holder in the same
 * process spin on retries.)
 */
export class Mutex {
    private tail: Promise<unknown> = Promise.resolve();

    run<T>(work: () => Promise<T>): Promise<T> {
        const result = this.tail.then(work, work);
        this.tail = result.catch(() => undefined);
        return result;
    }
}

/** How long a lock may go unrenewed before another process takes it over (a crashed holder). */
const STALE_MS = 10_000;

/**
 * The lock of an account file, shared by every process that uses the account (the proxy and a
 * chat in another terminal): proper-lockfile's `<file>.lock` directory (atomic mkdir, renewed
 * while held, taken over when stale after a crash), with a mutex in front for the holders of
 * this process. Hold it only for a read-modify-write of the file, never across network calls.
 */
export class AccountFileLock {
    private readonly mutex = new Mutex();

    constructor(readonly file: string) {}

    withLock<T>(work: () => Promise<T>): Promise<T> {
        return this.mutex.run(async () => {
            let compromised: Error | undefined;
            let release: () => Promise<void>;
            try {
                release = await lock(this.file, {
                    realpath: false,
                    lockfilePath: `${this.file}.lock`,
                    stale: STALE_MS,
                    retries: { retries: 1_000, factor: 1.2, minTimeout: 2, maxTimeout: 50, randomize: true },
                    onCompromised: (error) => {
                        compromised = error;
                    }
                });
            } catch (error) {
                throw new SdkError("BAD_ACCOUNT_FILE", `cannot lock ${this.file}: ${String(error)}`);
            }
            try {
                const result = await work();
                if (compromised !== undefined) throw new SdkError("BAD_ACCOUNT_FILE", `the lock of ${this.file} was lost while held: ${compromised.message}`);
                return result;
            } finally {
                await release().catch(() => undefined);
            }
        });
    }
}
