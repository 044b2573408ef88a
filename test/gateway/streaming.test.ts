import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { createGateway, HttpUpstream, PriceTable, SqliteNullifierStore, upstreamApi, UpstreamRouter } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { decodeCharge } from "@zk-api-credits/protocol";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";
import { chat, RawUser } from "../helpers/tickets";

const PROVIDER_KEY = "sk-provider-secret";

// Streaming (issue 11, item 1) through the v2 gateway in front of a real HTTP upstream
// process that streams like the real APIs: events are relayed as they come, the generation is
// priced when it ends or breaks, and the signed charge closes the stream (or is looked up).
describe("Streaming through the gateway", function () {
    let stack: DeployedStack;
    let upstream: UpstreamServer;
    let store: NullifierStore;
    let gateway: Gateway;
    let chain: JsonRpcProvider;
    let url: string;
    let user: RawUser;
    let prices: PriceTable;
    let index = 0n;

    before(async function () {
        stack = await startDeployedStack();
        upstream = await startUpstreamServer({ apiKey: PROVIDER_KEY });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-stream-")), "gateway.db"));
        const { maxCost, policyPenalty } = stack.deployment.parameters;
        prices = PriceTable.uniform({ decimals: 18, maxCost, policyPenalty }, "10", "20");
        const api = upstreamApi({
            upstream: new UpstreamRouter({
                openai: new HttpUpstream({ dialect: "openai", baseUrl: upstream.url, apiKey: PROVIDER_KEY }),
                anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: upstream.url, apiKey: PROVIDER_KEY }),
                ollama: new HttpUpstream({ dialect: "ollama", baseUrl: upstream.url, apiKey: PROVIDER_KEY })
            }),
            prices
        });
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, api, workers: false });
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
        await upstream?.stop();
        await stack?.stop();
    });

    /** The next ticket (folding as charges come, so the window never runs out). */
    async function nextTicket(): Promise<Awaited<ReturnType<RawUser["prove"]>>> {
        await user.foldAll();
        return user.prove(index++);
    }

    it("Should relay an OpenAI stream and close it with the charge of its usage", async function () {
        const ticket = await nextTicket();
        const answer = await user.send(ticket, "/v1/chat/completions", chat("one two three four five", { stream: true }));
        expect(answer.status).to.equal(200);
        expect(answer.headers.get("content-type")).to.contain("text/event-stream");
        expect(answer.body).to.contain("data: [DONE]");
        const events = answer.body.split("\n\n").filter((e) => e.startsWith("data: {"));
        expect(events.length).to.be.greaterThan(3);
        // The client did not ask for usage: the gateway still relays the usage chunk it asked
        // the upstream for (the SDK checks the charge against it, and takes it out for its caller).
        expect(answer.body).to.contain('"usage":{');
        expect(answer.charge!.cost).to.be.greaterThan(0n);
        // The charge is the stream's last line, after [DONE], as an SSE comment.
        expect(answer.body.trimEnd().split("\n").pop()).to.match(/^: zkapi-charge [A-Za-z0-9_-]+$/);
        const seen = await upstream.requests();
        expect(seen.at(-1)!.headers.authorization).to.equal(`Bearer ${PROVIDER_KEY}`);
    });

    it("Should stream Anthropic messages and Ollama chat with their own framing", async function () {
        const anthropic = await user.send(await nextTicket(), "/v1/messages", { model: "test", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hello there" }] });
        expect(anthropic.status).to.equal(200);
        expect(anthropic.body).to.contain("event: message_stop");
        expect(anthropic.charge!.cost).to.be.greaterThan(0n);
        const ollama = await user.send(await nextTicket(), "/api/chat", { model: "test", stream: true, messages: [{ role: "user", content: "hello ollama" }] });
        expect(ollama.status).to.equal(200);
        expect(ollama.headers.get("content-type")).to.contain("application/x-ndjson");
        const last = ollama.body.trimEnd().split("\n").pop()!;
        expect(decodeCharge((JSON.parse(last) as { "zkapi-charge": string })["zkapi-charge"]).cost).to.equal(ollama.charge!.cost);
    });

    it("Should charge a broken stream for what was generated, and let the owner look the charge up", async function () {
        const whole = await user.send(await nextTicket(), "/v1/chat/completions", chat("a b c d e f g h i j k l m n o p", { model: "test", stream: true }));
        const ticket = await nextTicket();
        const broken = await user.send(ticket, "/v1/chat/completions", chat("a b c d e f g h i j k l m n o p", { model: "test+break=3", stream: true }));
        expect(broken.status).to.equal(200);
        expect(broken.charge!.cost).to.be.greaterThan(0n);
        expect(broken.charge!.cost).to.be.lessThan(whole.charge!.cost);
        const lookup = await user.lookup(ticket.nullifier, ticket.index);
        expect(lookup.status).to.equal(200);
        expect(lookup.body).to.contain(`"status":"complete"`);
    });

    it("Should charge nothing for an upstream error", async function () {
        const answer = await user.send(await nextTicket(), "/v1/chat/completions", chat("x", { model: "test+status=500" }));
        expect(answer.status).to.equal(500);
        expect(answer.charge!.cost).to.equal(0n);
    });

    it("Should keep the user's key from the upstream", async function () {
        await upstream.clearRequests();
        const ticket = await nextTicket();
        const bytes = Buffer.from(JSON.stringify(chat("secret key test")));
        const response = await fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: "Bearer sk-user-key", "x-api-key": "sk-user-key", "zkapi-ticket": user.ticketHeader(ticket, "POST", "/v1/chat/completions", bytes) },
            body: bytes
        });
        expect(response.status).to.equal(200);
        const seen = await upstream.requests();
        expect(JSON.stringify(seen)).not.to.contain("sk-user-key");
        expect(seen[0]!.headers.authorization).to.equal(`Bearer ${PROVIDER_KEY}`);
    });
});
