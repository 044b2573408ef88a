import { blake512 } from "@noble/hashes/blake1";
import { Base8, inCurve } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { addPoints, mulPublic, mulSecret, samePoint } from "./babyjub";
import { BABYJUB_SUBORDER, isFieldElement } from "./field";
import { poseidon } from "./hash";
import { stateMessage } from "./state";

/** An EdDSA-Poseidon signature on Baby Jubjub (circomlib's EdDSAPoseidonVerifier format). */
export interface StateSignature {
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
    signMessage(message: bigint): StateSignature {
        const nonce = blake512(Buffer.concat([this.prefix, bigIntToLe32(message)]));
        const r = leToBigInt(nonce) % BABYJUB_SUBORDER;
        const R8 = mulSecret(Base8, r);
        const hm = poseidon([R8[0], R8[1], this.publicKey[0], this.publicKey[1], message]);
        return { R8, S: (r + hm * this.scalar) % BABYJUB_SUBORDER };
    }

    /** Signs a state commitment: EdDSA-Poseidon over Poseidon(C.x, C.y). */
    signState(commitment: Point<bigint>): StateSignature {
        return this.signMessage(stateMessage(commitment));
    }
}

/** The provider's public key, registered in the contract and bound into every proof. */
export function providerPublicKey(privateKey: ProviderPrivateKey): Point<bigint> {
    return new EdDSAPoseidonSigner(privateKey).publicKey;
}

/** The provider signs a state commitment (derives the key each call: keep a signer when signing often). */
export function signState(privateKey: ProviderPrivateKey, commitment: Point<bigint>): StateSignature {
    return new EdDSAPoseidonSigner(privateKey).signState(commitment);
}

/**
 * Checks an EdDSA-Poseidon signature of `message` as circomlib's verifier does:
 * S < l and S·B8 = R8 + Poseidon(R8, A, message)·(8·A). `longLivedKey` caches a window table
 * for the key (the provider's); leave it false for one-time keys.
 */
export function verifySignature(message: bigint, signature: StateSignature, publicKey: Point<bigint>, longLivedKey = false): boolean {
    const points = [signature.R8, publicKey];
    if (!points.every((p) => isFieldElement(p[0]) && isFieldElement(p[1]) && inCurve(p))) return false;
    if (signature.S < 0n || signature.S >= BABYJUB_SUBORDER || !isFieldElement(message)) return false;
    const hm = poseidon([signature.R8[0], signature.R8[1], publicKey[0], publicKey[1], message]);
    const eightA = mulPublic(publicKey, 8n, false);
    const left = mulPublic(Base8, signature.S);
    const right = addPoints(signature.R8, mulPublic(eightA, hm, longLivedKey));
    return samePoint(left, right);
}

/** Checks a provider signature on a state commitment (the client does this on every response). */
export function verifyStateSignature(commitment: Point<bigint>, signature: StateSignature, providerKey: Point<bigint>): boolean {
    if (!isFieldElement(commitment[0]) || !isFieldElement(commitment[1]) || !inCurve(commitment)) return false;
    return verifySignature(stateMessage(commitment), signature, providerKey, true);
}
