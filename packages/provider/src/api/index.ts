/**
 * The provider's API surface (issue 11): upstreams that stream, and the routes sold from an
 * upstream and a price table. How requests are read, metered and priced lives below the
 * gateway and the SDK, in `@zk-api-credits/metering` (re-exported here).
 */
export * from "@zk-api-credits/metering";
export * from "./upstreams";
export * from "./gateway-api";
