import { createHash } from "node:crypto";
import { GatewayError } from "./errors";
import type { ChatUsage } from "./pricing";

/** An upstream's answer to one request. */
export interface UpstreamResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: Buffer;
    readonly usage?: ChatUsage;
}

/** Serves OpenAI-compatible chat completions. */
export interface ChatUpstream {
    complete(body: Buffer): Promise<UpstreamResponse>;
}

interface ChatMessage {
    role: string;
    content: string;
}

interface ChatRequest {
    model: string;
    messages: ChatMessage[];
    max_tokens?: number;
    stream?: boolean;
}

/** Checks an OpenAI-style chat request body; MALFORMED_BODY (400) if it is not one. */
export function parseChatRequest(body: Buffer): ChatRequest {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body.toString("utf8"));
    } catch {
        throw new GatewayError(400, "MALFORMED_BODY", "the body is not JSON");
    }
    const request = parsed as Partial<ChatRequest> | null;
    if (request === null || typeof request !== "object" || Array.isArray(request)) throw new GatewayError(400, "MALFORMED_BODY", "the body is not a JSON object");
    if (typeof request.model !== "string" || request.model.length === 0 || request.model.length > 200) throw new GatewayError(400, "MALFORMED_BODY", "model must be a string");
    if (!Array.isArray(request.messages) || request.messages.length === 0 || request.messages.length > 256) {
        throw new GatewayError(400, "MALFORMED_BODY", "messages must be a non-empty array");
    }
    for (const message of request.messages as unknown[]) {
        const m = message as Partial<ChatMessage> | null;
        if (m === null || typeof m !== "object" || typeof m.role !== "string" || typeof m.content !== "string") {
            throw new GatewayError(400, "MALFORMED_BODY", "each message needs a string role and content");
        }
    }
    if (request.max_tokens !== undefined && (!Number.isInteger(request.max_tokens) || request.max_tokens < 1 || request.max_tokens > 100_000)) {
        throw new GatewayError(400, "MALFORMED_BODY", "max_tokens must be a positive integer");
    }
    if (request.stream === true) throw new GatewayError(400, "MALFORMED_BODY", "streaming responses are not metered in protocol v1");
    return request as ChatRequest;
}

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w.length > 0);

/**
 * A deterministic local "model" (the embedded default, so the demo needs no network): it
 * answers with a template over the last user message and reports token usage by words.
 */
export class LocalEchoModel implements ChatUpstream {
    async complete(body: Buffer): Promise<UpstreamResponse> {
        const request = parseChatRequest(body);
        const lastUser = [...request.messages].reverse().find((m) => m.role === "user")?.content ?? "";
        const limit = request.max_tokens ?? 256;
        const reply = words(`You said: ${lastUser}`).slice(0, limit).join(" ");
        const promptTokens = request.messages.reduce((sum, m) => sum + words(m.content).length + 3, 0);
        const completionTokens = words(reply).length;
        const id = createHash("sha256").update(body).digest("hex").slice(0, 24);
        const response = {
            id: `chatcmpl-${id}`,
            object: "chat.completion",
            created: Math.floor(Date.now() / 1000),
            model: request.model,
            choices: [{ index: 0, message: { role: "assistant", content: reply }, finish_reason: "stop" }],
            usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }
        };
        return {
            status: 200,
            headers: { "content-type": "application/json" },
            body: Buffer.from(JSON.stringify(response)),
            usage: { promptTokens, completionTokens }
        };
    }
}

/** Forwards chat completions to an OpenAI-compatible upstream (the provider's own key). */
export class HttpChatUpstream implements ChatUpstream {
    constructor(
        private readonly options: { readonly url: string; readonly apiKey?: string; readonly timeoutMs?: number; readonly fetch?: typeof fetch }
    ) {}

    async complete(body: Buffer): Promise<UpstreamResponse> {
        parseChatRequest(body);
        const response = await (this.options.fetch ?? fetch)(this.options.url, {
            method: "POST",
            headers: {
                "content-type": "application/json",
                ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {})
            },
            body,
            signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000)
        });
        const bytes = Buffer.from(await response.arrayBuffer());
        let usage: ChatUsage | undefined;
        try {
            const parsed = JSON.parse(bytes.toString("utf8")) as { usage?: { prompt_tokens?: number; completion_tokens?: number } };
            if (parsed.usage && Number.isInteger(parsed.usage.prompt_tokens) && Number.isInteger(parsed.usage.completion_tokens)) {
                usage = { promptTokens: parsed.usage.prompt_tokens!, completionTokens: parsed.usage.completion_tokens! };
            }
        } catch {
            usage = undefined;
        }
        return { status: response.status, headers: { "content-type": response.headers.get("content-type") ?? "application/json" }, body: bytes, usage };
    }
}
