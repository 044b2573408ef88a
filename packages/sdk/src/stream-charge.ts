import { CHARGE_EVENT } from "@zk-api-credits/protocol";

/** How a streamed answer is framed: server-sent events, or newline-delimited JSON (Ollama). */
export type StreamFraming = "sse" | "ndjson";

/** The framing of a streamed answer, from its content type; undefined for an answer that is not streamed. */
export function streamFramingOf(contentType: string | null): StreamFraming | undefined {
    const type = contentType?.split(";")[0]?.trim().toLowerCase();
    if (type === "text/event-stream") return "sse";
    if (type === "application/x-ndjson" || type === "application/ndjson") return "ndjson";
    return undefined;
}

/** The end of the first SSE event in `text` (index after its blank line), or -1. */
function sseEventEnd(text: string): number {
    let best = -1;
    for (const boundary of ["\r\n\r\n", "\n\n", "\r\r"]) {
        const at = text.indexOf(boundary);
        if (at >= 0 && (best < 0 || at + boundary.length < best)) best = at + boundary.length;
    }
    return best;
}

/** A charge comment line: `: zkapi-charge <base64url>`. */
const CHARGE_COMMENT = new RegExp(`^: ?${CHARGE_EVENT} ([A-Za-z0-9_-]+)$`);

/**
 * Takes the charge out of one SSE event block: an `event: zkapi-charge` event (its data is the
 * charge), or a comment line `: zkapi-charge <charge>` (the gateway's form: every SSE parser
 * ignores comments). Answers what is left of the block to forward ("" if nothing) and the charge.
 */
function sseCharge(block: string): { rest: string; charge?: string } {
    const lines = block.split(/(\r\n|\r|\n)/); // keeps the separators at odd positions
    const content = lines.filter((_, i) => i % 2 === 0);
    if (content.some((line) => /^event: ?(.*)$/.exec(line)?.[1] === CHARGE_EVENT)) {
        const data = content.filter((line) => line.startsWith("data:")).map((line) => line.slice(line.startsWith("data: ") ? 6 : 5));
        return { rest: "", charge: data.join("\n") };
    }
    let charge: string | undefined;
    let rest = "";
    for (let i = 0; i < lines.length; i += 2) {
        const match = CHARGE_COMMENT.exec(lines[i]!);
        if (match !== null && charge === undefined) {
            charge = match[1];
            continue; // drop the line and its line break
        }
        rest += lines[i]! + (lines[i + 1] ?? "");
    }
    if (charge === undefined) return { rest: block };
    return { rest: /^(\r\n|\r|\n)*$/.test(rest) ? "" : rest, charge };
}

/** The charge an NDJSON line carries if it is `{"zkapi-charge": "<value>"}`, else undefined. */
function ndjsonCharge(line: string): string | undefined {
    if (!line.includes(CHARGE_EVENT)) return undefined;
    try {
        const parsed = JSON.parse(line) as unknown;
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
        const entries = Object.entries(parsed);
        return entries.length === 1 && entries[0]![0] === CHARGE_EVENT && typeof entries[0]![1] === "string" ? entries[0]![1] : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Relays a streamed answer event by event and takes the gateway's final charge out of it (an
 * SSE stream ends with the comment `: zkapi-charge <charge>`, or an `event: zkapi-charge`; an
 * NDJSON stream with a line `{"zkapi-charge": …}`), so that a plain client sees exactly the
 * upstream's events. Whole events are forwarded as soon as their last byte
 * arrives; only an incomplete event is held back.
 */
export class ChargeEventFilter {
    private readonly decoder = new TextDecoder("utf-8");
    private readonly encoder = new TextEncoder();
    private buffer = "";
    private found?: string;

    constructor(readonly framing: StreamFraming) {}

    /** The charge event's value, once seen. */
    get charge(): string | undefined {
        return this.found;
    }

    /** Takes the next chunk of the stream; answers the bytes to forward now. */
    push(chunk: Uint8Array): Uint8Array {
        this.buffer += this.decoder.decode(chunk, { stream: true });
        return this.encoder.encode(this.drain(false));
    }

    /** The stream ended: answers what is left to forward. */
    end(): Uint8Array {
        this.buffer += this.decoder.decode();
        return this.encoder.encode(this.drain(true));
    }

    private drain(final: boolean): string {
        let out = "";
        for (;;) {
            const end = this.framing === "sse" ? sseEventEnd(this.buffer) : this.buffer.indexOf("\n") + 1 || -1;
            if (end < 0) break;
            out += this.take(this.buffer.slice(0, end));
            this.buffer = this.buffer.slice(end);
        }
        if (final && this.buffer.length > 0) {
            out += this.take(this.buffer);
            this.buffer = "";
        }
        return out;
    }

    /** One whole event (or line): the charge is kept out, everything else forwarded. */
    private take(unit: string): string {
        if (this.found !== undefined) return unit;
        if (this.framing === "sse") {
            const { rest, charge } = sseCharge(unit);
            if (charge !== undefined) this.found = charge;
            return rest;
        }
        const charge = ndjsonCharge(unit.trim());
        if (charge === undefined) return unit;
        this.found = charge;
        return "";
    }
}
