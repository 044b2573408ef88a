import type { ApiRoute, Dialect, RouteId, StreamFraming } from "@zk-api-credits/metering";

/** Headers of an upstream answer the gateway may relay (content type only: nothing of the provider's account). */
export type RelayedHeaders = Readonly<Record<string, string>>;

/** A complete (non-streamed) upstream answer: a JSON body, an error, a catalogue. */
export interface UpstreamBodyReply {
    readonly kind: "body";
    readonly status: number;
    readonly headers: RelayedHeaders;
    readonly body: Buffer;
}

/**
 * A streamed upstream answer (2xx with `text/event-stream` or `application/x-ndjson`):
 * iterate `chunks` and relay them as they come (through a `StreamMeter`). Iteration throws an
 * {@link UpstreamError} ("timeout", "aborted", "broken") if the stream does not end cleanly.
 */
export interface UpstreamStreamReply {
    readonly kind: "stream";
    readonly status: number;
    readonly headers: RelayedHeaders;
    readonly framing: StreamFraming;
    readonly chunks: AsyncIterable<Uint8Array>;
    /** Stops reading and releases the upstream (the client went away). */
    cancel(): void;
}

export type UpstreamReply = UpstreamBodyReply | UpstreamStreamReply;

/**
 * Why an upstream gave no (complete) answer: `timeout` (the route's time ran out),
 * `aborted` (the caller's signal), `unreachable` (no connection or no HTTP answer), `broken`
 * (the stream stopped mid-way), `unsupported` (this upstream does not serve the route).
 * An answered 4xx or 5xx is not an error: it is a reply with its status.
 */
export type UpstreamFailure = "timeout" | "aborted" | "unreachable" | "broken" | "unsupported";

export class UpstreamError extends Error {
    constructor(
        readonly reason: UpstreamFailure,
        message: string,
        options?: { readonly cause?: unknown }
    ) {
        super(message, options);
        this.name = "UpstreamError";
    }
}

/**
 * A model server the gateway forwards to. `send` takes the route, the body to send (from
 * `route.upstreamBody(request)`; empty for GET routes) and the caller's signal (the client
 * disconnected); the upstream adds the route's own timeout, its own credentials and nothing
 * of the client's.
 */
export interface Upstream {
    /** Whether this upstream serves the route (check before accepting a ticket). */
    serves(route: ApiRoute): boolean;
    send(route: ApiRoute, body: Buffer, signal?: AbortSignal): Promise<UpstreamReply>;
}

/** Per-route timeouts overriding the routes' own (milliseconds). */
export type RouteTimeouts = Partial<Readonly<Record<RouteId, number>>>;

/** The upstreams of a gateway, one per dialect (an upstream may serve several). */
export type UpstreamsByDialect = Partial<Readonly<Record<Dialect, Upstream>>>;
