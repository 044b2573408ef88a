import { blake512 } from "@noble/hashes/blake1";
import { Base8, inCurve } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { eddsaEquationHolds, isSmallOrder, mulSecret } from "./babyjub";
import { BABYJUB_SUBORDER, isFieldElement } from "./field";
import { poseidon } from "./hash";
import { TAGS } from "./constants";

/** An EdDSA-Poseidon signature on Baby Jubjub (circomlib's EdDSAPoseidonVerifier format). */
export interface Signature {
    readonly R8: Point<bigint>;
    readonly S: bigint;
}

/**
 * A provider signing key: bytes, or a string taken as its UTF-8 bytes (as
 * @zk-kit/eddsa-poseidon takes it; the CLI's key files hold a 0x-hex string).
 */
export type ProviderPrivateKey = Uint8Array | string;

const leToBigInt = (bytes: Uint8Array): bigint => BigInt(`0x${Buffer.from(bytes).reverse().toString("hex") || "0"}`);

function bigIntToLe32(value: bigint): Uint8Array {
    const out = new Uint8Array(32);
    let v = value;
    for (let i = 0; i < 32; i++) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
    }
    return out;
}

/**
 * An EdDSA-Poseidon signer (the provider's, or a one-time request key), key material derived once. It produces exactly the
 * signatures of @zk-kit/eddsa-poseidon (BLAKE-512 key expansion, deterministic nonce
 * r = BLAKE-512(prefix ‖ msg), R8 = r·B8, S = r + Poseidon(R8, A, msg)·s mod l; the tests
 * compare the two bit for bit) on @noble/curves arithmetic, ~25 times faster.
 */
export class EdDSAPoseidonSigner {
    readonly publicKey: Point<bigint>;
    private readonly scalar: bigint;
    private readonly prefix: Uint8Array;

    constructor(privateKey: ProviderPrivateKey) {
        const bytes = typeof privateKey === "string" ? Buffer.from(privateKey, "utf8") : Buffer.from(privateKey);
        const hash = blake512(bytes);
        const pruned = Uint8Array.from(hash.slice(0, 32));
        pruned[0]! &= 0xf8;
        pruned[31]! &= 0x7f;
        pruned[31]! |= 0x40;
        this.scalar = leToBigInt(pruned);
        this.prefix = hash.slice(32, 64);
        this.publicKey = mulSecret(Base8, this.scalar >> 3n);
    }

    /** Signs a field element. */
    signMessage(message: bigint): Signature {
        const nonce = blake512(Buffer.concat([this.prefix, bigIntToLe32(message)]));
        const r = leToBigInt(nonce) % BABYJUB_SUBORDER;
        const R8 = mulSecret(Base8, r);
        const hm = poseidon([R8[0], R8[1], this.publicKey[0], this.publicKey[1], message]);
        return { R8, S: (r + hm * this.scalar) % BABYJUB_SUBORDER };
    }

    /** Signs a base state commitment for the registry with `context` (base tag). */
    signBase(context: bigint, commitment: Point<bigint>): Signature {
        return this.signMessage(baseMessage(context, commitment));
    }

    /** Signs a charge for the registry with `context` (charge tag). */
    signCharge(context: bigint, charge: Point<bigint>): Signature {
        return this.signMessage(chargeMessage(context, charge));
    }
}

/** The provider's public key, registered in the contract and bound into every proof. */
export function providerPublicKey(privateKey: ProviderPrivateKey): Point<bigint> {
    return new EdDSAPoseidonSigner(privateKey).publicKey;
}

/**
 * Checks an EdDSA-Poseidon signature of `message` as circomlib's verifier does:
 * S < l and S·B8 = R8 + Poseidon(R8, A, message)·(8·A). `longLivedKey` caches a window table
 * for the key (the provider's); leave it false for one-time keys.
 */
export function verifySignature(message: bigint, signature: Signature, publicKey: Point<bigint>, longLivedKey = false): boolean {
    if (!isSafePublicKey(publicKey)) return false;
    const R8 = signature.R8;
    if (!isFieldElement(R8[0]) || !isFieldElement(R8[1]) || !inCurve(R8)) return false;
    if (signature.S < 0n || signature.S >= BABYJUB_SUBORDER || !isFieldElement(message)) return false;
    const hm = poseidon([signature.R8[0], signature.R8[1], publicKey[0], publicKey[1], message]);
    return eddsaEquationHolds(Base8, signature.S, signature.R8, publicKey, hm, longLivedKey);
}

/** The message of a base signature: Poseidon(TAG_BASE, context, C.x, C.y). */
export function baseMessage(context: bigint, commitment: Point<bigint>): bigint {
    return poseidon([TAGS.base, context, commitment[0], commitment[1]]);
}

/** The message of a charge signature: Poseidon(TAG_CHARGE, context, Δ.x, Δ.y). */
export function chargeMessage(context: bigint, charge: Point<bigint>): bigint {
    return poseidon([TAGS.charge, context, charge[0], charge[1]]);
}

function isPoint(point: Point<bigint>): boolean {
    return isFieldElement(point[0]) && isFieldElement(point[1]) && inCurve(point);
}


/**
 * True if `publicKey` is usable as an EdDSA key: a canonical point of Baby Jubjub whose
 * cofactor multiple 8*A is not the neutral element. A small-order key (8*A = O) would make
 * S*B8 = R8 + h*8*A hold for any message with R8 = S*B8: every signature would be valid.
 * The registry refuses the same keys.
 */
export function isSafePublicKey(publicKey: Point<bigint>): boolean {
    return isPoint(publicKey) && !isSmallOrder(publicKey);
}

/** Checks a provider signature on a base state commitment of the registry with `context`. */
export function verifyBaseSignature(context: bigint, commitment: Point<bigint>, signature: Signature, providerKey: Point<bigint>): boolean {
    if (!isPoint(commitment) || !isFieldElement(context)) return false;
    return verifySignature(baseMessage(context, commitment), signature, providerKey, true);
}

/** Checks a provider signature on a charge of the registry with `context`. */
export function verifyChargeSignature(context: bigint, charge: Point<bigint>, signature: Signature, providerKey: Point<bigint>): boolean {
    if (!isPoint(charge) || !isFieldElement(context)) return false;
    return verifySignature(chargeMessage(context, charge), signature, providerKey, true);
}
