import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/** The repository root (scripts/circuits/ is two levels down). */
export const ROOT = path.resolve(__dirname, "../..");

export interface CircuitConfig {
    /** Artifact base name, by circuit and parameters (`spend-20`). */
    readonly name: string;
    /** The instance file holding `component main`. */
    readonly instance: string;
    /** Name given to the generated Solidity verifier contract. */
    readonly verifierContract: string;
    /** Names of the public signals in the order the verifier takes them. */
    readonly publicSignals: readonly string[];
}

export interface CircuitsConfig {
    readonly ptauPower: number;
    readonly compilerFlags: readonly string[];
    /** npm package -> folder inside it holding .circom files. */
    readonly libraries: Readonly<Record<string, string>>;
    readonly devBeacon: { readonly hash: string; readonly iterationsExp: number };
    /** SHA-256 of the committed development powers of tau (circuits/ptau), checked before use. */
    readonly devPtauSha256?: string;
    readonly circuits: readonly CircuitConfig[];
}

export const CONFIG_PATH = path.join(ROOT, "circuits/circuits.json");
export const ARTIFACTS_DIR = path.join(ROOT, "circuits/artifacts");
export const MANIFEST_PATH = path.join(ARTIFACTS_DIR, "manifest.json");
export const VERIFIERS_DIR = path.join(ROOT, "contracts/verifiers");
export const CACHE_DIR = path.join(ROOT, ".cache");

export function loadConfig(): CircuitsConfig {
    return JSON.parse(readFileSync(CONFIG_PATH, "utf8")) as CircuitsConfig;
}

/** The installed folder of an npm package (found like Node does, upwards from the root). */
export function packageDir(pkg: string): string {
    for (let dir = ROOT; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, "node_modules", pkg);
        if (existsSync(path.join(candidate, "package.json"))) return candidate;
        if (path.dirname(dir) === dir) throw new Error(`npm package ${pkg} is not installed (run npm ci)`);
    }
}

/** Absolute include folders for circom: each library's folder inside its npm package. */
export function libraryDirs(config: CircuitsConfig): string[] {
    return Object.entries(config.libraries).map(([pkg, folder]) => path.join(packageDir(pkg), folder));
}

/** Version of an installed npm package (recorded in the manifest and the cache key). */
export function packageVersion(pkg: string): string {
    const file = path.join(packageDir(pkg), "package.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** Repository-relative path with forward slashes (stable across machines). */
export function relative(file: string): string {
    return path.relative(ROOT, file).split(path.sep).join("/");
}
