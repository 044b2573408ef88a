import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { expect } from "chai";
import {
    ANTHROPIC_VERSION,
    countTokens,
    EchoUpstream,
    findRoute,
    HttpUpstream,
    paidRoute,
    StreamMeter,
    UPSTREAM_KEY_VARIABLES,
    upstreamApiKey,
    UpstreamError,
    UpstreamRouter,
    upstreamUrl
} from "../../packages/provider/src/api";
import type { ApiRoute, PaidRouteId, Upstream, UpstreamReply, UpstreamStreamReply } from "../../packages/provider/src/api";
import { freePort } from "../../scripts/lib/local-node";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";

const PROVIDER_KEY = "sk-provider-secret";
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const chatBody = (model: string, extra: Record<string, unknown> = {}): Buffer => json({ model, messages: [{ role: "user", content: "one two three four five" }], ...extra });

function bodyOf(reply: UpstreamReply): Record<string, unknown> {
    expect(reply.kind).to.equal("body");
    return JSON.parse((reply as { body: Buffer }).body.toString()) as Record<string, unknown>;
}

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
    try {
        await promise;
    } catch (error) {
        expect(error).to.be.instanceOf(UpstreamError);
        return error as UpstreamError;
    }
    throw new Error("expected an UpstreamError");
}

