import { ED25519_TORSION_SUBGROUP, ed25519 } from "@noble/curves/ed25519";
import { bytesToNumberBE, bytesToNumberLE, hexToBytes, numberToBytesBE } from "@noble/curves/utils";
import { assertFieldElement } from "./field";
import { poseidon } from "./hash";

/**
 * Request keys (epk_i): the one-time key of each ticket, which signs the request the ticket
 * pays for, its retries, its void and its look-ups. They are Ed25519 keys (RFC 8032, on
 * @noble/curves), not Baby Jubjub ones: nothing in a circuit checks these signatures, only the
 * gateway, and Node's crypto checks an Ed25519 signature about five times faster than the
 * EdDSA-Poseidon check it replaced (docs/protocol.md, "What changed from v1", item 16).
 *
 * What a request key signs is a field element (a request hash, a look-up message), as the
 * 32-byte big-endian encoding of that element.
 */

/** Length of a request key's public key (a compressed Edwards25519 point). */
export const REQUEST_KEY_BYTES = 32;
/** Length of a request key's signature (R ‖ S). */
export const REQUEST_SIGNATURE_BYTES = 64;

const TWO_128 = 1n << 128n;

/** The 32-byte big-endian encoding of a field element: what a request key signs. */
export function requestMessageBytes(message: bigint): Uint8Array {
    return numberToBytesBE(assertFieldElement(message, "request message"), 32);
}

/**
 * x for a ticket: Poseidon(hi, lo), the request key's 32 bytes read big-endian as two 128-bit
 * halves (each a field element, so every key has exactly one x).
 */
export function ephemeralKeyBinding(publicKey: Uint8Array): bigint {
    if (publicKey.length !== REQUEST_KEY_BYTES) throw new RangeError(`a request key is ${REQUEST_KEY_BYTES} bytes, not ${publicKey.length}`);
    const value = bytesToNumberBE(publicKey);
    return poseidon([value / TWO_128, value % TWO_128]);
}

/**
 * True if `publicKey` may be a request key: 32 bytes that are the canonical encoding of a
 * point of Edwards25519 (y below p), of more than small order. A small-order key would let
 * anyone sign for it (R = S·B − h·A has a one-in-eight chance per try), so a third party that
 * saw the ticket could re-sign it for another request.
 */
export function isSafeRequestKey(publicKey: Uint8Array): boolean {
    if (publicKey.length !== REQUEST_KEY_BYTES) return false;
    try {
        return !ed25519.Point.fromHex(publicKey, false).isSmallOrder();
    } catch {
        return false;
    }
}

/** Edwards25519's base-field modulus. */
const ED25519_P = 2n ** 255n - 19n;

/** The y coordinate of an encoded point (its top bit, x's sign, cleared; little-endian). */
function encodedY(publicKey: Uint8Array): bigint {
    const y = Uint8Array.from(publicKey);
    y[31]! &= 0x7f;
    return bytesToNumberLE(y);
}

/** The y of each of the eight points of order dividing 8 (a point and its negation share one: five values). */
const SMALL_ORDER_Y = new Set(ED25519_TORSION_SUBGROUP.map((hex) => encodedY(hexToBytes(hex))));

/**
 * isSafeRequestKey's refusals without its curve check: 32 bytes whose y is canonical (below p)
 * and not the y of a small-order point. Only for a checker that then decodes the key itself
 * and refuses a point off the curve, as OpenSSL's Ed25519 verification does (the gateway's,
 * packages/provider/src/request-signature.ts; the tests check that it refuses such keys): the
 * two together refuse exactly what isSafeRequestKey does, without its square root (0.2–0.3
 * ms of the verification worker's time per request under load).
 */
export function hasSafeRequestKeyEncoding(publicKey: Uint8Array): boolean {
    if (publicKey.length !== REQUEST_KEY_BYTES) return false;
    const y = encodedY(publicKey);
    return y < ED25519_P && !SMALL_ORDER_Y.has(y);
}

/**
 * A ticket's request key (Ed25519, RFC 8032), from its 32-byte seed. The SDK derives the seed
 * from the identity secret (requestKeyBytes), so every device holding the identity signs ticket
 * i's requests with the same key.
 */
export class RequestKey {
    readonly publicKey: Uint8Array;

    constructor(private readonly seed: Uint8Array) {
        if (seed.length !== 32) throw new RangeError(`a request key seed is 32 bytes, not ${seed.length}`);
        this.publicKey = ed25519.getPublicKey(seed);
    }

    /** Signs a field element (its 32-byte big-endian encoding): 64 bytes R ‖ S. */
    signMessage(message: bigint): Uint8Array {
        return ed25519.sign(requestMessageBytes(message), this.seed);
    }
}

/**
 * Checks a request key's signature with @noble/curves (RFC 8032 strict: canonical R, S below
 * the group order), refusing unsafe keys. The gateway checks the same signatures with Node's
 * crypto (packages/provider/src/request-signature.ts); this one is for any other JavaScript
 * runtime, and the tests compare the two.
 */
export function verifyRequestSignature(message: bigint, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== REQUEST_SIGNATURE_BYTES || !isSafeRequestKey(publicKey)) return false;
    try {
        return ed25519.verify(signature, requestMessageBytes(message), publicKey, { zip215: false });
    } catch {
        return false;
    }
}
