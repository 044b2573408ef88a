/**
 * How API requests are read and priced (issue 11), in one place for both sides: the gateway
 * charges with it and the SDK recomputes every charge with it. The routes clients call,
 * declared once; how to read and cap each dialect's requests; usage from answers and streams
 * (the upstream's, or counted with the published tokenizer); prices on a grid and the
 * worst-case check against `maxCost`.
 */
export * from "./route";
export * from "./routes";
export * from "./usage";
export * from "./tokenizer";
export * from "./framing";
export * from "./meter";
export * from "./price-table";
export { arrayAt, isJsonObject } from "./json";
export type { JsonObject, JsonValue } from "./json";
