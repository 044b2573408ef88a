import { expect } from "chai";
import {
    countPromptTokens,
    countTokens,
    EchoUpstream,
    HttpUpstream,
    meterBody,
    paidRoute,
    resolveUsage,
    StreamMeter
} from "../../packages/provider/src/api";
import type { ApiRequest, PaidRouteId, StreamOutcome, Upstream } from "../../packages/provider/src/api";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";

const KEY = "sk-provider";
const USER_TEXT = "héllo wörld 日本 one two three";

/** A request body of each paid route asking for `model`. */
function bodyFor(id: PaidRouteId, model: string, stream: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: USER_TEXT }];
    switch (id) {
        case "openai.chat":
            return { model, messages, stream, ...extra };
        case "openai.completions":
            return { model, prompt: USER_TEXT, max_tokens: 50, stream, ...extra };
        case "openai.responses":
            return { model, input: [{ role: "user", content: USER_TEXT }], stream, ...extra };
        case "openai.embeddings":
            return { model, input: [USER_TEXT, "second"], ...extra };
        case "anthropic.messages":
            return { model, max_tokens: 100, system: "Be brief.", messages: messages.slice(1), stream, ...extra };
        case "ollama.chat":
            return { model, messages, stream, ...extra };
    }
}

interface Metered {
    readonly request: ApiRequest;
    /** The upstream's bytes, as they came. */
    readonly raw: Buffer;
    /** What the client got. */
    readonly relayed: Buffer;
    readonly outcome: StreamOutcome;
    readonly error?: unknown;
}

/** Sends a streamed request and meters it as the pipeline would. */
async function meterStream(upstream: Upstream, id: PaidRouteId, body: Record<string, unknown>): Promise<Metered> {
    const route = paidRoute(id);
    const request = route.parse(Buffer.from(JSON.stringify(body)));
    const reply = await upstream.send(route, route.upstreamBody(request));
    expect(reply.kind, `${id} streams`).to.equal("stream");
    if (reply.kind !== "stream") throw new Error("not a stream");
    const meter = new StreamMeter(route, request);
    const raw: Buffer[] = [];
    const relayed: Buffer[] = [];
    let error: unknown;
    try {
        for await (const chunk of reply.chunks) {
            raw.push(Buffer.from(chunk));
            relayed.push(meter.push(chunk));
        }
    } catch (caught) {
        error = caught;
    }
    const { tail, outcome } = meter.end();
    relayed.push(tail);
    return { request, raw: Buffer.concat(raw), relayed: Buffer.concat(relayed), outcome, error };
}

/** Reads the upstream's own usage figures from its raw bytes (the test server's words). */
function streamedUsage(id: PaidRouteId, raw: string): { input: number; output: number | undefined } {
    const events = raw
        .split(/\n/)
        .map((line) => line.replace(/^data: /, ""))
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, any>);
    switch (id) {
        case "openai.chat":
        case "openai.completions": {
            const usage = events.find((e) => e.usage)!.usage;
            return { input: usage.prompt_tokens, output: usage.completion_tokens };
        }
        case "openai.responses": {
            const usage = events.find((e) => e.type === "response.completed")!.response.usage;
            return { input: usage.input_tokens, output: usage.output_tokens };
        }
        case "anthropic.messages":
            return { input: events.find((e) => e.type === "message_start")!.message.usage.input_tokens, output: events.find((e) => e.type === "message_delta")?.usage.output_tokens };
        case "ollama.chat": {
            const done = events.find((e) => e.done === true)!;
            return { input: done.prompt_eval_count, output: done.eval_count };
        }
        case "openai.embeddings":
            throw new Error("embeddings do not stream");
    }
}

/** The generated text inside relayed bytes (what the client saw). */
function relayedText(id: PaidRouteId, relayed: string): string {
    const pieces: string[] = [];
    for (const line of relayed.split(/\n/)) {
        const data = line.replace(/^data: /, "");
        if (!data.startsWith("{")) continue;
        const event = JSON.parse(data) as Record<string, any>;
        if (id === "openai.chat") pieces.push(event.choices?.[0]?.delta?.content ?? "");
        else if (id === "openai.completions") pieces.push(event.choices?.[0]?.text ?? "");
        else if (id === "openai.responses" && event.type === "response.output_text.delta") pieces.push(event.delta);
        else if (id === "anthropic.messages" && event.type === "content_block_delta") pieces.push(event.delta.text);
        else if (id === "ollama.chat") pieces.push(event.message?.content ?? "");
    }
    return pieces.join("");
}

