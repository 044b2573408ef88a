import { createHash } from "node:crypto";
import { GatewayError } from "../../errors";
import { arrayAt, countPromptTokens, countTokens, isJsonObject } from "@zk-api-credits/metering";
import type { ApiRequest, ApiRoute, JsonObject, JsonValue, PaidApiRoute, TokenUsage } from "@zk-api-credits/metering";
import type { Upstream, UpstreamReply } from "./types";

/** The echo model's name in catalogues. */
export const ECHO_MODEL = "echo";

/** Output tokens of an echo answer when the request names no limit. */
const DEFAULT_ECHO_TOKENS = 256;

export interface EchoUpstreamOptions {
    /** Pause between streamed events (ms; 0: none). */
    readonly eventDelayMs?: number;
}

/** Every string inside a JSON value, in order (no deeper than a message's content goes). */
function strings(value: JsonValue | undefined, depth = 0): string[] {
    if (typeof value === "string") return [value];
    if (depth > 16) return [];
    if (Array.isArray(value)) return value.flatMap((inner) => strings(inner, depth + 1));
    if (isJsonObject(value)) return Object.entries(value).flatMap(([key, inner]) => (key === "type" || key === "role" ? [] : strings(inner, depth + 1)));
    return [];
}

/** The text the echo answers to: the last user message (or the prompt). */
function lastUserText(request: ApiRequest): string {
    const body = request.body;
    if (request.routeId === "openai.completions") return strings(Array.isArray(body.prompt) ? body.prompt[0] : body.prompt).join(" ");
    const messages = request.routeId === "openai.responses" ? (typeof body.input === "string" ? [{ role: "user", content: body.input }] : arrayAt(body, "input") ?? []) : arrayAt(body, "messages") ?? [];
    const user = [...messages].reverse().find((message) => isJsonObject(message) && message.role === "user");
    return isJsonObject(user) ? strings(user.content).join(" ") : "";
}

/** The answer, cut to `limit` tokens, as the pieces a stream sends, and its tokens. */
function answerPieces(request: ApiRequest): { pieces: string[]; tokens: number } {
    const limit = request.maxOutputTokens ?? DEFAULT_ECHO_TOKENS;
    const pieces: string[] = [];
    let tokens = 0;
    // Words with their leading space, as byte-level BPE splits them.
    for (const word of `You said: ${lastUserText(request)}`.match(/\s*\S+/g) ?? []) {
        tokens += countTokens(word);
        if (tokens > limit) break;
        pieces.push(word);
    }
    for (;;) {
        const counted = countTokens(pieces.join(""));
        if (pieces.length === 0 || counted <= limit) return { pieces, tokens: counted };
        pieces.pop();
    }
}

/** A deterministic unit vector per input (embeddings). */
function embedding(text: string, dimensions: number): number[] {
    const digest = createHash("sha256").update(text).digest();
    const raw = Array.from({ length: dimensions }, (_, i) => digest[i % digest.length] - 127.5);
    const norm = Math.hypot(...raw);
    return raw.map((value) => value / norm);
}

