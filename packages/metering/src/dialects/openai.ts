import { arrayAt, isJsonObject, malformedBody, objectAt, optionalBoolean, optionalInteger, parseJsonObject, requireModel, stringAt, tokenCount } from "../json";
import type { JsonObject, JsonValue } from "../json";
import { collectPrompt } from "../prompt";
import type { ApiRequest, BodyReading, FreeApiRoute, PaidApiRoute, StreamEvent } from "../route";
import { MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from "../tokenizer";
import { BaseStreamReader, changed, largest, NoStreamReader, optionalObject, pushText, requireMessages, serialise } from "./common";

/** Long generations (reasoning models) take minutes. */
const GENERATION_TIMEOUT_MS = 600_000;

/** Chat image parts (`image_url`) and Responses image inputs (`input_image`) count as a fixed allowance. */
const isOpenAIImage = (object: JsonObject): boolean => object.type === "image_url" || object.type === "input_image";

/** Reads `stream` and `stream_options.include_usage` of a chat or completions body. */
function streamFlags(body: JsonObject): { stream: boolean; streamUsageRequested: boolean } {
    const stream = optionalBoolean(body, "stream") ?? false;
    const options = optionalObject(body, "stream_options");
    const streamUsageRequested = stream && options !== undefined && (optionalBoolean(options, "include_usage") ?? false);
    return { stream, streamUsageRequested };
}

/** OpenAI streams report usage only when asked: the gateway always asks. */
function askForStreamUsage(request: ApiRequest): Buffer {
    if (!request.stream) return serialise(request);
    const options = optionalObject(request.body, "stream_options") ?? {};
    if (options.include_usage === true) return serialise(request);
    return serialise(request, { ...request.body, stream_options: { ...options, include_usage: true } }, true);
}

function usageOf(json: JsonObject, input: string, output: string): { inputTokens?: number; outputTokens?: number } {
    const usage = objectAt(json, "usage");
    if (usage === undefined) return {};
    return { inputTokens: tokenCount(usage[input]), outputTokens: tokenCount(usage[output]) };
}

function reading(usage: { inputTokens?: number; outputTokens?: number }, texts: string[]): BodyReading {
    return { usage, usageFinal: usage.inputTokens !== undefined && usage.outputTokens !== undefined, outputText: texts.join("") };
}

/** Text of tool calls (`function.name`, `function.arguments`). */
function pushToolCalls(into: string[], calls: JsonValue | undefined): void {
    if (!Array.isArray(calls)) return;
    for (const call of calls) {
        if (!isJsonObject(call)) continue;
        const fn = objectAt(call, "function");
        if (fn !== undefined) pushText(into, fn.name, fn.arguments);
    }
}

/**
 * Chat and legacy completions streams: `data: {chunk}` events ending with `data: [DONE]`;
 * with `stream_options.include_usage` a last chunk with empty `choices` carries `usage`
 * (dropped here when the client did not ask for it, since the gateway did).
 */
class OpenAICompletionStreamReader extends BaseStreamReader {
    constructor(private readonly request: ApiRequest) {
        super();
    }

    read(event: StreamEvent): boolean {
        if (event.data.trim() === "[DONE]") {
            this.completed = true;
            return true;
        }
        const json = event.json;
        if (!isJsonObject(json)) return true;
        if (json.error !== undefined && json.error !== null) {
            this.failed = true;
            return true;
        }
        const usage = usageOf(json, "prompt_tokens", "completion_tokens");
        const hasUsage = objectAt(json, "usage") !== undefined;
        if (hasUsage) {
            this.inputTokens = usage.inputTokens ?? this.inputTokens;
            this.outputTokens = usage.outputTokens ?? this.outputTokens;
            this.usageFinal = this.inputTokens !== undefined && this.outputTokens !== undefined;
        }
        const choices = arrayAt(json, "choices") ?? [];
        const texts: string[] = [];
        for (const choice of choices) {
            if (!isJsonObject(choice)) continue;
            pushText(texts, choice.text);
            const delta = objectAt(choice, "delta");
            if (delta === undefined) continue;
            pushText(texts, delta.content, delta.reasoning_content, delta.reasoning, delta.refusal);
            pushToolCalls(texts, delta.tool_calls);
        }
        texts.forEach((text) => this.text(text));
        return !(hasUsage && choices.length === 0 && !this.request.streamUsageRequested);
    }
}

/** `POST /v1/chat/completions` */
export const openAIChat: PaidApiRoute = {
    id: "openai.chat",
    method: "POST",
    path: "/v1/chat/completions",
    dialect: "openai",
    paid: true,
    framing: "sse",
    defaultMaxOutputTokens: undefined,
    timeoutMs: GENERATION_TIMEOUT_MS,
    summary: "OpenAI chat completions (streaming included)",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        const messages = requireMessages(body);
        const maxOutputTokens = largest(optionalInteger(body, "max_tokens", 1), optionalInteger(body, "max_completion_tokens", 1));
        return {
            routeId: "openai.chat",
            body,
            raw,
            modified: false,
            model,
            ...streamFlags(body),
            maxOutputTokens,
            outputs: optionalInteger(body, "n", 1, 128) ?? 1,
            prompt: collectPrompt([body], isOpenAIImage, REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * messages.length)
        };
    },
    withMaxOutputTokens(request, maxTokens) {
        const body: JsonObject = { ...request.body };
        const present = (["max_tokens", "max_completion_tokens"] as const).filter((key) => body[key] !== undefined && body[key] !== null);
        // `max_tokens` is the field every OpenAI-compatible server reads (vLLM, Ollama, llama.cpp).
        for (const key of present.length > 0 ? present : (["max_tokens"] as const)) body[key] = maxTokens;
        return changed(request, body, maxTokens);
    },
    upstreamBody: askForStreamUsage,
    readBody(json) {
        if (!isJsonObject(json)) return reading({}, []);
        const texts: string[] = [];
        for (const choice of arrayAt(json, "choices") ?? []) {
            if (!isJsonObject(choice)) continue;
            const message = objectAt(choice, "message");
            if (message === undefined) continue;
            pushText(texts, message.content, message.reasoning_content, message.reasoning, message.refusal);
            pushToolCalls(texts, message.tool_calls);
        }
        return reading(usageOf(json, "prompt_tokens", "completion_tokens"), texts);
    },
    streamReader: (request) => new OpenAICompletionStreamReader(request)
};

