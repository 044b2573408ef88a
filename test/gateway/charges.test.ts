import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { createGateway, defaultApi, PostgresNullifierStore, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, GatewayApi, NullifierStore, PaidRoute } from "@zk-api-credits/provider";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { chat, RawUser } from "../helpers/tickets";

const LEASE_MS = 10_000;

/** A route that answers only when the test releases it (no timing assumptions). */
class GatedRoute implements PaidRoute {
    private readonly gates: (() => void)[] = [];
    entered = 0;
    constructor(private readonly inner: PaidRoute) {}
    prepare = (request: Parameters<NonNullable<PaidRoute["prepare"]>>[0]) => this.inner.prepare?.(request) ?? request;
    async serve(request: Parameters<PaidRoute["serve"]>[0], signal: AbortSignal) {
        this.entered++;
        await new Promise<void>((resolve) => this.gates.push(resolve));
        return this.inner.serve(request, signal);
    }
    release(): void {
        this.gates.shift()?.();
    }
}

async function until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

// Exactly one charge per ticket (issue 10, audit item 9): v1 served a ticket twice after a
// lease takeover and signed two receipts, and the user kept the cheaper. Here a takeover may
// serve twice, but the store keeps the first charge and every answer carries that one.
for (const storeKind of ["sqlite", "postgres"] as const) {
    describe(`Exactly one charge per ticket (${storeKind} store)`, function () {
        let stack: DeployedStack;
        let postgres: LocalPostgres | undefined;
        let store: NullifierStore;
        let gateway: Gateway;
        let url: string;
        let chain: JsonRpcProvider;
        let clock = 1_000_000;
        let route: GatedRoute;
        let user: RawUser;

        before(async function () {
            stack = await startDeployedStack();
            if (storeKind === "postgres") {
                postgres = await startPostgres();
                store = await PostgresNullifierStore.connect(await postgres.createDatabase("zkapi_charges"));
            } else {
                store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-charges-")), "gateway.db"));
            }
            chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
            const base = defaultApi(stack.deployment);
            route = new GatedRoute(base.paid.find((p) => p.url === "/v1/chat/completions")!.route);
            const api: GatewayApi = { ...base, paid: [{ method: "POST", url: "/v1/chat/completions", route }] };
            // Head starts off: this suite counts and releases the route's servings one by one, and a
            // head start would enter the route for a re-send that is then refused (the call is
            // cancelled; test/gateway/head-start.test.ts covers that).
            gateway = await createGateway({
                deployment: stack.deployment,
                signingKey: stack.providerSigningKey,
                provider: chain,
                store,
                api,
                leaseMs: LEASE_MS,
                now: () => clock,
                workers: false,
                headStarts: false
            });
            await gateway.app.listen({ port: 0, host: "127.0.0.1" });
            const address = gateway.app.server.address();
            url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
            user = await RawUser.register(stack, url, 5);
        });

        after(async function () {
            user?.close();
            await gateway?.close();
            await store?.close();
            chain?.destroy();
            await stack?.stop();
            await postgres?.stop();
        });

        it("Should answer a re-send while the request is served with TICKET_IN_PROGRESS (the lease is held)", async function () {
            const ticket = await user.prove(0n);
            const first = user.send(ticket, "/v1/chat/completions", chat("slow"));
            await until(() => route.entered === 1, "the request to be served");
            const again = await user.send(ticket, "/v1/chat/completions", chat("slow"));
            expect(again.status).to.equal(409);
            expect(again.code).to.equal("TICKET_IN_PROGRESS");
            route.release();
            const answer = await first;
            expect(answer.status).to.equal(200);
            const replay = await user.send(ticket, "/v1/chat/completions", chat("slow"));
            expect(replay.charge).to.deep.equal(answer.charge);
        });

        it("Should keep one charge when a takeover serves the ticket a second time", async function () {
            const ticket = await user.prove(1n);
            const original = user.send(ticket, "/v1/chat/completions", chat("taken over"));
            await until(() => route.entered === 2, "the first serving");
            // The serving replica looks dead: its lease ran out (the clock jumps past it).
            clock += 2 * LEASE_MS;
            const takeover = user.send(ticket, "/v1/chat/completions", chat("taken over"));
            await until(() => route.entered === 3, "the takeover to serve again");
            route.release(); // the first serving finishes first and stores its charge
            const first = await original;
            route.release();
            const second = await takeover;
            expect(first.status).to.equal(200);
            expect(second.status).to.equal(200);
            expect(second.charge).to.deep.equal(first.charge);
            const stored = await store.get(`0x${ticket.nullifier.toString(16)}`);
            expect(stored!.status).to.equal("complete");
            const lookup = await user.lookup(ticket.nullifier, 1n);
            expect(lookup.body).to.contain(stored!.charge!);
        });

        it("Should let the first stored charge win in the store itself", async function () {
            const nullifier = "0xabc123";
            const ticket = { nullifier, kind: "request" as const, x: "0x1", y: "0x2", requestHash: "0x3", ticket: "t" };
            expect((await store.claim(ticket, "replica-a", 0, 1_000)).kind).to.equal("claimed");
            const takeover = await store.claim(ticket, "replica-b", 5_000, 1_000);
            expect(takeover).to.deep.equal({ kind: "claimed", takeover: true, completed: false });
            expect(await store.renewLease(nullifier, "replica-a", 5_001, 1_000)).to.equal(false);
            const b = await store.complete(nullifier, "charge-b", undefined, 5_002);
            const a = await store.complete(nullifier, "charge-a", undefined, 5_003);
            expect(b).to.deep.include({ charge: "charge-b", won: true });
            expect(a).to.deep.include({ charge: "charge-b", won: false });
        });

        it("Should record a ticket complete with an answer known before its claim, once, and never over another record", async function () {
            const ticket = (nullifier: string, x = "0x1") => ({ nullifier, kind: "request" as const, x, y: "0x2", requestHash: "0x3", ticket: `t ${nullifier}` });
            const answer = (charge: string) => ({ charge, response: { status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(charge).toString("base64") } });
            // First sight: recorded complete with the answer, in the same write.
            expect(await store.claim(ticket("0xa1"), "replica-a", 7_000, 1_000, answer("charge-1"))).to.deep.equal({ kind: "claimed", takeover: false, completed: true });
            const record = (await store.get("0xa1"))!;
            expect(record).to.deep.include({ status: "complete", charge: "charge-1", createdAt: 7_000 });
            expect(record.response).to.deep.equal(answer("charge-1").response);
            // The same ticket again, with another answer: the first one stands, nothing is overwritten.
            const again = await store.claim(ticket("0xa1"), "replica-b", 7_001, 1_000, answer("charge-2"));
            expect(again.kind).to.equal("known");
            if (again.kind === "known") expect(again.record.charge).to.equal("charge-1");
            expect(await store.complete("0xa1", "charge-3", undefined, 7_002)).to.deep.include({ charge: "charge-1", won: false });
            // Another x: a double-spend, whatever answer it carries.
            const conflict = await store.claim(ticket("0xa1", "0x9"), "replica-b", 7_003, 1_000, answer("charge-4"));
            expect(conflict.kind).to.equal("conflict");
            // A pending ticket whose lease ran out is taken over, not completed by the claim: its charge goes through complete().
            expect((await store.claim(ticket("0xa2"), "replica-a", 8_000, 1_000)).kind).to.equal("claimed");
            expect(await store.claim(ticket("0xa2"), "replica-b", 9_500, 1_000, answer("charge-5"))).to.deep.equal({ kind: "claimed", takeover: true, completed: false });
            expect((await store.get("0xa2"))!.status).to.equal("pending");
            expect(await store.complete("0xa2", "charge-5", answer("charge-5").response, 9_501)).to.deep.include({ charge: "charge-5", won: true });
        });
    });
}
