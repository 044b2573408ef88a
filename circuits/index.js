"use strict";
// Paths of the committed proving artifacts (wasm, zkey, verification key) of each circuit.
const path = require("node:path");

const ARTIFACTS_DIR = path.join(__dirname, "artifacts");
const CIRCUITS = ["spend-32", "fold-2", "withdraw-2-8", "slash"];

function circuitArtifacts(name) {
    if (!CIRCUITS.includes(name)) throw new RangeError(`unknown circuit ${name}; known: ${CIRCUITS.join(", ")}`);
    const file = (extension) => path.join(ARTIFACTS_DIR, `${name}${extension}`);
    return { wasm: file(".wasm"), zkey: file(".zkey"), verificationKey: file(".vkey.json") };
}

module.exports = { ARTIFACTS_DIR, CIRCUITS, circuitArtifacts };
