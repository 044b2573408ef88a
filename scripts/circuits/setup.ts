import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { powersOfTau, r1cs as r1csInfo, zKey } from "snarkjs";
import { getCurveFromName } from "ffjavascript";
import { CACHE_DIR, packageDir, relative as relativeToRoot, ROOT } from "./config";
import type { CircuitConfig, CircuitsConfig } from "./config";
import { sha256, sha256File } from "./hashing";

/** What snarkjs logs through; only `info` lines are shown as progress. */
export interface SnarkLogger {
    info(message: string): void;
    debug(message: string): void;
    warn(message: string): void;
    error(message: string): void;
}

export function progressLogger(prefix: string, log: (message: string) => void): SnarkLogger {
    return {
        info: (message) => log(`${prefix}${message}`),
        debug: () => undefined,
        warn: (message) => log(`${prefix}warning: ${message}`),
        error: (message) => log(`${prefix}error: ${message}`)
    };
}

/** Where the phase-1 parameters come from. */
export type PtauSource =
    | { readonly kind: "insecure-dev"; readonly power: number; readonly beaconHash: string; readonly iterationsExp: number }
    | { readonly kind: "ceremony"; readonly file: string };

/** A stable identity of the phase-1 parameters, known without generating them. */
export function ptauIdentity(source: PtauSource, fileHash?: string): string {
    return source.kind === "insecure-dev"
        ? `insecure-dev:2^${source.power}:beacon=${source.beaconHash}:2^${source.iterationsExp}`
        : `ceremony:sha256=${fileHash ?? "?"}`;
}

/** Where the development powers of tau is committed (it stands in for a public phase-1 file). */
export function committedDevPtau(power: number): string {
    return path.join(ROOT, "circuits/ptau", `insecure-dev-${power}.ptau`);
}

/**
 * The deterministic development powers of tau: a fresh accumulator with one beacon
 * contribution, prepared for phase 2. INSECURE: anyone can recompute its toxic waste.
 * The committed copy (circuits/ptau) is used when its SHA-256 is the one recorded in
 * circuits.json; otherwise (or with `fresh`) it is generated into the cache: about 15 minutes
 * for 2^15 on a 2-core machine.
 */
