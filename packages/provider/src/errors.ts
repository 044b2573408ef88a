import type { GatewayErrorCode } from "@zk-api-credits/protocol";

/** A refusal with an HTTP status and a stable reason code (never a 500 for bad input). */
export class GatewayError extends Error {
    constructor(
        readonly status: number,
        readonly code: GatewayErrorCode,
        message: string
    ) {
        super(message);
        this.name = "GatewayError";
    }
}
