import { keccak256, toUtf8Bytes, concat, getBytes } from "ethers";
import type { Point } from "@zk-kit/baby-jubjub";
import { TAGS } from "./constants";
import { assertFieldElement } from "./field";
import { poseidon } from "./hash";
import { REQUEST_KEY_BYTES, REQUEST_SIGNATURE_BYTES } from "./request-key";
import type { Signature } from "./signature";

/**
 * The HTTP binding of the protocol, version 2 (docs/http-api.md): how a request carries its
 * ticket, how the answer carries the provider's signed charge, and the free routes (fold,
 * void, look-up). Shared by the SDK and the gateway.
 */
export const HTTP_VERSION = 2;

/** Request header: base64url(JSON(TicketEnvelope)). */
export const TICKET_HEADER = "zkapi-ticket";
/** Response header (or trailer event of a stream): base64url(JSON(ChargeReceipt)). */
export const CHARGE_HEADER = "zkapi-charge";
/** Name of the server-sent event that carries the charge at the end of a stream. */
export const CHARGE_EVENT = "zkapi-charge";
/** Response header with a stable machine-readable reason on errors. */
export const ERROR_CODE_HEADER = "zkapi-error";

/** The gateway's own routes. */
export const GATEWAY_PATHS = {
    fold: "/zkapi/v2/fold",
    void: "/zkapi/v2/void",
    lookup: "/zkapi/v2/tickets/lookup",
    registry: "/zkapi/v2/registry",
    pricing: "/zkapi/v2/pricing",
    stats: "/zkapi/v2/stats"
} as const;

/** The ticket a paid request carries: a Spend proof and what the gateway needs to check it. */
export interface TicketEnvelope {
    readonly version: 2;
    readonly root: bigint;
    readonly context: bigint;
    readonly ticketCommitment: Point<bigint>;
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
    /** The Groth16 proof in verifier order (packProof). */
    readonly proof: readonly bigint[];
    /** epk_i, an Ed25519 public key (x = ephemeralKeyBinding(epk_i)), and its signature of H(request). */
    readonly ephemeralKey: Uint8Array;
    readonly requestSignature: Uint8Array;
}

/** The provider's signed charge of one ticket. */
export interface ChargeReceipt {
    readonly version: 2;
    readonly nullifier: bigint;
    readonly cost: bigint;
    readonly penalty: bigint;
    /** Δ = T + (cost * 2^144 + penalty * 2^48) * G. */
    readonly charge: Point<bigint>;
    readonly signature: Signature;
}

/** A fold: the Fold proof and its public signals (besides context, which must be the gateway's). */
export interface FoldRequest {
    readonly version: 2;
    readonly context: bigint;
    readonly foldNullifier: bigint;
    readonly newBase: Point<bigint>;
    readonly proof: readonly bigint[];
}

/** The gateway's answer to a fold: its base signature on the new base. */
export interface FoldAnswer {
    readonly version: 2;
    readonly foldNullifier: bigint;
    readonly newBase: Point<bigint>;
    readonly signature: Signature;
}

/** A look-up of a ticket's stored charge and response, signed by the ticket's epk. */
export interface LookupRequest {
    readonly version: 2;
    readonly nullifier: bigint;
    readonly ephemeralKey: Uint8Array;
    /** epk's signature of lookupMessage(context, nullifier). */
    readonly signature: Uint8Array;
}

/** A stored HTTP answer (base64 body). */
export interface StoredHttpResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
}

/** What a look-up finds: a ticket still being served, or its charge and stored response. */
export type LookupAnswer =
    | { readonly version: 2; readonly status: "pending" }
    | { readonly version: 2; readonly status: "complete"; readonly charge: ChargeReceipt; readonly response?: StoredHttpResponse };

