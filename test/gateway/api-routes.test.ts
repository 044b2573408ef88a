import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import {
    API_ROUTES,
    countPromptTokens,
    countTokens,
    FREE_ROUTES,
    findRoute,
    IMAGE_TOKENS,
    NdjsonSplitter,
    PAID_ROUTES,
    paidRoute,
    SseSplitter
} from "../../packages/provider/src/api";
import type { ApiRequest, FramedEvent, PaidApiRoute, PaidRouteId } from "../../packages/provider/src/api";
import { GatewayError } from "../../packages/provider/src/errors";

const body = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const route = (id: PaidRouteId): PaidApiRoute => paidRoute(id);
const parse = (id: PaidRouteId, value: unknown): ApiRequest => route(id).parse(body(value));
const sent = (id: PaidRouteId, request: ApiRequest): Record<string, unknown> => JSON.parse(route(id).upstreamBody(request).toString()) as Record<string, unknown>;

/** Expects a 400 MALFORMED_BODY refusal mentioning `words`. */
function malformed(fn: () => unknown, words: RegExp): void {
    try {
        fn();
    } catch (error) {
        expect(error).to.be.instanceOf(GatewayError);
        expect((error as GatewayError).status).to.equal(400);
        expect((error as GatewayError).code).to.equal("MALFORMED_BODY");
        expect((error as GatewayError).message).to.match(words);
        return;
    }
    throw new Error("expected a MALFORMED_BODY refusal");
}

