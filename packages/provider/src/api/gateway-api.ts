import { GatewayError } from "../errors";
import { API_ROUTES, meterBody, StreamMeter } from "@zk-api-credits/metering";
import type { ApiRequest, ApiRoute, FreeApiRoute, OverflowPolicy, PaidApiRoute, PriceTable } from "@zk-api-credits/metering";
import { UpstreamError } from "./upstreams/types";
import type { Upstream, UpstreamReply } from "./upstreams/types";

/**
 * The paid and free routes of the API surface as the gateway pipeline takes them
 * (`GatewayApi` of gateway.ts: `prepare` after the proof and before the ticket is recorded,
 * `serve` once it is, `cost()` when the answer or the stream has ended). Types here are
 * structural, so this module does not depend on the pipeline's files.
 */

/** What the API needs of a request the gateway received (the pipeline's `IncomingRequest`). */
export interface ApiIncomingRequest {
    readonly method: string;
    readonly path: string;
    readonly body: Buffer;
}

/** A served paid request (the pipeline's `ServedResponse`). */
export interface ApiServedResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body?: Buffer;
    readonly stream?: AsyncIterable<Uint8Array>;
    /** The price of what was served, asked once the body or stream has ended (or broke). */
    cost(): bigint;
}

/** A paid route's handler (the pipeline's `PaidRoute`). */
export interface ApiPaidHandler {
    /**
     * Parses the body for its route (400 MALFORMED_BODY), checks the worst case against
     * maxCost (400 WORST_CASE_EXCEEDS_MAX_COST, or the output limit is capped; 404 NOT_FOUND
     * for a model without a price) and answers the request with the body that goes upstream.
     */
    prepare<R extends ApiIncomingRequest>(request: R): R;
    /** Sends the prepared request upstream; a stream is relayed through a {@link StreamMeter}. */
    serve(request: ApiIncomingRequest, signal: AbortSignal): Promise<ApiServedResponse>;
}

/** A free route's handler (the pipeline's `FreeRoute`). */
export interface ApiFreeHandler {
    readonly method: "GET";
    readonly url: string;
    handle(request: ApiIncomingRequest): Promise<{ readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: Buffer }>;
}

export interface UpstreamApi {
    readonly paid: readonly { readonly method: "POST"; readonly url: string; readonly route: ApiPaidHandler }[];
    readonly free: readonly ApiFreeHandler[];
    /** The `GET /zkapi/v2/pricing` document. */
    pricing(): Record<string, unknown>;
}

export interface UpstreamApiOptions {
    /** Serves the routes (an `UpstreamRouter` of HTTP upstreams, or the `EchoUpstream`). */
    readonly upstream: Upstream;
    readonly prices: PriceTable;
    /** A request whose own output limit costs more than maxCost: "cap" it (default) or "refuse" it. */
    readonly overflow?: OverflowPolicy;
    /** The routes sold (default: every route of {@link API_ROUTES} the upstream serves). */
    readonly routes?: readonly ApiRoute[];
}

/** An upstream's failure as the gateway answers it (charged 0 by the pipeline). */
export function upstreamFailure(error: UpstreamError): GatewayError {
    if (error.reason === "timeout") return new GatewayError(504, "UPSTREAM_TIMEOUT", error.message);
    if (error.reason === "unsupported") return new GatewayError(404, "NOT_FOUND", error.message);
    return new GatewayError(502, "UPSTREAM_FAILED", error.message);
}

async function send(upstream: Upstream, route: ApiRoute, body: Buffer, signal?: AbortSignal): Promise<UpstreamReply> {
    try {
        return await upstream.send(route, body, signal);
    } catch (error) {
        if (error instanceof UpstreamError) throw upstreamFailure(error);
        throw error;
    }
}

/** The paid handler of one route. */
function paidHandler(route: PaidApiRoute, options: UpstreamApiOptions): ApiPaidHandler {
    const { upstream, prices } = options;
    // The parsed request of each prepared body, so `serve` neither parses nor counts again.
    const prepared = new WeakMap<Buffer, ApiRequest>();
    return {
        prepare(request) {
            let parsed = route.parse(request.body);
            const fit = prices.fit(parsed, options.overflow ?? "cap");
            if (fit.kind === "refuse") {
                throw fit.code === "MODEL_NOT_PRICED" ? new GatewayError(404, "NOT_FOUND", fit.message) : new GatewayError(400, fit.code, fit.message);
            }
            if (fit.kind === "cap") parsed = route.withMaxOutputTokens(parsed, fit.maxOutputTokens);
            const body = route.upstreamBody(parsed);
            prepared.set(body, parsed);
            return { ...request, body };
        },
        async serve(request, signal) {
            const parsed = prepared.get(request.body) ?? route.parse(request.body);
            const reply = await send(upstream, route, route.upstreamBody(parsed), signal);
            const price = (usage: Parameters<PriceTable["charge"]>[1]): bigint => prices.charge(parsed.model, usage) ?? 0n;
            if (reply.kind === "body") {
                return {
                    status: reply.status,
                    headers: reply.headers,
                    body: reply.body,
                    cost: () => (reply.status >= 400 ? 0n : price(meterBody(route, parsed, reply.body)))
                };
            }
            // The gateway's client gets every event, the usage chunk it asked the upstream for
            // included: the SDK meters the stream itself to check the charge, and removes that
            // chunk for a caller that did not ask for it (docs/http-api.md, "Streaming").
            const meter = new StreamMeter(route, { ...parsed, streamUsageRequested: true });
            return { status: reply.status, headers: reply.headers, stream: meteredStream(reply, meter), cost: () => price(meter.end().outcome.usage) };
        }
    };
}

/**
 * The upstream's chunks as the client gets them: each complete event as it arrives. A broken upstream ends the stream (what was
 * relayed is priced); a consumer that stops early releases the upstream.
 */
async function* meteredStream(reply: Extract<UpstreamReply, { kind: "stream" }>, meter: StreamMeter): AsyncGenerator<Buffer> {
    let finished = false;
    try {
        try {
            for await (const chunk of reply.chunks) {
                const out = meter.push(chunk);
                if (out.length > 0) yield out;
            }
        } catch (error) {
            if (!(error instanceof UpstreamError)) throw error;
        }
        const { tail } = meter.end();
        finished = true;
        if (tail.length > 0) yield tail;
    } finally {
        if (!finished) {
            reply.cancel();
            meter.end();
        }
    }
}

/** The free handler of one route: the upstream's catalogue. */
function freeHandler(route: FreeApiRoute, upstream: Upstream): ApiFreeHandler {
    return {
        method: route.method as "GET",
        url: route.path,
        async handle() {
            const reply = await send(upstream, route, Buffer.alloc(0));
            if (reply.kind !== "body") throw new GatewayError(502, "UPSTREAM_FAILED", `${route.path} answered a stream`);
            return { status: reply.status, headers: reply.headers, body: reply.body };
        }
    };
}

/**
 * The API a gateway sells, from an upstream and a price table: every route the upstream
 * serves, paid ones priced and metered, free ones relayed, and the pricing document.
 */
export function upstreamApi(options: UpstreamApiOptions): UpstreamApi {
    const routes = (options.routes ?? API_ROUTES).filter((route) => options.upstream.serves(route));
    return {
        paid: routes.filter((route): route is PaidApiRoute => route.paid).map((route) => ({ method: route.method, url: route.path, route: paidHandler(route, options) })),
        free: routes.filter((route): route is FreeApiRoute => !route.paid).map((route) => freeHandler(route, options.upstream)),
        pricing: () => ({ ...options.prices.view() })
    };
}