/** `POST /v1/completions` (legacy text completions; upstreams default to 16 tokens). */
export const openAICompletions: PaidApiRoute = {
    id: "openai.completions",
    method: "POST",
    path: "/v1/completions",
    dialect: "openai",
    paid: true,
    framing: "sse",
    defaultMaxOutputTokens: 16,
    timeoutMs: GENERATION_TIMEOUT_MS,
    summary: "OpenAI legacy completions (streaming included)",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        const prompt = body.prompt;
        if (prompt === undefined || prompt === null || (typeof prompt !== "string" && !Array.isArray(prompt))) {
            throw malformedBody("prompt must be a string, an array of strings or token arrays");
        }
        const n = optionalInteger(body, "n", 1, 128) ?? 1;
        const bestOf = optionalInteger(body, "best_of", 1, 128) ?? 1;
        const promptCount = Array.isArray(prompt) && prompt.length > 0 && typeof prompt[0] !== "number" ? prompt.length : 1;
        return {
            routeId: "openai.completions",
            body,
            raw,
            modified: false,
            model,
            ...streamFlags(body),
            maxOutputTokens: optionalInteger(body, "max_tokens", 0),
            // Every prompt of a batch gets max(n, best_of) completions.
            outputs: Math.max(n, bestOf) * promptCount,
            prompt: collectPrompt([body], isOpenAIImage)
        };
    },
    withMaxOutputTokens: (request, maxTokens) => changed(request, { ...request.body, max_tokens: maxTokens }, maxTokens),
    upstreamBody: askForStreamUsage,
    readBody(json) {
        if (!isJsonObject(json)) return reading({}, []);
        const texts: string[] = [];
        for (const choice of arrayAt(json, "choices") ?? []) if (isJsonObject(choice)) pushText(texts, choice.text);
        return reading(usageOf(json, "prompt_tokens", "completion_tokens"), texts);
    },
    streamReader: (request) => new OpenAICompletionStreamReader(request)
};

/** Responses API text deltas (answer, reasoning, summaries, tool arguments, refusals). */
const RESPONSE_TEXT_DELTAS = new Set([
    "response.output_text.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.refusal.delta"
]);
const RESPONSE_ENDS = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Responses API streams: typed events; `response.completed` (or incomplete, failed) carries the usage. */
class ResponsesStreamReader extends BaseStreamReader {
    read(event: StreamEvent): boolean {
        const json = event.json;
        if (!isJsonObject(json)) return true;
        const type = stringAt(json, "type") ?? event.event;
        if (type === undefined) return true;
        if (RESPONSE_TEXT_DELTAS.has(type)) this.text(json.delta);
        else if (type === "error") this.failed = true;
        else if (RESPONSE_ENDS.has(type)) {
            const response = objectAt(json, "response");
            const usage = response === undefined ? {} : usageOf(response, "input_tokens", "output_tokens");
            this.inputTokens = usage.inputTokens ?? this.inputTokens;
            this.outputTokens = usage.outputTokens ?? this.outputTokens;
            this.usageFinal = this.inputTokens !== undefined && this.outputTokens !== undefined;
            this.completed = true;
            if (type === "response.failed") this.failed = true;
        }
        return true;
    }
}

