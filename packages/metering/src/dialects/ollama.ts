import { arrayAt, isJsonObject, objectAt, optionalBoolean, parseJsonObject, requireModel, tokenCount } from "../json";
import type { JsonObject, JsonValue } from "../json";
import { malformedBody } from "../json";
import { collectPrompt } from "../prompt";
import type { BodyReading, FreeApiRoute, PaidApiRoute, StreamEvent } from "../route";
import { IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from "../tokenizer";
import type { ReportedUsage } from "../usage";
import { BaseStreamReader, changed, optionalObject, pushText, requireMessages, serialise } from "./common";

/** Ollama usage: `prompt_eval_count` and `eval_count` of the final (`done: true`) object. */
function ollamaUsage(json: JsonObject): ReportedUsage {
    return { inputTokens: tokenCount(json.prompt_eval_count), outputTokens: tokenCount(json.eval_count) };
}

/** Text of an Ollama message: content, thinking, tool call arguments. */
function pushMessage(into: string[], message: JsonObject | undefined): void {
    if (message === undefined) return;
    pushText(into, message.content, message.thinking);
    for (const call of arrayAt(message, "tool_calls") ?? []) {
        const fn = isJsonObject(call) ? objectAt(call, "function") : undefined;
        if (fn !== undefined) {
            pushText(into, fn.name);
            if (fn.arguments !== undefined) into.push(JSON.stringify(fn.arguments));
        }
    }
}

/** Ollama streams newline-delimited JSON objects; the last has `done: true` and the counts. */
class OllamaStreamReader extends BaseStreamReader {
    read(event: StreamEvent): boolean {
        const json = event.json;
        if (!isJsonObject(json)) return true;
        if (json.error !== undefined && json.error !== null) {
            this.failed = true;
            return true;
        }
        const texts: string[] = [];
        pushMessage(texts, objectAt(json, "message"));
        texts.forEach((text) => this.text(text));
        if (json.done === true) {
            const usage = ollamaUsage(json);
            this.inputTokens = usage.inputTokens;
            this.outputTokens = usage.outputTokens;
            this.usageFinal = usage.inputTokens !== undefined && usage.outputTokens !== undefined;
            this.completed = true;
        }
        return true;
    }
}

/** `options.num_predict`: negative means unbounded (-1 forever, -2 fill the context). */
function numPredict(body: JsonObject): number | undefined {
    const options = optionalObject(body, "options");
    const value: JsonValue | undefined = options?.num_predict;
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) throw malformedBody("options.num_predict must be an integer");
    return value < 0 ? undefined : value;
}

/** `POST /api/chat` (Ollama's native chat; streams unless `stream` is false). */
export const ollamaChat: PaidApiRoute = {
    id: "ollama.chat",
    method: "POST",
    path: "/api/chat",
    dialect: "ollama",
    paid: true,
    framing: "ndjson",
    defaultMaxOutputTokens: undefined,
    timeoutMs: 600_000,
    summary: "Ollama chat (streams by default)",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        // An empty list is valid (it loads the model).
        const messages = requireMessages(body, true);
        // Images are base64 strings in `messages[].images`: each counts as the image allowance.
        let images = 0;
        const withoutImages = messages.map((message) => {
            const list = message.images;
            if (list === undefined || list === null) return message;
            if (!Array.isArray(list)) throw malformedBody("images must be an array");
            images += list.length;
            const { images: _images, ...rest } = message;
            return rest;
        });
        return {
            routeId: "ollama.chat",
            body,
            raw,
            modified: false,
            model,
            stream: optionalBoolean(body, "stream") ?? true,
            maxOutputTokens: numPredict(body),
            outputs: 1,
            prompt: collectPrompt(
                [{ ...body, messages: withoutImages }],
                () => false,
                REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * messages.length + IMAGE_TOKENS * images
            ),
            streamUsageRequested: false
        };
    },
    withMaxOutputTokens(request, maxTokens) {
        const options = optionalObject(request.body, "options") ?? {};
        return changed(request, { ...request.body, options: { ...options, num_predict: maxTokens } }, maxTokens);
    },
    upstreamBody: (request) => serialise(request),
    readBody(json): BodyReading {
        if (!isJsonObject(json)) return { usage: {}, usageFinal: false, outputText: "" };
        const texts: string[] = [];
        pushMessage(texts, objectAt(json, "message"));
        const usage = ollamaUsage(json);
        return { usage, usageFinal: usage.inputTokens !== undefined && usage.outputTokens !== undefined, outputText: texts.join("") };
    },
    streamReader: () => new OllamaStreamReader()
};

/** `GET /api/tags` (Ollama's model list; free). */
export const ollamaTags: FreeApiRoute = {
    id: "ollama.tags",
    method: "GET",
    path: "/api/tags",
    dialect: "ollama",
    paid: false,
    timeoutMs: 30_000,
    summary: "Ollama model list (free, no ticket)"
};
