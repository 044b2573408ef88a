import http from "node:http";
import { ERROR_CODE_HEADER } from "@zk-api-credits/protocol";

/** What a request sent from a chosen local address was answered. */
export interface AnswerFrom {
    readonly status: number;
    /** The gateway's reason code (the zkapi-error header), if any. */
    readonly code?: string;
    readonly headers: http.IncomingHttpHeaders;
    readonly body: string;
}

/** A request to send over its own connection, from `from` (a loopback address such as 127.0.0.7). */
export interface RequestFrom {
    readonly method?: string;
    readonly path: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: Buffer | string;
    /** The local address to send from: the client address the gateway sees (default: the system's choice). */
    readonly from?: string;
}

/**
 * Sends one HTTP request (POST unless told) over a fresh connection bound to a chosen local
 * address, so that a test can play several clients (admission control and head starts count
 * clients by remote address), and reads the whole answer.
 */
export function requestFrom(url: string, request: RequestFrom): Promise<AnswerFrom> {
    const { hostname, port } = new URL(url);
    const body = typeof request.body === "string" ? Buffer.from(request.body) : request.body;
    return new Promise((resolve, reject) => {
        const outgoing = http.request(
            {
                host: hostname,
                port: Number(port),
                method: request.method ?? "POST",
                path: request.path,
                localAddress: request.from,
                agent: false,
                headers: { ...(body === undefined ? {} : { "content-length": String(body.length) }), ...request.headers }
            },
            (response) => {
                const chunks: Buffer[] = [];
                response.on("data", (chunk: Buffer) => chunks.push(chunk));
                response.on("end", () => {
                    const code = response.headers[ERROR_CODE_HEADER];
                    resolve({ status: response.statusCode ?? 0, code: typeof code === "string" ? code : undefined, headers: response.headers, body: Buffer.concat(chunks).toString() });
                });
                response.on("error", reject);
            }
        );
        outgoing.on("error", reject);
        outgoing.end(body);
    });
}
