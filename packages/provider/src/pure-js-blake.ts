/**
 * Loaded before circomlibjs (poseidon-wasm.ts). circomlibjs' bundle requires `blake-hash`,
 * which loads a prebuilt native addon when it finds one; that addon is not safe on worker
 * threads (the test suite's process crashed with a segmentation fault as verification workers
 * that had loaded it ended). Nothing here uses BLAKE through circomlibjs (its Poseidon only),
 * so `blake-hash` is made the package's own pure-JavaScript implementation, the one it falls
 * back to where no addon is built.
 */
import Module from "node:module";
import path from "node:path";

const circomlibjs = path.dirname(require.resolve("circomlibjs"));
const id = require.resolve("blake-hash", { paths: [circomlibjs] });
const pureJs = new Module(id);
pureJs.filename = id;
pureJs.loaded = true;
pureJs.exports = require(path.join(path.dirname(id), "js.js")) as unknown;
require.cache[id] = pureJs;
