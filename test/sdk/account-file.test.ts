import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Identity } from "@zk-api-credits/protocol";
import {
    AccountBook,
    encodeAccountRecord,
    exportIdentity,
    FileAccountStore,
    IDENTITY_SAFETY_NOTES,
    importIdentity,
    isTicketOwnerAlive,
    MemoryAccountStore,
    newAccountRecord,
    newTicketOwner,
    nextFreeIndex,
    SdkError
} from "@zk-api-credits/sdk";
import type { AccountRecord } from "@zk-api-credits/sdk";
import { WORKER_DEPOSIT, WORKER_TERMS } from "./support/terms";

const ROOT = path.resolve(__dirname, "../..");
const WORKER = path.join(__dirname, "support/account-worker.ts");
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

function account(identity = new Identity()): AccountRecord {
    return newAccountRecord({ chainId: 31337n, registry: REGISTRY, identityCommitment: identity.commitment, deposit: WORKER_DEPOSIT, leafIndex: 3, registrationBlock: 7 });
}

function tempFile(): string {
    return path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-sdk-")), "account.json");
}

interface Worker {
    readonly pid: number;
    readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
    /** Resolves when the worker printed `text`. */
    printed(text: string): Promise<void>;
    kill(): void;
}

function worker(...args: string[]): Worker {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", WORKER, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const listeners: (() => void)[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        listeners.forEach((check) => check());
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once("exit", (code) => resolve({ code, stdout, stderr })));
    return {
        pid: child.pid!,
        done,
        printed: (text) =>
            new Promise((resolve, reject) => {
                const check = (): void => {
                    if (stdout.includes(text)) resolve();
                };
                listeners.push(check);
                check();
                void done.then(() => reject(new Error(`the worker exited before printing ${text}: ${stderr}`)));
            }),
        kill: () => child.kill("SIGKILL")
    };
}

