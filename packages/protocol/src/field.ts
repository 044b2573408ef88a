import { randomBytes } from "node:crypto";
import { subOrder } from "@zk-kit/baby-jubjub";
import { ProtocolError } from "./errors";

/** The BN254 scalar field modulus `p`: every signal of every circuit lives below it. */
export const SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** The order `l` of Baby Jubjub's prime-order subgroup. */
export const BABYJUB_SUBORDER: bigint = subOrder;

/** True if `value` is a canonical field element (`0 <= value < p`). */
export function isFieldElement(value: bigint): boolean {
    return value >= 0n && value < SNARK_SCALAR_FIELD;
}

/** Throws NON_CANONICAL_FIELD_ELEMENT unless `value` is canonical. */
export function assertFieldElement(value: bigint, name: string): bigint {
    if (!isFieldElement(value)) {
        throw new ProtocolError("NON_CANONICAL_FIELD_ELEMENT", `${name} = ${value} is not below the field modulus`);
    }
    return value;
}

/** Throws VALUE_OUT_OF_RANGE unless `0 <= value < 2^bits`. */
export function assertBits(value: bigint, bits: number, name: string): bigint {
    if (value < 0n || value >= 1n << BigInt(bits)) {
        throw new ProtocolError("VALUE_OUT_OF_RANGE", `${name} = ${value} does not fit in ${bits} bits`);
    }
    return value;
}

/** A uniformly random integer in [0, bound), by rejection sampling of CSPRNG output. */
export function randomBelow(bound: bigint): bigint {
    const bits = bound.toString(2).length;
    const bytes = Math.ceil(bits / 8);
    const mask = (1n << BigInt(bits)) - 1n;
    for (;;) {
        const candidate = BigInt(`0x${randomBytes(bytes).toString("hex")}`) & mask;
        if (candidate < bound) return candidate;
    }
}

/** A uniformly random, non-zero field element. */
export function randomFieldElement(): bigint {
    for (;;) {
        const value = randomBelow(SNARK_SCALAR_FIELD);
        if (value !== 0n) return value;
    }
}

/** A uniformly random scalar of Baby Jubjub's subgroup (a blinding factor). */
export function randomScalar(): bigint {
    return randomBelow(BABYJUB_SUBORDER);
}
