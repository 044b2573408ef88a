import { arrayAt, isJsonObject, objectAt, optionalBoolean, optionalInteger, parseJsonObject, requireModel, stringAt, tokenCount } from "../json";
import type { JsonObject } from "../json";
import { malformedBody } from "../json";
import { collectPrompt } from "../prompt";
import type { BodyReading, PaidApiRoute, StreamEvent } from "../route";
import { MESSAGE_OVERHEAD_TOKENS, REQUEST_OVERHEAD_TOKENS } from "../tokenizer";
import type { ReportedUsage } from "../usage";
import { BaseStreamReader, changed, pushText, requireMessages, serialise } from "./common";

/** Anthropic image blocks (`{"type": "image", "source": …}`) count as a fixed allowance. */
const isAnthropicImage = (object: JsonObject): boolean => object.type === "image";

/**
 * Anthropic usage: input is `input_tokens` plus the cache writes and reads (each a separate
 * counter that the API bills as input), output is `output_tokens`.
 */
function anthropicUsage(usage: JsonObject | undefined): ReportedUsage {
    if (usage === undefined) return {};
    const input = tokenCount(usage.input_tokens);
    const inputTokens = input === undefined ? undefined : input + (tokenCount(usage.cache_creation_input_tokens) ?? 0) + (tokenCount(usage.cache_read_input_tokens) ?? 0);
    return { inputTokens, outputTokens: tokenCount(usage.output_tokens) };
}

/** Text of content blocks: text, thinking, tool inputs. */
function pushBlock(into: string[], block: JsonObject): void {
    pushText(into, block.text, block.thinking, block.partial_json);
    if (block.type === "tool_use" && isJsonObject(block.input) && Object.keys(block.input).length > 0) into.push(JSON.stringify(block.input));
}

/**
 * `message_start` carries the input usage (and a provisional output count), each
 * `content_block_delta` some text, `message_delta` the final cumulative output usage,
 * `message_stop` ends the stream; `error` events report failures.
 */
class AnthropicStreamReader extends BaseStreamReader {
    read(event: StreamEvent): boolean {
        const json = event.json;
        if (!isJsonObject(json)) return true;
        const type = stringAt(json, "type") ?? event.event;
        switch (type) {
            case "message_start": {
                const message = objectAt(json, "message");
                const usage = anthropicUsage(message === undefined ? undefined : objectAt(message, "usage"));
                this.inputTokens = usage.inputTokens ?? this.inputTokens;
                this.outputTokens = usage.outputTokens ?? this.outputTokens;
                break;
            }
            case "content_block_start": {
                const block = objectAt(json, "content_block");
                if (block !== undefined && block.type !== "tool_use") this.text(block.text);
                break;
            }
            case "content_block_delta": {
                const delta = objectAt(json, "delta");
                if (delta !== undefined) {
                    this.text(delta.text);
                    this.text(delta.thinking);
                    this.text(delta.partial_json);
                }
                break;
            }
            case "message_delta": {
                const usage = objectAt(json, "usage");
                const reported = anthropicUsage(usage);
                // Newer API versions repeat the input counters here as totals.
                if (reported.inputTokens !== undefined) this.inputTokens = reported.inputTokens;
                const output = usage === undefined ? undefined : tokenCount(usage.output_tokens);
                if (output !== undefined) {
                    this.outputTokens = output;
                    this.usageFinal = this.inputTokens !== undefined;
                }
                break;
            }
            case "message_stop":
                this.completed = true;
                break;
            case "error":
                this.failed = true;
                break;
            default:
                break;
        }
        return true;
    }
}

/** `POST /v1/messages` (Anthropic Messages API, streaming events included). */
export const anthropicMessages: PaidApiRoute = {
    id: "anthropic.messages",
    method: "POST",
    path: "/v1/messages",
    dialect: "anthropic",
    paid: true,
    framing: "sse",
    defaultMaxOutputTokens: undefined,
    timeoutMs: 600_000,
    summary: "Anthropic Messages API (streaming events included)",
    parse(raw) {
        const body = parseJsonObject(raw);
        const model = requireModel(body);
        const messages = requireMessages(body);
        const maxOutputTokens = optionalInteger(body, "max_tokens", 1);
        if (maxOutputTokens === undefined) throw malformedBody("max_tokens is required");
        return {
            routeId: "anthropic.messages",
            body,
            raw,
            modified: false,
            model,
            stream: optionalBoolean(body, "stream") ?? false,
            maxOutputTokens,
            outputs: 1,
            prompt: collectPrompt([body], isAnthropicImage, REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * messages.length),
            streamUsageRequested: false
        };
    },
    withMaxOutputTokens(request, maxTokens) {
        const body: JsonObject = { ...request.body, max_tokens: maxTokens };
        // Extended thinking must stay below max_tokens, or the API refuses the request.
        const thinking = objectAt(request.body, "thinking");
        if (thinking !== undefined && typeof thinking.budget_tokens === "number" && thinking.budget_tokens >= maxTokens) {
            body.thinking = { ...thinking, budget_tokens: Math.max(1, maxTokens - 1) };
        }
        return changed(request, body, maxTokens);
    },
    upstreamBody: (request) => serialise(request),
    readBody(json): BodyReading {
        if (!isJsonObject(json)) return { usage: {}, usageFinal: false, outputText: "" };
        const texts: string[] = [];
        for (const block of arrayAt(json, "content") ?? []) if (isJsonObject(block)) pushBlock(texts, block);
        const usage = anthropicUsage(objectAt(json, "usage"));
        return { usage, usageFinal: usage.inputTokens !== undefined && usage.outputTokens !== undefined, outputText: texts.join("") };
    },
    streamReader: () => new AnthropicStreamReader()
};
