import { verify } from "node:crypto";
import { hasSafeRequestKeyEncoding, REQUEST_SIGNATURE_BYTES, requestMessageBytes } from "@zk-api-credits/protocol";

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * Checks a request key's Ed25519 signature of a field element (a request hash, a look-up
 * message) with Node's crypto (OpenSSL: RFC 8032, S below the group order, R compared as
 * encoded, the key decoded and refused off the curve), after refusing keys whose encoding is
 * not canonical or is that of a small-order point (hasSafeRequestKeyEncoding): together,
 * exactly the keys isSafeRequestKey refuses (tested against it and against @noble/curves'
 * verification). 0.56 ms here, where the Baby Jubjub EdDSA-Poseidon check it replaced took
 * 3.19 ms in the same run (scripts/bench/request-crypto.ts).
 */
export function requestSignatureValid(message: bigint, signature: Uint8Array, publicKey: Uint8Array): boolean {
    if (signature.length !== REQUEST_SIGNATURE_BYTES || !hasSafeRequestKeyEncoding(publicKey)) return false;
    try {
        const bytes = requestMessageBytes(message);
        return verify(null, bytes, { key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: "der", type: "spki" }, signature);
    } catch {
        return false;
    }
}
