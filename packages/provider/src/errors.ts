/** The gateway's refusals (status and reason code) are part of the HTTP protocol: they live in the protocol package. */
export { GatewayError } from "@zk-api-credits/protocol";
