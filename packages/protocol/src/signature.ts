import type { Point } from "@zk-kit/baby-jubjub";
import { derivePublicKey, signMessage, verifySignature } from "@zk-kit/eddsa-poseidon";
import { stateMessage, assertPoint } from "./state";
import { assertBits } from "./field";

/** An EdDSA-Poseidon signature on Baby Jubjub (circomlib's EdDSAPoseidonVerifier format). */
export interface StateSignature {
    readonly R8: Point<bigint>;
    readonly S: bigint;
}

/** A provider signing key: 32 bytes (hex or bytes), as @zk-kit/eddsa-poseidon takes it. */
export type ProviderPrivateKey = Uint8Array | string;

/** The provider's public key, registered in the contract and bound into every proof. */
export function providerPublicKey(privateKey: ProviderPrivateKey): Point<bigint> {
    return derivePublicKey(privateKey);
}

/** The provider signs a state commitment: EdDSA-Poseidon over Poseidon(C.x, C.y). */
export function signState(privateKey: ProviderPrivateKey, commitment: Point<bigint>): StateSignature {
    const { R8, S } = signMessage(privateKey, stateMessage(commitment));
    return { R8: [R8[0], R8[1]], S };
}

/** Checks a provider signature on a state commitment (the client does this on every response). */
export function verifyStateSignature(
    commitment: Point<bigint>,
    signature: StateSignature,
    providerKey: Point<bigint>
): boolean {
    try {
        assertPoint(commitment, "commitment");
        assertPoint(signature.R8, "signature.R8");
        assertBits(signature.S, 251, "signature.S");
        return verifySignature(stateMessage(commitment), { R8: signature.R8, S: signature.S }, providerKey);
    } catch {
        return false;
    }
}
