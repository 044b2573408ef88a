/** Stable codes of the SDK's errors. */
export type SdkErrorCode =
    /** No account in the store: register a deposit first. */
    | "NOT_REGISTERED"
    | "ALREADY_REGISTERED"
    /** The store holds an account of another identity, registry or chain. */
    | "WRONG_DEPLOYMENT"
    /** The deposit cannot reserve one more ticket, even after folding what is held. */
    | "INSOLVENT"
    /** The account is being withdrawn (or was): no new ticket is taken. */
    | "ACCOUNT_CLOSED"
    /** The deposit is not in the current epoch tree yet (or left it). */
    | "NOT_IN_EPOCH"
    /** A charge or base signature from the gateway failed the protocol's checks. */
    | "INVALID_CHARGE"
    | "INVALID_FOLD_ANSWER"
    /** The gateway refused a request or free call with a code (in `reason`). */
    | "GATEWAY_REJECTED"
    | "GATEWAY_UNREACHABLE"
    /** The gateway claims to have folded a base into another new base than ours: a provider fault. */
    | "PROVIDER_FAULT"
    /** A ticket index was used with another x: the deposit is being slashed (never happens with one identity). */
    | "DOUBLE_SPEND"
    /** Work that needs resolving first (pending tickets, a fold) did not resolve. */
    | "UNRESOLVED"
    | "WITHDRAWAL_PENDING"
    | "WRONG_PASSPHRASE"
    /** The account file is not a v2 account file, or is corrupt. */
    | "BAD_ACCOUNT_FILE"
    /** The request cannot be paid for (body too large, unsupported body type). */
    | "BAD_REQUEST"
    /** The client was closed. */
    | "CLOSED";

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
