import { splitterFor } from "./framing";
import type { EventSplitter, FramedEvent } from "./framing";
import { tryParseJson } from "./json";
import type { ApiRequest, BodyReading, PaidApiRoute, StreamReader } from "./route";
import { countPromptTokens, countTokens } from "./tokenizer";
import type { MeteredUsage } from "./usage";

/**
 * The usage to price: what the upstream reported, and the gateway's own count where it
 * reported nothing (the prompt with the tokenizer, the output as the text the client
 * received). Output is never more than the request allowed (`max tokens × outputs`), whoever
 * counted it, so a charge never exceeds the worst case the request was admitted with.
 */
export function resolveUsage(request: ApiRequest, reading: BodyReading): MeteredUsage {
    const reportedInput = reading.usage.inputTokens;
    const inputTokens = reportedInput ?? countPromptTokens(request.prompt);
    let outputTokens: number;
    let outputReported: boolean;
    if (request.outputs === 0) {
        outputTokens = 0;
        outputReported = true;
    } else if (reading.usageFinal && reading.usage.outputTokens !== undefined) {
        outputTokens = reading.usage.outputTokens;
        outputReported = true;
    } else {
        outputTokens = Math.max(reading.usage.outputTokens ?? 0, countTokens(reading.outputText));
        outputReported = false;
    }
    if (request.maxOutputTokens !== undefined) outputTokens = Math.min(outputTokens, request.maxOutputTokens * request.outputs);
    // Nothing generated (embeddings): the input alone says where the usage came from.
    const generated = request.outputs > 0;
    const source =
        reportedInput !== undefined && outputReported ? "upstream" : reportedInput === undefined && (!outputReported || !generated) ? "counted" : "partial";
    return { inputTokens, outputTokens, source };
}

/** What a non-streamed answer says: its usage and generated text (a body that is not JSON is all generated text). */
export function readAnswerBody(route: PaidApiRoute, body: Uint8Array): BodyReading {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8");
    const json = tryParseJson(text);
    return json === undefined ? { usage: {}, usageFinal: false, outputText: text } : route.readBody(json);
}

/** Usage of a non-streamed answer (the upstream's `usage`, or counted). */
export function meterBody(route: PaidApiRoute, request: ApiRequest, body: Uint8Array): MeteredUsage {
    return resolveUsage(request, readAnswerBody(route, body));
}

/** How a relayed stream ended, and what it is charged for. */
export interface StreamOutcome {
    readonly usage: MeteredUsage;
    /** What the relayed events said (usage reported, generated text): {@link resolveUsage} of it is `usage`. */
    readonly reading: BodyReading;
    /** The dialect's last event arrived (otherwise the stream broke or was cut). */
    readonly completed: boolean;
    /** The upstream reported an error inside the stream. */
    readonly failed: boolean;
    /** Events relayed to the client. */
    readonly relayedEvents: number;
}

/**
 * Meters a streamed answer while it is relayed: `push` each upstream chunk and write what it
 * returns to the client at once (every complete event, byte for byte, except an OpenAI usage
 * chunk the client did not ask for); call `end` when the upstream stream ends or breaks.
 * Text of an event cut off by a break reaches neither the client nor the count.
 */
export class StreamMeter {
    private readonly decoder = new TextDecoder("utf-8");
    private readonly splitter: EventSplitter;
    private readonly reader: StreamReader;
    private relayed = 0;
    private outcome: StreamOutcome | undefined;

    constructor(
        route: PaidApiRoute,
        private readonly request: ApiRequest
    ) {
        if (route.framing === undefined) throw new Error(`${route.id} does not stream`);
        this.splitter = splitterFor(route.framing);
        this.reader = route.streamReader(request);
    }

    /** Reads an upstream chunk; answers the bytes to relay now (possibly none). */
    push(chunk: Uint8Array): Buffer {
        if (this.outcome !== undefined) throw new Error("the stream has ended");
        return this.relay(this.splitter.push(this.decoder.decode(chunk, { stream: true })));
    }

    /** The upstream stream is over: the last bytes to relay and the outcome to price. */
    end(): { readonly tail: Buffer; readonly outcome: StreamOutcome } {
        if (this.outcome !== undefined) return { tail: Buffer.alloc(0), outcome: this.outcome };
        const tail = this.relay(this.splitter.push(this.decoder.decode()).concat(this.splitter.end()));
        const reader = this.reader;
        const reading: BodyReading = { usage: reader.usage, usageFinal: reader.usageFinal, outputText: reader.outputText };
        this.outcome = {
            usage: resolveUsage(this.request, reading),
            reading,
            completed: reader.completed,
            failed: reader.failed,
            relayedEvents: this.relayed
        };
        return { tail, outcome: this.outcome };
    }

    private relay(events: FramedEvent[]): Buffer {
        const out: string[] = [];
        for (const framed of events) {
            const keep =
                framed.data === undefined ||
                this.reader.read({ event: framed.event, data: framed.data, json: tryParseJson(framed.data) });
            if (keep) {
                out.push(framed.raw);
                this.relayed++;
            }
        }
        return out.length === 0 ? Buffer.alloc(0) : Buffer.from(out.join(""), "utf8");
    }
}