type Frame = string;
const sse = (data: JsonValue | string, event?: string): Frame => `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const ndjson = (data: JsonValue): Frame => `${JSON.stringify(data)}\n`;

/**
 * A deterministic local "model" for the demo and tests, needing no network: it answers
 * "You said: …" with the last user message, cut to the request's output limit, in every
 * dialect, streamed or not, reporting usage as the real APIs do (counted with the gateway's
 * tokenizer). It also lists itself at `/v1/models` and `/api/tags`.
 */
export class EchoUpstream implements Upstream {
    constructor(private readonly options: EchoUpstreamOptions = {}) {}

    serves(): boolean {
        return true;
    }

    async send(route: ApiRoute, body: Buffer, signal?: AbortSignal): Promise<UpstreamReply> {
        if (!route.paid) return json(200, route.id === "openai.models" ? modelList() : tagList());
        let request: ApiRequest;
        try {
            request = route.parse(body);
        } catch (error) {
            if (error instanceof GatewayError) return json(400, { error: { type: "invalid_request_error", message: error.message } });
            throw error;
        }
        const id = createHash("sha256").update(body).digest("hex").slice(0, 24);
        if (route.id === "openai.embeddings") return json(200, embeddings(request));
        const { pieces, tokens } = answerPieces(request);
        const usage: TokenUsage = { inputTokens: countPromptTokens(request.prompt), outputTokens: tokens };
        const frames = request.stream ? streamFrames(route, request, id, pieces, usage) : undefined;
        if (frames === undefined) return json(200, answer(route, request, id, pieces.join(""), usage));
        const delay = this.options.eventDelayMs ?? 0;
        async function* chunks(): AsyncGenerator<Uint8Array> {
            for (const frame of frames!) {
                if (signal?.aborted) return;
                await new Promise((resolve) => (delay > 0 ? setTimeout(resolve, delay) : setImmediate(resolve)));
                yield Buffer.from(frame);
            }
        }
        return {
            kind: "stream",
            status: 200,
            headers: { "content-type": route.framing === "ndjson" ? "application/x-ndjson" : "text/event-stream" },
            framing: route.framing!,
            chunks: chunks(),
            cancel: () => undefined
        };
    }
}

function json(status: number, value: JsonValue): UpstreamReply {
    return { kind: "body", status, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify(value)) };
}

function modelList(): JsonObject {
    return { object: "list", data: [{ id: ECHO_MODEL, object: "model", created: 0, owned_by: "zk-api-credits" }] };
}

function tagList(): JsonObject {
    const details = { format: "gguf", family: "echo", families: ["echo"], parameter_size: "0", quantization_level: "none" };
    return { models: [{ name: `${ECHO_MODEL}:latest`, model: `${ECHO_MODEL}:latest`, modified_at: "1970-01-01T00:00:00Z", size: 0, digest: "0".repeat(64), details }] };
}

function embeddings(request: ApiRequest): JsonObject {
    const input = request.body.input;
    const inputs = typeof input === "string" ? [input] : Array.isArray(input) && input.every((item) => typeof item === "number") ? [JSON.stringify(input)] : (input as JsonValue[]).map((item) => JSON.stringify(item));
    const dimensions = typeof request.body.dimensions === "number" ? request.body.dimensions : 8;
    const base64 = request.body.encoding_format === "base64";
    const data = inputs.map((text, index) => {
        const vector = embedding(text, dimensions);
        return { object: "embedding", index, embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector };
    });
    const promptTokens = countPromptTokens(request.prompt);
    return { object: "list", data, model: request.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
}

const created = (): number => Math.floor(Date.now() / 1000);

/** A non-streamed answer in the route's dialect. */
function answer(route: PaidApiRoute, request: ApiRequest, id: string, text: string, usage: TokenUsage): JsonObject {
    const { inputTokens, outputTokens } = usage;
    switch (route.id) {
        case "openai.chat":
            return {
                id: `chatcmpl-${id}`,
                object: "chat.completion",
                created: created(),
                model: request.model,
                choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }],
                usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens }
            };
        case "openai.completions":
            return {
                id: `cmpl-${id}`,
                object: "text_completion",
                created: created(),
                model: request.model,
                choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }],
                usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens }
            };
        case "openai.responses":
            return responseObject(request, id, "completed", text, usage);
        case "anthropic.messages":
            return {
                id: `msg_${id}`,
                type: "message",
                role: "assistant",
                model: request.model,
                content: [{ type: "text", text }],
                stop_reason: "end_turn",
                stop_sequence: null,
                usage: { input_tokens: inputTokens, output_tokens: outputTokens }
            };
        case "ollama.chat":
            return {
                model: request.model,
                created_at: new Date().toISOString(),
                message: { role: "assistant", content: text },
                done_reason: "stop",
                done: true,
                total_duration: 0,
                prompt_eval_count: inputTokens,
                eval_count: outputTokens
            };
        case "openai.embeddings":
            return embeddings(request);
    }
}

function responseObject(request: ApiRequest, id: string, status: "in_progress" | "completed", text: string, usage: TokenUsage | undefined): JsonObject {
    const message = { id: `msg_${id}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] };
    return {
        id: `resp_${id}`,
        object: "response",
        created_at: created(),
        status,
        model: request.model,
        output: status === "completed" ? [message] : [],
        usage:
            usage === undefined
                ? null
                : {
                      input_tokens: usage.inputTokens,
                      input_tokens_details: { cached_tokens: 0 },
                      output_tokens: usage.outputTokens,
                      output_tokens_details: { reasoning_tokens: 0 },
                      total_tokens: usage.inputTokens + usage.outputTokens
                  }
    };
}

