import { keccak256, toUtf8Bytes, concat, getBytes } from "ethers";
import type { Point } from "@zk-kit/baby-jubjub";
import { assertFieldElement } from "./field";
import { poseidon } from "./hash";
import type { StateSignature } from "./signature";

/**
 * The HTTP binding of the protocol, version 1 (docs/http-api.md): how a request carries its
 * ticket and how the response carries the provider's signed receipt.
 */
export const HTTP_VERSION = 1;

/** Request header: base64url(JSON(TicketEnvelope)). */
export const TICKET_HEADER = "zkapi-ticket";
/** Response header: base64url(JSON(Receipt)). */
export const RECEIPT_HEADER = "zkapi-receipt";
/** Response header with a stable machine-readable reason on errors. */
export const ERROR_CODE_HEADER = "zkapi-error";

/** Where a past receipt is served: GET {RECEIPTS_PATH}/{nullifier as 0x hex}. */
export const RECEIPTS_PATH = "/zkapi/v1/receipts";
/** Registry description served by the gateway: GET {REGISTRY_PATH}. */
export const REGISTRY_PATH = "/zkapi/v1/registry";

/** How `x` binds the request. */
export type RequestBinding =
    /** x = H(method, path, body): proved after the request is known. */
    | "request"
    /** x = Poseidon(epk): proved in advance; the request carries epk's signature of H(request). */
    | "ephemeral-key";

/** The ticket a request carries: a Spend proof and what the gateway needs to check it. */
export interface TicketEnvelope {
    readonly version: 1;
    readonly binding: RequestBinding;
    readonly root: bigint;
    readonly context: bigint;
    readonly rerandomisedState: Point<bigint>;
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
    /** The Groth16 proof in verifier order (packProof). */
    readonly proof: readonly bigint[];
    /** For the ephemeral-key binding: the one-time key and its signature of H(request). */
    readonly ephemeralKey?: Point<bigint>;
    readonly requestSignature?: StateSignature;
}

/** The provider's signed result of one ticket. */
export interface Receipt {
    readonly version: 1;
    readonly nullifier: bigint;
    readonly cost: bigint;
    readonly penalty: bigint;
    /** C_new = C' + (cost * 2^144 + penalty * 2^48 + 1) * G. */
    readonly state: Point<bigint>;
    readonly signature: StateSignature;
}

const DOMAIN = toUtf8Bytes("zk-api-credits/request/v1");

/**
 * H(request): keccak256 over a domain tag, the method, the path (with query) and the body,
 * each length-prefixed, reduced to 248 bits so it is a field element. Never zero.
 */
export function requestHash(method: string, path: string, body: Uint8Array): bigint {
    const part = (bytes: Uint8Array): Uint8Array => {
        const length = new Uint8Array(8);
        new DataView(length.buffer).setBigUint64(0, BigInt(bytes.length));
        return getBytes(concat([length, bytes]));
    };
    const digest = keccak256(concat([part(DOMAIN), part(toUtf8Bytes(method.toUpperCase())), part(toUtf8Bytes(path)), part(body)]));
    const hash = BigInt(digest) >> 8n;
    return hash === 0n ? 1n : hash;
}

/** x for the ephemeral-key binding: Poseidon(epk.x, epk.y). */
export function ephemeralKeyBinding(ephemeralKey: Point<bigint>): bigint {
    return poseidon([ephemeralKey[0], ephemeralKey[1]]);
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;
const hexPoint = (point: Point<bigint>): string[] => [hex(point[0]), hex(point[1])];
const hexSignature = (signature: StateSignature): { R8: string[]; S: string } => ({ R8: hexPoint(signature.R8), S: hex(signature.S) });
const base64url = (value: object): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/**
 * The canonical header value of a ticket: base64url of JSON with exactly the envelope's
 * fields, in this order, numbers as lower-case 0x hex without leading zeros. Decoding
 * accepts nothing else, so one ticket has one encoding.
 */
export function encodeTicket(ticket: TicketEnvelope): string {
    return base64url({
        version: ticket.version,
        binding: ticket.binding,
        root: hex(ticket.root),
        context: hex(ticket.context),
        rerandomisedState: hexPoint(ticket.rerandomisedState),
        nullifier: hex(ticket.nullifier),
        y: hex(ticket.y),
        x: hex(ticket.x),
        proof: ticket.proof.map(hex),
        ...(ticket.binding === "ephemeral-key"
            ? { ephemeralKey: hexPoint(ticket.ephemeralKey!), requestSignature: hexSignature(ticket.requestSignature!) }
            : {})
    });
}

/** The canonical header value of a receipt (same rules as {@link encodeTicket}). */
export function encodeReceipt(receipt: Receipt): string {
    return base64url({
        version: receipt.version,
        nullifier: hex(receipt.nullifier),
        cost: hex(receipt.cost),
        penalty: hex(receipt.penalty),
        state: hexPoint(receipt.state),
        signature: hexSignature(receipt.signature)
    });
}

/** The canonical header value of a ticket or a receipt. */
export function encodeHeaderValue(value: TicketEnvelope | Receipt): string {
    return "proof" in value ? encodeTicket(value) : encodeReceipt(value);
}

/** A header value or body that does not parse: carries the stable reason code. */
export class EnvelopeError extends Error {
    constructor(
        readonly code: "MALFORMED_TICKET" | "MALFORMED_RECEIPT" | "UNSUPPORTED_VERSION",
        message: string
    ) {
        super(`${code}: ${message}`);
        this.name = "EnvelopeError";
    }
}

type Json = Record<string, unknown>;

function field(raw: unknown, name: string, code: EnvelopeError["code"]): bigint {
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(raw)) throw new EnvelopeError(code, `${name} must be 0x hex`);
    const value = BigInt(raw);
    try {
        return assertFieldElement(value, name);
    } catch {
        throw new EnvelopeError(code, `${name} is not a canonical field element`);
    }
}

