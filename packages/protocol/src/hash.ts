import { poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6 } from "poseidon-lite";
import { assertFieldElement } from "./field";

const POSEIDON = [poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6] as const;

/**
 * Poseidon over BN254 with circomlib's parameters (poseidon-lite), for 1 to 6 inputs.
 * Inputs must be canonical field elements: the circuits cannot see anything else.
 */
export function poseidon(inputs: readonly bigint[]): bigint {
    const hash = POSEIDON[inputs.length - 1];
    if (hash === undefined) {
        throw new RangeError(`poseidon takes 1 to ${POSEIDON.length} inputs, not ${inputs.length}`);
    }
    inputs.forEach((input, i) => assertFieldElement(input, `poseidon input ${i}`));
    return hash([...inputs]);
}
