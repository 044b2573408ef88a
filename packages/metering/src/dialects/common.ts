import { isJsonObject, malformedBody } from "../json";
import type { JsonObject, JsonValue } from "../json";
import type { ApiRequest, StreamEvent, StreamReader } from "../route";
import type { ReportedUsage } from "../usage";

/** The body of a request after a change: serialised again before it goes upstream. */
export function changed(request: ApiRequest, body: JsonObject, maxOutputTokens: number | undefined): ApiRequest {
    return { ...request, body, modified: true, maxOutputTokens };
}

/** The bytes for the upstream: the client's own while nothing changed. */
export function serialise(request: ApiRequest, body: JsonObject = request.body, modified = request.modified): Buffer {
    return modified ? Buffer.from(JSON.stringify(body)) : request.raw;
}

/** The larger of two optional limits (an upstream may honour either field). */
export function largest(a: number | undefined, b: number | undefined): number | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.max(a, b);
}

/** A `stream_options`-like optional object field. */
export function optionalObject(body: JsonObject, key: string): JsonObject | undefined {
    const value = body[key];
    if (value === undefined || value === null) return undefined;
    if (!isJsonObject(value)) throw malformedBody(`${key} must be an object`);
    return value;
}

/** A non-empty array of objects with a string role (chat messages of every dialect). */
export function requireMessages(body: JsonObject, allowEmpty = false): JsonObject[] {
    const messages = body.messages;
    if (!Array.isArray(messages) || (!allowEmpty && messages.length === 0)) throw malformedBody(`messages must be ${allowEmpty ? "an" : "a non-empty"} array`);
    return messages.map((message) => {
        if (!isJsonObject(message) || typeof message.role !== "string") throw malformedBody("each message must be an object with a string role");
        return message;
    });
}

/** Shared state of the stream readers: reported usage, generated text, completion. */
export abstract class BaseStreamReader implements StreamReader {
    usageFinal = false;
    completed = false;
    failed = false;
    protected inputTokens: number | undefined;
    protected outputTokens: number | undefined;
    private readonly texts: string[] = [];

    abstract read(event: StreamEvent): boolean;

    get usage(): ReportedUsage {
        return { inputTokens: this.inputTokens, outputTokens: this.outputTokens };
    }

    get outputText(): string {
        return this.texts.join("");
    }

    /** Adds generated text (ignores anything that is not a non-empty string). */
    protected text(value: JsonValue | undefined): void {
        if (typeof value === "string" && value.length > 0) this.texts.push(value);
    }
}

/** Appends the strings of `values` (those that are strings) to `into`. */
export function pushText(into: string[], ...values: (JsonValue | undefined)[]): void {
    for (const value of values) if (typeof value === "string" && value.length > 0) into.push(value);
}

/** The reader of a route that never streams (its events carry nothing to meter). */
export class NoStreamReader extends BaseStreamReader {
    read(): boolean {
        return true;
    }
}
