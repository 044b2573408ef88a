import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ARTIFACTS_DIR, MANIFEST_PATH, ROOT } from "./config";
import { sha256File } from "./hashing";
import type { Phase2Step } from "./setup";

/** A committed artifact: where it is and its SHA-256. */
export interface ArtifactRecord {
    readonly path: string;
    readonly sha256: string;
}

export interface CircuitManifest {
    readonly name: string;
    readonly instance: string;
    readonly compiler: string;
    /** Every source file the instance includes, transitively, with its SHA-256. */
    readonly sources: Record<string, string>;
    readonly sourcesHash: string;
    readonly constraints: number;
    readonly publicSignals: readonly string[];
    /** The compiled constraint system (rebuilt from the sources, not committed). */
    readonly r1cs: { readonly sha256: string };
    readonly wasm: ArtifactRecord;
    readonly zkey: ArtifactRecord;
    readonly verificationKey: ArtifactRecord;
    readonly verifier: ArtifactRecord & { readonly contract: string };
    readonly setup: {
        readonly ptau: string;
        readonly ptauSha256: string;
        readonly phase2: readonly Phase2Step[];
    };
}

export interface Manifest {
    /** True while any artifact comes from the deterministic development setup. */
    readonly insecureDevelopmentSetup: boolean;
    readonly warning: string;
    readonly snarkjs: string;
    readonly circuits: Record<string, CircuitManifest>;
}

export const INSECURE_WARNING =
    "INSECURE DEVELOPMENT SETUP: the powers of tau and the phase-2 contribution are deterministic beacons, " +
    "so anyone can recompute the toxic waste and forge proofs. Never deploy these keys with real money; " +
    "see docs/trusted-setup.md for the production ceremony.";

export function readManifest(): Manifest | undefined {
    return existsSync(MANIFEST_PATH) ? (JSON.parse(readFileSync(MANIFEST_PATH, "utf8")) as Manifest) : undefined;
}

/** Differences between the committed files and what the manifest records. */
export async function artifactMismatches(entry: CircuitManifest): Promise<string[]> {
    const problems: string[] = [];
    for (const record of [entry.wasm, entry.zkey, entry.verificationKey, entry.verifier]) {
        const file = path.join(ROOT, record.path);
        if (!existsSync(file)) {
            problems.push(`${record.path} is missing`);
        } else if ((await sha256File(file)) !== record.sha256) {
            problems.push(`${record.path} does not match its SHA-256 in the manifest`);
        }
    }
    return problems;
}

export function artifactPath(name: string, extension: string): string {
    return path.join(ARTIFACTS_DIR, `${name}${extension}`);
}
