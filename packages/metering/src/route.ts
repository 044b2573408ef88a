import type { JsonObject, JsonValue } from "./json";
import type { PromptParts } from "./tokenizer";
import type { ReportedUsage } from "./usage";

/** The API families the gateway speaks. */
export type Dialect = "openai" | "anthropic" | "ollama";

/** How a streamed answer is framed: server-sent events, or newline-delimited JSON (Ollama). */
export type StreamFraming = "sse" | "ndjson";

export type PaidRouteId = "openai.chat" | "openai.completions" | "openai.responses" | "openai.embeddings" | "anthropic.messages" | "ollama.chat";
export type FreeRouteId = "openai.models" | "ollama.tags";
export type RouteId = PaidRouteId | FreeRouteId;

interface RouteBase {
    readonly method: "GET" | "POST";
    /** The path clients call, also the path of the dialect's own API (before the upstream's base URL). */
    readonly path: string;
    readonly dialect: Dialect;
    /** How long the upstream may take for the whole answer, stream included (an upstream may override it). */
    readonly timeoutMs: number;
    readonly summary: string;
}

/** A route served without a ticket (catalogues: models, tags). */
export interface FreeApiRoute extends RouteBase {
    readonly id: FreeRouteId;
    readonly paid: false;
}

/** A paid request, parsed: what pricing and metering need, and the body to send upstream. */
export interface ApiRequest {
    readonly routeId: PaidRouteId;
    /** The body as parsed (and, after {@link PaidApiRoute.withMaxOutputTokens}, as capped). */
    readonly body: JsonObject;
    /** The exact bytes the client sent, forwarded as they are while the body is unchanged. */
    readonly raw: Buffer;
    /** The body was changed (capped): it is serialised again before it goes upstream. */
    readonly modified: boolean;
    readonly model: string;
    readonly stream: boolean;
    /** Output tokens per generated choice the body allows; undefined when it sets no limit. */
    readonly maxOutputTokens: number | undefined;
    /** Choices generated per request (`n`, `best_of`); 0 for embeddings (nothing generated). */
    readonly outputs: number;
    readonly prompt: PromptParts;
    /** OpenAI streams: the client itself asked for the usage chunk (`stream_options.include_usage`). */
    readonly streamUsageRequested: boolean;
}

/** What a non-streamed upstream answer says: its usage and the text it generated. */
export interface BodyReading {
    readonly usage: ReportedUsage;
    /** The upstream's usage is complete (both sides reported). */
    readonly usageFinal: boolean;
    /** Generated text (counted with the tokenizer when usage is missing). */
    readonly outputText: string;
}

/** A streamed event, as the framing delivered it. */
export interface StreamEvent {
    /** The SSE event name (undefined for NDJSON lines and unnamed events). */
    readonly event: string | undefined;
    /** The event's data parsed as JSON, or undefined (`[DONE]`, garbage). */
    readonly json: JsonValue | undefined;
    /** The data as text. */
    readonly data: string;
}

/**
 * Reads a dialect's stream event by event: collects usage and generated text, and says
 * which events the client gets.
 */
export interface StreamReader {
    /** Reads one event; false: the client does not get it (the usage chunk it did not ask for). */
    read(event: StreamEvent): boolean;
    readonly usage: ReportedUsage;
    /** The upstream's final usage arrived: no counting needed for the output. */
    readonly usageFinal: boolean;
    /** The dialect's last event arrived (`[DONE]`, `message_stop`, `done: true`, `response.completed`). */
    readonly completed: boolean;
    /** The upstream sent an error event. */
    readonly failed: boolean;
    /** Generated text of the events read so far. */
    readonly outputText: string;
}

/**
 * A paid route: how to read its body (model, prompt, output limit, stream flag), how to cap
 * its output, what to send upstream, and how to read usage from an answer or a stream.
 */
export interface PaidApiRoute extends RouteBase {
    readonly id: PaidRouteId;
    readonly paid: true;
    readonly method: "POST";
    /** How the route streams; undefined: it never does (embeddings). */
    readonly framing: StreamFraming | undefined;
    /** The output limit upstreams apply when the body sets none (`/v1/completions`: 16); undefined: unbounded. */
    readonly defaultMaxOutputTokens: number | undefined;
    /** Parses and checks a client's body (GatewayError 400 MALFORMED_BODY). */
    parse(raw: Buffer): ApiRequest;
    /** The request with its output limited to `maxTokens` per choice, in the dialect's field. */
    withMaxOutputTokens(request: ApiRequest, maxTokens: number): ApiRequest;
    /** The bytes to send upstream (OpenAI streams ask for the usage chunk). */
    upstreamBody(request: ApiRequest): Buffer;
    /** Reads a non-streamed answer's usage and text. */
    readBody(json: JsonValue): BodyReading;
    /** A reader for one streamed answer. */
    streamReader(request: ApiRequest): StreamReader;
}

export type ApiRoute = PaidApiRoute | FreeApiRoute;
