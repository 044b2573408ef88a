import path from "node:path";
import { CircuitProver } from "@zk-api-credits/protocol";

const ARTIFACTS = path.resolve(__dirname, "../../circuits/artifacts");
const cache = new Map<string, CircuitProver>();

/** Names of the committed circuit artifacts (protocol v2 instances). */
export type ArtifactName = "spend-32" | "fold-2" | "withdraw-2-8" | "slash";

/** The prover of a committed circuit artifact (loaded once per test run). */
export function prover(name: ArtifactName): CircuitProver {
    let found = cache.get(name);
    if (found === undefined) {
        const file = (extension: string): string => path.join(ARTIFACTS, `${name}${extension}`);
        found = new CircuitProver({ wasm: file(".wasm"), zkey: file(".zkey"), verificationKey: file(".vkey.json") });
        cache.set(name, found);
    }
    return found;
}
