import { expect } from "chai";
import { BPS_DENOMINATOR, spendableOf, TICKET_WINDOW } from "@zk-api-credits/protocol";
import { SdkError } from "@zk-api-credits/sdk";
import type { ZkApiClient, ZkApiClientOptions } from "@zk-api-credits/sdk";
import { chargedIndices, chat, eventually, range, recorder, sdkUser, startSdkStack, UNPRICED } from "./support/sdk-stack";
import type { SdkStack, SdkUser } from "./support/sdk-stack";

const ACTIVE = 1n;

// The SDK against a real gateway over HTTP (a hardhat node in its own process, the registry
// deployed by the deploy task, real proofs): concurrent paid requests on one deposit, the
// window, streaming, free routes, refusals that must not consume an index.
describe("SDK client: paying, protocol v2, against a real gateway", function () {
    let s: SdkStack;
    let nextAccount = 5;
    const clients: ZkApiClient[] = [];

    const user = (options: { deposit?: bigint } = {}): Promise<SdkUser> => sdkUser(s, nextAccount++, options);

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

    it("Should serve 8 concurrent requests of one deposit with pre-proved tickets, one index each, and fold them in the background", async function () {
        const alice = await user();
        const client = await open(alice);
        const seen = recorder(client);
        await client.start();
        await client.prepareTickets(TICKET_WINDOW);
        expect(seen.proving.filter((p) => p.circuit === "spend" && p.phase === "done").map((p) => p.index)).to.deep.equal(range(0, TICKET_WINDOW));
        expect(seen.proving.filter((p) => p.phase === "start").map((p) => `${p.position}/${p.total}`)).to.deep.equal(range(1, TICKET_WINDOW + 1).map((n) => `${n}/${TICKET_WINDOW}`));
        const provedBefore = seen.proving.length;

        const answers = await Promise.all(range(0, TICKET_WINDOW).map((i) => client.fetch("/v1/chat/completions", chat(`hello ${i}`))));
        expect(answers.map((a) => a.status)).to.deep.equal(Array(TICKET_WINDOW).fill(200));
        for (const answer of answers) {
            expect(answer.headers.get("zkapi-charge")).to.equal(null);
            expect(((await answer.json()) as { choices: unknown[] }).choices).to.have.length.greaterThan(0);
        }
        // One index per request, and no request waited for a Spend proof.
        expect(chargedIndices(seen.charged, "request")).to.deep.equal(range(0, TICKET_WINDOW));
        expect(seen.proving.slice(provedBefore).filter((p) => p.circuit === "spend" && p.position === undefined)).to.deep.equal([]);

        await client.settled();
        const account = (await client.refresh())!;
        expect(account.base.state.folded).to.equal(BigInt(TICKET_WINDOW));
        expect(account.base.signature).to.not.equal(undefined);
        expect(account.charges).to.deep.equal({});
        expect(account.tickets).to.deep.equal({});
        const balance = await client.balance();
        expect(balance.spent).to.equal(seen.charged.reduce((sum, e) => sum + e.cost, 0n));
        expect(balance.openTickets).to.equal(0);
        expect(seen.errors).to.deep.equal([]);
    });

    it("Should queue a request while every ticket the deposit can reserve is open, and serve it once a fold frees one", async function () {
        const { maxCost, policyPenalty, reserveBps } = s.stack.deployment.parameters;
        const perTicket = maxCost + policyPenalty;
        // spendable = 2.5 tickets: two tickets open at once on base 0; the third waits for their charges and the fold.
        const deposit = (((perTicket * 5n) / 2n) * BPS_DENOMINATOR) / (BPS_DENOMINATOR - reserveBps) + 1n;
        const bob = await user({ deposit });
        expect(spendableOf(deposit, reserveBps) / perTicket).to.equal(2n);
        const client = await open(bob, { prepareAhead: 0 });
        const seen = recorder(client);
        const answers = await Promise.all(range(0, 3).map((i) => client.fetch("/v1/chat/completions", chat(`queued ${i}`))));
        expect(answers.map((a) => a.status)).to.deep.equal([200, 200, 200]);
        expect(chargedIndices(seen.charged, "request")).to.deep.equal(range(0, 3));
        expect(seen.waiting.map((w) => w.reason)).to.include("window");
        await client.settled();
        expect((await client.refresh())!.base.state.folded).to.equal(2n);
    });

    it("Should say INSOLVENT, with nothing available, once the deposit cannot pay one more request", async function () {
        const { maxCost, minimumDeposit } = s.stack.deployment.parameters;
        // The minimum deposit pays K = 2 requests at their worst case. Once they are charged and
        // folded, what is left pays one more at its worst, and that one can never be folded (a
        // fold takes two charges): the rest is refunded by a withdrawal.
        const carl = await user({ deposit: minimumDeposit });
        const client = await open(carl, { prepareAhead: 0 });
        for (const text of ["the first", "the second", "the last one"]) {
            expect((await client.balance()).canPay, `before ${text}`).to.equal(true);
            expect((await client.fetch("/v1/chat/completions", chat(text))).status).to.equal(200);
            await client.settled();
        }
        expect((await client.refresh())!.base.state.folded).to.equal(2n);
        const balance = await client.balance();
        expect(balance.canPay).to.equal(false);
        expect(balance.available).to.equal(0n);
        expect(balance.unspent > 0n).to.equal(true); // refunded by a withdrawal, not spendable by requests
        expect(await client.estimateRequests(maxCost)).to.equal(0n);
        const error = await client.fetch("/v1/chat/completions", chat("one too many")).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(SdkError).with.property("code", "INSOLVENT");
    });

    it("Should relay a streamed answer with the charge event taken out, and store the charge when the stream ends", async function () {
        const carol = await user();
        const client = await open(carol, { prepareAhead: 0 });
        const seen = recorder(client);
        const answer = await client.fetch("/v1/chat/completions", chat("stream me please", { stream: true }));
        expect(answer.status).to.equal(200);
        expect(answer.headers.get("content-type")).to.match(/^text\/event-stream/);
        expect(seen.charged).to.deep.equal([]); // the charge comes with the end of the stream
        const text = await answer.text();
        expect(text).to.include("data: ");
        expect(text).to.include("[DONE]");
        expect(text).to.not.include("zkapi-charge");
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
        expect((await client.refresh())!.tickets["0"]?.status).to.equal("settled");
    });

    it("Should relay a stream whose network chunks split its events and its charge (no stall)", async function () {
        const dana = await user();
        // The gateway's bytes in 5-byte pieces: every event, and the final charge comment, arrive split.
        const splitting: typeof fetch = async (input, init) => {
            const response = await fetch(input, init);
            if (response.body === null) return response;
            const source = response.body.getReader();
            const body = new ReadableStream<Uint8Array>({
                async pull(controller) {
                    const { done, value } = await source.read();
                    if (done) return controller.close();
                    for (let i = 0; i < value.length; i += 5) controller.enqueue(value.subarray(i, i + 5));
                }
            });
            return new Response(body, { status: response.status, headers: response.headers });
        };
        const client = await open(dana, { prepareAhead: 0, fetch: splitting });
        const seen = recorder(client);
        const answer = await client.fetch("/v1/chat/completions", chat("split me into very small pieces please", { stream: true }));
        const text = await answer.text();
        expect(text).to.include("[DONE]");
        expect(text).to.not.include("zkapi-charge");
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
    });

    it("Should settle a stream its reader cancelled by looking the ticket's charge up", async function () {
        const cindy = await user();
        const client = await open(cindy, { prepareAhead: 0 });
        const seen = recorder(client);
        const answer = await client.fetch("/v1/chat/completions", chat("a stream nobody reads to the end", { stream: true, maxTokens: 64 }));
        const reader = answer.body!.getReader();
        await reader.read();
        await reader.cancel();
        await client.settled();
        expect(seen.charged.map((e) => [e.index, e.how])).to.deep.equal([[0n, "recovered"]]);
        expect((await client.refresh())!.tickets["0"]?.status).to.equal("settled");
    });

    it("Should send unpaid and unknown routes without a ticket", async function () {
        const dave = await user();
        const client = await open(dave, { prepareAhead: 0 });
        const before = (await client.refresh())!;
        const models = await client.fetch("/v1/models");
        expect(models.status).to.equal(200);
        expect(((await models.json()) as { data: unknown[] }).data).to.be.an("array");
        const unknown = await client.fetch("/v1/not-a-route", { method: "POST", body: "{}" });
        expect(unknown.status).to.equal(404);
        const after = (await client.refresh())!;
        expect(after.tickets).to.deep.equal(before.tickets);
        expect(after.prepared).to.deep.equal(before.prepared);
        // The gateway's own list of paid routes matches the built-in one.
        expect((await client.loadGatewayRoutes()).map((r) => `${r.method} ${r.path}`)).to.include("POST /v1/chat/completions");
    });

    it("Should give an index refused before the record back, and pay the next request with the same index and proof", async function () {
        const erin = await user();
        const client = await open(erin, { prepareAhead: 0 });
        const seen = recorder(client);
        const refused = await client.fetch("/v1/chat/completions", UNPRICED);
        expect(refused.status).to.equal(404);
        expect((await client.refresh())!.tickets["0"]?.status).to.equal("released");
        const proofs = seen.proving.length;
        const served = await client.fetch("/v1/chat/completions", chat("after a refusal"));
        expect(served.status).to.equal(200);
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
        expect(seen.proving.length).to.equal(proofs); // the refused ticket's proof was used again
    });

    it("Should prove the same index again (same x) when the gateway no longer accepts the ticket's root", async function () {
        const frank = await user();
        const client = await open(frank, { prepareAhead: 1 });
        const seen = recorder(client);
        await client.start();
        await client.prepareTickets(1);
        const stale = (await client.refresh())!.prepared["0"]!;
        // Two registrations: two new epochs (epochBlocks = 1), so the prepared root ages out at the gateway.
        await user();
        await user();
        await eventually(async () => {
            const info = (await (await fetch(`${s.url}/zkapi/v2/registry`)).json()) as { acceptedRoots: string[] };
            return info.acceptedRoots.includes(`0x${stale.root.toString(16)}`) ? undefined : true;
        }, "the gateway to drop the prepared root");
        const proofs = seen.proving.length;
        const answer = await client.fetch("/v1/chat/completions", chat("after two epochs"));
        expect(answer.status).to.equal(200);
        // The prepared ticket was refused (UNKNOWN_ROOT) and index 0 proved again for this request.
        expect(seen.proving.slice(proofs).filter((p) => p.phase === "done" && p.position === undefined).map((p) => [p.circuit, p.index])).to.deep.equal([["spend", 0n]]);
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
        expect((await s.registry.deposits(frank.identity.commitment)).status).to.equal(ACTIVE);
    });
});