const STREAMING: PaidRouteId[] = ["openai.chat", "openai.completions", "openai.responses", "anthropic.messages", "ollama.chat"];

// Usage read from real streamed bytes of the test model server (its own process, its own
// encoders), counted with the tokenizer where it is missing, and the stream relayed byte for
// byte but for the usage chunk the client did not ask for.
describe("API metering", function () {
    let server: UpstreamServer;
    let upstreams: Record<"openai" | "anthropic" | "ollama", HttpUpstream>;
    const upstreamOf = (id: PaidRouteId): Upstream => upstreams[paidRoute(id).dialect];

    before(async function () {
        server = await startUpstreamServer({ apiKey: KEY });
        upstreams = {
            openai: new HttpUpstream({ dialect: "openai", baseUrl: `${server.url}/v1`, apiKey: KEY }),
            anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: server.url, apiKey: KEY }),
            ollama: new HttpUpstream({ dialect: "ollama", baseUrl: server.url, apiKey: KEY })
        };
    });

    after(async function () {
        await server?.stop();
    });

    describe("# complete streams", function () {
        for (const id of STREAMING) {
            it(`Should read the upstream's usage from a ${id} stream`, async function () {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model", true));
                expect(metered.error).to.equal(undefined);
                const expected = streamedUsage(id, metered.raw.toString());
                expect(metered.outcome.usage).to.deep.equal({ inputTokens: expected.input, outputTokens: expected.output, source: "upstream" });
                expect(metered.outcome.completed).to.equal(true);
                expect(metered.outcome.failed).to.equal(false);
                expect(relayedText(id, metered.relayed.toString())).to.equal(`echo: ${USER_TEXT}`);
            });
        }

        it("Should strip the usage chunk the gateway asked for when the client did not", async function () {
            for (const id of ["openai.chat", "openai.completions"] as const) {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model", true));
                const raw = metered.raw.toString();
                expect(raw, id).to.match(/"choices":\[\],"usage":\{/);
                const relayed = metered.relayed.toString();
                expect(relayed, id).not.to.match(/"choices":\[\]/);
                // Everything else byte for byte: the raw stream less exactly that one event.
                const usageEvent = raw.split("\n\n").find((event) => event.includes('"choices":[]'))!;
                expect(relayed, id).to.equal(raw.replace(`${usageEvent}\n\n`, ""));
                expect(relayed, id).to.match(/data: \[DONE\]\n\n$/);
            }
        });

        it("Should relay the usage chunk byte for byte when the client asked for it", async function () {
            const metered = await meterStream(upstreamOf("openai.chat"), "openai.chat", bodyFor("openai.chat", "test-model", true, { stream_options: { include_usage: true } }));
            expect(metered.relayed.equals(metered.raw)).to.equal(true);
            expect(metered.outcome.usage.source).to.equal("upstream");
        });

        it("Should relay every other dialect byte for byte", async function () {
            for (const id of ["openai.responses", "anthropic.messages", "ollama.chat"] as const) {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model", true));
                expect(metered.relayed.equals(metered.raw), id).to.equal(true);
            }
        });

        it("Should meter the same bytes alike whatever their chunking (UTF-8 split across chunks)", async function () {
            for (const id of STREAMING) {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model", true));
                const meter = new StreamMeter(paidRoute(id), metered.request);
                const relayed = [...metered.raw].map((byte) => meter.push(Uint8Array.of(byte)));
                const { tail, outcome } = meter.end();
                expect(Buffer.concat([...relayed, tail]).equals(metered.relayed), id).to.equal(true);
                expect(outcome, id).to.deep.equal(metered.outcome);
            }
        });
    });

    describe("# missing and broken usage", function () {
        for (const id of STREAMING) {
            it(`Should count a ${id} stream without usage with the tokenizer`, async function () {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model+nousage", true));
                expect(metered.outcome.completed).to.equal(true);
                expect(metered.outcome.usage).to.deep.equal({
                    inputTokens: countPromptTokens(metered.request.prompt),
                    outputTokens: countTokens(`echo: ${USER_TEXT}`),
                    source: "counted"
                });
            });

            it(`Should charge a broken ${id} stream for what was relayed, counted by the tokenizer`, async function () {
                const metered = await meterStream(upstreamOf(id), id, bodyFor(id, "test-model+break=3", true));
                expect(metered.error).to.have.property("reason", "broken");
                expect(metered.outcome.completed).to.equal(false);
                const text = relayedText(id, metered.relayed.toString());
                expect(text).to.equal("echo: héllo wörld");
                expect(metered.outcome.usage.outputTokens).to.equal(countTokens(text));
                if (id === "anthropic.messages") {
                    // message_start had already reported the input.
                    expect(metered.outcome.usage.source).to.equal("partial");
                    expect(metered.outcome.usage.inputTokens).to.equal(streamedUsage(id, metered.raw.toString()).input);
                } else {
                    expect(metered.outcome.usage.source).to.equal("counted");
                    expect(metered.outcome.usage.inputTokens).to.equal(countPromptTokens(metered.request.prompt));
                }
            });
        }

        it("Should never meter more output than the request allowed", function () {
            const request = paidRoute("openai.chat").parse(Buffer.from(JSON.stringify({ model: "m", n: 2, max_tokens: 10, messages: [{ role: "user", content: "hi" }] })));
            expect(resolveUsage(request, { usage: { inputTokens: 5, outputTokens: 1_000 }, usageFinal: true, outputText: "" })).to.deep.equal({ inputTokens: 5, outputTokens: 20, source: "upstream" });
            expect(resolveUsage(request, { usage: {}, usageFinal: false, outputText: "word ".repeat(500) }).outputTokens).to.equal(20);
        });

        it("Should notice an error event inside a stream", function () {
            const route = paidRoute("anthropic.messages");
            const request = route.parse(Buffer.from(JSON.stringify(bodyFor("anthropic.messages", "m", true))));
            const meter = new StreamMeter(route, request);
            meter.push(Buffer.from('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'));
            expect(meter.end().outcome).to.deep.include({ failed: true, completed: false });
        });
    });

    describe("# non-streamed answers", function () {
        for (const id of [...STREAMING, "openai.embeddings"] as PaidRouteId[]) {
            it(`Should read the usage of a ${id} answer, or count it`, async function () {
                const route = paidRoute(id);
                const request = route.parse(Buffer.from(JSON.stringify(bodyFor(id, "test-model", false))));
                const reply = await upstreamOf(id).send(route, route.upstreamBody(request));
                expect(reply.kind).to.equal("body");
                if (reply.kind !== "body") return;
                const usage = meterBody(route, request, reply.body);
                expect(usage.source).to.equal("upstream");
                const answer = JSON.parse(reply.body.toString()) as Record<string, any>;
                const reported =
                    id === "anthropic.messages" || id === "openai.responses"
                        ? [answer.usage.input_tokens, answer.usage.output_tokens]
                        : id === "ollama.chat"
                          ? [answer.prompt_eval_count, answer.eval_count]
                          : [answer.usage.prompt_tokens, answer.usage.completion_tokens ?? 0];
                expect([usage.inputTokens, usage.outputTokens]).to.deep.equal(reported);

                const silent = route.parse(Buffer.from(JSON.stringify(bodyFor(id, "test-model+nousage", false))));
                const bare = await upstreamOf(id).send(route, route.upstreamBody(silent));
                const counted = meterBody(route, silent, (bare as { body: Buffer }).body);
                expect(counted.source).to.equal("counted");
                expect(counted.inputTokens).to.equal(countPromptTokens(silent.prompt));
                expect(counted.outputTokens).to.equal(id === "openai.embeddings" ? 0 : countTokens(`echo: ${USER_TEXT}`));
            });
        }
    });

    describe("# the echo model", function () {
        const echo = new EchoUpstream();

        for (const id of STREAMING) {
            it(`Should stream ${id} with usage that matches the tokenizer`, async function () {
                const metered = await meterStream(echo, id, bodyFor(id, "echo", true));
                const text = relayedText(id, metered.relayed.toString());
                expect(text).to.equal(`You said: ${USER_TEXT}`);
                expect(metered.outcome).to.deep.include({ completed: true, failed: false });
                expect(metered.outcome.usage).to.deep.equal({ inputTokens: countPromptTokens(metered.request.prompt), outputTokens: countTokens(text), source: "upstream" });
            });
        }

        it("Should cut its answer to the output limit", async function () {
            const metered = await meterStream(echo, "openai.chat", bodyFor("openai.chat", "echo", true, { max_tokens: 3 }));
            expect(metered.outcome.usage.outputTokens).to.be.at.most(3);
            expect(relayedText("openai.chat", metered.relayed.toString())).to.equal("You said:");
        });
    });
});
