import { expect } from "chai";
import { parseUnits } from "ethers";
import {
    countPromptTokens,
    countTokens,
    EchoUpstream,
    HttpUpstream,
    paidRoute,
    PriceTable,
    upstreamApi,
    UpstreamRouter
} from "../../packages/provider/src/api";
import type { ApiIncomingRequest, ApiPaidHandler, ApiServedResponse, UpstreamApi } from "../../packages/provider/src/api";
import { GatewayError } from "../../packages/provider/src/errors";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";

const KEY = "sk-provider";
const TERMS = { decimals: 18, maxCost: parseUnits("0.05", 18), policyPenalty: parseUnits("0.1", 18) };
const PRICES = PriceTable.parse({ grid: "0.0001", models: { "test-model": { input: "10", output: "40", maxOutputTokens: 2000 } } }, TERMS);

const incoming = (path: string, body: unknown): ApiIncomingRequest & { readonly headers: Record<string, string> } => ({
    method: "POST",
    path,
    body: Buffer.from(JSON.stringify(body)),
    headers: { authorization: "Bearer user-key" }
});

function handler(api: UpstreamApi, url: string): ApiPaidHandler {
    const entry = api.paid.find((route) => route.url === url);
    if (entry === undefined) throw new Error(`no paid route ${url}`);
    return entry.route;
}

function refusal(fn: () => unknown): GatewayError {
    try {
        fn();
    } catch (error) {
        expect(error).to.be.instanceOf(GatewayError);
        return error as GatewayError;
    }
    throw new Error("expected a GatewayError");
}

async function drain(served: ApiServedResponse): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of served.stream!) parts.push(Buffer.from(chunk));
    return Buffer.concat(parts).toString();
}

