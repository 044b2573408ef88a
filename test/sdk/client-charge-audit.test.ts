import { expect } from "chai";
import { HttpUpstream, PriceTable, upstreamApi, UpstreamRouter } from "@zk-api-credits/provider";
import type { UpstreamApi } from "@zk-api-credits/provider";
import { SdkError } from "@zk-api-credits/sdk";
import type { ZkApiClient } from "@zk-api-credits/sdk";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";
import { eventually, recorder, sdkUser, startSdkStack } from "./support/sdk-stack";
import type { ClientRecord, SdkStack } from "./support/sdk-stack";

const PROVIDER_KEY = "sk-provider-secret";

/**
 * The API a gateway sells, switchable between honest prices and shaded ones: it always
 * publishes the honest table, and in "shaded" mode charges with another table on the same
 * grid (every output token at 10× the list price). Each charge stays on the grid and within
 * maxCost, so only a client that recomputes it from the usage it saw can tell.
 */
function switchableApi(honest: UpstreamApi, shaded: UpstreamApi, mode: () => "honest" | "shaded"): UpstreamApi {
    const current = (): UpstreamApi => (mode() === "honest" ? honest : shaded);
    return {
        paid: honest.paid.map((entry, i) => ({
            ...entry,
            route: {
                prepare: (request) => current().paid[i]!.route.prepare(request),
                serve: (request, signal) => current().paid[i]!.route.serve(request, signal)
            }
        })),
        free: honest.free,
        pricing: () => honest.pricing()
    };
}

// The charge audit (issue 11, item 6): the SDK recomputes every charge of a paid API route
// from the answer it saw, with the gateway's own metering code and the published prices, and
// reports any other amount, on the grid or not. Against a real gateway in front of a real HTTP
// upstream process that streams like the real APIs (usage chunks, counted usage).
describe("SDK client: the charge audit, against a real gateway and upstream", function () {
    let s: SdkStack;
    let upstream: UpstreamServer;
    let client: ZkApiClient;
    let seen: ClientRecord;
    let mode: "honest" | "shaded" = "honest";

    before(async function () {
        upstream = await startUpstreamServer({ apiKey: PROVIDER_KEY });
        const router = new UpstreamRouter({
            openai: new HttpUpstream({ dialect: "openai", baseUrl: upstream.url, apiKey: PROVIDER_KEY }),
            anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: upstream.url, apiKey: PROVIDER_KEY }),
            ollama: new HttpUpstream({ dialect: "ollama", baseUrl: upstream.url, apiKey: PROVIDER_KEY })
        });
        s = await startSdkStack({
            api: (terms) =>
                switchableApi(
                    upstreamApi({ upstream: router, prices: PriceTable.parse({ default: { input: "10", output: "20" } }, terms) }),
                    upstreamApi({ upstream: router, prices: PriceTable.parse({ default: { input: "10", output: "200" } }, terms) }),
                    () => mode
                )
        });
        const user = await sdkUser(s, 7);
        client = await user.open();
        seen = recorder(client);
        await client.start();
    });

    after(async function () {
        await client?.close();
        await s?.stop();
        await upstream?.stop();
    });

    const post = (path: string, body: Record<string, unknown>): Promise<Response> =>
        client.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const chat = (model: string, content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model, messages: [{ role: "user", content }], max_tokens: 64, ...extra });

    it("Should find every charge of an honest gateway exactly the published price of what it answered", async function () {
        const buffered = await post("/v1/chat/completions", chat("test", "one two three four five"));
        expect(buffered.status).to.equal(200);
        expect(((await buffered.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).to.be.greaterThan(0);

        // A stream whose caller did not ask for usage: the gateway relays the usage chunk it
        // asked the upstream for; the SDK meters it and takes it out for this caller.
        const streamed = await (await post("/v1/chat/completions", chat("test", "alpha beta gamma delta", { stream: true }))).text();
        expect(streamed).to.contain("data: [DONE]");
        expect(streamed).not.to.contain('"usage":{');
        expect(streamed).not.to.contain("zkapi-charge");

        // Usage the upstream never reports: counted with the published tokenizer on both sides.
        const counted = await post("/v1/chat/completions", chat("test+nousage", "counted by the tokenizer, not the upstream"));
        expect(((await counted.json()) as { usage?: unknown }).usage).to.equal(undefined);
        const countedStream = await (await post("/v1/chat/completions", chat("test+nousage", "a stream without usage", { stream: true }))).text();
        expect(countedStream).to.contain("data: [DONE]");

        const anthropic = await (await post("/v1/messages", { model: "test", max_tokens: 50, stream: true, messages: [{ role: "user", content: "hello there" }] })).text();
        expect(anthropic).to.contain("event: message_stop");
        const ollama = await (await post("/api/chat", { model: "test", stream: true, messages: [{ role: "user", content: "hello ollama" }] })).text();
        expect(ollama).to.contain('"done":true');

        // An upstream error is charged nothing, and nothing is what the audit expects.
        const failed = await post("/v1/chat/completions", chat("test+status=500", "x"));
        expect(failed.status).to.equal(500);
        await failed.arrayBuffer();

        const charged = await eventually(async () => (seen.charged.length >= 7 ? seen.charged : undefined), "seven charges");
        expect(charged.map((event) => event.how)).to.deep.equal(Array(7).fill("request"));
        expect(charged.slice(0, 6).every((event) => event.cost > 0n)).to.equal(true);
        expect(charged[6]!.cost).to.equal(0n);
        expect(seen.disputes).to.deep.equal([]);
    });

    it("Should dispute charges on the grid that are not the published price of the usage answered, buffered and streamed", async function () {
        mode = "shaded";
        const before = seen.charged.length;
        const buffered = await post("/v1/chat/completions", chat("test", "one two three four five"));
        expect(buffered.status).to.equal(200);
        await buffered.json();
        const streamed = await (await post("/v1/chat/completions", chat("test", "alpha beta gamma delta", { stream: true }))).text();
        expect(streamed).to.contain("data: [DONE]");
        await eventually(async () => (seen.disputes.length >= 2 ? true : undefined), "two disputes");
        mode = "honest";

        const shaded = seen.charged.slice(before);
        expect(shaded).to.have.length(2);
        expect(seen.disputes.map((dispute) => dispute.index)).to.deep.equal(shaded.map((event) => event.index));
        for (const [i, dispute] of seen.disputes.entries()) {
            expect(dispute.error).to.be.instanceOf(SdkError);
            expect((dispute.error as SdkError).code).to.equal("INVALID_CHARGE");
            expect((dispute.error as SdkError).message).to.match(new RegExp(`was charged ${shaded[i]!.cost}, but the published prices give \\d+`));
        }
        // Shaded by whole grid steps: the grid check alone would have passed them.
        const pricing = (await client.loadPricing())!;
        expect(shaded.every((event) => event.cost % pricing.grid === 0n)).to.equal(true);
        expect(pricing.table).to.not.equal(undefined);
    });
});
