import { GatewayError } from "@zk-api-credits/protocol";

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
    [key: string]: JsonValue;
}

/** The refusal of a body that is not the JSON the route expects (400 MALFORMED_BODY). */
export function malformedBody(message: string): GatewayError {
    return new GatewayError(400, "MALFORMED_BODY", message);
}

export function isJsonObject(value: unknown): value is JsonObject {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses a request body that must be a JSON object. */
export function parseJsonObject(body: Uint8Array): JsonObject {
    let parsed: unknown;
    try {
        parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
    } catch {
        throw malformedBody("the body is not JSON");
    }
    if (!isJsonObject(parsed)) throw malformedBody("the body is not a JSON object");
    return parsed;
}

/** Parses JSON text, or answers undefined (upstream answers are not trusted to be JSON). */
export function tryParseJson(text: string): JsonValue | undefined {
    try {
        return JSON.parse(text) as JsonValue;
    } catch {
        return undefined;
    }
}

/** `object[key]` when it is a JSON object. */
export function objectAt(object: JsonObject, key: string): JsonObject | undefined {
    const value = object[key];
    return isJsonObject(value) ? value : undefined;
}

/** `object[key]` when it is an array. */
export function arrayAt(object: JsonObject, key: string): JsonValue[] | undefined {
    const value = object[key];
    return Array.isArray(value) ? value : undefined;
}

/** `object[key]` when it is a string. */
export function stringAt(object: JsonObject, key: string): string | undefined {
    const value = object[key];
    return typeof value === "string" ? value : undefined;
}

/** The model name every paid route requires. */
export function requireModel(body: JsonObject): string {
    const model = body.model;
    if (typeof model !== "string" || model.length === 0 || model.length > 256) throw malformedBody("model must be a non-empty string of at most 256 characters");
    return model;
}

/** An optional boolean field (`null` reads as absent). */
export function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
    const value = body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw malformedBody(`${key} must be a boolean`);
    return value;
}

/** An optional integer field within [min, max] (`null` reads as absent). */
export function optionalInteger(body: JsonObject, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const value = body[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
        throw malformedBody(`${key} must be an integer from ${min} to ${max}`);
    }
    return value;
}

/** A non-negative safe integer reported by an upstream, or undefined. */
export function tokenCount(value: JsonValue | undefined): number | undefined {
    return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
