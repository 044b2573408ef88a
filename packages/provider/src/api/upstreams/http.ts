import http from "node:http";
import type { IncomingMessage } from "node:http";
import https from "node:https";
import { pipeline } from "node:stream";
import type { Readable, Transform } from "node:stream";
import { constants as zlib, createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { ApiRoute, Dialect } from "@zk-api-credits/metering";
import { UpstreamError } from "./types";
import type { RelayedHeaders, RouteTimeouts, Upstream, UpstreamReply } from "./types";

/** The environment variable holding the provider's API key for each kind of upstream. */
export const UPSTREAM_KEY_VARIABLES: Readonly<Record<Dialect, string>> = {
    openai: "ZKAPI_UPSTREAM_API_KEY",
    anthropic: "ZKAPI_ANTHROPIC_API_KEY",
    ollama: "ZKAPI_OLLAMA_API_KEY"
};

/** The provider's key for a kind of upstream, from the environment (never from a client). */
export function upstreamApiKey(dialect: Dialect, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const key = env[UPSTREAM_KEY_VARIABLES[dialect]];
    return key === undefined || key.length === 0 ? undefined : key;
}

/** The Anthropic API version the gateway speaks. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Largest non-streamed upstream answer read (bytes). */
const MAX_BODY_BYTES = 64 << 20;

/**
 * Kept-alive upstream connections idle this long are closed: below the 5 s keep-alive of Node's,
 * uvicorn's (vLLM) and most servers, so the gateway seldom reuses a connection the server is
 * closing (a server's shorter `Keep-Alive: timeout=` hint is followed too).
 */
const IDLE_CONNECTION_MS = 4_000;

/**
 * The URL a route is sent to, from a base URL written as the dialect's own SDK takes it:
 * - OpenAI: the base includes the version (`http://127.0.0.1:8000/v1`,
 *   `https://openrouter.ai/api/v1`); the route's path after `/v1` is appended. A base with
 *   no path (`http://127.0.0.1:9100`) means `/v1`.
 * - Anthropic: the host (`https://api.anthropic.com`); the route's path is appended (a base
 *   ending in `/v1` is not doubled).
 * - Ollama: the host (`http://127.0.0.1:11434`); likewise (a base ending in `/api` is not doubled).
 * The base's query string (`?api-version=…`) is kept.
 */
export function upstreamUrl(dialect: Dialect, baseUrl: string, routePath: string): URL {
    const url = parseBaseUrl(baseUrl);
    const base = url.pathname.replace(/\/+$/, "");
    const prefix = dialect === "ollama" ? "/api" : "/v1";
    if (!routePath.startsWith(`${prefix}/`)) throw new Error(`${routePath} is not a ${dialect} path`);
    const rest = routePath.slice(prefix.length);
    if (dialect === "openai") url.pathname = `${base === "" ? "/v1" : base}${rest}`;
    else url.pathname = base.endsWith(prefix) ? `${base}${rest}` : `${base}${routePath}`;
    return url;
}

function parseBaseUrl(baseUrl: string): URL {
    let url: URL;
    try {
        url = new URL(baseUrl);
    } catch {
        throw new Error(`the upstream base URL ${JSON.stringify(baseUrl)} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`the upstream base URL must be http or https, not ${url.protocol}`);
    if (url.username !== "" || url.password !== "") throw new Error("the upstream base URL must not carry credentials: give the key in the environment");
    url.hash = "";
    return url;
}

export interface HttpUpstreamOptions {
    /** The API the server speaks. */
    readonly dialect: Dialect;
    /** The base URL, as the dialect's SDK takes it (see {@link upstreamUrl}). */
    readonly baseUrl: string;
    /** The provider's key (see {@link upstreamApiKey}): `Authorization: Bearer` (OpenAI, Ollama) or `x-api-key` (Anthropic). */
    readonly apiKey?: string;
    readonly anthropicVersion?: string;
    /** Overrides of the routes' timeouts. */
    readonly timeouts?: RouteTimeouts;
    /** Fixed headers of the provider's own (OpenRouter's `HTTP-Referer`, say). */
    readonly headers?: Readonly<Record<string, string>>;
}

/**
 * An upstream over HTTP: an OpenAI-compatible server (OpenAI, vLLM, Ollama's `/v1`, llama.cpp
 * server, OpenRouter), Anthropic's API, or Ollama's native API. Requests carry the provider's
 * credentials and never a header of the client's (the interface does not even take them).
 * Each request runs under its route's timeout, stream included; an answered 4xx or 5xx comes
 * back as a reply with its status.
 *
 * Requests go out through `node:http`/`node:https` on kept-alive connections: a call started
 * while the ticket is checked is on the wire in the same turn of the event loop (Node's
 * `fetch` needs several turns, 3–4 ms on a busy gateway). A kept-alive connection the server
 * closes just as it is reused fails before any answer; a GET (a catalogue) is then sent once
 * more on a new connection. A POST (a paid call) never is: the server may have acted on it,
 * and the provider would pay twice (docs/protocol.md, "Implementation notes").
 */
export class HttpUpstream implements Upstream {
    private readonly headers: Readonly<Record<string, string>>;
    private readonly agent: http.Agent;

    constructor(private readonly options: HttpUpstreamOptions) {
        const base = parseBaseUrl(options.baseUrl);
        const auth: Record<string, string> = {};
        if (options.dialect === "anthropic") {
            auth["anthropic-version"] = options.anthropicVersion ?? ANTHROPIC_VERSION;
            if (options.apiKey !== undefined) auth["x-api-key"] = options.apiKey;
        } else if (options.apiKey !== undefined) {
            auth.authorization = `Bearer ${options.apiKey}`;
        }
        this.headers = { ...options.headers, ...auth, "user-agent": "zk-api-credits-gateway", "accept-encoding": "identity" };
        const agentOptions = { keepAlive: true, timeout: IDLE_CONNECTION_MS, scheduling: "lifo" as const };
        this.agent = base.protocol === "https:" ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    }

    serves(route: ApiRoute): boolean {
        return route.dialect === this.options.dialect;
    }

    /** The URL this upstream sends a route to. */
    urlOf(route: ApiRoute): URL {
        return upstreamUrl(this.options.dialect, this.options.baseUrl, route.path);
    }

    /** Closes the kept-alive connections (idle ones close by themselves after a few seconds). */
    close(): void {
        this.agent.destroy();
    }

    async send(route: ApiRoute, body: Buffer, signal?: AbortSignal): Promise<UpstreamReply> {
        if (!this.serves(route)) throw new UpstreamError("unsupported", `a ${this.options.dialect} upstream does not serve ${route.path}`);
        const timeoutMs = this.options.timeouts?.[route.id] ?? route.timeoutMs;
        const call = new UpstreamCall(timeoutMs, signal, `${route.method} ${route.path}`);
        let response: IncomingMessage;
        try {
            response = await this.request(this.urlOf(route), route, body, call.signal, false);
        } catch (error) {
            call.done();
            throw call.failure(error, "unreachable");
        }
        // Errors surface where the body is read; without a listener, one after a cancel would be uncaught.
        response.on("error", () => undefined);
        const status = response.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
            call.cancel();
            throw new UpstreamError("unreachable", `${call.what}: the upstream answered ${status}, a redirect (not followed: give the final URL)`);
        }
        const contentType = response.headers["content-type"] ?? "";
        const headers: RelayedHeaders = contentType === "" ? {} : { "content-type": contentType };
        const framing = route.paid ? route.framing : undefined;
        const streamed =
            status >= 200 &&
            status < 300 &&
            ((framing === "sse" && /^text\/event-stream/i.test(contentType)) || (framing === "ndjson" && /^application\/(x-)?ndjson/i.test(contentType)));
        let content: Readable;
        try {
            content = decoded(response, status);
        } catch (error) {
            const failure = call.failure(error, "broken");
            call.cancel();
            throw failure;
        }
        if (streamed && framing !== undefined) {
            return { kind: "stream", status, headers, framing, chunks: call.relay(content), cancel: () => call.cancel() };
        }
        try {
            return { kind: "body", status, headers, body: await call.readAll(content) };
        } finally {
            call.done();
        }
    }

    /**
     * Sends the request; resolves with the answer's head. A GET whose reused connection is reset
     * before any answer is sent once more, on a connection of its own (`retry`).
     */
    private request(url: URL, route: ApiRoute, body: Buffer, signal: AbortSignal, retry: boolean): Promise<IncomingMessage> {
        return new Promise<IncomingMessage>((resolve, reject) => {
            const post = route.method === "POST";
            const headers = post ? { ...this.headers, "content-type": "application/json", "content-length": String(body.length) } : this.headers;
            const agent = retry ? false : this.agent;
            const request = (url.protocol === "https:" ? https : http).request(url, { method: route.method, headers, agent, signal });
            let answered = false;
            request.once("response", (response) => {
                answered = true;
                resolve(response);
            });
            request.on("error", (error: NodeJS.ErrnoException) => {
                if (answered) return;
                if (!post && !retry && request.reusedSocket && !signal.aborted && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
                    this.request(url, route, body, signal, true).then(resolve, reject);
                    return;
                }
                reject(error);
            });
            request.end(post ? body : undefined);
        });
    }
}

/** The statuses `fetch` with `redirect: "error"` refused: a redirect is never followed. */
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * The answer's body, decoded if the server compressed it although asked not to (gzip, deflate,
 * br). As leniently as `fetch` decodes: a body that ends without the stream's trailer keeps
 * what was decoded, and an answer with no body (204, 304, `content-length: 0`) is not decoded.
 */
function decoded(response: IncomingMessage, status: number): Readable {
    if (status === 204 || status === 304 || response.headers["content-length"] === "0") return response;
    const encoding = (response.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    const decoder = DECODERS[encoding];
    if (decoder === undefined) throw new Error(`the answer's content encoding ${JSON.stringify(encoding)} is not one the gateway reads`);
    if (decoder === "identity") return response;
    return pipeline(response, decoder(), () => undefined);
}

/** Flushing on every chunk, and at the end, as `fetch` does: a stream decodes as it comes, and a missing trailer loses nothing. */
const SYNC_FLUSH = { flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH };
const gunzip = (): Transform => createGunzip(SYNC_FLUSH);

const DECODERS: Readonly<Record<string, "identity" | (() => Transform)>> = {
    identity: "identity",
    "": "identity",
    gzip: gunzip,
    "x-gzip": gunzip,
    deflate: () => createInflate(SYNC_FLUSH),
    br: () => createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH, finishFlush: zlib.BROTLI_OPERATION_FLUSH })
};

/** One upstream request's cancellation: its timeout, the caller's signal, `cancel()`. */
class UpstreamCall {
    private readonly controller = new AbortController();
    private readonly timer: NodeJS.Timeout;
    private timedOut = false;
    private readonly callerSignal: AbortSignal | undefined;
    private readonly onCallerAbort = (): void => this.controller.abort();

    constructor(
        private readonly timeoutMs: number,
        caller: AbortSignal | undefined,
        readonly what: string
    ) {
        this.timer = setTimeout(() => {
            this.timedOut = true;
            this.controller.abort();
        }, timeoutMs);
        this.timer.unref();
        this.callerSignal = caller;
        if (caller?.aborted) this.controller.abort();
        else caller?.addEventListener("abort", this.onCallerAbort, { once: true });
    }

    get signal(): AbortSignal {
        return this.controller.signal;
    }

    cancel(): void {
        this.controller.abort();
        this.done();
    }

    done(): void {
        clearTimeout(this.timer);
        this.callerSignal?.removeEventListener("abort", this.onCallerAbort);
    }

    failure(error: unknown, otherwise: "unreachable" | "broken"): UpstreamError {
        if (error instanceof UpstreamError) return error;
        if (this.timedOut) return new UpstreamError("timeout", `${this.what}: no complete answer within ${this.timeoutMs} ms`, { cause: error });
        if (this.controller.signal.aborted) return new UpstreamError("aborted", `${this.what}: cancelled`, { cause: error });
        const code = (error as NodeJS.ErrnoException | undefined)?.code;
        const detail = error instanceof Error ? error.message : String(error);
        return new UpstreamError(otherwise, `${this.what}: ${detail}${code !== undefined && !detail.includes(code) ? ` (${code})` : ""}`, { cause: error });
    }

    async readAll(content: AsyncIterable<Buffer>): Promise<Buffer> {
        const parts: Buffer[] = [];
        let size = 0;
        try {
            for await (const chunk of content) {
                size += chunk.byteLength;
                if (size > MAX_BODY_BYTES) {
                    this.controller.abort();
                    throw new UpstreamError("broken", `${this.what}: the answer exceeds ${MAX_BODY_BYTES} bytes`);
                }
                parts.push(chunk);
            }
        } catch (error) {
            throw this.failure(error, "broken");
        }
        return Buffer.concat(parts);
    }

    async *relay(content: AsyncIterable<Buffer>): AsyncGenerator<Uint8Array> {
        try {
            for await (const chunk of content) yield chunk;
        } catch (error) {
            throw this.failure(error, "broken");
        } finally {
            this.done();
            // Stopping early (the consumer broke off) releases the connection.
            if (!this.controller.signal.aborted) this.controller.abort();
        }
    }
}
