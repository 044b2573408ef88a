import { createServer } from "node:http";
import type { Server } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import { parseUnits } from "ethers";
import OpenAI from "openai";
import {
    countTokens,
    EchoUpstream,
    findRoute,
    HttpUpstream,
    meterBody,
    PriceTable,
    StreamMeter,
    UpstreamRouter
} from "../../packages/provider/src/api";
import type { MeteredUsage, StreamOutcome, Upstream } from "../../packages/provider/src/api";
import { GatewayError } from "../../packages/provider/src/errors";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";

const PROVIDER_KEY = "sk-provider-secret";
const USER_KEY = "sk-user-must-never-reach-the-upstream";
const PRICES = PriceTable.parse(
    { grid: "0.0001", default: { input: "10", output: "40", maxOutputTokens: 4096 } },
    { decimals: 18, maxCost: parseUnits("0.05", 18), policyPenalty: parseUnits("0.1", 18) }
);

/** What the relay metered for each paid request. */
type Metering = { readonly usage: MeteredUsage; readonly outcome?: StreamOutcome; readonly charge: bigint };

/**
 * A minimal relay composed of the API modules, in the order the gateway pipeline uses them
 * (without tickets): find the route, parse, check the worst case (cap or refuse), send
 * upstream, relay the stream through the meter, price, and append the charge as an SSE
 * comment, which every SSE client ignores.
 */