// Upstreams over real HTTP against the test model server in its own process: URLs joined as
// each SDK joins them, the provider's key sent and nothing of the client's, timeouts per
// route, errors reported as statuses, streams relayed as they come.
describe("API upstreams", function () {
    let server: UpstreamServer;
    let openai: HttpUpstream;

    before(async function () {
        server = await startUpstreamServer({ apiKey: PROVIDER_KEY });
        openai = new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: PROVIDER_KEY });
    });

    after(async function () {
        await server?.stop();
    });

    beforeEach(async function () {
        await server.clearRequests();
    });

    describe("# base URLs", function () {
        const join = (dialect: "openai" | "anthropic" | "ollama", base: string, path: string): string => upstreamUrl(dialect, base, path).toString();

        it("Should join an OpenAI base URL as the openai SDK does, and give a bare host /v1", function () {
            expect(join("openai", "http://127.0.0.1:9100", "/v1/chat/completions")).to.equal("http://127.0.0.1:9100/v1/chat/completions");
            expect(join("openai", "http://127.0.0.1:9100/", "/v1/models")).to.equal("http://127.0.0.1:9100/v1/models");
            expect(join("openai", "http://127.0.0.1:8000/v1", "/v1/chat/completions")).to.equal("http://127.0.0.1:8000/v1/chat/completions");
            expect(join("openai", "http://127.0.0.1:8000/v1/", "/v1/embeddings")).to.equal("http://127.0.0.1:8000/v1/embeddings");
            expect(join("openai", "https://openrouter.ai/api/v1", "/v1/responses")).to.equal("https://openrouter.ai/api/v1/responses");
            expect(join("openai", "https://generativelanguage.googleapis.com/v1beta/openai/", "/v1/chat/completions")).to.equal(
                "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"
            );
            expect(join("openai", "https://example.invalid/openai/v1?api-version=preview", "/v1/completions")).to.equal(
                "https://example.invalid/openai/v1/completions?api-version=preview"
            );
        });

        it("Should join Anthropic and Ollama hosts, without doubling /v1 or /api", function () {
            expect(join("anthropic", "https://api.anthropic.com", "/v1/messages")).to.equal("https://api.anthropic.com/v1/messages");
            expect(join("anthropic", "https://api.anthropic.com/v1/", "/v1/messages")).to.equal("https://api.anthropic.com/v1/messages");
            expect(join("anthropic", "http://127.0.0.1:8080/proxy", "/v1/messages")).to.equal("http://127.0.0.1:8080/proxy/v1/messages");
            expect(join("ollama", "http://127.0.0.1:11434", "/api/chat")).to.equal("http://127.0.0.1:11434/api/chat");
            expect(join("ollama", "http://127.0.0.1:11434/api", "/api/tags")).to.equal("http://127.0.0.1:11434/api/tags");
        });

        it("Should refuse base URLs that are not http(s) or carry credentials", function () {
            expect(() => upstreamUrl("openai", "not a url", "/v1/models")).to.throw(/not a URL/);
            expect(() => upstreamUrl("openai", "ftp://host/v1", "/v1/models")).to.throw(/http or https/);
            expect(() => new HttpUpstream({ dialect: "openai", baseUrl: "http://user:secret@host/v1" })).to.throw(/must not carry credentials/);
        });

        it("Should send a bare --upstream host to /v1/chat/completions, not to / (issue 11)", async function () {
            const reply = await openai.send(paidRoute("openai.chat"), chatBody("test-model"));
            expect(reply.status).to.equal(200);
            expect((await server.requests()).map((r) => `${r.method} ${r.path}`)).to.deep.equal(["POST /v1/chat/completions"]);
            const withV1 = new HttpUpstream({ dialect: "openai", baseUrl: `${server.url}/v1`, apiKey: PROVIDER_KEY });
            expect((await withV1.send(findRoute("GET", "/v1/models")!, Buffer.alloc(0))).status).to.equal(200);
            expect((await server.requests()).map((r) => `${r.method} ${r.path}`)).to.deep.equal(["POST /v1/chat/completions", "GET /v1/models"]);
        });
    });

    describe("# credentials", function () {
        it("Should send the provider's key as a bearer token to OpenAI-compatible upstreams, and nothing else of note", async function () {
            const reply = await openai.send(paidRoute("openai.chat"), chatBody("test-model"));
            expect(bodyOf(reply)).to.have.property("usage");
            const [request] = await server.requests();
            expect(request.headers.authorization).to.equal(`Bearer ${PROVIDER_KEY}`);
            expect(request.headers).not.to.have.property("x-api-key");
            expect(request.headers).not.to.have.property("cookie");
            expect(request.headers["user-agent"]).to.equal("zk-api-credits-gateway");
        });

        it("Should send x-api-key and anthropic-version to Anthropic", async function () {
            const anthropic = new HttpUpstream({ dialect: "anthropic", baseUrl: server.url, apiKey: PROVIDER_KEY });
            const reply = await anthropic.send(paidRoute("anthropic.messages"), json({ model: "claude-test", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }));
            expect(reply.status).to.equal(200);
            const [request] = await server.requests();
            expect(request.headers["x-api-key"]).to.equal(PROVIDER_KEY);
            expect(request.headers["anthropic-version"]).to.equal(ANTHROPIC_VERSION);
            expect(request.headers).not.to.have.property("authorization");
        });

        it("Should relay only the content type of an answer, nothing of the provider's account", async function () {
            const reply = await openai.send(paidRoute("openai.chat"), chatBody("test-model"));
            expect(reply.headers).to.deep.equal({ "content-type": "application/json" });
        });

        it("Should read the provider's key from the environment only", function () {
            expect(UPSTREAM_KEY_VARIABLES).to.deep.equal({ openai: "ZKAPI_UPSTREAM_API_KEY", anthropic: "ZKAPI_ANTHROPIC_API_KEY", ollama: "ZKAPI_OLLAMA_API_KEY" });
            expect(upstreamApiKey("openai", { ZKAPI_UPSTREAM_API_KEY: "k1" })).to.equal("k1");
            expect(upstreamApiKey("anthropic", { ZKAPI_UPSTREAM_API_KEY: "k1" })).to.equal(undefined);
            expect(upstreamApiKey("ollama", { ZKAPI_OLLAMA_API_KEY: "" })).to.equal(undefined);
        });

        it("Should answer the upstream's 401 as a reply when the provider's key is wrong", async function () {
            const wrong = new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: "sk-wrong" });
            const reply = await wrong.send(paidRoute("openai.chat"), chatBody("test-model"));
            expect(reply.status).to.equal(401);
            expect(bodyOf(reply)).to.have.nested.property("error.code", "invalid_api_key");
        });
    });

    describe("# errors and timeouts", function () {
        it("Should report an upstream 4xx or 5xx as a reply with its status (the pipeline charges 0)", async function () {
            for (const status of [400, 429, 500, 503]) {
                const reply = await openai.send(paidRoute("openai.chat"), chatBody(`test-model+status=${status}`, { stream: true }));
                expect(reply.status).to.equal(status);
                expect(reply.kind).to.equal("body");
                expect(bodyOf(reply)).to.have.nested.property("error.message", `simulated ${status}`);
            }
        });

        it("Should time out an upstream that never answers, after the route's timeout", async function () {
            const impatient = new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: PROVIDER_KEY, timeouts: { "openai.chat": 300 } });
            const error = await rejection(impatient.send(paidRoute("openai.chat"), chatBody("test-model+hang")));
            expect(error.reason).to.equal("timeout");
            expect(error.message).to.match(/POST \/v1\/chat\/completions: no complete answer within 300 ms/);
        });

        it("Should time out a stream that stalls mid-way", async function () {
            const impatient = new HttpUpstream({ dialect: "openai", baseUrl: server.url, apiKey: PROVIDER_KEY, timeouts: { "openai.chat": 500 } });
            const reply = await impatient.send(paidRoute("openai.chat"), chatBody("test-model+stall=2", { stream: true }));
            expect(reply.kind).to.equal("stream");
            const error = await rejection(
                (async () => {
                    for await (const _chunk of (reply as UpstreamStreamReply).chunks) void _chunk;
                })()
            );
            expect(error.reason).to.equal("timeout");
        });

        it("Should stop when the caller's signal aborts (the client went away)", async function () {
            const controller = new AbortController();
            const pending = openai.send(paidRoute("openai.chat"), chatBody("test-model+hang"), controller.signal);
            controller.abort();
            expect((await rejection(pending)).reason).to.equal("aborted");
        });

        it("Should report an unreachable upstream", async function () {
            const port = await freePort();
            const nowhere = new HttpUpstream({ dialect: "openai", baseUrl: `http://127.0.0.1:${port}/v1` });
            const error = await rejection(nowhere.send(paidRoute("openai.chat"), chatBody("m")));
            expect(error.reason).to.equal("unreachable");
            expect(error.message).to.match(/ECONNREFUSED/);
        });

        it("Should report a stream that breaks mid-way", async function () {
            const reply = await openai.send(paidRoute("openai.chat"), chatBody("test-model+break=2", { stream: true }));
            const error = await rejection(
                (async () => {
                    for await (const _chunk of (reply as UpstreamStreamReply).chunks) void _chunk;
                })()
            );
            expect(error.reason).to.equal("broken");
        });
    });

    describe("# streams", function () {
        it("Should hand over each event as the upstream sends it, before the upstream has finished", async function () {
            // The upstream sends three words and then stalls with the connection open: the
            // client already has them, so nothing waits for the end of the stream.
            const route = paidRoute("openai.chat");
            const request = route.parse(chatBody("test-model+stall=3", { stream: true }));
            const reply = (await openai.send(route, route.upstreamBody(request))) as UpstreamStreamReply;
            expect(reply.kind).to.equal("stream");
            expect(reply.headers["content-type"]).to.match(/^text\/event-stream/);
            const meter = new StreamMeter(route, request);
            let relayed = "";
            for await (const chunk of reply.chunks) {
                relayed += meter.push(chunk).toString();
                if ((relayed.match(/"content":"/g) ?? []).length >= 4) break; // the role chunk and three words
            }
            reply.cancel();
            expect(relayed).to.include('"content":"echo:"').and.include('"content":" one"').and.include('"content":" two"');
            const { outcome } = meter.end();
            expect(outcome.completed).to.equal(false);
            // No usage arrived: the words the client received are counted with the tokenizer.
            expect(outcome.usage).to.deep.include({ outputTokens: countTokens("echo: one two"), source: "counted" });
        });

        it("Should stream NDJSON from Ollama and JSON when stream is false", async function () {
            const ollama = new HttpUpstream({ dialect: "ollama", baseUrl: server.url, apiKey: PROVIDER_KEY });
            const streamed = await ollama.send(paidRoute("ollama.chat"), chatBody("llama-test"));
            expect(streamed.kind).to.equal("stream");
            if (streamed.kind === "stream") {
                expect(streamed.framing).to.equal("ndjson");
                for await (const _chunk of streamed.chunks) void _chunk;
            }
            const whole = await ollama.send(paidRoute("ollama.chat"), chatBody("llama-test", { stream: false }));
            expect(bodyOf(whole)).to.include({ done: true, eval_count: 6 });
            const tags = await ollama.send(findRoute("GET", "/api/tags")!, Buffer.alloc(0));
            expect(bodyOf(tags)).to.have.property("models").with.length(1);
        });
    });

    // A bare local server whose every connection and request the test sees, for the connection
    // handling of HttpUpstream (kept-alive reuse, a reset as a connection is reused, encodings).
    describe("# connections", function () {
        let bare: Server;
        let baseUrl: string;
        let connections: Socket[];
        let handle: (request: IncomingMessage, response: ServerResponse, requestOnConnection: number, connection: number) => void;
        const perSocket = new WeakMap<Socket, number>();

        before(async function () {
            bare = createServer((request, response) => {
                const socket = request.socket;
                const n = (perSocket.get(socket) ?? 0) + 1;
                perSocket.set(socket, n);
                request.resume();
                request.on("end", () => handle(request, response, n, connections.indexOf(socket) + 1));
            });
            bare.on("connection", (socket: Socket) => connections.push(socket));
            await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
            baseUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/v1`;
        });

        after(async function () {
            bare.closeAllConnections();
            await new Promise<void>((resolve) => bare.close(() => resolve()));
        });

        beforeEach(function () {
            bare.closeAllConnections();
            connections = [];
            handle = (_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ object: "list", data: [] }));
        });

        const models = findRoute("GET", "/v1/models")!;

        it("Should send one call after another on one kept-alive connection", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            for (let i = 0; i < 3; i++) expect(bodyOf(await upstream.send(models, Buffer.alloc(0)))).to.deep.equal({ object: "list", data: [] });
            const paid = await upstream.send(paidRoute("openai.chat"), chatBody("m"));
            expect(paid.status).to.equal(200);
            expect(connections).to.have.length(1);
            upstream.close();
        });

        it("Should keep the connection of a stream read to its end for the next call", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            handle = (_request, response) => {
                response.writeHead(200, { "content-type": "text/event-stream" });
                response.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
                response.end("data: [DONE]\n\n");
            };
            for (let i = 0; i < 3; i++) {
                const reply = await upstream.send(paidRoute("openai.chat"), chatBody("m", { stream: true }));
                expect(reply.kind).to.equal("stream");
                let text = "";
                for await (const chunk of (reply as UpstreamStreamReply).chunks) text += Buffer.from(chunk).toString();
                expect(text).to.include("[DONE]");
            }
            expect(connections).to.have.length(1);
            upstream.close();
        });

        it("Should send a GET once more on a connection of its own when the server resets the reused one before answering, and never a POST", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            const seen: string[] = [];
            handle = (request, response, nth, connection) => {
                seen.push(`${request.method} ${request.url} #${connection}.${nth}`);
                // A connection's second request: the server closes it as it comes (its keep-alive ran out).
                if (nth === 2) {
                    request.socket.destroy();
                    return;
                }
                response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ connection, nth }));
            };
            expect(bodyOf(await upstream.send(models, Buffer.alloc(0)))).to.deep.equal({ connection: 1, nth: 1 });
            expect(bodyOf(await upstream.send(models, Buffer.alloc(0))), "retried on a new connection").to.deep.equal({ connection: 2, nth: 1 });
            expect(bodyOf(await upstream.send(models, Buffer.alloc(0)))).to.deep.equal({ connection: 3, nth: 1 });
            // A paid call may have been acted on: the provider must not pay for it twice.
            const error = await rejection(upstream.send(paidRoute("openai.chat"), chatBody("m")));
            expect(error.reason).to.equal("unreachable");
            expect(seen).to.deep.equal(["GET /v1/models #1.1", "GET /v1/models #1.2", "GET /v1/models #2.1", "GET /v1/models #3.1", "POST /v1/chat/completions #3.2"]);
            upstream.close();
        });

        it("Should not send a call again when a new connection is reset (the server may have acted on it)", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            let calls = 0;
            handle = (request) => {
                calls++;
                request.socket.destroy();
            };
            const error = await rejection(upstream.send(paidRoute("openai.chat"), chatBody("m")));
            expect(error.reason).to.equal("unreachable");
            expect(error.message).to.match(/socket hang up|ECONNRESET/);
            expect(calls).to.equal(1);
            upstream.close();
        });

        it("Should refuse a redirect rather than follow it", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            const seen: string[] = [];
            handle = (request, response) => {
                seen.push(request.url!);
                response.writeHead(307, { location: "/elsewhere/v1/chat/completions" }).end();
            };
            const error = await rejection(upstream.send(paidRoute("openai.chat"), chatBody("m")));
            expect(error.reason).to.equal("unreachable");
            expect(error.message).to.match(/answered 307, a redirect/);
            expect(seen).to.deep.equal(["/v1/chat/completions"]);
            // Other 3xx statuses are answers like any other (as with fetch's redirect: "error").
            handle = (_request, response) => response.writeHead(300, { "content-type": "application/json" }).end("{}");
            expect((await upstream.send(paidRoute("openai.chat"), chatBody("m"))).status).to.equal(300);
            upstream.close();
        });

        it("Should ask for an unencoded answer, and decode a gzip one all the same", async function () {
            const upstream = new HttpUpstream({ dialect: "openai", baseUrl });
            const encodings: (string | undefined)[] = [];
            handle = (request, response) => {
                encodings.push(request.headers["accept-encoding"]);
                response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(gzipSync(JSON.stringify({ id: "zipped" })));
            };
            expect(bodyOf(await upstream.send(paidRoute("openai.chat"), chatBody("m")))).to.deep.equal({ id: "zipped" });
            expect(encodings).to.deep.equal(["identity"]);
            // As leniently as fetch: a gzip body cut before its trailer keeps what it holds, and an empty answer is not decoded.
            const whole = gzipSync(JSON.stringify({ id: "cut" }));
            handle = (_request, response) => response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" }).end(whole.subarray(0, whole.length - 8));
            expect(bodyOf(await upstream.send(paidRoute("openai.chat"), chatBody("m")))).to.deep.equal({ id: "cut" });
            handle = (_request, response) => response.writeHead(204, { "content-encoding": "gzip" }).end();
            const empty = await upstream.send(paidRoute("openai.chat"), chatBody("m"));
            expect(empty.status).to.equal(204);
            expect(empty.kind === "body" && empty.body.length).to.equal(0);
            handle = (_request, response) => response.writeHead(200, { "content-type": "application/json", "content-encoding": "zstd" }).end("x");
            const error = await rejection(upstream.send(paidRoute("openai.chat"), chatBody("m")));
            expect(error.reason).to.equal("broken");
            expect(error.message).to.match(/content encoding "zstd"/);
            upstream.close();
        });
    });

    describe("# routing", function () {
        it("Should send each dialect to its upstream and refuse a dialect without one", async function () {
            const router = new UpstreamRouter({ openai, ollama: new HttpUpstream({ dialect: "ollama", baseUrl: server.url, apiKey: PROVIDER_KEY }) });
            const messages = paidRoute("anthropic.messages");
            expect(router.serves(paidRoute("openai.responses"))).to.equal(true);
            expect(router.serves(messages)).to.equal(false);
            expect((await rejection(router.send(messages, json({})))).reason).to.equal("unsupported");
            expect((await rejection(openai.send(messages, json({})))).reason).to.equal("unsupported");
            const reply = await router.send(paidRoute("ollama.chat"), chatBody("llama-test", { stream: false }));
            expect(reply.status).to.equal(200);
        });

        it("Should serve every route from the echo model", async function () {
            const echo: Upstream = new EchoUpstream();
            const routes: ApiRoute[] = [findRoute("GET", "/v1/models")!, findRoute("GET", "/api/tags")!];
            for (const route of routes) expect((await echo.send(route, Buffer.alloc(0))).status).to.equal(200);
            const ids: PaidRouteId[] = ["openai.chat", "openai.completions", "openai.responses", "openai.embeddings", "anthropic.messages", "ollama.chat"];
            const bodies: Record<PaidRouteId, unknown> = {
                "openai.chat": { model: "echo", messages: [{ role: "user", content: "hi" }] },
                "openai.completions": { model: "echo", prompt: "hi" },
                "openai.responses": { model: "echo", input: "hi" },
                "openai.embeddings": { model: "echo", input: "hi" },
                "anthropic.messages": { model: "echo", max_tokens: 5, messages: [{ role: "user", content: "hi" }] },
                "ollama.chat": { model: "echo", stream: false, messages: [{ role: "user", content: "hi" }] }
            };
            for (const id of ids) expect((await echo.send(paidRoute(id), json(bodies[id]))).status, id).to.equal(200);
            expect((await echo.send(paidRoute("openai.chat"), json({ model: "echo" }))).status).to.equal(400);
        });
    });
});
