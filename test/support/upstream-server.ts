/**
 * A test model server speaking the APIs a provider fronts, as the real ones do, in its own
 * process over real HTTP: OpenAI (`/v1/chat/completions`, `/v1/completions`, `/v1/responses`,
 * `/v1/embeddings`, `/v1/models`; streams with `stream_options.include_usage` usage chunks),
 * Anthropic (`/v1/messages`, SSE events with `message_start`/`message_delta` usage) and Ollama
 * (`/api/chat` NDJSON with final `done: true` counts, `/api/tags`).
 *
 * It is written from the APIs' documentation, independently of the gateway's own encoders, so
 * it checks them rather than mirroring them. Its "tokens" are words: the answer is
 * `echo: <last user message>` cut to the output limit, one word per streamed event, and usage
 * counts words (prompt: the words of every string in the messages plus 3 per message).
 *
 * Behaviour is controlled per request by suffixes of the model name (`test+break=3+slow=20`)
 * or for every request by `POST /__control/behaviour`:
 * - `status=N`: answer N with the dialect's error body;
 * - `delay=MS`: wait before the answer's headers; `slow=MS`: wait between streamed events;
 * - `break=N`: cut the connection after N content events (a broken stream);
 * - `stall=N`: stop sending after N content events, connection open, until the client leaves;
 * - `nousage`: report no usage anywhere (bodies, usage chunk, message_delta, done counts);
 * - `hang`: never answer.
 * Every request is recorded (method, path, headers, body): `GET /__control/requests`.
 *
 * Run: `node -r ts-node/register/transpile-only test/support/upstream-server.ts [--port N]
 * [--api-key KEY]`; it prints `upstream-server listening on http://127.0.0.1:PORT`. With a
 * key, requests without it are refused as the real APIs refuse them (`Authorization: Bearer`;
 * Anthropic: `x-api-key` or a bearer token, plus `anthropic-version`). From tests: {@link startUpstreamServer}.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";

export interface UpstreamBehaviour {
    readonly status?: number;
    readonly delayMs?: number;
    readonly eventDelayMs?: number;
    readonly breakAfter?: number;
    readonly stallAfter?: number;
    readonly noUsage?: boolean;
    readonly hang?: boolean;
}

/** A request as the test upstream received it. */
export interface RecordedRequest {
    readonly method: string;
    readonly path: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
    readonly body: string;
}

// ---------------------------------------------------------------------------------------
// The server (runs in its own process).

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const words = (text: string): string[] => text.split(/\s+/).filter((word) => word.length > 0);

/** Every string inside a value (message contents of any shape). */
function texts(value: Json | undefined): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(texts);
    if (isObject(value)) return Object.entries(value).flatMap(([key, inner]) => (key === "type" || key === "role" ? [] : texts(inner)));
    return [];
}

/** Parses `name+break=3+slow=20+nousage` into the model name and its behaviour. */
function behaviourOf(model: string, defaults: UpstreamBehaviour): { model: string; behaviour: UpstreamBehaviour } {
    const [name, ...options] = model.split("+");
    const behaviour: { -readonly [K in keyof UpstreamBehaviour]: UpstreamBehaviour[K] } = { ...defaults };
    for (const option of options) {
        const [key, value] = option.split("=");
        const number = Number(value);
        if (key === "status") behaviour.status = number;
        else if (key === "delay") behaviour.delayMs = number;
        else if (key === "slow") behaviour.eventDelayMs = number;
        else if (key === "break") behaviour.breakAfter = number;
        else if (key === "stall") behaviour.stallAfter = number;
        else if (key === "nousage") behaviour.noUsage = true;
        else if (key === "hang") behaviour.hang = true;
    }
    return { model: name, behaviour };
}

type Dialect = "openai" | "anthropic" | "ollama";

