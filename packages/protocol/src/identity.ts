import { assertFieldElement, randomFieldElement } from "./field";
import { poseidon } from "./hash";

/**
 * A user's identity: the secret `k` (never leaves the client) and its public
 * commitment `idc = Poseidon(k)`, registered on-chain with the deposit.
 */
export class Identity {
    readonly secret: bigint;
    readonly commitment: bigint;

    /** Wraps an existing secret, or draws a fresh one from the CSPRNG. */
    constructor(secret: bigint = randomFieldElement()) {
        this.secret = assertFieldElement(secret, "identity secret");
        if (secret === 0n) throw new RangeError("the identity secret must not be zero");
        this.commitment = identityCommitment(secret);
    }

    /** The secret as 0x-prefixed, 32-byte hex (store it encrypted). */
    exportSecret(): string {
        return `0x${this.secret.toString(16).padStart(64, "0")}`;
    }

    /** Inverse of {@link Identity.exportSecret}. */
    static importSecret(hex: string): Identity {
        if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError("an identity secret is 0x followed by 64 hex digits");
        return new Identity(BigInt(hex));
    }
}

/** idc = Poseidon(k). */
export function identityCommitment(secret: bigint): bigint {
    return poseidon([secret]);
}