export async function devPtau(
    config: CircuitsConfig,
    log: (message: string) => void,
    cacheDir: string = CACHE_DIR,
    fresh = false
): Promise<string> {
    const power = config.ptauPower;
    const committed = committedDevPtau(power);
    if (!fresh && existsSync(committed)) {
        const hash = await sha256File(committed);
        if (hash === config.devPtauSha256) {
            log(`ptau: insecure dev powers of tau 2^${power} (committed, sha256 ${hash.slice(0, 12)})`);
            return committed;
        }
        log(`ptau: ${relativeToRoot(committed)} has sha256 ${hash.slice(0, 12)}, not the recorded ${String(config.devPtauSha256).slice(0, 12)}: regenerating`);
    }
    const dir = path.join(cacheDir, "ptau");
    const final = path.join(dir, `insecure-dev-${power}-${sha256(JSON.stringify(config.devBeacon)).slice(0, 12)}.ptau`);
    if (existsSync(final)) {
        log(`ptau: insecure dev powers of tau 2^${power} (cached)`);
        return final;
    }
    mkdirSync(dir, { recursive: true });
    const started = Date.now();
    const logger = progressLogger("ptau: ", log);
    const curve = await getCurveFromName("bn128");
    const initial = `${final}.0000`;
    const beacon = `${final}.beacon`;
    log(`ptau: generating the INSECURE development powers of tau 2^${power} (about 15 min for 2^15 on 2 cores)`);
    await powersOfTau.newAccumulator(curve, power, initial, logger);
    await powersOfTau.beacon(initial, beacon, "zk-api-credits insecure dev beacon", config.devBeacon.hash, config.devBeacon.iterationsExp, logger);
    log("ptau: preparing phase 2");
    await powersOfTau.preparePhase2(beacon, `${final}.tmp`, logger);
    renameSync(`${final}.tmp`, final);
    rmSync(initial, { force: true });
    rmSync(beacon, { force: true });
    log(`ptau: ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return final;
}

/** One phase-2 step recorded in the manifest. */
export interface Phase2Step {
    readonly kind: "beacon" | "contribution" | "imported";
    readonly name: string;
    readonly hash?: string;
}

export interface Phase2Options {
    /** A phase-2 zkey contributed elsewhere (a real ceremony), to finish with the beacon. */
    readonly importedZkey?: string;
    /** Add one local contribution with CSPRNG entropy (production, single party). */
    readonly contribute: boolean;
    /** The final beacon: a public random value (e.g. a future block hash) in production. */
    readonly beaconHash: string;
    readonly beaconIterationsExp: number;
}

function hex(bytes: unknown): string | undefined {
    return bytes instanceof Uint8Array ? Buffer.from(bytes).toString("hex") : undefined;
}

/** Runs the Groth16 phase 2 for one circuit and returns the final zkey and the steps taken. */
export async function phase2(
    circuit: CircuitConfig,
    r1cs: string,
    ptau: string,
    options: Phase2Options,
    workDir: string,
    log: (message: string) => void
): Promise<{ zkey: string; steps: Phase2Step[] }> {
    mkdirSync(workDir, { recursive: true });
    const logger = progressLogger(`${circuit.name}: `, log);
    const steps: Phase2Step[] = [];
    let current = path.join(workDir, `${circuit.name}.0000.zkey`);
    if (options.importedZkey) {
        log(`${circuit.name}: checking the imported zkey against the r1cs and ptau`);
        if (!(await zKey.verifyFromR1cs(r1cs, ptau, options.importedZkey, logger))) {
            throw new Error(`${options.importedZkey} is not a valid phase-2 zkey of ${circuit.name} over this ptau`);
        }
        current = options.importedZkey;
        steps.push({ kind: "imported", name: path.basename(options.importedZkey), hash: await sha256File(current) });
    } else {
        log(`${circuit.name}: groth16 setup (phase 2 initialisation)`);
        await zKey.newZKey(r1cs, ptau, current, logger);
    }
    if (options.contribute) {
        const next = path.join(workDir, `${circuit.name}.contributed.zkey`);
        const hash = await zKey.contribute(current, next, "zk-api-credits local contribution", randomBytes(64).toString("hex"), logger);
        steps.push({ kind: "contribution", name: "local CSPRNG contribution", hash: hex(hash) });
        current = next;
    }
    const final = path.join(workDir, `${circuit.name}.zkey`);
    const beaconHash = await zKey.beacon(current, final, "zk-api-credits final beacon", options.beaconHash, options.beaconIterationsExp, logger);
    steps.push({ kind: "beacon", name: `beacon ${options.beaconHash} 2^${options.beaconIterationsExp}`, hash: hex(beaconHash) });
    return { zkey: final, steps };
}

/** Number of constraints, and whether they fit the ptau. */
export async function constraintCount(r1cs: string): Promise<{ constraints: number; publicInputs: number }> {
    const info = await r1csInfo.info(r1cs);
    return { constraints: info.nConstraints, publicInputs: info.nPubInputs + info.nOutputs };
}

/** The Solidity verifier for a zkey, renamed and marked as generated. */
export async function solidityVerifier(circuit: CircuitConfig, zkey: string, manifestName: string): Promise<string> {
    const template = readFileSync(path.join(packageDir("snarkjs"), "templates/verifier_groth16.sol.ejs"), "utf8");
    const generated = (await zKey.exportSolidityVerifier(zkey, { groth16: template })) as string;
    if (!generated.includes("contract Groth16Verifier")) throw new Error("unexpected snarkjs verifier template");
    const notice =
        `// Generated by scripts/build-circuits.ts from circuits/artifacts/${path.basename(zkey)}; do not edit.\n` +
        `// Public signals, in order: ${circuit.publicSignals.join(", ")}.\n` +
        `// Setup: see circuits/artifacts/${manifestName} (the development setup is INSECURE).\n`;
    return generated
        .replace("contract Groth16Verifier", `contract ${circuit.verifierContract}`)
        .replace(/^(\/\/ SPDX-License-Identifier: [^\n]*\n)/, `$1${notice}`);
}

export function writeAtomic(file: string, data: string | Uint8Array): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.tmp`, data);
    renameSync(`${file}.tmp`, file);
}
