import type { StreamFraming } from "./route";

/** One framed event: its exact text (relayed as it is) and its fields. */
export interface FramedEvent {
    readonly raw: string;
    /** SSE `event:` name; undefined for NDJSON and unnamed events. */
    readonly event: string | undefined;
    /** SSE `data:` lines joined with newlines, or the NDJSON line; undefined for a block without data (comments, keep-alives). */
    readonly data: string | undefined;
}

/** Splits a decoded text stream into events as they complete. */
export interface EventSplitter {
    push(text: string): FramedEvent[];
    /** The stream ended: what is left (an unterminated SSE event is dropped, as clients drop it). */
    end(): FramedEvent[];
}

const SSE_BOUNDARY = /\r\n\r\n|\n\n|\r\r/g;

/** Parses one SSE block (lines, comments, `event:`, `data:`), per the WHATWG spec. */
function parseSseBlock(raw: string): FramedEvent {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of raw.split(/\r\n|\n|\r/)) {
        if (line.length === 0 || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") event = value;
        else if (field === "data") data.push(value);
    }
    return { raw, event, data: data.length === 0 ? undefined : data.join("\n") };
}

/** Server-sent events: blocks separated by a blank line. */
export class SseSplitter implements EventSplitter {
    private buffer = "";
    private scanned = 0;

    push(text: string): FramedEvent[] {
        this.buffer += text;
        const events: FramedEvent[] = [];
        let start = 0;
        // A boundary is at most 4 characters: resume the search just before the old end.
        SSE_BOUNDARY.lastIndex = Math.max(0, this.scanned - 3);
        for (let match = SSE_BOUNDARY.exec(this.buffer); match !== null; match = SSE_BOUNDARY.exec(this.buffer)) {
            const end = match.index + match[0].length;
            events.push(parseSseBlock(this.buffer.slice(start, end)));
            start = end;
        }
        this.buffer = this.buffer.slice(start);
        this.scanned = this.buffer.length;
        return events;
    }

    end(): FramedEvent[] {
        this.buffer = "";
        return [];
    }
}

/** Newline-delimited JSON: one event per line. */
export class NdjsonSplitter implements EventSplitter {
    private buffer = "";

    push(text: string): FramedEvent[] {
        this.buffer += text;
        const events: FramedEvent[] = [];
        let start = 0;
        for (let newline = this.buffer.indexOf("\n", start); newline !== -1; newline = this.buffer.indexOf("\n", start)) {
            const raw = this.buffer.slice(start, newline + 1);
            start = newline + 1;
            const line = raw.trim();
            events.push({ raw, event: undefined, data: line.length === 0 ? undefined : line });
        }
        this.buffer = this.buffer.slice(start);
        return events;
    }

    end(): FramedEvent[] {
        const line = this.buffer.trim();
        this.buffer = "";
        return line.length === 0 ? [] : [{ raw: line, event: undefined, data: line }];
    }
}

export function splitterFor(framing: StreamFraming): EventSplitter {
    return framing === "sse" ? new SseSplitter() : new NdjsonSplitter();
}