// The API modules packaged as the gateway pipeline takes them: prepare (parse, worst case,
// cap) before the ticket is recorded, serve after, cost when the answer has ended.
describe("API for the gateway pipeline", function () {
    let server: UpstreamServer;
    let api: UpstreamApi;

    before(async function () {
        server = await startUpstreamServer({ apiKey: KEY });
        api = upstreamApi({
            upstream: new UpstreamRouter({
                openai: new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: KEY, timeouts: { "openai.responses": 300 } }),
                anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: server.url, apiKey: KEY })
            }),
            prices: PRICES
        });
    });

    after(async function () {
        await server?.stop();
    });

    beforeEach(async function () {
        await server.clearRequests();
    });

    it("Should sell exactly the routes its upstreams serve", function () {
        expect(api.paid.map((route) => route.url)).to.deep.equal(["/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings", "/v1/messages"]);
        expect(api.free.map((route) => route.url)).to.deep.equal(["/v1/models"]);
        const echo = upstreamApi({ upstream: new EchoUpstream(), prices: PRICES });
        expect(echo.paid).to.have.length(6);
        expect(echo.free.map((route) => route.url)).to.deep.equal(["/v1/models", "/api/tags"]);
    });

    it("Should publish the pricing document", function () {
        expect(api.pricing()).to.deep.include({ maxCost: TERMS.maxCost.toString(), decimals: 18, grid: parseUnits("0.0001", 18).toString() });
    });

    describe("# prepare (before the ticket is recorded)", function () {
        it("Should refuse a malformed body with 400 MALFORMED_BODY", function () {
            const error = refusal(() => handler(api, "/v1/chat/completions").prepare(incoming("/v1/chat/completions", { model: "test-model" })));
            expect([error.status, error.code]).to.deep.equal([400, "MALFORMED_BODY"]);
        });

        it("Should refuse a worst case above maxCost with 400 WORST_CASE_EXCEEDS_MAX_COST", function () {
            const huge = { model: "test-model", max_tokens: 100_000, messages: [{ role: "user", content: "lorem ipsum ".repeat(90_000) }] };
            const error = refusal(() => handler(api, "/v1/chat/completions").prepare(incoming("/v1/chat/completions", huge)));
            expect([error.status, error.code]).to.deep.equal([400, "WORST_CASE_EXCEEDS_MAX_COST"]);
        });

        it("Should refuse a model without a price with 404", function () {
            const error = refusal(() => handler(api, "/v1/messages").prepare(incoming("/v1/messages", { model: "other", max_tokens: 5, messages: [{ role: "user", content: "hi" }] })));
            expect([error.status, error.code]).to.deep.equal([404, "NOT_FOUND"]);
            expect(error.message).to.match(/other is not offered/);
        });

        it("Should keep the request and cap its body (the pipeline's own fields untouched)", function () {
            const request = incoming("/v1/chat/completions", { model: "test-model", messages: [{ role: "user", content: "hi" }] });
            const prepared = handler(api, "/v1/chat/completions").prepare(request);
            expect(prepared.headers).to.equal(request.headers);
            expect(prepared.path).to.equal(request.path);
            // What maxCost pays after the prompt: (0.05·10⁶ − prompt·10) / 40 output tokens, below the model's 2000.
            const prompt = countPromptTokens(paidRoute("openai.chat").parse(request.body).prompt);
            const affordable = Number((TERMS.maxCost * 1_000_000n - BigInt(prompt) * parseUnits("10", 18)) / parseUnits("40", 18));
            expect(affordable).to.be.lessThan(2000);
            expect(JSON.parse(prepared.body.toString())).to.deep.include({ max_tokens: affordable });
            const fits = incoming("/v1/chat/completions", { model: "test-model", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
            expect(handler(api, "/v1/chat/completions").prepare(fits).body).to.equal(fits.body);
        });
    });

    describe("# serve and cost", function () {
        it("Should serve a buffered answer and price its usage", async function () {
            const route = handler(api, "/v1/chat/completions");
            const served = await route.serve(route.prepare(incoming("/v1/chat/completions", { model: "test-model", max_tokens: 10, messages: [{ role: "user", content: "a b c" }] })), AbortSignal.timeout(60_000));
            expect(served.status).to.equal(200);
            expect(JSON.parse(served.body!.toString()).choices[0].message.content).to.equal("echo: a b c");
            // 6 prompt and 4 output words at 10 and 40 per million: 0.00022, one grid step of 0.0001 → 0.0003.
            expect(served.cost()).to.equal(parseUnits("0.0003", 18));
            const [upstreamRequest] = await server.requests();
            expect(upstreamRequest.headers.authorization).to.equal(`Bearer ${KEY}`);
        });

        it("Should relay a stream and price it once it has ended", async function () {
            const route = handler(api, "/v1/messages");
            const served = await route.serve(
                route.prepare(incoming("/v1/messages", { model: "test-model", max_tokens: 50, stream: true, messages: [{ role: "user", content: "a b c" }] })),
                AbortSignal.timeout(60_000)
            );
            expect(served.headers["content-type"]).to.match(/^text\/event-stream/);
            const text = await drain(served);
            expect(text).to.include("event: message_stop");
            expect(served.cost()).to.equal(parseUnits("0.0003", 18));
        });

        it("Should relay the usage chunk it asked for to its client (the SDK takes it out for a caller that did not ask) and price the stream", async function () {
            const route = handler(api, "/v1/chat/completions");
            const served = await route.serve(route.prepare(incoming("/v1/chat/completions", { model: "test-model", stream: true, messages: [{ role: "user", content: "a b c" }] })), AbortSignal.timeout(60_000));
            const text = await drain(served);
            // The SDK meters the stream itself to check its charge: it needs the usage the gateway priced.
            expect(text).to.match(/"choices":\[\],"usage":\{"prompt_tokens":\d+/);
            expect(text).to.match(/data: \[DONE\]\n\n$/);
            expect(served.cost()).to.equal(parseUnits("0.0003", 18));
        });

        it("Should price a broken stream of a priced model from the tokenizer's count", async function () {
            const prices = PriceTable.parse({ grid: "0.0001", default: { input: "10", output: "40" } }, TERMS);
            const echoless = upstreamApi({ upstream: new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: KEY }), prices });
            const route = handler(echoless, "/v1/chat/completions");
            const prepared = route.prepare(incoming("/v1/chat/completions", { model: "test-model+break=2", stream: true, messages: [{ role: "user", content: "alpha beta gamma" }] }));
            const served = await route.serve(prepared, AbortSignal.timeout(60_000));
            const text = await drain(served);
            expect(text).not.to.include("[DONE]");
            const output = countTokens("echo: alpha");
            const exact = BigInt(output) * parseUnits("40", 18);
            expect(served.cost() * 1_000_000n >= exact).to.equal(true);
            expect(served.cost() % parseUnits("0.0001", 18)).to.equal(0n);
        });

        it("Should charge nothing for an upstream 5xx and answer a timeout with 504 UPSTREAM_TIMEOUT", async function () {
            const prices = PriceTable.parse({ grid: "0.0001", default: { input: "10", output: "40" } }, TERMS);
            const any = upstreamApi({ upstream: new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: KEY, timeouts: { "openai.responses": 300 } }), prices });
            const failing = handler(any, "/v1/chat/completions");
            const served = await failing.serve(failing.prepare(incoming("/v1/chat/completions", { model: "m+status=503", messages: [{ role: "user", content: "x" }] })), AbortSignal.timeout(60_000));
            expect(served.status).to.equal(503);
            expect(served.cost()).to.equal(0n);
            const slow = handler(any, "/v1/responses");
            try {
                await slow.serve(slow.prepare(incoming("/v1/responses", { model: "m+hang", input: "x" })), AbortSignal.timeout(60_000));
                expect.fail("expected a timeout");
            } catch (error) {
                expect(error).to.be.instanceOf(GatewayError);
                expect([(error as GatewayError).status, (error as GatewayError).code]).to.deep.equal([504, "UPSTREAM_TIMEOUT"]);
            }
        });

        it("Should relay the free model list", async function () {
            const models = await api.free[0].handle({ method: "GET", path: "/v1/models", body: Buffer.alloc(0) });
            expect(models.status).to.equal(200);
            expect(JSON.parse(models.body.toString()).data.map((model: { id: string }) => model.id)).to.deep.equal(["test-model", "gpt-test"]);
        });
    });
});