describe("SDK account file", function () {
    describe("# store", function () {
        it("Should write the account file with mode 0600, replace it atomically and read back every field", async function () {
            const file = tempFile();
            const store = new FileAccountStore(file);
            const record = account();
            await store.update(() => ({ next: record, result: undefined }));
            expect(statSync(file).mode & 0o777).to.equal(0o600);
            expect(await store.read()).to.deep.equal(record);
            expect(readFileSync(file, "utf8")).to.equal(encodeAccountRecord(record));
        });

        it("Should refuse a v1 account file with BAD_ACCOUNT_FILE", async function () {
            const file = tempFile();
            writeFileSync(file, JSON.stringify({ version: 1, record: { state: { seq: "bigint:3" } } }));
            const error = await new FileAccountStore(file).read().catch((e: unknown) => e);
            expect(error).to.be.instanceOf(SdkError).with.property("code", "BAD_ACCOUNT_FILE");
        });

        it("Should refuse a change that moves the base back or replaces the identity", async function () {
            const store = new MemoryAccountStore();
            const record = account();
            const advanced: AccountRecord = { ...record, base: { state: { spent: 10n, burned: 0n, folded: 2n } } };
            await store.update(() => ({ next: advanced, result: undefined }));
            const back = await store.update(() => ({ next: record, result: undefined })).catch((e: unknown) => e);
            expect(back).to.be.instanceOf(SdkError).with.property("code", "BAD_ACCOUNT_FILE");
            const other = await store.update(() => ({ next: { ...advanced, identityCommitment: 1n }, result: undefined })).catch((e: unknown) => e);
            expect(other).to.be.instanceOf(SdkError).with.property("code", "WRONG_DEPLOYMENT");
            expect((await store.read())!.base.state.folded).to.equal(2n);
        });

        it("Should adopt what another process wrote instead of overwriting it with an older copy", async function () {
            const file = tempFile();
            const first = new AccountBook(new FileAccountStore(file));
            const second = new AccountBook(new FileAccountStore(file));
            await first.create(account());
            await second.read(); // second now holds an old snapshot
            const owner = newTicketOwner();
            const a = await first.claim(owner, WORKER_TERMS, isTicketOwnerAlive);
            const b = await second.claim(owner, WORKER_TERMS, isTicketOwnerAlive);
            expect(a).to.deep.equal({ kind: "free", index: 0n });
            expect(b).to.deep.equal({ kind: "free", index: 1n });
            const stored = (await new FileAccountStore(file).read())!;
            expect(Object.keys(stored.tickets)).to.deep.equal(["0", "1"]);
        });
    });

    describe("# lock across processes", function () {
        it("Should never give one index to two holders at once (two processes, three loops each)", async function () {
            const file = tempFile();
            await new FileAccountStore(file).update(() => ({ next: account(), result: undefined }));
            const markers = mkdtempSync(path.join(os.tmpdir(), "zkapi-markers-"));
            const ROUNDS = 40;
            const workers = [worker("churn", file, markers, String(ROUNDS)), worker("churn", file, markers, String(ROUNDS))];
            const results = await Promise.all(workers.map((w) => w.done));
            for (const result of results) expect(result.code, result.stderr).to.equal(0);
            const held = results.map((r) => (JSON.parse(r.stdout) as { held: number }).held);
            // Every claim of every loop found a free index (the window of 8 is never full with 6 holders).
            expect(held).to.deep.equal([3 * ROUNDS, 3 * ROUNDS]);
            const stored = (await new FileAccountStore(file).read())!;
            // Everything was given back: released (the header was shown), free for the next request.
            for (const ticket of Object.values(stored.tickets)) expect(ticket.status).to.equal("released");
            expect(nextFreeIndex(stored, WORKER_TERMS, isTicketOwnerAlive)).to.deep.equal({ kind: "free", index: 0n });
        });

        it("Should fill the window from two processes with every index written down exactly once", async function () {
            const file = tempFile();
            await new FileAccountStore(file).update(() => ({ next: account(), result: undefined }));
            const markers = mkdtempSync(path.join(os.tmpdir(), "zkapi-markers-"));
            const results = await Promise.all([worker("fill", file, markers, "0").done, worker("fill", file, markers, "0").done]);
            for (const result of results) expect(result.code, result.stderr).to.equal(0);
            const got = results.flatMap((r) => (JSON.parse(r.stdout) as { indices: string[] }).indices);
            expect([...got].sort((a, b) => Number(a) - Number(b))).to.deep.equal(["0", "1", "2", "3", "4", "5", "6", "7"]);
            const stored = (await new FileAccountStore(file).read())!;
            expect(Object.values(stored.tickets).map((t) => t.status)).to.deep.equal(Array(8).fill("sent"));
            // The writers are gone, but a sent ticket is never reused: it must be resolved (looked up, adopted or voided).
            expect(nextFreeIndex(stored, WORKER_TERMS, isTicketOwnerAlive)).to.deep.equal({ kind: "full" });
        });

        it("Should free the claims of a process that died, and take its lock over once it is stale", async function () {
            const file = tempFile();
            const store = new FileAccountStore(file);
            await store.update(() => ({ next: account(), result: undefined }));
            const holder = worker("hold", file, "-", "0");
            await holder.printed("locked");
            const dead = { id: "gone", pid: holder.pid, host: os.hostname() };
            holder.kill();
            await holder.done;
            // The lock directory outlives the process; the next update takes it over once stale (10 s), then proceeds.
            await store.update((current) => ({ next: { ...current!, tickets: { "0": { status: "claimed", owner: dead } } }, result: undefined }));
            const stored = (await store.read())!;
            expect(isTicketOwnerAlive(dead)).to.equal(false);
            expect(nextFreeIndex(stored, WORKER_TERMS, isTicketOwnerAlive)).to.deep.equal({ kind: "free", index: 0n });
        });
    });

    describe("# identity export", function () {
        it("Should export the identity encrypted and import it back only with the passphrase", async function () {
            const identity = new Identity();
            const text = await exportIdentity(identity, "correct horse battery");
            expect(text).to.not.include(identity.secret.toString(16));
            expect(text).to.include(identity.commitment.toString());
            expect((await importIdentity(text, "correct horse battery")).secret).to.equal(identity.secret);
            const wrong = await importIdentity(text, "wrong passphrase").catch((e: unknown) => e);
            expect(wrong).to.be.instanceOf(SdkError).with.property("code", "WRONG_PASSPHRASE");
            expect(IDENTITY_SAFETY_NOTES).to.match(/old copy of the account catches up/);
        });
    });

    describe("# identity binding", function () {
        it("Should keep one account per store: create() returns the stored one and refuses another identity's", async function () {
            const book = new AccountBook(new MemoryAccountStore());
            const identity = new Identity();
            const record = account(identity);
            await book.create(record);
            expect(await book.create(record)).to.deep.equal(record);
            const error = await book.create(account()).catch((e: unknown) => e);
            expect(error).to.be.instanceOf(SdkError).with.property("code", "WRONG_DEPLOYMENT");
        });
    });
});