const chat = { model: "gpt-test", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there, model" }] };

// The API surface of issue 11, declared in one place: each dialect's body is read (model,
// prompt, output limit, stream flag), capped in its own field, and sent upstream as it came
// unless a change was needed.
describe("API routes", function () {
    describe("# the declaration", function () {
        it("Should declare every route of the surface once, paid and free", function () {
            const keys = API_ROUTES.map((r) => `${r.method} ${r.path} ${r.dialect} ${r.paid ? "paid" : "free"}`);
            expect(keys).to.have.members([
                "POST /v1/chat/completions openai paid",
                "POST /v1/completions openai paid",
                "POST /v1/responses openai paid",
                "POST /v1/embeddings openai paid",
                "GET /v1/models openai free",
                "POST /v1/messages anthropic paid",
                "POST /api/chat ollama paid",
                "GET /api/tags ollama free"
            ]);
            expect(new Set(API_ROUTES.map((r) => r.id)).size).to.equal(API_ROUTES.length);
            expect(PAID_ROUTES.every((r) => r.paid && r.method === "POST")).to.equal(true);
            expect(FREE_ROUTES.every((r) => !r.paid && r.method === "GET")).to.equal(true);
        });

        it("Should find a route by method and path, ignoring the query", function () {
            expect(findRoute("POST", "/v1/chat/completions")?.id).to.equal("openai.chat");
            expect(findRoute("post", "/v1/messages?beta=true")?.id).to.equal("anthropic.messages");
            expect(findRoute("GET", "/api/tags")?.id).to.equal("ollama.tags");
        });

        it("Should find nothing for anything else (404 without touching a ticket)", function () {
            expect(findRoute("GET", "/v1/chat/completions")).to.equal(undefined);
            expect(findRoute("POST", "/v1/models")).to.equal(undefined);
            expect(findRoute("POST", "/")).to.equal(undefined);
            expect(findRoute("POST", "/v1/chat/completions/")).to.equal(undefined);
            expect(findRoute("DELETE", "/v1/responses")).to.equal(undefined);
        });
    });

    describe("# OpenAI chat completions", function () {
        it("Should read model, stream flag, output limit, choices and prompt", function () {
            const request = parse("openai.chat", { ...chat, max_tokens: 50, n: 2, stream: true });
            expect(request.model).to.equal("gpt-test");
            expect(request.stream).to.equal(true);
            expect(request.maxOutputTokens).to.equal(50);
            expect(request.outputs).to.equal(2);
            expect(request.prompt.text).to.include("Hello there, model").and.include("Be brief.");
            // 3 for the request, 4 per message.
            expect(request.prompt.fixedTokens).to.equal(3 + 4 * 2);
        });

        it("Should take the larger of max_tokens and max_completion_tokens", function () {
            expect(parse("openai.chat", { ...chat, max_completion_tokens: 70, max_tokens: 20 }).maxOutputTokens).to.equal(70);
            expect(parse("openai.chat", { ...chat, max_tokens: null }).maxOutputTokens).to.equal(undefined);
        });

        it("Should count tool definitions and tool call arguments as prompt", function () {
            const request = parse("openai.chat", {
                ...chat,
                tools: [{ type: "function", function: { name: "lookup_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
                messages: [...chat.messages, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "lookup_weather", arguments: '{"city":"Zürich"}' } }] }]
            });
            expect(request.prompt.text).to.include("lookup_weather").and.include("Zürich");
        });

        it("Should count an image part as the image allowance, not as its base64 text", function () {
            const image = `data:image/png;base64,${"A".repeat(200_000)}`;
            const request = parse("openai.chat", {
                model: "m",
                messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: image } }] }]
            });
            expect(request.prompt.text).not.to.include("AAAA");
            expect(request.prompt.fixedTokens).to.equal(3 + 4 + IMAGE_TOKENS);
        });

        it("Should cap the field the client used, or max_tokens when it used none", function () {
            const own = route("openai.chat").withMaxOutputTokens(parse("openai.chat", { ...chat, max_completion_tokens: 900 }), 100);
            expect(sent("openai.chat", own)).to.include({ max_completion_tokens: 100 }).and.not.have.property("max_tokens");
            const none = route("openai.chat").withMaxOutputTokens(parse("openai.chat", chat), 64);
            expect(sent("openai.chat", none)).to.include({ max_tokens: 64 });
            expect(none.maxOutputTokens).to.equal(64);
        });

        it("Should forward an unchanged body byte for byte", function () {
            const raw = Buffer.from(`{ "model": "m",  "messages": [ {"role":"user","content":"hi"} ], "seed": 12345678901234567890 }`);
            const request = route("openai.chat").parse(raw);
            expect(route("openai.chat").upstreamBody(request).equals(raw)).to.equal(true);
        });

        it("Should ask a stream for usage, and remember whether the client asked", function () {
            const silent = parse("openai.chat", { ...chat, stream: true });
            expect(silent.streamUsageRequested).to.equal(false);
            expect(sent("openai.chat", silent).stream_options).to.deep.equal({ include_usage: true });
            const asked = parse("openai.chat", { ...chat, stream: true, stream_options: { include_usage: true } });
            expect(asked.streamUsageRequested).to.equal(true);
            expect(route("openai.chat").upstreamBody(asked).equals(asked.raw)).to.equal(true);
            const plain = parse("openai.chat", chat);
            expect(sent("openai.chat", plain)).not.to.have.property("stream_options");
        });

        it("Should refuse malformed bodies with MALFORMED_BODY", function () {
            malformed(() => route("openai.chat").parse(Buffer.from("{not json")), /not JSON/);
            malformed(() => route("openai.chat").parse(Buffer.from("[1,2]")), /JSON object/);
            malformed(() => parse("openai.chat", { messages: chat.messages }), /model/);
            malformed(() => parse("openai.chat", { model: "m", messages: [] }), /messages/);
            malformed(() => parse("openai.chat", { model: "m", messages: ["hi"] }), /role/);
            malformed(() => parse("openai.chat", { ...chat, max_tokens: 0 }), /max_tokens/);
            malformed(() => parse("openai.chat", { ...chat, max_tokens: 1.5 }), /max_tokens/);
            malformed(() => parse("openai.chat", { ...chat, stream: "yes" }), /stream/);
            malformed(() => parse("openai.chat", { ...chat, n: 1000 }), /\bn\b/);
            malformed(() => parse("openai.chat", { ...chat, stream: true, stream_options: "usage" }), /stream_options/);
        });

        it("Should survive a deeply nested body without exhausting the stack", function () {
            const deep = `{"model":"m","messages":[{"role":"user","content":"x","metadata":${"[".repeat(200_000)}${"]".repeat(200_000)}}]}`;
            const request = route("openai.chat").parse(Buffer.from(deep));
            expect(request.prompt.text).to.include("x");
        });
    });

    describe("# OpenAI completions, responses, embeddings", function () {
        it("Should read a completions body: 16 tokens by default, n and best_of multiply", function () {
            const request = parse("openai.completions", { model: "m", prompt: "Once upon a time", n: 2, best_of: 3, stream: true });
            expect(request.maxOutputTokens).to.equal(undefined);
            expect(route("openai.completions").defaultMaxOutputTokens).to.equal(16);
            expect(request.outputs).to.equal(3);
            expect(request.prompt.text).to.include("Once upon a time");
            expect(sent("openai.completions", route("openai.completions").withMaxOutputTokens(request, 16))).to.include({ max_tokens: 16 });
        });

        it("Should count a pre-tokenised prompt one token per number, and batches per prompt", function () {
            const request = parse("openai.completions", { model: "m", prompt: [1, 2, 3, 4, 5], max_tokens: 4 });
            expect(request.prompt.fixedTokens).to.equal(5);
            expect(parse("openai.completions", { model: "m", prompt: ["a", "b", "c"], n: 2 }).outputs).to.equal(6);
            malformed(() => parse("openai.completions", { model: "m" }), /prompt/);
        });

        it("Should read a Responses body and cap max_output_tokens", function () {
            const request = parse("openai.responses", {
                model: "m",
                instructions: "Answer in French.",
                input: [{ role: "user", content: [{ type: "input_text", text: "Bonjour" }, { type: "input_image", image_url: "https://example.invalid/cat.png" }] }],
                max_output_tokens: 5000,
                stream: true
            });
            expect(request.stream).to.equal(true);
            expect(request.maxOutputTokens).to.equal(5000);
            expect(request.prompt.text).to.include("Bonjour").and.include("Answer in French.");
            expect(request.prompt.fixedTokens).to.equal(3 + 4 + IMAGE_TOKENS);
            expect(sent("openai.responses", route("openai.responses").withMaxOutputTokens(request, 300))).to.include({ max_output_tokens: 300 });
        });

        it("Should refuse Responses that use state stored upstream under the provider's key", function () {
            for (const field of ["previous_response_id", "conversation", "prompt", "background"]) {
                malformed(() => parse("openai.responses", { model: "m", input: "hi", [field]: field === "background" ? true : "x" }), new RegExp(field));
            }
            expect(parse("openai.responses", { model: "m", input: "hi", background: false }).model).to.equal("m");
        });

        it("Should read an embeddings body: prompt only, nothing generated, never streamed", function () {
            const request = parse("openai.embeddings", { model: "e", input: ["first text", "second text"] });
            expect(request.outputs).to.equal(0);
            expect(request.stream).to.equal(false);
            expect(request.prompt.text).to.equal("first text\nsecond text");
            expect(parse("openai.embeddings", { model: "e", input: [[1, 2], [3]] }).prompt.fixedTokens).to.equal(3);
            malformed(() => parse("openai.embeddings", { model: "e", input: 3 }), /input/);
            expect(route("openai.embeddings").framing).to.equal(undefined);
        });
    });

    describe("# Anthropic messages", function () {
        const messages = { model: "claude-test", max_tokens: 1024, system: "You are terse.", messages: [{ role: "user", content: [{ type: "text", text: "Hi Claude" }] }] };

        it("Should read model, required max_tokens, system prompt and stream flag", function () {
            const request = parse("anthropic.messages", { ...messages, stream: true });
            expect(request.maxOutputTokens).to.equal(1024);
            expect(request.stream).to.equal(true);
            expect(request.prompt.text).to.include("Hi Claude").and.include("You are terse.");
            malformed(() => parse("anthropic.messages", { ...messages, max_tokens: undefined }), /max_tokens/);
        });

        it("Should count image blocks as the allowance and cap max_tokens", function () {
            const request = parse("anthropic.messages", {
                ...messages,
                messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "B".repeat(100_000) } }, { type: "text", text: "Describe" }] }]
            });
            expect(request.prompt.text).not.to.include("BBBB");
            expect(request.prompt.fixedTokens).to.equal(3 + 4 + IMAGE_TOKENS);
            expect(sent("anthropic.messages", route("anthropic.messages").withMaxOutputTokens(request, 200))).to.include({ max_tokens: 200 });
        });

        it("Should keep an extended thinking budget below a capped max_tokens", function () {
            const request = parse("anthropic.messages", { ...messages, max_tokens: 16_000, thinking: { type: "enabled", budget_tokens: 10_000 } });
            expect(sent("anthropic.messages", route("anthropic.messages").withMaxOutputTokens(request, 4_000)).thinking).to.deep.equal({ type: "enabled", budget_tokens: 3_999 });
            expect(sent("anthropic.messages", route("anthropic.messages").withMaxOutputTokens(request, 12_000)).thinking).to.deep.equal({ type: "enabled", budget_tokens: 10_000 });
        });
    });

    describe("# Ollama chat", function () {
        it("Should stream by default and read options.num_predict (negative: unbounded)", function () {
            const request = parse("ollama.chat", { model: "llama3.2", messages: [{ role: "user", content: "why is the sky blue?" }] });
            expect(request.stream).to.equal(true);
            expect(request.maxOutputTokens).to.equal(undefined);
            expect(parse("ollama.chat", { model: "l", stream: false, messages: [], options: { num_predict: 40 } }).maxOutputTokens).to.equal(40);
            expect(parse("ollama.chat", { model: "l", messages: [], options: { num_predict: -1 } }).maxOutputTokens).to.equal(undefined);
            malformed(() => parse("ollama.chat", { model: "l", messages: [], options: { num_predict: "many" } }), /num_predict/);
        });

        it("Should count images as the allowance and cap in options.num_predict, keeping the other options", function () {
            const request = parse("ollama.chat", { model: "l", messages: [{ role: "user", content: "what is in this picture?", images: ["iVBORw0KGgo".repeat(1000)] }], options: { temperature: 0 } });
            expect(request.prompt.text).not.to.include("iVBORw0KGgo");
            expect(request.prompt.fixedTokens).to.equal(3 + 4 + IMAGE_TOKENS);
            expect(sent("ollama.chat", route("ollama.chat").withMaxOutputTokens(request, 77)).options).to.deep.equal({ temperature: 0, num_predict: 77 });
        });
    });

    describe("# event framing", function () {
        const stream =
            'event: message_start\ndata: {"type":"message_start"}\n\n: keep-alive comment\n\ndata: {"a":1}\r\n\r\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n';

        const split = (pieces: string[]): FramedEvent[] => {
            const splitter = new SseSplitter();
            return [...pieces.flatMap((piece) => splitter.push(piece)), ...splitter.end()];
        };

        it("Should split SSE events whole, whatever the chunking (byte by byte included)", function () {
            const whole = split([stream]);
            expect(whole.map((e) => e.data)).to.deep.equal(['{"type":"message_start"}', undefined, '{"a":1}', "line one\nline two", "[DONE]"]);
            expect(whole[0].event).to.equal("message_start");
            expect(whole.map((e) => e.raw).join("")).to.equal(stream);
            expect(split([...stream])).to.deep.equal(whole);
            expect(split([stream.slice(0, 50), stream.slice(50, 51), stream.slice(51)])).to.deep.equal(whole);
        });

        it("Should drop an SSE event cut off by the end of the stream", function () {
            expect(split(['data: {"a":1}\n\ndata: {"b":']).map((e) => e.data)).to.deep.equal(['{"a":1}']);
        });

        it("Should split NDJSON lines, including a last line without newline", function () {
            const splitter = new NdjsonSplitter();
            const events = [...splitter.push('{"a":1}\n{"b"'), ...splitter.push(':2}\n\n{"c":3}'), ...splitter.end()];
            expect(events.map((e) => e.data)).to.deep.equal(['{"a":1}', '{"b":2}', undefined, '{"c":3}']);
        });
    });

    describe("# tokenizer", function () {
        it("Should count o200k_base tokens, special-token text included", function () {
            expect(countTokens("")).to.equal(0);
            expect(countTokens("Hello world")).to.equal(2);
            expect(countTokens("<|endoftext|> is plain text here")).to.be.greaterThan(3);
            expect(countPromptTokens({ text: "Hello world", fixedTokens: 7 })).to.equal(9);
        });

        it("Should count without touching the network (the encoding ships in the package)", function () {
            // A fresh process where every network entry point throws, counting tokens.
            const script = `
                const net = require("node:net"), http = require("node:http"), https = require("node:https"), dns = require("node:dns");
                const refuse = () => { throw new Error("network used"); };
                net.connect = net.createConnection = http.request = http.get = https.request = https.get = dns.lookup = refuse;
                globalThis.fetch = refuse;
                const { countTokens } = require(${JSON.stringify(path.resolve(__dirname, "../../packages/metering/src/tokenizer.ts"))});
                process.stdout.write(String(countTokens("The quick brown fox jumps over the lazy dog")));
            `;
            const result = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { encoding: "utf8", cwd: path.resolve(__dirname, "../..") });
            expect(result.stderr).to.equal("");
            expect(result.stdout).to.equal("9");
        });
    });
});