const REQUEST_DOMAIN = toUtf8Bytes("zk-api-credits/request/v2");

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
    const digest = keccak256(concat([part(REQUEST_DOMAIN), part(toUtf8Bytes(method.toUpperCase())), part(toUtf8Bytes(path)), part(body)]));
    const hash = BigInt(digest) >> 8n;
    return hash === 0n ? 1n : hash;
}

/** What epk signs to look a ticket up: Poseidon(TAG_LOOKUP, context, nullifier). */
export function lookupMessage(context: bigint, nullifier: bigint): bigint {
    return poseidon([TAGS.lookup, context, nullifier]);
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;
const hexPoint = (point: Point<bigint>): string[] => [hex(point[0]), hex(point[1])];
const hexSignature = (signature: Signature): { R8: string[]; S: string } => ({ R8: hexPoint(signature.R8), S: hex(signature.S) });
const hexBytes = (bytes: Uint8Array): string => `0x${Buffer.from(bytes).toString("hex")}`;
const base64url = (value: object): string => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

function ticketJson(ticket: TicketEnvelope): object {
    return {
        version: ticket.version,
        root: hex(ticket.root),
        context: hex(ticket.context),
        ticketCommitment: hexPoint(ticket.ticketCommitment),
        nullifier: hex(ticket.nullifier),
        y: hex(ticket.y),
        x: hex(ticket.x),
        proof: ticket.proof.map(hex),
        ephemeralKey: hexBytes(ticket.ephemeralKey),
        requestSignature: hexBytes(ticket.requestSignature)
    };
}

function chargeJson(charge: ChargeReceipt): object {
    return {
        version: charge.version,
        nullifier: hex(charge.nullifier),
        cost: hex(charge.cost),
        penalty: hex(charge.penalty),
        charge: hexPoint(charge.charge),
        signature: hexSignature(charge.signature)
    };
}

/**
 * The canonical header value of a ticket: base64url of JSON with exactly the envelope's
 * fields, in this order, numbers as lower-case 0x hex without leading zeros. Decoding
 * accepts nothing else, so one ticket has one encoding.
 */
export function encodeTicket(ticket: TicketEnvelope): string {
    return base64url(ticketJson(ticket));
}

/** The canonical header (or event) value of a charge (same rules as {@link encodeTicket}). */
export function encodeCharge(charge: ChargeReceipt): string {
    return base64url(chargeJson(charge));
}

/** JSON bodies of the free routes (numbers as 0x hex). */
export function foldRequestBody(request: FoldRequest): string {
    return JSON.stringify({
        version: request.version,
        context: hex(request.context),
        foldNullifier: hex(request.foldNullifier),
        newBase: hexPoint(request.newBase),
        proof: request.proof.map(hex)
    });
}

export function foldAnswerBody(answer: FoldAnswer): string {
    return JSON.stringify({
        version: answer.version,
        foldNullifier: hex(answer.foldNullifier),
        newBase: hexPoint(answer.newBase),
        signature: hexSignature(answer.signature)
    });
}

export function lookupRequestBody(request: LookupRequest): string {
    return JSON.stringify({
        version: request.version,
        nullifier: hex(request.nullifier),
        ephemeralKey: hexBytes(request.ephemeralKey),
        signature: hexBytes(request.signature)
    });
}

export function lookupAnswerBody(answer: LookupAnswer): string {
    if (answer.status === "pending") return JSON.stringify({ version: 2, status: "pending" });
    return JSON.stringify({ version: 2, status: "complete", charge: encodeCharge(answer.charge), ...(answer.response ? { response: answer.response } : {}) });
}

/** A header value or body that does not parse: carries the stable reason code. */
export class EnvelopeError extends Error {
    constructor(
        readonly code: "MALFORMED_TICKET" | "MALFORMED_CHARGE" | "MALFORMED_BODY" | "UNSUPPORTED_VERSION",
        message: string
    ) {
        super(`${code}: ${message}`);
        this.name = "EnvelopeError";
    }
}

type Json = Record<string, unknown>;
type Code = EnvelopeError["code"];

function field(raw: unknown, name: string, code: Code): bigint {
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(raw)) throw new EnvelopeError(code, `${name} must be 0x hex`);
    try {
        return assertFieldElement(BigInt(raw), name);
    } catch {
        throw new EnvelopeError(code, `${name} is not a canonical field element`);
    }
}

