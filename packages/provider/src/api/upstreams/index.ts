export * from "./types";
export * from "./http";
export * from "./echo";
export * from "./router";
