import { TAGS } from "./constants";
import { ProtocolError } from "./errors";
import { assertFieldElement, SNARK_SCALAR_FIELD } from "./field";
import { poseidon } from "./hash";

/** One point of a ticket's line, as a provider sees it in a request. */
export interface RlnShare {
    readonly x: bigint;
    readonly y: bigint;
}

const mod = (a: bigint): bigint => ((a % SNARK_SCALAR_FIELD) + SNARK_SCALAR_FIELD) % SNARK_SCALAR_FIELD;

function inverse(a: bigint): bigint {
    // Fermat: a^(p-2) mod p, by square-and-multiply.
    let result = 1n;
    let base = mod(a);
    let exponent = SNARK_SCALAR_FIELD - 2n;
    while (exponent > 0n) {
        if (exponent & 1n) result = (result * base) % SNARK_SCALAR_FIELD;
        base = (base * base) % SNARK_SCALAR_FIELD;
        exponent >>= 1n;
    }
    return result;
}

/** The slope and nullifier of ticket `index`: slope = Poseidon(k, scope, index), nullifier = Poseidon(slope). */
export function ticketNullifier(secret: bigint, scope: bigint, index: bigint): { slope: bigint; nullifier: bigint } {
    const slope = poseidon([secret, scope, index]);
    return { slope, nullifier: poseidon([slope]) };
}

/** The share of ticket `index` for request binding x: y = k + slope * x. */
export function rlnShare(secret: bigint, scope: bigint, index: bigint, x: bigint): RlnShare & { nullifier: bigint } {
    assertFieldElement(x, "x");
    const { slope, nullifier } = ticketNullifier(secret, scope, index);
    return { x, y: mod(secret + slope * x), nullifier };
}

/**
 * The fold nullifier of base `folded`: F = Poseidon(TAG_FOLD, k, scope, folded). The gateway
 * records it when it signs the next base, so every base is folded forward once.
 */
export function foldNullifier(secret: bigint, scope: bigint, folded: bigint): bigint {
    return poseidon([TAGS.fold, secret, scope, folded]);
}

/**
 * The secret behind two shares of one ticket (two points of one line):
 *     k = y1 - x1 * (y2 - y1) / (x2 - x1)
 */
export function recoverSecret(first: RlnShare, second: RlnShare): bigint {
    for (const value of [first.x, first.y, second.x, second.y]) assertFieldElement(value, "share coordinate");
    if (first.x === second.x) {
        throw new ProtocolError("INVALID_SHARES", "two shares with the same x do not determine the line");
    }
    const slope = mod((second.y - first.y) * inverse(second.x - first.x));
    return mod(first.y - first.x * slope);
}