function point(raw: unknown, name: string, code: Code): Point<bigint> {
    if (!Array.isArray(raw) || raw.length !== 2) throw new EnvelopeError(code, `${name} must be [x, y]`);
    return [field(raw[0], `${name}.x`, code), field(raw[1], `${name}.y`, code)];
}

function signature(raw: unknown, name: string, code: Code): Signature {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new EnvelopeError(code, `${name} must be { R8, S }`);
    const { R8, S } = raw as Json;
    return { R8: point(R8, `${name}.R8`, code), S: field(S, `${name}.S`, code) };
}

/** Exactly `length` bytes as lower-case 0x hex (one encoding per value). */
function bytes(raw: unknown, name: string, length: number, code: Code): Uint8Array {
    if (typeof raw !== "string" || raw.length !== 2 + 2 * length || !/^0x[0-9a-f]*$/.test(raw)) throw new EnvelopeError(code, `${name} must be ${length} bytes as lower-case 0x hex`);
    return Uint8Array.from(Buffer.from(raw.slice(2), "hex"));
}

function proofWords(raw: unknown, code: Code): bigint[] {
    if (!Array.isArray(raw) || raw.length !== 8) throw new EnvelopeError(code, "proof must be 8 words");
    return raw.map((word, i) => field(word, `proof[${i}]`, code));
}

function object(parsed: unknown, code: Code): Json {
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new EnvelopeError(code, "not a JSON object");
    const json = parsed as Json;
    if (json.version !== HTTP_VERSION) throw new EnvelopeError("UNSUPPORTED_VERSION", `version ${String(json.version)} is not supported (this is version ${HTTP_VERSION})`);
    return json;
}

function parseBase64Json(value: string, code: Code, maxLength: number): Json {
    if (value.length > maxLength) throw new EnvelopeError(code, `longer than ${maxLength} characters`);
    if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new EnvelopeError(code, "not base64url");
    let parsed: unknown;
    try {
        parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    } catch {
        throw new EnvelopeError(code, "not JSON");
    }
    return object(parsed, code);
}

function parseJsonBody(body: string | Uint8Array, maxLength: number): Json {
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    if (text.length > maxLength) throw new EnvelopeError("MALFORMED_BODY", `longer than ${maxLength} characters`);
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        throw new EnvelopeError("MALFORMED_BODY", "not JSON");
    }
    return object(parsed, "MALFORMED_BODY");
}

function exactKeys(json: Json, keys: readonly string[], code: Code): void {
    const extra = Object.keys(json).filter((k) => !keys.includes(k));
    if (extra.length > 0) throw new EnvelopeError(code, `unexpected field ${extra[0]}`);
}

/** Parses and checks a ticket header (every number canonical, every shape exact, one encoding). */
export function decodeTicket(value: string): TicketEnvelope {
    const code = "MALFORMED_TICKET";
    const json = parseBase64Json(value, code, 8_192);
    const ticket: TicketEnvelope = {
        version: 2,
        root: field(json.root, "root", code),
        context: field(json.context, "context", code),
        ticketCommitment: point(json.ticketCommitment, "ticketCommitment", code),
        nullifier: field(json.nullifier, "nullifier", code),
        y: field(json.y, "y", code),
        x: field(json.x, "x", code),
        proof: proofWords(json.proof, code),
        ephemeralKey: bytes(json.ephemeralKey, "ephemeralKey", REQUEST_KEY_BYTES, code),
        requestSignature: bytes(json.requestSignature, "requestSignature", REQUEST_SIGNATURE_BYTES, code)
    };
    if (encodeTicket(ticket) !== value) throw new EnvelopeError(code, "not the canonical encoding of the ticket");
    return ticket;
}

