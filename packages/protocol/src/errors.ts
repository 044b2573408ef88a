/** Stable codes of the errors this package raises. */
export type ProtocolErrorCode =
    | "NON_CANONICAL_FIELD_ELEMENT"
    | "VALUE_OUT_OF_RANGE"
    | "INVALID_POINT"
    | "INVALID_SHARES"
    | "MISSING_SIGNATURE"
    | "INSOLVENT"
    | "LEAF_NOT_FOUND"
    | "TREE_TOO_DEEP"
    | "CHECKPOINT_MISMATCH"
    | "CHARGE_OUT_OF_TERMS";

/** An input that the protocol rejects, with a stable code for programs to branch on. */
export class ProtocolError extends Error {
    constructor(
        readonly code: ProtocolErrorCode,
        message: string
    ) {
        super(`${code}: ${message}`);
        this.name = "ProtocolError";
    }
}
