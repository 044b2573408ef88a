/**
 * An artifact set: a manifest and, per circuit, the wasm, zkey, verification key and Solidity
 * verifier it lists. The committed development set is circuits/artifacts (paths in its manifest
 * are repository-relative; its verifiers are contracts/verifiers); a ceremony's set is any folder
 * written by `scripts/ceremony/ceremony.ts finalize` (paths relative to its manifest).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ARTIFACTS_DIR, ROOT } from "../circuits/config";
import { sha256File } from "../circuits/hashing";
import type { ArtifactRecord, CircuitManifest, Manifest } from "../circuits/manifest";

/** What a ceremony's manifest adds to the development manifest's fields. */
export interface CeremonyRecord {
    /** The phase-1 file the ceremony started from, as checked by SHA-256. */
    readonly ptau: { readonly name: string; readonly sha256: string; readonly power: number };
    /** Who contributed, in order (each circuit's `setup.phase2` lists their hashes). */
    readonly contributors: readonly string[];
    /** The closing beacon: a public random value fixed after the last contribution. */
    readonly beacon: { readonly hash: string; readonly iterationsExp: number };
}

export interface CeremonyManifest extends Manifest {
    readonly insecureDevelopmentSetup: false;
    /** Artifact paths are relative to the manifest's folder, so the set can be moved. */
    readonly pathsRelativeTo: "manifest";
    readonly ceremony: CeremonyRecord;
}

export interface SetCircuit {
    readonly name: string;
    readonly entry: CircuitManifest;
    readonly wasm: string;
    readonly zkey: string;
    readonly verificationKey: string;
    readonly verifier: string;
    readonly verifierContract: string;
}

export interface ArtifactSet {
    readonly dir: string;
    readonly manifest: Manifest | CeremonyManifest;
    readonly insecureDevelopmentSetup: boolean;
    /** Set for a ceremony's set. */
    readonly ceremony?: CeremonyRecord;
    readonly circuits: readonly SetCircuit[];
}

export const DEFAULT_ARTIFACT_SET = ARTIFACTS_DIR;

function isCeremony(manifest: Manifest): manifest is CeremonyManifest {
    return (manifest as Partial<CeremonyManifest>).pathsRelativeTo === "manifest";
}

/** Reads the set in `dir` (its manifest.json) and resolves every artifact's path. */
export function loadArtifactSet(dir: string = DEFAULT_ARTIFACT_SET): ArtifactSet {
    const manifestPath = path.join(dir, "manifest.json");
    if (!existsSync(manifestPath)) throw new Error(`${manifestPath} not found: not an artifact set`);
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
    if (typeof manifest.insecureDevelopmentSetup !== "boolean" || typeof manifest.circuits !== "object") {
        throw new Error(`${manifestPath} is not an artifact manifest`);
    }
    const ceremony = isCeremony(manifest);
    const base = ceremony ? path.resolve(dir) : ROOT;
    const resolve = (record: ArtifactRecord): string => path.resolve(base, record.path);
    const circuits = Object.values(manifest.circuits).map((entry) => ({
        name: entry.name,
        entry,
        wasm: resolve(entry.wasm),
        zkey: resolve(entry.zkey),
        verificationKey: resolve(entry.verificationKey),
        verifier: resolve(entry.verifier),
        verifierContract: entry.verifier.contract
    }));
    return {
        dir: path.resolve(dir),
        manifest,
        insecureDevelopmentSetup: manifest.insecureDevelopmentSetup,
        ...(ceremony ? { ceremony: manifest.ceremony } : {}),
        circuits
    };
}

/** Every artifact of the set whose file is missing or differs from its recorded SHA-256. */
export async function artifactSetMismatches(set: ArtifactSet): Promise<string[]> {
    const problems: string[] = [];
    for (const circuit of set.circuits) {
        for (const [file, record] of [
            [circuit.wasm, circuit.entry.wasm],
            [circuit.zkey, circuit.entry.zkey],
            [circuit.verificationKey, circuit.entry.verificationKey],
            [circuit.verifier, circuit.entry.verifier]
        ] as const) {
            if (!existsSync(file)) problems.push(`${circuit.name}: ${record.path} is missing`);
            else if ((await sha256File(file)) !== record.sha256) problems.push(`${circuit.name}: ${record.path} differs from its SHA-256 in the manifest`);
        }
    }
    return problems;
}

/** The set's circuit by verifier contract name (`SpendVerifier`). */
export function circuitByVerifier(set: ArtifactSet, contract: string): SetCircuit {
    const circuit = set.circuits.find((c) => c.verifierContract === contract);
    if (circuit === undefined) throw new Error(`the artifact set in ${set.dir} has no ${contract}`);
    return circuit;
}
