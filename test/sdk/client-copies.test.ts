import { expect } from "chai";
import { copyFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { FileAccountStore } from "@zk-api-credits/sdk";
import type { ZkApiClient, ZkApiClientOptions } from "@zk-api-credits/sdk";
import { chargedIndices, chat, range, recorder, runClientWorker, sdkUser, startSdkStack } from "./support/sdk-stack";
import type { SdkStack, SdkUser } from "./support/sdk-stack";

const ACTIVE = 1n;

/** A copy of the user's account file as it is now (a backup, a second laptop). */
function backupOf(user: SdkUser): string {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-backup-")), "account.json");
    copyFileSync(user.accountFile, file);
    return file;
}

// Accounts must never be stuck or slashed by honest use (issue 10): two processes on one
// profile, an old copy of the account file, a process that dies mid-request.
describe("SDK client: processes, copies and crashes, against a real gateway", function () {
    let s: SdkStack;
    let nextAccount = 5;
    const clients: ZkApiClient[] = [];

    const user = (): Promise<SdkUser> => sdkUser(s, nextAccount++);

    async function open(u: SdkUser, extra: Partial<ZkApiClientOptions> = {}): Promise<ZkApiClient> {
        const client = await u.open(extra);
        clients.push(client);
        return client;
    }

    before(async function () {
        s = await startSdkStack();
    });

    after(async function () {
        for (const client of clients) await client.close();
        await s?.stop();
    });

    describe("# two processes on one account file", function () {
        it("Should let another process and this one pay at once without ever using an index twice", async function () {
            const grace = await user();
            const client = await open(grace, { prepareAhead: 0 });
            const seen = recorder(client);
            const [other, mine] = await Promise.all([
                runClientWorker(s, grace, "requests", 3),
                Promise.all(range(0, 3).map(async (i) => {
                    const answer = await client.fetch("/v1/chat/completions", chat(`main ${i}`));
                    await answer.arrayBuffer();
                    return answer.status;
                }))
            ]);
            expect(other.code, other.stderr).to.equal(0);
            const worker = JSON.parse(other.stdout.trim().split("\n").at(-1)!) as { statuses: number[]; indices: string[] };
            expect(mine).to.deep.equal([200, 200, 200]);
            expect(worker.statuses).to.deep.equal([200, 200, 200]);
            // Six requests, six distinct indices: none was sent twice (no TICKET_ALREADY_USED, no DOUBLE_SPEND).
            const all = [...worker.indices.map(BigInt), ...chargedIndices(seen.charged, "request")].sort((a, b) => (a < b ? -1 : 1));
            expect(all).to.deep.equal(range(0, 6));
            expect(chargedIndices(seen.charged, "adopted")).to.deep.equal([]);
            await client.settled();
            expect((await client.refresh())!.base.state.folded).to.equal(6n);
            expect((await s.registry.deposits(grace.identity.commitment)).status).to.equal(ACTIVE);
        });
    });

    describe("# an old copy of the account file", function () {
        it("Should catch up by looking each index up before its first use, never double-spending", async function () {
            const heidi = await user();
            const backup = backupOf(heidi); // taken before any request
            const newer = await open(heidi, { prepareAhead: 0 });
            const newerSeen = recorder(newer);
            for (let i = 0; i < 2; i++) expect((await newer.fetch("/v1/chat/completions", chat(`newer ${i}`))).status).to.equal(200);
            await newer.settled();

            const old = await open(heidi, { prepareAhead: 0, store: new FileAccountStore(backup) });
            const oldSeen = recorder(old);
            expect((await old.fetch("/v1/chat/completions", chat("from the backup"))).status).to.equal(200);
            expect(chargedIndices(oldSeen.charged, "adopted")).to.deep.equal([0n, 1n]);
            expect(chargedIndices(oldSeen.charged, "request")).to.deep.equal([2n]);
            await old.settled();
            const spentByNewer = newerSeen.charged.reduce((sum, e) => sum + e.cost, 0n);
            const oldRequest = oldSeen.charged.find((e) => e.how === "request")!;
            expect((await old.balance()).spent).to.equal(spentByNewer + oldRequest.cost);
            expect((await old.refresh())!.base.state.folded).to.equal(2n); // it folded 0 and 1 itself: the same new base
            expect((await s.registry.deposits(heidi.identity.commitment)).status).to.equal(ACTIVE);

            // The newer copy in turn adopts what the old one did.
            expect((await newer.fetch("/v1/chat/completions", chat("newer again"))).status).to.equal(200);
            expect(chargedIndices(newerSeen.charged, "adopted")).to.deep.equal([2n]);
            expect(chargedIndices(newerSeen.charged, "request")).to.deep.equal([0n, 1n, 3n]);
        });

        it("Should adopt the stored charge when an old copy's pre-proved ticket meets TICKET_ALREADY_USED", async function () {
            const ivan = await user();
            const first = await open(ivan, { prepareAhead: 2 });
            await first.start();
            await first.prepareTickets(2);
            const backup = backupOf(ivan); // holds the proofs of tickets 0 and 1
            expect(Object.keys((await new FileAccountStore(backup).read())!.prepared)).to.deep.equal(["0", "1"]);
            for (let i = 0; i < 2; i++) expect((await first.fetch("/v1/chat/completions", chat(`first ${i}`))).status).to.equal(200);
            await first.close();

            const old = await open(ivan, { prepareAhead: 0, store: new FileAccountStore(backup) });
            const seen = recorder(old);
            expect((await old.fetch("/v1/chat/completions", chat("backup with proofs"))).status).to.equal(200);
            expect(chargedIndices(seen.charged, "adopted")).to.deep.equal([0n, 1n]);
            expect(chargedIndices(seen.charged, "request")).to.deep.equal([2n]);
            expect((await s.registry.deposits(ivan.identity.commitment)).status).to.equal(ACTIVE);
        });
    });

    describe("# crashes", function () {
        it("Should recover the charge of a request whose process died as its answer arrived", async function () {
            const judy = await user();
            const died = await runClientWorker(s, judy, "die-after-answer", 1);
            expect(died.signal, died.stderr).to.equal("SIGKILL");
            const client = await open(judy, { prepareAhead: 0 });
            expect((await client.refresh())!.tickets["0"]?.status).to.equal("sent");
            const seen = recorder(client);
            expect(await client.recover()).to.deep.equal([]);
            expect(chargedIndices(seen.charged, "recovered")).to.deep.equal([0n]);
            expect((await client.refresh())!.charges["0"]).to.not.equal(undefined);
        });

        it("Should void a ticket whose process died after writing it down, before sending it", async function () {
            const mallory = await user();
            const died = await runClientWorker(s, mallory, "die-before-send", 1);
            expect(died.signal, died.stderr).to.equal("SIGKILL");
            const client = await open(mallory, { prepareAhead: 0 });
            expect((await client.refresh())!.tickets["0"]?.status).to.equal("sent");
            const seen = recorder(client);
            expect(await client.recover()).to.deep.equal([]);
            expect(seen.charged.map((e) => [e.index, e.how, e.cost])).to.deep.equal([[0n, "voided", 0n]]);
            expect((await client.refresh())!.tickets["0"]?.status).to.equal("voided");
            // The window goes on: the next request takes index 1.
            expect((await client.fetch("/v1/chat/completions", chat("after the crash"))).status).to.equal(200);
            expect(chargedIndices(seen.charged, "request")).to.deep.equal([1n]);
        });
    });
});
