/**
 * The provider's API surface (issue 11): the routes clients call, declared once; how to read
 * and cap each dialect's requests; upstreams that stream; metering of answers and streams;
 * prices on a grid and the worst-case check against `maxCost`.
 */
export * from "./route";
export * from "./routes";
export * from "./usage";
export * from "./tokenizer";
export * from "./framing";
export * from "./meter";
export * from "./price-table";
export * from "./upstreams";
export * from "./gateway-api";
export type { JsonObject, JsonValue } from "./json";
