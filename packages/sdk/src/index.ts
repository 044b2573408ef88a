export * from "./errors";
export * from "./identity-vault";
export * from "./account-store";
export * from "./registry-sync";
export * from "./ticket";
export * from "./client";
export * from "./openai-proxy";
export * from "./durable-file";