/** Fields of the Responses API that use state kept by the upstream under the provider's key. */
const SERVER_STATE_FIELDS = ["previous_response_id", "conversation", "prompt", "background"] as const;

/** `POST /v1/responses` */
export const openAIResponses: PaidApiRoute = {
    id: "openai.responses",
    method: "POST",
    path: "/v1/responses",
    dialect: "openai",
    paid: true,
    framing: "sse",
    defaultMaxOutputTokens: undefined,
    timeoutMs: GENERATION_TIMEOUT_MS,
    summary: "OpenAI Responses API (streaming included; no server-side state)",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        // State stored upstream is shared by every user of the provider's key, and its tokens
        // cannot be priced before serving: refused.
        for (const field of SERVER_STATE_FIELDS) {
            const value = body[field];
            if (value !== undefined && value !== null && value !== false) throw malformedBody(`${field} is not supported: the gateway keeps no server-side state`);
        }
        const input = body.input;
        if (typeof input !== "string" && !Array.isArray(input)) throw malformedBody("input must be a string or an array of input items");
        const items = Array.isArray(input) ? input.length : 1;
        return {
            routeId: "openai.responses",
            body,
            raw,
            modified: false,
            model,
            stream: optionalBoolean(body, "stream") ?? false,
            maxOutputTokens: optionalInteger(body, "max_output_tokens", 1),
            outputs: 1,
            prompt: collectPrompt([body], isOpenAIImage, REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * items),
            streamUsageRequested: false
        };
    },
    withMaxOutputTokens: (request, maxTokens) => changed(request, { ...request.body, max_output_tokens: maxTokens }, maxTokens),
    upstreamBody: (request) => serialise(request),
    readBody(json) {
        if (!isJsonObject(json)) return reading({}, []);
        const texts: string[] = [];
        for (const item of arrayAt(json, "output") ?? []) {
            if (!isJsonObject(item)) continue;
            pushText(texts, item.arguments, item.input);
            for (const key of ["content", "summary"]) {
                for (const part of arrayAt(item, key) ?? []) if (isJsonObject(part)) pushText(texts, part.text, part.refusal);
            }
        }
        return reading(usageOf(json, "input_tokens", "output_tokens"), texts);
    },
    streamReader: () => new ResponsesStreamReader()
};

/** `POST /v1/embeddings` (never streams; nothing generated). */
export const openAIEmbeddings: PaidApiRoute = {
    id: "openai.embeddings",
    method: "POST",
    path: "/v1/embeddings",
    dialect: "openai",
    paid: true,
    framing: undefined,
    defaultMaxOutputTokens: undefined,
    timeoutMs: 120_000,
    summary: "OpenAI embeddings",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        const input = body.input;
        if (typeof input !== "string" && !Array.isArray(input)) throw malformedBody("input must be a string, an array of strings or token arrays");
        if (optionalBoolean(body, "stream") === true) throw malformedBody("embeddings do not stream");
        return {
            routeId: "openai.embeddings",
            body,
            raw,
            modified: false,
            model,
            stream: false,
            maxOutputTokens: 0,
            outputs: 0,
            prompt: collectPrompt([input], () => false),
            streamUsageRequested: false
        };
    },
    withMaxOutputTokens: (request) => request,
    upstreamBody: (request) => serialise(request),
    readBody(json) {
        if (!isJsonObject(json)) return reading({}, []);
        const usage = objectAt(json, "usage");
        const inputTokens = usage === undefined ? undefined : tokenCount(usage.prompt_tokens);
        return { usage: { inputTokens, outputTokens: 0 }, usageFinal: inputTokens !== undefined, outputText: "" };
    },
    streamReader: () => new NoStreamReader()
};

/** `GET /v1/models` (free). */
export const openAIModels: FreeApiRoute = {
    id: "openai.models",
    method: "GET",
    path: "/v1/models",
    dialect: "openai",
    paid: false,
    timeoutMs: 30_000,
    summary: "OpenAI model list (free, no ticket)"
};
