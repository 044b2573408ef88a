import { expect } from "chai";
import { Client } from "pg";
import { PostgresNullifierStore } from "@zk-api-credits/provider";
import type { ClaimResult, NewTicket, StoredCharge } from "@zk-api-credits/provider";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";

const LEASE_MS = 1_000;

/** A ticket whose every field says which nullifier it belongs to (so a field written to the wrong column or row shows). */
function ticket(nullifier: string, x = `0x${nullifier.slice(2)}01`, requestHash = `0x${nullifier.slice(2)}03`): NewTicket {
    const kind = Number.parseInt(nullifier.slice(-1), 16) % 2 === 0 ? "request" : "void";
    return { nullifier, kind, x, y: `0x${nullifier.slice(2)}02`, requestHash, ticket: `ticket ${nullifier}` };
}

const nullifiers = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `0x${prefix}${i.toString(16).padStart(4, "0")}`);

// The PostgreSQL store writes the claims (and the completions) that arrive while one of the same
// kind is in flight as one statement (issue 11 item 8: two single-row statements per paid request
// cost PostgreSQL about as much CPU as the rest of the request's checks). Each write must still get
// the answer it would have got alone. Every call below is made in one synchronous run, so the first
// write of a kind goes alone and the others wait for it and go together: no timing is assumed.
describe("PostgreSQL store: claims and completions written together", function () {
    let postgres: LocalPostgres;
    let store: PostgresNullifierStore;
    let databases = 0;

    const freshStore = async (maxBatch?: number): Promise<PostgresNullifierStore> => {
        await store?.close();
        store = await PostgresNullifierStore.connect(await postgres.createDatabase(`zkapi_writes_${databases++}`), { maxBatch });
        return store;
    };

    before(async function () {
        postgres = await startPostgres();
    });

    after(async function () {
        await store?.close();
        await postgres?.stop();
    });

    it("Should write a lone claim and a lone completion alone, and 40 concurrent ones in two statements each", async function () {
        await freshStore();
        expect(await store.claim(ticket("0x01"), "replica-a", 100, LEASE_MS)).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        expect(await store.complete("0x01", "charge-01", undefined, 101)).to.deep.equal({ charge: "charge-01", response: undefined, won: true });
        expect(store.writeStats.claims).to.deep.equal({ writes: 1, statements: 1, fallbacks: 0 });

        const names = nullifiers(40, "aa");
        const claims = await Promise.all(names.map((n, i) => store.claim(ticket(n), `replica-${i}`, 1_000 + i, LEASE_MS)));
        for (const claim of claims) expect(claim).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        const response = { status: 200, headers: { "content-type": "application/json" }, body: "e30=" };
        const charges = await Promise.all(names.map((n, i) => store.complete(n, `charge-${n}`, i % 2 === 0 ? response : undefined, 2_000 + i)));
        charges.forEach((stored, i) => expect(stored).to.deep.equal({ charge: `charge-${names[i]}`, response: i % 2 === 0 ? response : undefined, won: true }));
        // The first of the 40 went alone, the other 39 together.
        expect(store.writeStats.claims).to.deep.equal({ writes: 41, statements: 3, fallbacks: 0 });
        expect(store.writeStats.completions).to.deep.equal({ writes: 41, statements: 3, fallbacks: 0 });
        // Each row holds its own fields, lease and times.
        for (const [i, n] of names.entries()) {
            const record = (await store.get(n))!;
            const { x, y, requestHash, kind } = ticket(n);
            expect(record).to.deep.include({ nullifier: n, status: "complete", kind, x, y, requestHash, ticket: `ticket ${n}`, leaseOwner: `replica-${i}`, leaseUntil: 1_000 + i + LEASE_MS, createdAt: 1_000 + i });
            expect(record.charge).to.equal(`charge-${n}`);
            expect(record.response).to.deep.equal(i % 2 === 0 ? response : undefined);
        }
    });

    it("Should answer each claim of one batch as if it came alone: a repeat, a double-spend, a known ticket, a takeover", async function () {
        await freshStore();
        await store.claim(ticket("0xb1"), "replica-a", 0, LEASE_MS); // recorded before, lease long expired
        await store.claim(ticket("0xb2"), "replica-a", 9_000, LEASE_MS); // recorded before, lease held
        await store.complete("0xb2", "charge-b2", undefined, 9_001);
        const now = 9_500;
        const results: Promise<ClaimResult>[] = [
            store.claim(ticket("0xb0"), "replica-z", now, LEASE_MS), // goes alone (nothing in flight)
            store.claim(ticket("0xc1"), "replica-b", now, LEASE_MS), // new
            store.claim(ticket("0xc1"), "replica-c", now, LEASE_MS), // the same ticket again, in the same batch
            store.claim(ticket("0xc1", "0xdead"), "replica-d", now, LEASE_MS), // same nullifier, another x: a double-spend
            store.claim(ticket("0xb1"), "replica-b", now, LEASE_MS), // expired lease, same request: taken over
            store.claim(ticket("0xb1"), "replica-c", now, LEASE_MS), // the same takeover again: only one of the two wins
            store.claim(ticket("0xb2"), "replica-b", now, LEASE_MS), // complete already: known
            store.claim(ticket("0xc2"), "replica-b", now, LEASE_MS) // new
        ];
        const [alone, fresh, repeat, doubleSpend, takeover, secondTakeover, complete, other] = await Promise.all(results);
        expect(alone).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        expect(fresh).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        expect(repeat.kind).to.equal("known");
        expect(doubleSpend.kind).to.equal("conflict");
        if (doubleSpend.kind === "conflict") expect(doubleSpend.record.x).to.equal(ticket("0xc1").x);
        // The two takeovers race as two lone claims would: exactly one wins, and the lease is its.
        const winners = [takeover, secondTakeover].filter((claim) => claim.kind === "claimed");
        expect(winners).to.deep.equal([{ kind: "claimed", takeover: true, completed: false }]);
        expect([takeover.kind, secondTakeover.kind]).to.include("known");
        expect(complete.kind).to.equal("known");
        if (complete.kind === "known") expect(complete.record.charge).to.equal("charge-b2");
        expect(other).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        expect((await store.get("0xc1"))!.leaseOwner).to.equal("replica-b");
        expect((await store.get("0xb1"))!.leaseOwner).to.equal(takeover.kind === "claimed" ? "replica-b" : "replica-c");
        expect(store.writeStats.claims.statements).to.equal(4); // two before, one alone, one for the seven others
    });

    it("Should write claims that carry their answer in the same statement as plain ones, each row with its own status and charge", async function () {
        await freshStore();
        const response = (n: string) => ({ status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(n).toString("base64") });
        const names = nullifiers(12, "e1");
        const results = await Promise.all(
            names.map((n, i) => store.claim(ticket(n), `replica-${i}`, 3_000 + i, LEASE_MS, i % 3 === 0 ? undefined : { charge: `charge-${n}`, response: response(n) }))
        );
        results.forEach((claim, i) => expect(claim).to.deep.equal({ kind: "claimed", takeover: false, completed: i % 3 !== 0 }));
        // The first went alone, the eleven others in one statement.
        expect(store.writeStats.claims).to.deep.equal({ writes: 12, statements: 2, fallbacks: 0 });
        for (const [i, n] of names.entries()) {
            const record = (await store.get(n))!;
            if (i % 3 === 0) {
                expect(record).to.deep.include({ status: "pending", leaseOwner: `replica-${i}` });
                expect(record.charge).to.equal(undefined);
            } else {
                expect(record).to.deep.include({ status: "complete", charge: `charge-${n}`, createdAt: 3_000 + i });
                expect(record.response).to.deep.equal(response(n));
            }
        }
    });

    it("Should keep the first of two charges for one ticket in one batch, and refuse a ticket that was never claimed", async function () {
        await freshStore();
        await store.claim(ticket("0xd1"), "replica-a", 100, LEASE_MS);
        await store.claim(ticket("0xd2"), "replica-a", 100, LEASE_MS);
        const results: Promise<StoredCharge>[] = [
            store.complete("0xd2", "charge-alone", undefined, 200),
            store.complete("0xd1", "charge-first", undefined, 201),
            store.complete("0xd1", "charge-second", undefined, 202),
            store.complete("0xd2", "charge-late", undefined, 203)
        ];
        const never = store.complete("0xd9", "charge-never", undefined, 204).then(
            () => undefined,
            (error: Error) => error
        );
        const [alone, first, second, late] = await Promise.all(results);
        expect(alone).to.deep.include({ charge: "charge-alone", won: true });
        expect(first).to.deep.include({ charge: "charge-first", won: true });
        expect(second).to.deep.include({ charge: "charge-first", won: false });
        expect(late).to.deep.include({ charge: "charge-alone", won: false });
        expect((await never)?.message).to.match(/cannot be completed \(status unknown\)/);
        expect((await store.get("0xd1"))!.charge).to.equal("charge-first");
        expect(store.writeStats.completions).to.deep.equal({ writes: 5, statements: 2, fallbacks: 0 });
    });

    it("Should fail only the write the database refuses when its batch's statement fails", async function () {
        await freshStore();
        const names = nullifiers(6, "ee");
        const results = names.map((n, i) =>
            // PostgreSQL refuses a NUL character in text: the batch's INSERT fails as a whole.
            store.claim({ ...ticket(n), ticket: i === 3 ? "bad\u0000ticket" : `ticket ${n}` }, "replica-a", 100, LEASE_MS).then(
                (result) => result,
                (error: Error) => error
            )
        );
        const answers = await Promise.all(results);
        answers.forEach((answer, i) => {
            if (i === 3) expect(answer).to.be.instanceOf(Error);
            else expect(answer).to.deep.equal({ kind: "claimed", takeover: false, completed: false });
        });
        expect(await store.get(names[3]!)).to.equal(undefined);
        for (const n of names.filter((_, i) => i !== 3)) expect(await store.get(n)).to.deep.include({ ...ticket(n), status: "pending", leaseOwner: "replica-a", leaseUntil: 100 + LEASE_MS });
        expect(store.writeStats.claims).to.deep.equal({ writes: 6, statements: 2, fallbacks: 1 });
    });

    it("Should fail every write of a batch whose statement's fate is unknown, without sending them again", async function () {
        const closed = await PostgresNullifierStore.connect(await postgres.createDatabase(`zkapi_writes_${databases++}`));
        await closed.close(); // every query now fails on the client side: nothing says the database refused it
        const answers = await Promise.all(nullifiers(4, "ab").map((n) => closed.claim(ticket(n), "replica-a", 100, LEASE_MS).then(() => undefined, (error: Error) => error)));
        for (const answer of answers) expect(answer).to.be.instanceOf(Error);
        // Sent again, a write whose statement did commit would find its own row and answer as a repeat.
        expect(closed.writeStats.claims).to.deep.equal({ writes: 4, statements: 2, fallbacks: 0 });
    });

    it("Should not deadlock two replicas whose batches claim the same tickets in opposite orders", async function () {
        const url = await postgres.createDatabase(`zkapi_writes_${databases++}`);
        const replicas = [await PostgresNullifierStore.connect(url), await PostgresNullifierStore.connect(url)];
        const holder = new Client({ connectionString: url });
        await holder.connect();
        try {
            // Another writer holds n3 uncommitted, so that both batches are waiting at once, each after its first row.
            await holder.query("BEGIN");
            await holder.query(`INSERT INTO tickets (nullifier, status, kind, x, y, request_hash, ticket, lease_owner, lease_until, created_at)
                                VALUES ('0x0003', 'pending', 'request', '', '', '', '', 'holder', 0, 0)`);
            // Each replica's first write goes alone; the three behind it go as one statement, in these orders.
            const orders = [
                ["0x00d1", "0x0001", "0x0003", "0x0002"],
                ["0x00d2", "0x0002", "0x0003", "0x0001"]
            ];
            const answers = orders.map((order, r) => Promise.all(order.map((n) => replicas[r]!.claim(ticket(n), `replica-${r}`, 100, LEASE_MS))));
            const waiting = async (): Promise<number> =>
                Number((await holder.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n);
            while ((await waiting()) < 2) await new Promise((resolve) => setTimeout(resolve, 10));
            await holder.query("ROLLBACK");
            const [first, second] = await Promise.all(answers);
            // Written in one order (nullifier order), the second batch waits for the first and finds its rows: no deadlock, no refused statement.
            expect(replicas.map((replica) => replica.writeStats.claims)).to.deep.equal([
                { writes: 4, statements: 2, fallbacks: 0 },
                { writes: 4, statements: 2, fallbacks: 0 }
            ]);
            for (const n of ["0x0001", "0x0002", "0x0003"]) {
                const kinds = [first![orders[0]!.indexOf(n)]!.kind, second![orders[1]!.indexOf(n)]!.kind].sort();
                expect(kinds, n).to.deep.equal(["claimed", "known"]);
            }
        } finally {
            await holder.end();
            for (const replica of replicas) await replica.close();
        }
    });

    it("Should write each alone with maxBatch 1", async function () {
        await freshStore(1);
        const names = nullifiers(5, "f0");
        await Promise.all(names.map((n) => store.claim(ticket(n), "replica-a", 100, LEASE_MS)));
        expect(store.writeStats.claims).to.deep.equal({ writes: 5, statements: 5, fallbacks: 0 });
    });
});