/** Parses and checks a charge header or event. */
export function decodeCharge(value: string): ChargeReceipt {
    const code = "MALFORMED_CHARGE";
    const json = parseBase64Json(value, code, 4_096);
    const charge: ChargeReceipt = {
        version: 2,
        nullifier: field(json.nullifier, "nullifier", code),
        cost: field(json.cost, "cost", code),
        penalty: field(json.penalty, "penalty", code),
        charge: point(json.charge, "charge", code),
        signature: signature(json.signature, "signature", code)
    };
    if (encodeCharge(charge) !== value) throw new EnvelopeError(code, "not the canonical encoding of the charge");
    return charge;
}

export function parseFoldRequest(body: string | Uint8Array): FoldRequest {
    const code = "MALFORMED_BODY";
    const json = parseJsonBody(body, 4_096);
    exactKeys(json, ["version", "context", "foldNullifier", "newBase", "proof"], code);
    return {
        version: 2,
        context: field(json.context, "context", code),
        foldNullifier: field(json.foldNullifier, "foldNullifier", code),
        newBase: point(json.newBase, "newBase", code),
        proof: proofWords(json.proof, code)
    };
}

export function parseFoldAnswer(body: string | Uint8Array): FoldAnswer {
    const code = "MALFORMED_BODY";
    const json = parseJsonBody(body, 4_096);
    return {
        version: 2,
        foldNullifier: field(json.foldNullifier, "foldNullifier", code),
        newBase: point(json.newBase, "newBase", code),
        signature: signature(json.signature, "signature", code)
    };
}

export function parseLookupRequest(body: string | Uint8Array): LookupRequest {
    const code = "MALFORMED_BODY";
    const json = parseJsonBody(body, 2_048);
    exactKeys(json, ["version", "nullifier", "ephemeralKey", "signature"], code);
    return {
        version: 2,
        nullifier: field(json.nullifier, "nullifier", code),
        ephemeralKey: bytes(json.ephemeralKey, "ephemeralKey", REQUEST_KEY_BYTES, code),
        signature: bytes(json.signature, "signature", REQUEST_SIGNATURE_BYTES, code)
    };
}

export function parseLookupAnswer(body: string | Uint8Array): LookupAnswer {
    const json = parseJsonBody(body, 64 << 20);
    if (json.status === "pending") return { version: 2, status: "pending" };
    if (json.status !== "complete" || typeof json.charge !== "string") throw new EnvelopeError("MALFORMED_BODY", "a look-up answer is pending or complete with a charge");
    const charge = decodeCharge(json.charge);
    const raw = json.response as Json | undefined;
    if (raw === undefined) return { version: 2, status: "complete", charge };
    if (typeof raw.status !== "number" || typeof raw.body !== "string" || raw.headers === null || typeof raw.headers !== "object") {
        throw new EnvelopeError("MALFORMED_BODY", "response must be { status, headers, body }");
    }
    return { version: 2, status: "complete", charge, response: { status: raw.status, headers: raw.headers as Record<string, string>, body: raw.body } };
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
    "TICKET_UNKNOWN",
    "LOOKUP_FORBIDDEN",
    "FOLD_ALREADY_USED",
    "FOLD_CLOSED",
    "RATE_LIMITED",
    "NEW_CLIENTS_THROTTLED",
    "BODY_TOO_LARGE",
    "MALFORMED_BODY",
    "UNSUPPORTED_MEDIA_TYPE",
    "POLICY_VIOLATION",
    "WORST_CASE_EXCEEDS_MAX_COST",
    "UPSTREAM_FAILED",
    "UPSTREAM_TIMEOUT",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "UNAUTHORIZED",
    "BAD_REQUEST"
] as const;

export type GatewayErrorCode = (typeof GATEWAY_ERROR_CODES)[number];

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
