import { poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6 } from "poseidon-lite";
import { assertFieldElement } from "./field";

const POSEIDON = [poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6] as const;

/** A Poseidon implementation: 1 to 6 canonical field elements in, the hash out. */
export interface PoseidonBackend {
    readonly name: string;
    hash(inputs: bigint[]): bigint;
}

/** The reference implementation, and the default: poseidon-lite (pure JavaScript, runs anywhere). */
export const POSEIDON_LITE: PoseidonBackend = { name: "poseidon-lite", hash: (inputs) => POSEIDON[inputs.length - 1]!(inputs) };

let backend: PoseidonBackend = POSEIDON_LITE;

/**
 * Poseidon over BN254 with circomlib's parameters, for 1 to 6 inputs: poseidon-lite, or the
 * faster backend installed by usePoseidonBackend (the provider's gateway installs one in
 * WebAssembly). Inputs must be canonical field elements: the circuits cannot see anything else.
 */
export function poseidon(inputs: readonly bigint[]): bigint {
    if (inputs.length < 1 || inputs.length > POSEIDON.length) {
        throw new RangeError(`poseidon takes 1 to ${POSEIDON.length} inputs, not ${inputs.length}`);
    }
    inputs.forEach((input, i) => assertFieldElement(input, `poseidon input ${i}`));
    return backend.hash([...inputs]);
}

/**
 * Known-answer inputs a backend must hash exactly as poseidon-lite does, for every arity:
 * small values, values at the top of the field, and zero.
 */
function knownAnswerInputs(): bigint[][] {
    const top = 21888242871839275222246405745257275088548364400416034343698204186575808495616n; // r - 1
    return POSEIDON.flatMap((_, k) => {
        const n = k + 1;
        return [
            Array.from({ length: n }, (_, i) => BigInt(i + 1)),
            Array.from({ length: n }, (_, i) => top - BigInt(i)),
            Array.from({ length: n }, () => 0n)
        ];
    });
}

/** The backend `poseidon` uses in this thread. */
export function poseidonBackend(): PoseidonBackend {
    return backend;
}

/**
 * Makes `poseidon` use `candidate` from now on (in this thread), after checking that it
 * hashes known-answer inputs of every arity exactly as poseidon-lite does; a backend that
 * disagrees anywhere, or throws, is refused (this throws) and the current one stays.
 */
export function usePoseidonBackend(candidate: PoseidonBackend): void {
    for (const inputs of knownAnswerInputs()) {
        const expected = POSEIDON_LITE.hash([...inputs]);
        const got = candidate.hash([...inputs]);
        if (got !== expected) {
            throw new Error(`the Poseidon backend ${candidate.name} disagrees with poseidon-lite on ${inputs.length} input(s): ${got} instead of ${expected}`);
        }
    }
    backend = candidate;
}
