// The part of circomlibjs (iden3's JavaScript companion of circomlib) this project uses.
declare module "circomlibjs" {
    /** A field element in the backend's own 32-byte (Montgomery) representation. */
    export type PoseidonWasmElement = Uint8Array;

    /** Poseidon in WebAssembly (circomlib's parameters, 1 to 16 inputs). */
    export interface PoseidonWasm {
        (inputs: readonly bigint[]): PoseidonWasmElement;
        readonly F: { toObject(element: PoseidonWasmElement): bigint };
    }

    /** Builds the WebAssembly Poseidon (on a private single-threaded bn128 engine). */
    export function buildPoseidon(): Promise<PoseidonWasm>;
}
