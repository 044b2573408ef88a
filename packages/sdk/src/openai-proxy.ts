import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ZkApiClient } from "./client";
import { SdkError } from "./errors";

export interface OpenAIProxyOptions {
    readonly client: ZkApiClient;
    readonly port?: number;
    readonly host?: string;
    /** Largest request body forwarded (default 1 MiB). */
    readonly maxBodyBytes?: number;
}

/** A running local proxy. */
export interface OpenAIProxy {
    readonly url: string;
    readonly server: Server;
    close(): Promise<void>;
}

/**
 * Headers of the local request that go to the gateway: the content negotiation and the
 * dialect's version headers, never the app's API key (the provider uses its own upstream key).
 */
const FORWARDED_REQUEST_HEADERS = ["content-type", "accept", "anthropic-version", "anthropic-beta", "openai-beta"];
/** Headers of the gateway's answer that go back to the app. */
const FORWARDED_RESPONSE_HEADERS = ["content-type", "cache-control", "retry-after", "zkapi-error", "x-request-id"];

class BodyTooLarge extends Error {}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > limit) throw new BodyTooLarge(`request body over ${limit} bytes`);
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
}

function statusOf(error: unknown): number {
    if (error instanceof BodyTooLarge) return 413;
    if (!(error instanceof SdkError)) return 502;
    switch (error.code) {
        case "INSOLVENT":
            return 402;
        case "ACCOUNT_CLOSED":
        case "NOT_REGISTERED":
            return 403;
        case "BAD_REQUEST":
            return 400;
        case "GATEWAY_UNREACHABLE":
            return 504;
        default:
            return 502;
    }
}

/**
 * A local endpoint for OpenAI-, Anthropic- and Ollama-style clients (any language): point the
 * client at http://127.0.0.1:<port>/v1 (or the Ollama base URL) with any API key, and each paid
 * call (chat, completions, responses, embeddings, messages, /api/chat) is paid anonymously with
 * a ticket through the gateway; free routes (GET /v1/models, GET /api/tags) go without one.
 * Calls run concurrently (up to the ticket window, more wait); streamed answers are relayed
 * event by event as they arrive, with the gateway's charge event taken out. Loopback only by
 * default.
 */
export async function startOpenAIProxy(options: OpenAIProxyOptions): Promise<OpenAIProxy> {
    const limit = options.maxBodyBytes ?? 1 << 20;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        void relay(options.client, request, response, limit);
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    const address = server.address() as AddressInfo;
    return {
        url: `http://${options.host ?? "127.0.0.1"}:${address.port}`,
        server,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            })
    };
}

async function relay(client: ZkApiClient, request: IncomingMessage, response: ServerResponse, limit: number): Promise<void> {
    const abort = new AbortController();
    response.on("close", () => {
        if (!response.writableFinished) abort.abort();
    });
    try {
        const method = request.method ?? "GET";
        const body = method === "GET" || method === "HEAD" ? undefined : await readBody(request, limit);
        const headers: Record<string, string> = {};
        for (const name of FORWARDED_REQUEST_HEADERS) {
            const value = request.headers[name];
            if (typeof value === "string") headers[name] = value;
        }
        const answer = await client.fetch(request.url ?? "/", { method, headers, body });
        const out: Record<string, string> = {};
        for (const name of FORWARDED_RESPONSE_HEADERS) {
            const value = answer.headers.get(name);
            if (value !== null) out[name] = value;
        }
        response.writeHead(answer.status, out);
        response.flushHeaders();
        if (answer.body === null) {
            response.end();
            return;
        }
        const reader = answer.body.getReader();
        abort.signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined));
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            response.write(value);
        }
        response.end();
    } catch (error) {
        if (response.headersSent) {
            response.destroy(error instanceof Error ? error : undefined);
            return;
        }
        const code = error instanceof SdkError ? error.code : error instanceof BodyTooLarge ? "BODY_TOO_LARGE" : "PROXY_ERROR";
        response.writeHead(statusOf(error), { "content-type": "application/json", "zkapi-error": code });
        response.end(JSON.stringify({ error: { code, type: "zkapi_proxy_error", message: error instanceof Error ? error.message : String(error) } }));
    }
}
