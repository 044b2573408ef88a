// The scalar-field side of ffjavascript's bn128 engine and its ChaCha generator, as snarkjs'
// phase-2 beacon uses them (merges with types/ffjavascript.d.ts).
declare module "ffjavascript" {
    /** ChaCha20-based generator seeded with eight 32-bit words (snarkjs' beacon RNG). */
    export class ChaCha {
        constructor(seed: readonly number[]);
        nextU32(): number;
        nextU64(): bigint;
    }

    /** The scalar field Fr; elements are 32-byte little-endian Montgomery buffers. */
    export interface WasmScalarField extends WasmField<bigint> {
        /** Draws an element as snarkjs does (rejection sampling, the draw read as Montgomery form). */
        fromRng(rng: ChaCha): Uint8Array;
        inv(a: Uint8Array): Uint8Array;
        e(value: bigint | number | string): Uint8Array;
    }

    interface Bn128Engine {
        readonly Fr: WasmScalarField;
    }
}
