/// <reference path="../../../types/circomlibjs.d.ts" />
import "./pure-js-blake"; // before circomlibjs is loaded
import { usePoseidonBackend } from "@zk-api-credits/protocol";
import type { PoseidonBackend } from "@zk-api-credits/protocol";

/** The backend's name (see poseidonBackend()). */
export const WASM_POSEIDON = "circomlibjs-wasm";

let built: Promise<PoseidonBackend> | undefined;

/**
 * Makes this thread's Poseidon (@zk-api-credits/protocol's `poseidon`) circomlibjs'
 * WebAssembly implementation: about 3.3 times poseidon-lite (5 inputs: 102 against 342 µs,
 * same run, idle machine). The gateway hashes three times per paid request (the request
 * key's binding, the charge message, the signature's challenge), on its event loop and on
 * its signing worker; each calls this once before serving. usePoseidonBackend checks the
 * backend against poseidon-lite on known answers before it is used. The WebAssembly is built
 * once per thread.
 */
export async function useWasmPoseidon(): Promise<void> {
    // Loaded on first use: circomlibjs is large, and only a serving gateway needs it.
    built ??= import("circomlibjs")
        .then(({ buildPoseidon }) => buildPoseidon())
        .then((wasm) => ({ name: WASM_POSEIDON, hash: (inputs: bigint[]) => wasm.F.toObject(wasm(inputs)) }));
    usePoseidonBackend(await built);
}
