import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ZkApiClient } from "./client";
import { SdkError } from "./errors";

export interface OpenAIProxyOptions {
    readonly client: ZkApiClient;
    readonly port?: number;
    readonly host?: string;
    /** Largest request body forwarded. */
    readonly maxBodyBytes?: number;
}

/** A running local proxy. */
export interface OpenAIProxy {
    readonly url: string;
    readonly server: Server;
    close(): Promise<void>;
}

/** Headers of the local request that go upstream (never the app's API key). */
const FORWARDED = ["content-type", "accept"];

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > limit) throw new RangeError(`request body over ${limit} bytes`);
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
}

/**
 * A local OpenAI-compatible endpoint: point any OpenAI-style client (any language) at
 * http://127.0.0.1:<port>/v1 with any API key, and each call is paid anonymously with a
 * ticket through the gateway. Calls are sent one at a time (each needs the previous
 * signed state). Listens on loopback only by default.
 */
export async function startOpenAIProxy(options: OpenAIProxyOptions): Promise<OpenAIProxy> {
    const limit = options.maxBodyBytes ?? 1 << 20;
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
        void (async () => {
            try {
                const body = await readBody(request, limit);
                const headers: Record<string, string> = {};
                for (const name of FORWARDED) {
                    const value = request.headers[name];
                    if (typeof value === "string") headers[name] = value;
                }
                const upstream = await options.client.fetch(request.url ?? "/", {
                    method: request.method ?? "GET",
                    headers,
                    body: request.method === "GET" || request.method === "HEAD" ? undefined : body
                });
                const bytes = Buffer.from(await upstream.arrayBuffer());
                response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
                response.end(bytes);
            } catch (error) {
                const status = error instanceof RangeError ? 413 : error instanceof SdkError && error.code === "INSOLVENT" ? 402 : 502;
                const code = error instanceof SdkError ? error.code : "PROXY_ERROR";
                response.writeHead(status, { "content-type": "application/json" });
                response.end(JSON.stringify({ error: { code, message: error instanceof Error ? error.message : String(error) } }));
            }
        })();
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    const address = server.address() as AddressInfo;
    return {
        url: `http://${options.host ?? "127.0.0.1"}:${address.port}`,
        server,
        close: () => new Promise<void>((resolve) => server.close(() => resolve()))
    };
}