function errorBody(dialect: Dialect, status: number, message: string): Json {
    if (dialect === "anthropic") {
        const type = status === 401 ? "authentication_error" : status === 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error";
        return { type: "error", error: { type, message } };
    }
    if (dialect === "ollama") return { error: message };
    return { error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code: status === 401 ? "invalid_api_key" : null } };
}

class TestUpstream {
    readonly requests: RecordedRequest[] = [];
    behaviour: UpstreamBehaviour = {};
    private sequence = 0;

    constructor(private readonly apiKey: string | undefined) {}

    async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const chunk of request) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks).toString("utf8");
        const url = request.url ?? "/";
        const route = url.split("?")[0];
        if (route.startsWith("/__control/")) return this.control(request.method ?? "GET", route, body, response);
        this.requests.push({ method: request.method ?? "", path: url, headers: { ...request.headers }, body });

        const dialect: Dialect = route === "/v1/messages" ? "anthropic" : route.startsWith("/api/") ? "ollama" : "openai";
        const fail = (status: number, message: string): void => this.json(response, status, errorBody(dialect, status, message));
        const auth = this.authenticate(dialect, request);
        if (auth !== undefined) return fail(401, auth);

        if (request.method === "GET" && route === "/v1/models") {
            return this.json(response, 200, { object: "list", data: ["test-model", "gpt-test"].map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "test" })) });
        }
        if (request.method === "GET" && route === "/api/tags") {
            return this.json(response, 200, {
                models: [{ name: "test-model:latest", model: "test-model:latest", modified_at: "2025-01-01T00:00:00Z", size: 1, digest: "0".repeat(64), details: { family: "test" } }]
            });
        }
        if (request.method !== "POST") return fail(404, `no route ${request.method} ${route}`);
        let json: unknown;
        try {
            json = JSON.parse(body);
        } catch {
            return fail(400, "the body is not JSON");
        }
        if (!isObject(json) || typeof json.model !== "string") return fail(400, "model is required");
        const { model, behaviour } = behaviourOf(json.model, this.behaviour);
        if (behaviour.hang) return; // never answers
        if (behaviour.delayMs) await sleep(behaviour.delayMs);
        if (behaviour.status !== undefined) return fail(behaviour.status, `simulated ${behaviour.status}`);
        const id = `${createHash("sha256").update(body).digest("hex").slice(0, 16)}${(this.sequence++).toString(16)}`;
        switch (route) {
            case "/v1/chat/completions":
            case "/v1/completions":
                return this.openAICompletion(route === "/v1/chat/completions", json, model, behaviour, id, response);
            case "/v1/responses":
                return this.openAIResponse(json, model, behaviour, id, response);
            case "/v1/embeddings":
                return this.openAIEmbeddings(json, model, behaviour, response);
            case "/v1/messages":
                return this.anthropicMessage(json, model, behaviour, id, response);
            case "/api/chat":
                return this.ollamaChat(json, model, behaviour, response);
            default:
                return fail(404, `no route POST ${route}`);
        }
    }

    private authenticate(dialect: Dialect, request: IncomingMessage): string | undefined {
        if (this.apiKey === undefined) return undefined;
        if (dialect === "anthropic") {
            // The API takes `x-api-key` (what the gateway sends) or a bearer token (what the
            // current SDK sends).
            if (request.headers["x-api-key"] !== this.apiKey && request.headers.authorization !== `Bearer ${this.apiKey}`) return "invalid x-api-key";
            if (typeof request.headers["anthropic-version"] !== "string") return "anthropic-version header is required";
            return undefined;
        }
        return request.headers.authorization === `Bearer ${this.apiKey}` ? undefined : "Incorrect API key provided";
    }

    private control(method: string, route: string, body: string, response: ServerResponse): void {
        if (route === "/__control/requests" && method === "GET") return this.json(response, 200, this.requests as unknown as Json);
        if (route === "/__control/requests" && method === "DELETE") {
            this.requests.length = 0;
            return this.json(response, 200, { ok: true });
        }
        if (route === "/__control/behaviour" && method === "POST") {
            this.behaviour = JSON.parse(body) as UpstreamBehaviour;
            return this.json(response, 200, { ok: true });
        }
        return this.json(response, 404, { error: "no such control" });
    }

    private json(response: ServerResponse, status: number, value: Json): void {
        response.writeHead(status, { "content-type": "application/json", "x-request-id": `req_${this.sequence++}`, "openai-organization": "provider-secret-org" });
        response.end(JSON.stringify(value));
    }

    /** Streams events; cuts the connection after `breakAfter` content events. */
    private async stream(response: ServerResponse, contentType: string, frames: { text: string; content: boolean }[], behaviour: UpstreamBehaviour): Promise<void> {
        response.writeHead(200, { "content-type": contentType, "cache-control": "no-cache", connection: "keep-alive" });
        response.flushHeaders();
        let content = 0;
        for (const frame of frames) {
            if (frame.content && behaviour.breakAfter !== undefined && content >= behaviour.breakAfter) {
                response.socket?.destroy();
                return;
            }
            if (frame.content && behaviour.stallAfter !== undefined && content >= behaviour.stallAfter) {
                await new Promise((resolve) => response.once("close", resolve));
                return;
            }
            if (behaviour.eventDelayMs) await sleep(behaviour.eventDelayMs);
            if (response.destroyed) return;
            // Each event is flushed before the next (and before a cut), as a model server sends it.
            await new Promise<void>((resolve) => response.write(frame.text, () => resolve()));
            if (frame.content) content++;
        }
        response.end();
    }

    private answerWords(lastUser: string, limit: number | undefined): string[] {
        const all = ["echo:", ...words(lastUser)];
        return limit === undefined ? all : all.slice(0, limit);
    }

    private promptWords(messages: Json[]): number {
        return messages.reduce<number>((sum, message) => sum + words(texts(message).join(" ")).length + 3, 0);
    }

    private lastUser(messages: Json[]): string {
        const user = [...messages].reverse().find((message) => isObject(message) && message.role === "user");
        return isObject(user) ? texts(user.content).join(" ") : "";
    }

    private async openAICompletion(chat: boolean, request: JsonObject, model: string, behaviour: UpstreamBehaviour, id: string, response: ServerResponse): Promise<void> {
        let messages: Json[];
        let lastUser: string;
        if (chat) {
            if (!Array.isArray(request.messages) || request.messages.length === 0) return this.json(response, 400, errorBody("openai", 400, "messages is required"));
            messages = request.messages;
            lastUser = this.lastUser(messages);
        } else {
            const prompt = Array.isArray(request.prompt) ? request.prompt[0] : request.prompt;
            lastUser = texts(prompt ?? "").join(" ");
            messages = [{ role: "user", content: lastUser }];
        }
        const limit = typeof request.max_completion_tokens === "number" ? request.max_completion_tokens : typeof request.max_tokens === "number" ? request.max_tokens : chat ? undefined : 16;
        const answer = this.answerWords(lastUser, limit);
        const promptTokens = chat ? this.promptWords(messages) : words(lastUser).length;
        const usage = { prompt_tokens: promptTokens, completion_tokens: answer.length, total_tokens: promptTokens + answer.length };
        const created = Math.floor(Date.now() / 1000);
        const finish = limit !== undefined && answer.length >= limit ? "length" : "stop";
        if (request.stream !== true) {
            const choice: Json = chat
                ? { index: 0, message: { role: "assistant", content: answer.join(" "), refusal: null, annotations: [] }, logprobs: null, finish_reason: finish }
                : { index: 0, text: answer.join(" "), logprobs: null, finish_reason: finish };
            return this.json(response, 200, {
                id: `${chat ? "chatcmpl" : "cmpl"}-${id}`,
                object: chat ? "chat.completion" : "text_completion",
                created,
                model,
                choices: [choice],
                ...(behaviour.noUsage ? {} : { usage }),
                system_fingerprint: "fp_test"
            });
        }
        const includeUsage = isObject(request.stream_options) && request.stream_options.include_usage === true && !behaviour.noUsage;
        const chunk = (choices: Json[], extra: JsonObject = {}): string =>
            `data: ${JSON.stringify({ id: `${chat ? "chatcmpl" : "cmpl"}-${id}`, object: chat ? "chat.completion.chunk" : "text_completion", created, model, system_fingerprint: "fp_test", choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
        const frames: { text: string; content: boolean }[] = [];
        if (chat) frames.push({ text: chunk([{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }]), content: false });
        answer.forEach((word, i) => {
            const piece = i === 0 ? word : ` ${word}`;
            frames.push({ text: chunk([chat ? { index: 0, delta: { content: piece }, logprobs: null, finish_reason: null } : { index: 0, text: piece, logprobs: null, finish_reason: null }]), content: true });
        });
        frames.push({ text: chunk([chat ? { index: 0, delta: {}, logprobs: null, finish_reason: finish } : { index: 0, text: "", logprobs: null, finish_reason: finish }]), content: false });
        if (includeUsage) frames.push({ text: chunk([], { usage }), content: false });
        frames.push({ text: "data: [DONE]\n\n", content: false });
        return this.stream(response, "text/event-stream; charset=utf-8", frames, behaviour);
    }

    private async openAIResponse(request: JsonObject, model: string, behaviour: UpstreamBehaviour, id: string, response: ServerResponse): Promise<void> {
        const input = request.input;
        const messages: Json[] = typeof input === "string" ? [{ role: "user", content: input }] : Array.isArray(input) ? input : [];
        const limit = typeof request.max_output_tokens === "number" ? request.max_output_tokens : undefined;
        const answer = this.answerWords(this.lastUser(messages), limit);
        const text = answer.join(" ");
        const inputTokens = this.promptWords(messages) + (typeof request.instructions === "string" ? words(request.instructions).length : 0);
        const usage = { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: answer.length, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + answer.length };
        const itemId = `msg_${id}`;
        const part = (value: string): Json => ({ type: "output_text", text: value, annotations: [], logprobs: [] });
        const item = (status: string, content: Json[]): Json => ({ id: itemId, type: "message", status, role: "assistant", content });
        const incomplete = limit !== undefined && answer.length >= limit;
        const responseObject = (status: string, output: Json[], withUsage: boolean): JsonObject => ({
            id: `resp_${id}`,
            object: "response",
            created_at: Math.floor(Date.now() / 1000),
            status,
            error: null,
            incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
            instructions: typeof request.instructions === "string" ? request.instructions : null,
            max_output_tokens: limit ?? null,
            model,
            output,
            parallel_tool_calls: true,
            temperature: 1,
            tool_choice: "auto",
            tools: [],
            top_p: 1,
            text: { format: { type: "text" } },
            usage: withUsage && !behaviour.noUsage ? usage : null,
            metadata: {}
        });
        const finalStatus = incomplete ? "incomplete" : "completed";
        if (request.stream !== true) return this.json(response, 200, responseObject(finalStatus, [item("completed", [part(text)])], true));
        let sequence = 0;
        const event = (type: string, fields: JsonObject, content = false): { text: string; content: boolean } => ({
            text: `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...fields })}\n\n`,
            content
        });
        const frames = [
            event("response.created", { response: responseObject("in_progress", [], false) }),
            event("response.in_progress", { response: responseObject("in_progress", [], false) }),
            event("response.output_item.added", { output_index: 0, item: item("in_progress", []) }),
            event("response.content_part.added", { item_id: itemId, output_index: 0, content_index: 0, part: part("") })
        ];
        answer.forEach((word, i) => frames.push(event("response.output_text.delta", { item_id: itemId, output_index: 0, content_index: 0, delta: i === 0 ? word : ` ${word}`, logprobs: [] }, true)));
        frames.push(
            event("response.output_text.done", { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }),
            event("response.content_part.done", { item_id: itemId, output_index: 0, content_index: 0, part: part(text) }),
            event("response.output_item.done", { output_index: 0, item: item("completed", [part(text)]) }),
            event(`response.${finalStatus}`, { response: responseObject(finalStatus, [item("completed", [part(text)])], true) })
        );
        return this.stream(response, "text/event-stream; charset=utf-8", frames, behaviour);
    }

    private openAIEmbeddings(request: JsonObject, model: string, behaviour: UpstreamBehaviour, response: ServerResponse): void {
        const input = request.input;
        const inputs: string[] = typeof input === "string" ? [input] : Array.isArray(input) ? input.map((item) => (typeof item === "string" ? item : JSON.stringify(item))) : [];
        if (inputs.length === 0) return this.json(response, 400, errorBody("openai", 400, "input is required"));
        const dimensions = typeof request.dimensions === "number" ? request.dimensions : 4;
        const data = inputs.map((text, index) => {
            const digest = createHash("sha256").update(text).digest();
            const vector = Array.from({ length: dimensions }, (_, i) => (digest[i % 32] - 128) / 128);
            const embedding = request.encoding_format === "base64" ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
            return { object: "embedding", index, embedding };
        });
        const promptTokens = inputs.reduce((sum, text) => sum + words(text).length, 0);
        return this.json(response, 200, { object: "list", data, model, ...(behaviour.noUsage ? {} : { usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } }) });
    }

    private async anthropicMessage(request: JsonObject, model: string, behaviour: UpstreamBehaviour, id: string, response: ServerResponse): Promise<void> {
        if (typeof request.max_tokens !== "number") return this.json(response, 400, errorBody("anthropic", 400, "max_tokens: Field required"));
        if (!Array.isArray(request.messages) || request.messages.length === 0) return this.json(response, 400, errorBody("anthropic", 400, "messages: Field required"));
        const messages = request.messages;
        const answer = this.answerWords(this.lastUser(messages), request.max_tokens);
        const inputTokens = this.promptWords(messages) + words(texts(request.system ?? "").join(" ")).length;
        const stopReason = answer.length >= request.max_tokens ? "max_tokens" : "end_turn";
        const message = (content: Json[], stop: string | null, outputTokens: number): JsonObject => ({
            id: `msg_${id}`,
            type: "message",
            role: "assistant",
            model,
            content,
            stop_reason: stop,
            stop_sequence: null,
            usage: behaviour.noUsage ? null : { input_tokens: inputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: outputTokens, service_tier: "standard" }
        });
        if (request.stream !== true) return this.json(response, 200, message([{ type: "text", text: answer.join(" ") }], stopReason, answer.length));
        const event = (type: string, fields: JsonObject, content = false): { text: string; content: boolean } => ({
            text: `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`,
            content
        });
        const frames = [
            event("message_start", { message: message([], null, 1) }),
            event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
            event("ping", {})
        ];
        answer.forEach((word, i) => frames.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text: i === 0 ? word : ` ${word}` } }, true)));
        frames.push(
            event("content_block_stop", { index: 0 }),
            event("message_delta", { delta: { stop_reason: stopReason, stop_sequence: null }, ...(behaviour.noUsage ? {} : { usage: { output_tokens: answer.length } }) }),
            event("message_stop", {})
        );
        return this.stream(response, "text/event-stream; charset=utf-8", frames, behaviour);
    }

    private async ollamaChat(request: JsonObject, model: string, behaviour: UpstreamBehaviour, response: ServerResponse): Promise<void> {
        const messages = Array.isArray(request.messages) ? request.messages : [];
        const options = isObject(request.options) ? request.options : {};
        const limit = typeof options.num_predict === "number" && options.num_predict >= 0 ? options.num_predict : undefined;
        const answer = this.answerWords(this.lastUser(messages), limit);
        const promptTokens = this.promptWords(messages);
        const createdAt = new Date().toISOString();
        const final = (content: string): JsonObject => ({
            model,
            created_at: createdAt,
            message: { role: "assistant", content },
            done_reason: limit !== undefined && answer.length >= limit ? "length" : "stop",
            done: true,
            total_duration: 1_000_000,
            load_duration: 1_000,
            ...(behaviour.noUsage ? {} : { prompt_eval_count: promptTokens, prompt_eval_duration: 1_000, eval_count: answer.length, eval_duration: 1_000 })
        });
        if (request.stream === false) return this.json(response, 200, final(answer.join(" ")));
        const frames = answer.map((word, i) => ({
            text: `${JSON.stringify({ model, created_at: createdAt, message: { role: "assistant", content: i === 0 ? word : ` ${word}` }, done: false })}\n`,
            content: true
        }));
        frames.push({ text: `${JSON.stringify(final(""))}\n`, content: false });
        return this.stream(response, "application/x-ndjson", frames, behaviour);
    }
}

function main(): void {
    const args = process.argv.slice(2);
    const option = (name: string): string | undefined => {
        const index = args.indexOf(name);
        return index === -1 ? undefined : args[index + 1];
    };
    const upstream = new TestUpstream(option("--api-key"));
    const server = createServer((request, response) => {
        upstream.handle(request, response).catch((error: unknown) => {
            if (!response.headersSent) response.writeHead(500, { "content-type": "application/json" });
            response.end(JSON.stringify({ error: { message: String(error) } }));
        });
    });
    server.keepAliveTimeout = 1_000;
    server.listen(Number(option("--port") ?? 0), "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address !== null ? address.port : 0;
        process.stdout.write(`upstream-server listening on http://127.0.0.1:${port}\n`);
    });
    const stop = (): void => {
        server.closeAllConnections();
        server.close(() => process.exit(0));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

if (require.main === module) main();

// ---------------------------------------------------------------------------------------
// The client side, for tests.

/** A running test upstream process. */
export interface UpstreamServer {
    /** `http://127.0.0.1:PORT` (no path). */
    readonly url: string;
    readonly port: number;
    readonly child: ChildProcess;
    /** Every request received since the last `clearRequests` (control calls excluded). */
    requests(): Promise<RecordedRequest[]>;
    clearRequests(): Promise<void>;
    /** The behaviour of every request (model-name suffixes add to it). */
    setBehaviour(behaviour: UpstreamBehaviour): Promise<void>;
    stop(): Promise<void>;
}

/** Spawns the test upstream in its own process and waits until it listens. */
export async function startUpstreamServer(options: { readonly apiKey?: string } = {}): Promise<UpstreamServer> {
    const args = ["-r", "ts-node/register/transpile-only", path.join(__dirname, "upstream-server.ts")];
    if (options.apiKey !== undefined) args.push("--api-key", options.apiKey);
    const child = spawn(process.execPath, args, { cwd: path.resolve(__dirname, "../.."), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
        const onData = (data: Buffer): void => {
            output += data.toString();
            const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
            if (match !== null) {
                child.stdout!.off("data", onData);
                resolve(match[1]);
            }
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", (data: Buffer) => (output += data.toString()));
        child.once("exit", (code) => reject(new Error(`the upstream server exited with ${code}: ${output}`)));
    });
    const control = async (method: string, route: string, body?: unknown): Promise<unknown> => {
        const response = await fetch(`${url}/__control/${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
        return response.json();
    };
    return {
        url,
        port: Number(new URL(url).port),
        child,
        requests: async () => (await control("GET", "requests")) as RecordedRequest[],
        clearRequests: async () => void (await control("DELETE", "requests")),
        setBehaviour: async (behaviour) => void (await control("POST", "behaviour", behaviour)),
        async stop() {
            if (child.exitCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await exited;
        }
    };
}