function point(raw: unknown, name: string, code: EnvelopeError["code"]): Point<bigint> {
    if (!Array.isArray(raw) || raw.length !== 2) throw new EnvelopeError(code, `${name} must be [x, y]`);
    return [field(raw[0], `${name}.x`, code), field(raw[1], `${name}.y`, code)];
}

function signature(raw: unknown, name: string, code: EnvelopeError["code"]): StateSignature {
    if (raw === null || typeof raw !== "object") throw new EnvelopeError(code, `${name} must be { R8, S }`);
    const { R8, S } = raw as Json;
    return { R8: point(R8, `${name}.R8`, code), S: field(S, `${name}.S`, code) };
}

function parseJson(value: string, code: EnvelopeError["code"], maxLength: number): Json {
    if (value.length > maxLength) throw new EnvelopeError(code, `longer than ${maxLength} characters`);
    if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new EnvelopeError(code, "not base64url");
    let parsed: unknown;
    try {
        parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    } catch {
        throw new EnvelopeError(code, "not JSON");
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new EnvelopeError(code, "not a JSON object");
    const json = parsed as Json;
    if (json.version !== 1) throw new EnvelopeError("UNSUPPORTED_VERSION", `version ${String(json.version)} is not supported`);
    return json;
}

/** Parses and checks a ticket header (every number canonical, every shape exact). */
export function decodeTicket(value: string): TicketEnvelope {
    const code = "MALFORMED_TICKET";
    const json = parseJson(value, code, 8_192);
    if (json.binding !== "request" && json.binding !== "ephemeral-key") throw new EnvelopeError(code, "binding must be request or ephemeral-key");
    if (!Array.isArray(json.proof) || json.proof.length !== 8) throw new EnvelopeError(code, "proof must be 8 words");
    const proof = json.proof.map((word, i) => field(word, `proof[${i}]`, code));
    const ticket: TicketEnvelope = {
        version: 1,
        binding: json.binding,
        root: field(json.root, "root", code),
        context: field(json.context, "context", code),
        rerandomisedState: point(json.rerandomisedState, "rerandomisedState", code),
        nullifier: field(json.nullifier, "nullifier", code),
        y: field(json.y, "y", code),
        x: field(json.x, "x", code),
        proof
    };
    if (ticket.binding === "ephemeral-key") {
        return canonical(value, {
            ...ticket,
            ephemeralKey: point(json.ephemeralKey, "ephemeralKey", code),
            requestSignature: signature(json.requestSignature, "requestSignature", code)
        });
    }
    if (json.ephemeralKey !== undefined || json.requestSignature !== undefined) {
        throw new EnvelopeError(code, "a request-bound ticket carries no ephemeral key");
    }
    return canonical(value, ticket);
}

/** Rejects any encoding of a ticket but the canonical one (no second spelling of one ticket). */
function canonical(value: string, ticket: TicketEnvelope): TicketEnvelope {
    if (encodeTicket(ticket) !== value) throw new EnvelopeError("MALFORMED_TICKET", "not the canonical encoding of the ticket");
    return ticket;
}

/** Parses and checks a receipt header. */
export function decodeReceipt(value: string): Receipt {
    const code = "MALFORMED_RECEIPT";
    const json = parseJson(value, code, 4_096);
    const receipt: Receipt = {
        version: 1,
        nullifier: field(json.nullifier, "nullifier", code),
        cost: field(json.cost, "cost", code),
        penalty: field(json.penalty, "penalty", code),
        state: point(json.state, "state", code),
        signature: signature(json.signature, "signature", code)
    };
    if (encodeReceipt(receipt) !== value) throw new EnvelopeError(code, "not the canonical encoding of the receipt");
    return receipt;
}

/** Stable reason codes of the gateway's 4xx answers (docs/http-api.md). */
export const GATEWAY_ERROR_CODES = [
    "MISSING_TICKET",
    "MALFORMED_TICKET",
    "UNSUPPORTED_VERSION",
    "WRONG_CONTEXT",
    "UNKNOWN_ROOT",
    "REQUEST_BINDING_MISMATCH",
    "INVALID_REQUEST_SIGNATURE",
    "INVALID_PROOF",
    "TICKET_ALREADY_USED",
    "DOUBLE_SPEND",
    "TICKET_IN_PROGRESS",
    "TICKET_WITHDRAWN",
    "BODY_TOO_LARGE",
    "MALFORMED_BODY",
    "UNSUPPORTED_MEDIA_TYPE",
    "POLICY_VIOLATION",
    "UPSTREAM_FAILED",
    "RECEIPT_NOT_FOUND",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "BAD_REQUEST"
] as const;

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];
