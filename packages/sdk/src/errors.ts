/** Stable codes of the SDK's errors. */
export type SdkErrorCode =
    | "NOT_REGISTERED"
    | "ALREADY_REGISTERED"
    | "CHECKPOINT_MISMATCH"
    | "TICKET_IN_FLIGHT"
    | "INSOLVENT"
    | "INVALID_RECEIPT"
    | "GATEWAY_REJECTED"
    | "GATEWAY_UNREACHABLE"
    | "WITHDRAWAL_PENDING"
    | "ACCOUNT_CLOSED"
    | "WRONG_PASSPHRASE"
    | "WRONG_DEPLOYMENT";

/** An SDK failure with a stable code; `reason` carries the gateway's code when it refused. */
export class SdkError extends Error {
    constructor(
        readonly code: SdkErrorCode,
        message: string,
        readonly reason?: string
    ) {
        super(`${code}: ${message}`);
        this.name = "SdkError";
    }
}