async function startRelay(upstream: Upstream): Promise<{ url: string; server: Server; metered: Metering[] }> {
    const metered: Metering[] = [];
    const server = createServer((req, res) => {
        void (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of req) chunks.push(chunk as Buffer);
            const route = findRoute(req.method ?? "", req.url ?? "");
            if (route === undefined) return void res.writeHead(404).end();
            if (!route.paid) {
                const reply = await upstream.send(route, Buffer.alloc(0));
                if (reply.kind !== "body") throw new Error("a catalogue does not stream");
                return void res.writeHead(reply.status, reply.headers).end(reply.body);
            }
            let request;
            try {
                request = route.parse(Buffer.concat(chunks));
            } catch (error) {
                if (error instanceof GatewayError) return void res.writeHead(error.status, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: error.code, message: error.message } }));
                throw error;
            }
            const fit = PRICES.fit(request);
            if (fit.kind === "refuse") return void res.writeHead(422, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: fit.code, message: fit.message } }));
            if (fit.kind === "cap") request = route.withMaxOutputTokens(request, fit.maxOutputTokens);
            const closed = new AbortController();
            res.once("close", () => closed.abort());
            const reply = await upstream.send(route, route.upstreamBody(request), closed.signal);
            if (reply.kind === "body") {
                const usage = meterBody(route, request, reply.body);
                metered.push({ usage, charge: reply.status >= 400 ? 0n : PRICES.charge(request.model, usage)! });
                return void res.writeHead(reply.status, reply.headers).end(reply.body);
            }
            res.writeHead(reply.status, { ...reply.headers, "cache-control": "no-cache" });
            const meter = new StreamMeter(route, request);
            try {
                for await (const chunk of reply.chunks) {
                    const out = meter.push(chunk);
                    if (out.length > 0) res.write(out);
                }
            } catch {
                // A broken upstream stream: charged for what was relayed.
            }
            const { tail, outcome } = meter.end();
            if (tail.length > 0) res.write(tail);
            const charge = PRICES.charge(request.model, outcome.usage)!;
            metered.push({ usage: outcome.usage, outcome, charge });
            if (reply.framing === "sse") res.write(`: zkapi-charge ${charge}\n\n`);
            res.end();
        })().catch((error: unknown) => {
            if (!res.headersSent) res.writeHead(500);
            res.end(String(error));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    return { url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`, server, metered };
}

async function text<T>(stream: AsyncIterable<T>, piece: (event: T) => string | undefined): Promise<{ text: string; events: T[] }> {
    const events: T[] = [];
    for await (const event of stream) events.push(event);
    return { text: events.map((event) => piece(event) ?? "").join(""), events };
}

// The stock `openai` and `@anthropic-ai/sdk` clients, first against the test model server
// directly (it streams like the real APIs), then through a relay built from the API modules
// over the test server and over the echo model (the modules keep every client working).
describe("API with the stock clients", function () {
    let upstream: UpstreamServer;

    before(async function () {
        upstream = await startUpstreamServer({ apiKey: PROVIDER_KEY });
    });

    after(async function () {
        await upstream?.stop();
    });

    describe("# the test model server speaks like the real APIs", function () {
        let openai: OpenAI;
        let anthropic: Anthropic;

        before(function () {
            openai = new OpenAI({ apiKey: PROVIDER_KEY, baseURL: `${upstream.url}/v1`, maxRetries: 0 });
            anthropic = new Anthropic({ apiKey: PROVIDER_KEY, baseURL: upstream.url, maxRetries: 0 });
        });

        it("Should stream chat completions with a usage chunk to the openai client", async function () {
            const stream = await openai.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "alpha beta" }], stream: true, stream_options: { include_usage: true } });
            const { text: answer, events } = await text(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
            expect(answer).to.equal("echo: alpha beta");
            expect(events.at(-1)!.choices).to.deep.equal([]);
            expect(events.at(-1)!.usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
            const final = await openai.chat.completions.stream({ model: "test-model", messages: [{ role: "user", content: "alpha beta" }] }).finalChatCompletion();
            expect(final.choices[0].message.content).to.equal("echo: alpha beta");
        });

        it("Should answer completions, embeddings (base64 decoded by the client) and the model list", async function () {
            const completion = await openai.completions.create({ model: "test-model", prompt: "one two three", max_tokens: 2 });
            expect(completion.choices[0].text).to.equal("echo: one");
            expect(completion.usage).to.deep.include({ completion_tokens: 2 });
            const embedding = await openai.embeddings.create({ model: "embed", input: ["a", "b"] });
            expect(embedding.data).to.have.length(2);
            expect(embedding.data[0].embedding).to.have.length(4);
            expect(embedding.usage.prompt_tokens).to.equal(2);
            const models = [];
            for await (const model of openai.models.list()) models.push(model.id);
            expect(models).to.deep.equal(["test-model", "gpt-test"]);
        });

        it("Should stream the Responses API to the openai client's stream helper", async function () {
            const stream = openai.responses.stream({ model: "test-model", input: "gamma delta", max_output_tokens: 50 });
            const deltas: string[] = [];
            stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
            const final = await stream.finalResponse();
            expect(deltas.join("")).to.equal("echo: gamma delta");
            expect(final.output_text).to.equal("echo: gamma delta");
            expect(final.usage).to.deep.include({ input_tokens: 5, output_tokens: 3 });
        });

        it("Should stream Messages events to the anthropic client, usage included", async function () {
            const stream = anthropic.messages.stream({ model: "claude-test", max_tokens: 100, messages: [{ role: "user", content: "epsilon zeta eta" }] });
            const final = await stream.finalMessage();
            expect(final.content).to.deep.equal([{ type: "text", text: "echo: epsilon zeta eta" }]);
            expect(final.usage).to.deep.include({ input_tokens: 6, output_tokens: 4 });
            const plain = await anthropic.messages.create({ model: "claude-test", max_tokens: 2, messages: [{ role: "user", content: "epsilon zeta" }] });
            expect(plain.stop_reason).to.equal("max_tokens");
        });

        it("Should refuse a wrong key as the real APIs do", async function () {
            const stranger = new OpenAI({ apiKey: "sk-nope", baseURL: `${upstream.url}/v1`, maxRetries: 0 });
            await expect(stranger.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] })).to.be.rejectedWith(OpenAI.AuthenticationError);
            const anonymous = new Anthropic({ apiKey: "sk-nope", baseURL: upstream.url, maxRetries: 0 });
            await expect(anonymous.messages.create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] })).to.be.rejectedWith(Anthropic.AuthenticationError);
        });
    });

    describe("# through the API modules to the test model server", function () {
        let relay: Awaited<ReturnType<typeof startRelay>>;
        let openai: OpenAI;
        let anthropic: Anthropic;

        before(async function () {
            relay = await startRelay(
                new UpstreamRouter({
                    openai: new HttpUpstream({ dialect: "openai", baseUrl: upstream.url, apiKey: PROVIDER_KEY }),
                    anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: upstream.url, apiKey: PROVIDER_KEY })
                })
            );
            openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${relay.url}/v1`, maxRetries: 0 });
            anthropic = new Anthropic({ apiKey: USER_KEY, baseURL: relay.url, maxRetries: 0 });
        });

        after(async function () {
            relay?.server.closeAllConnections();
            await new Promise((resolve) => relay?.server.close(resolve));
        });

        beforeEach(async function () {
            await upstream.clearRequests();
            relay.metered.length = 0;
        });

        it("Should never forward the client's key; the upstream sees the provider's", async function () {
            await openai.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "hi" }] });
            await anthropic.messages.create({ model: "claude-test", max_tokens: 10, messages: [{ role: "user", content: "hi" }] });
            const requests = await upstream.requests();
            expect(requests).to.have.length(2);
            for (const request of requests) expect(JSON.stringify(request.headers)).not.to.include(USER_KEY);
            expect(requests[0].headers.authorization).to.equal(`Bearer ${PROVIDER_KEY}`);
            expect(requests[1].headers["x-api-key"]).to.equal(PROVIDER_KEY);
        });

        it("Should stream to a client that did not ask for usage without the usage chunk, and meter it", async function () {
            const stream = await openai.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "alpha beta" }], stream: true });
            const { text: answer, events } = await text(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
            expect(answer).to.equal("echo: alpha beta");
            expect(events.every((chunk) => chunk.choices.length === 1)).to.equal(true);
            // The gateway asked the upstream for it and priced it.
            const [upstreamRequest] = await upstream.requests();
            expect(JSON.parse(upstreamRequest.body)).to.deep.include({ stream_options: { include_usage: true } });
            expect(relay.metered[0].usage).to.deep.equal({ inputTokens: 5, outputTokens: 3, source: "upstream" });
        });

        it("Should stream the usage chunk to a client that asked for it", async function () {
            const stream = await openai.chat.completions.create({ model: "test-model", messages: [{ role: "user", content: "alpha beta" }], stream: true, stream_options: { include_usage: true } });
            const { events } = await text(stream, () => undefined);
            expect(events.at(-1)!.usage).to.deep.equal({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
        });

        it("Should keep the Responses and Anthropic stream helpers working, the charge comment ignored", async function () {
            const response = await openai.responses.stream({ model: "test-model", input: "gamma delta" }).finalResponse();
            expect(response.output_text).to.equal("echo: gamma delta");
            const message = await anthropic.messages.stream({ model: "claude-test", max_tokens: 100, messages: [{ role: "user", content: "epsilon zeta eta" }] }).finalMessage();
            expect(message.usage).to.deep.include({ input_tokens: 6, output_tokens: 4 });
            expect(relay.metered.map((m) => m.usage.source)).to.deep.equal(["upstream", "upstream"]);
            expect(relay.metered.every((m) => m.charge > 0n && m.charge % PRICES.grid === 0n)).to.equal(true);
        });

        it("Should cap an output limit that maxCost cannot pay before the upstream sees it", async function () {
            await openai.chat.completions.create({ model: "test-model", max_tokens: 100_000, messages: [{ role: "user", content: "write a book" }] });
            const [request] = await upstream.requests();
            const sent = JSON.parse(request.body) as { max_tokens: number };
            expect(sent.max_tokens).to.be.lessThan(1_250).and.greaterThan(1_000);
        });

        it("Should refuse a 1 MB prompt with max_tokens 100000 before serving it", async function () {
            const prompt = "lorem ipsum dolor sit amet ".repeat(40_000);
            const refused = openai.chat.completions.create({ model: "test-model", max_tokens: 100_000, messages: [{ role: "user", content: prompt }] });
            await expect(refused).to.be.rejectedWith(OpenAI.UnprocessableEntityError, /WORST_CASE_EXCEEDS_MAX_COST|costs more than maxCost/);
            expect(await upstream.requests()).to.deep.equal([]);
        });

        it("Should charge a stream that breaks for what the client received", async function () {
            const stream = await openai.chat.completions.create({ model: "test-model+break=2", messages: [{ role: "user", content: "alpha beta gamma" }], stream: true });
            const { text: answer } = await text(stream, (chunk) => chunk.choices[0]?.delta.content ?? undefined);
            expect(answer).to.equal("echo: alpha");
            const [{ usage, outcome }] = relay.metered;
            expect(outcome?.completed).to.equal(false);
            expect(usage).to.deep.include({ outputTokens: countTokens("echo: alpha"), source: "counted" });
        });

        it("Should serve the model list free through the relay", async function () {
            const models = [];
            for await (const model of openai.models.list()) models.push(model.id);
            expect(models).to.deep.equal(["test-model", "gpt-test"]);
            expect(relay.metered).to.deep.equal([]);
        });
    });

    describe("# through the API modules to the echo model", function () {
        let relay: Awaited<ReturnType<typeof startRelay>>;
        let openai: OpenAI;
        let anthropic: Anthropic;

        before(async function () {
            relay = await startRelay(new EchoUpstream());
            openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${relay.url}/v1`, maxRetries: 0 });
            anthropic = new Anthropic({ apiKey: USER_KEY, baseURL: relay.url, maxRetries: 0 });
        });

        after(async function () {
            relay?.server.closeAllConnections();
            await new Promise((resolve) => relay?.server.close(resolve));
        });

        it("Should stream chat, completions and responses to the openai client", async function () {
            const chat = await openai.chat.completions.stream({ model: "echo", messages: [{ role: "user", content: "streaming works" }] }).finalChatCompletion();
            expect(chat.choices[0].message.content).to.equal("You said: streaming works");
            const completion = await openai.completions.create({ model: "echo", prompt: "legacy text", stream: true });
            expect((await text(completion, (chunk) => chunk.choices[0]?.text)).text).to.equal("You said: legacy text");
            const response = await openai.responses.stream({ model: "echo", input: "responses too" }).finalResponse();
            expect(response.output_text).to.equal("You said: responses too");
            expect(response.usage?.output_tokens).to.equal(countTokens("You said: responses too"));
            const embedding = await openai.embeddings.create({ model: "echo", input: "vector" });
            expect(embedding.data[0].embedding).to.have.length(8);
            const models = [];
            for await (const model of openai.models.list()) models.push(model.id);
            expect(models).to.deep.equal(["echo"]);
        });

        it("Should stream messages to the anthropic client with usage", async function () {
            const message = await anthropic.messages.stream({ model: "echo", max_tokens: 64, messages: [{ role: "user", content: "hello claude" }] }).finalMessage();
            expect(message.content[0]).to.deep.include({ type: "text", text: "You said: hello claude" });
            expect(message.usage.output_tokens).to.equal(countTokens("You said: hello claude"));
        });
    });
});
