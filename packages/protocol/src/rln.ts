import { assertFieldElement, SNARK_SCALAR_FIELD } from "./field";
import { poseidon } from "./hash";
import { ProtocolError } from "./errors";

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

/** The slope and nullifier of ticket `seq`: slope = Poseidon(k, scope, seq), nullifier = Poseidon(slope). */
export function ticketNullifier(secret: bigint, scope: bigint, seq: bigint): { slope: bigint; nullifier: bigint } {
    const slope = poseidon([secret, scope, seq]);
    return { slope, nullifier: poseidon([slope]) };
}

/** The share of ticket `seq` for request binding x: y = k + slope * x. */
export function rlnShare(secret: bigint, scope: bigint, seq: bigint, x: bigint): RlnShare & { nullifier: bigint } {
    assertFieldElement(x, "x");
    const { slope, nullifier } = ticketNullifier(secret, scope, seq);
    return { x, y: mod(secret + slope * x), nullifier };
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