/** The frames of a streamed answer in the route's dialect. */
function streamFrames(route: PaidApiRoute, request: ApiRequest, id: string, pieces: string[], usage: TokenUsage): Frame[] {
    const { inputTokens, outputTokens } = usage;
    const text = pieces.join("");
    switch (route.id) {
        case "openai.chat":
        case "openai.completions": {
            const chat = route.id === "openai.chat";
            const includeUsage = isJsonObject(request.body.stream_options) && request.body.stream_options.include_usage === true;
            // With include_usage, every chunk carries `usage: null` but the last.
            const base: JsonObject = {
                id: `${chat ? "chatcmpl" : "cmpl"}-${id}`,
                object: chat ? "chat.completion.chunk" : "text_completion",
                created: created(),
                model: request.model,
                ...(includeUsage ? { usage: null } : {})
            };
            const choice = (piece: string | undefined, finish: string | null): JsonObject =>
                chat
                    ? { index: 0, delta: piece === undefined ? {} : { content: piece }, logprobs: null, finish_reason: finish }
                    : { index: 0, text: piece ?? "", logprobs: null, finish_reason: finish };
            const frames = chat ? [sse({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]})] : [];
            for (const piece of pieces) frames.push(sse({ ...base, choices: [choice(piece, null)]}));
            frames.push(sse({ ...base, choices: [choice(undefined, "stop")]}));
            if (includeUsage) frames.push(sse({ ...base, choices: [], usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens } }));
            frames.push(sse("[DONE]"));
            return frames;
        }
        case "openai.responses": {
            let sequence = 0;
            const event = (type: string, fields: JsonObject): Frame => sse({ type, sequence_number: sequence++, ...fields }, type);
            const itemId = `msg_${id}`;
            const part = (value: string): JsonObject => ({ type: "output_text", text: value, annotations: [] });
            const frames = [
                event("response.created", { response: responseObject(request, id, "in_progress", "", undefined) }),
                event("response.in_progress", { response: responseObject(request, id, "in_progress", "", undefined) }),
                event("response.output_item.added", { output_index: 0, item: { id: itemId, type: "message", status: "in_progress", role: "assistant", content: [] } }),
                event("response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part: part("") })
            ];
            for (const piece of pieces) frames.push(event("response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] }));
            frames.push(
                event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }),
                event("response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part: part(text) }),
                event("response.output_item.done", { output_index: 0, item: { id: itemId, type: "message", status: "completed", role: "assistant", content: [part(text)] } }),
                event("response.completed", { response: responseObject(request, id, "completed", text, usage) })
            );
            return frames;
        }
        case "anthropic.messages": {
            const frames = [
                sse(
                    {
                        type: "message_start",
                        message: { id: `msg_${id}`, type: "message", role: "assistant", model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } }
                    },
                    "message_start"
                ),
                sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
                sse({ type: "ping" }, "ping")
            ];
            for (const piece of pieces) frames.push(sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } }, "content_block_delta"));
            frames.push(
                sse({ type: "content_block_stop", index: 0 }, "content_block_stop"),
                sse({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: outputTokens } }, "message_delta"),
                sse({ type: "message_stop" }, "message_stop")
            );
            return frames;
        }
        case "ollama.chat": {
            const at = new Date().toISOString();
            const frames = pieces.map((piece) => ndjson({ model: request.model, created_at: at, message: { role: "assistant", content: piece }, done: false }));
            frames.push(
                ndjson({
                    model: request.model,
                    created_at: at,
                    message: { role: "assistant", content: "" },
                    done_reason: "stop",
                    done: true,
                    total_duration: 0,
                    prompt_eval_count: inputTokens,
                    eval_count: outputTokens
                })
            );
            return frames;
        }
        case "openai.embeddings":
            return [];
    }
}
