/**
 * A second process using an account file, as `zkapi proxy` and `zkapi chat` do side by side.
 * Run: node -r ts-node/register/transpile-only account-worker.ts <mode> <account file> <marker dir> <rounds>
 *   churn: claims indices (three loops at once), holds each under an exclusive marker file
 *          (O_EXCL: fails if another process holds the same index), writes it down as sent,
 *          then gives it back (released); prints the number of indices it held.
 *   fill:  claims and writes down indices until the window is full; prints them (JSON).
 *   hold:  takes the account lock and never releases it (then it is killed).
 */
import { closeSync, openSync, unlinkSync } from "node:fs";
import path from "node:path";
import { AccountBook, AccountFileLock, FileAccountStore, isTicketOwnerAlive, newTicketOwner } from "@zk-api-credits/sdk";
import type { StoredRequest } from "@zk-api-credits/sdk";
import { WORKER_TERMS } from "./terms";

const [mode, file, markers, roundsText] = process.argv.slice(2) as [string, string, string, string];
const rounds = Number(roundsText);
const request: StoredRequest = { method: "POST", path: "/v1/chat/completions", headers: {}, body: Buffer.from(`{"from":${process.pid}}`).toString("base64") };

async function churn(): Promise<void> {
    const book = new AccountBook(new FileAccountStore(file));
    const owner = newTicketOwner();
    let held = 0;
    const loop = async (): Promise<void> => {
        for (let r = 0; r < rounds; r++) {
            const slot = await book.claim(owner, WORKER_TERMS, isTicketOwnerAlive);
            if (slot.kind !== "free") continue;
            const marker = path.join(markers, slot.index.toString());
            const fd = openSync(marker, "wx"); // throws EEXIST if another holder has this index now
            held++;
            const sent = await book.markSent(slot.index, owner, { nullifier: slot.index + 1n, request, ticketHeader: `header-${process.pid}-${r}` });
            if (!sent) throw new Error(`index ${slot.index} was taken from its owner`);
            closeSync(fd);
            unlinkSync(marker);
            await book.release(slot.index, "TEST");
        }
    };
    await Promise.all([loop(), loop(), loop()]);
    process.stdout.write(`${JSON.stringify({ held })}\n`);
}

async function fill(): Promise<void> {
    const book = new AccountBook(new FileAccountStore(file));
    const owner = newTicketOwner();
    const got: string[] = [];
    for (;;) {
        const slot = await book.claim(owner, WORKER_TERMS, isTicketOwnerAlive);
        if (slot.kind !== "free") break;
        await book.markSent(slot.index, owner, { nullifier: slot.index + 1n, request, ticketHeader: `header-${process.pid}` });
        got.push(slot.index.toString());
    }
    process.stdout.write(`${JSON.stringify({ indices: got })}\n`);
}

async function hold(): Promise<void> {
    await new AccountFileLock(file).withLock(async () => {
        process.stdout.write("locked\n");
        await new Promise(() => undefined);
    });
}

const run = mode === "churn" ? churn : mode === "fill" ? fill : hold;
run().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
});
