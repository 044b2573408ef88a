/**
 * Builds the circuits end to end: circom2 -> r1cs/wasm, Groth16 setup -> zkey, verification
 * key, Solidity verifier, and circuits/artifacts/manifest.json with the SHA-256 of every
 * artifact and of the sources each came from.
 *
 *   npm run circuits:build                  development setup (deterministic, INSECURE)
 *   npm run circuits:check                  fail unless committed artifacts match the sources
 *   npm run circuits:reproduce              regenerate from scratch and compare byte for byte
 *   npm run circuits:build -- --ptau F.ptau --contribute --beacon <hex>   production, see docs/trusted-setup.md
 *   npm run circuits:build -- --phase2 spend-20=ceremony.zkey --ptau F.ptau --beacon <hex>
 *
 * Compilation is cached by the sources' hash (.cache/circuits) and the setup is skipped for
 * a circuit whose sources, ptau and committed artifacts already agree with the manifest.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { zKey } from "snarkjs";
import { ARTIFACTS_DIR, MANIFEST_PATH, VERIFIERS_DIR, loadConfig, packageVersion, relative, CACHE_DIR } from "./circuits/config";
import type { CircuitConfig, CircuitsConfig } from "./circuits/config";
import { compileCircuit } from "./circuits/compile";
import type { CompiledCircuit } from "./circuits/compile";
import { sha256, sha256File } from "./circuits/hashing";
import { artifactMismatches, artifactPath, INSECURE_WARNING, readManifest } from "./circuits/manifest";
import type { CircuitManifest, Manifest } from "./circuits/manifest";
import { constraintCount, devPtau, phase2, ptauIdentity, solidityVerifier, writeAtomic } from "./circuits/setup";
import type { PtauSource } from "./circuits/setup";

interface Options {
    readonly mode: "build" | "check" | "reproduce";
    readonly force: boolean;
    readonly ptau?: string;
    readonly contribute: boolean;
    readonly beacon?: string;
    readonly phase2: Record<string, string>;
    readonly only?: string;
}

function parseArgs(argv: string[]): Options {
    const options: { -readonly [K in keyof Options]: Options[K] } = { mode: "build", force: false, contribute: false, phase2: {} };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = (): string => {
            const next = argv[++i];
            if (next === undefined) throw new Error(`${arg} needs a value`);
            return next;
        };
        if (arg === "--check") options.mode = "check";
        else if (arg === "--reproduce") options.mode = "reproduce";
        else if (arg === "--force") options.force = true;
        else if (arg === "--ptau") options.ptau = path.resolve(value());
        else if (arg === "--contribute") options.contribute = true;
        else if (arg === "--beacon") options.beacon = value();
        else if (arg === "--only") options.only = value();
        else if (arg === "--phase2") {
            const [name, file] = value().split("=");
            if (!name || !file) throw new Error("--phase2 takes <circuit>=<zkey file>");
            options.phase2[name] = path.resolve(file);
        } else throw new Error(`unknown argument ${arg}`);
    }
    const production = options.ptau !== undefined || options.contribute || Object.keys(options.phase2).length > 0;
    if (production && options.beacon === undefined) {
        throw new Error("a production setup needs --beacon <hex>: a public random value fixed after the last contribution");
    }
    if (options.beacon !== undefined && !/^[0-9a-fA-F]{2,128}$/.test(options.beacon)) {
        throw new Error("--beacon takes a hex string");
    }
    return options;
}

const started = Date.now();
function log(message: string): void {
    const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    console.log(`[${seconds}s] ${message}`);
}

function ptauSource(config: CircuitsConfig, options: Options): PtauSource {
    return options.ptau
        ? { kind: "ceremony", file: options.ptau }
        : { kind: "insecure-dev", power: config.ptauPower, beaconHash: config.devBeacon.hash, iterationsExp: config.devBeacon.iterationsExp };
}

async function ptauFile(source: PtauSource, config: CircuitsConfig, cacheDir: string, fresh: boolean): Promise<string> {
    return source.kind === "ceremony" ? source.file : devPtau(config, log, cacheDir, fresh);
}

/** Builds (or confirms up to date) one circuit into `outDir`; returns its manifest entry. */
async function buildCircuit(
    circuit: CircuitConfig,
    config: CircuitsConfig,
    options: Options,
    previous: CircuitManifest | undefined,
    outDir: string,
    verifiersDir: string,
    cacheDir: string = CACHE_DIR
): Promise<CircuitManifest> {
    const compiled: CompiledCircuit = compileCircuit(circuit, config, log, cacheDir);
    const r1csSha = await sha256File(compiled.r1cs);
    const { constraints, publicInputs } = await constraintCount(compiled.r1cs);
    if (constraints + publicInputs + 1 > 2 ** config.ptauPower) {
        throw new Error(`${circuit.name} has ${constraints} constraints: raise ptauPower above ${config.ptauPower}`);
    }
    const source = ptauSource(config, options);
    const production = source.kind === "ceremony" || options.contribute || circuit.name in options.phase2;
    const identity = ptauIdentity(source, source.kind === "ceremony" ? await sha256File(source.file) : undefined);

    if (
        !options.force &&
        !production &&
        previous !== undefined &&
        outDir === ARTIFACTS_DIR &&
        previous.sourcesHash === compiled.sourcesHash &&
        previous.r1cs.sha256 === r1csSha &&
        previous.setup.ptau === identity &&
        (await artifactMismatches(previous)).length === 0
    ) {
        log(`${circuit.name}: setup up to date (${constraints} constraints), nothing to do`);
        return previous;
    }

    const ptau = await ptauFile(source, config, cacheDir, options.mode === "reproduce");
    const ptauSha256 = await sha256File(ptau);
    const workDir = path.join(cacheDir, "setup", circuit.name);
    rmSync(workDir, { recursive: true, force: true });
    const beaconHash = options.beacon ?? sha256(`zk-api-credits/insecure-dev/phase2/${circuit.name}`);
    const setupStarted = Date.now();
    const { zkey, steps } = await phase2(
        circuit,
        compiled.r1cs,
        ptau,
        {
            importedZkey: options.phase2[circuit.name],
            contribute: options.contribute,
            beaconHash,
            beaconIterationsExp: config.devBeacon.iterationsExp
        },
        workDir,
        log
    );
    log(`${circuit.name}: phase 2 done in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);

    const zkeyPath = path.join(outDir, `${circuit.name}.zkey`);
    const wasmPath = path.join(outDir, `${circuit.name}.wasm`);
    const vkeyPath = path.join(outDir, `${circuit.name}.vkey.json`);
    const verifierPath = path.join(verifiersDir, `${circuit.verifierContract}.sol`);
    copyFileSync(zkey, zkeyPath);
    copyFileSync(compiled.wasm, wasmPath);
    const vkey = await zKey.exportVerificationKey(zkeyPath);
    writeAtomic(vkeyPath, `${JSON.stringify(vkey, null, 2)}\n`);
    writeAtomic(verifierPath, await solidityVerifier(circuit, zkeyPath, path.basename(MANIFEST_PATH)));
    rmSync(workDir, { recursive: true, force: true });
    log(`${circuit.name}: wrote ${relative(zkeyPath)}, ${relative(vkeyPath)}, ${relative(verifierPath)}`);

    const record = async (file: string) => ({ path: relative(file), sha256: await sha256File(file) });
    return {
        name: circuit.name,
        instance: circuit.instance,
        compiler: compiled.compiler,
        sources: compiled.sources,
        sourcesHash: compiled.sourcesHash,
        constraints,
        publicSignals: circuit.publicSignals,
        r1cs: { sha256: r1csSha },
        wasm: await record(wasmPath),
        zkey: await record(zkeyPath),
        verificationKey: await record(vkeyPath),
        verifier: { ...(await record(verifierPath)), contract: circuit.verifierContract },
        setup: { ptau: identity, ptauSha256, phase2: steps }
    };
}

async function build(config: CircuitsConfig, options: Options): Promise<void> {
    const previous = readManifest();
    const circuits: Record<string, CircuitManifest> = { ...(previous?.circuits ?? {}) };
    for (const circuit of config.circuits) {
        if (options.only !== undefined && circuit.name !== options.only) continue;
        circuits[circuit.name] = await buildCircuit(circuit, config, options, previous?.circuits[circuit.name], ARTIFACTS_DIR, VERIFIERS_DIR);
    }
    for (const name of Object.keys(circuits)) {
        if (!config.circuits.some((c) => c.name === name)) delete circuits[name];
    }
    const insecure = Object.values(circuits).some((c) => c.setup.ptau.startsWith("insecure-dev"));
    const manifest: Manifest = {
        insecureDevelopmentSetup: insecure,
        warning: insecure ? INSECURE_WARNING : "Production setup: see setup.phase2 of each circuit for its contributions.",
        snarkjs: packageVersion("snarkjs"),
        circuits
    };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    if (previous === undefined || JSON.stringify(previous, null, 2) + "\n" !== text) writeAtomic(MANIFEST_PATH, text);
    log(`manifest: ${relative(MANIFEST_PATH)}${insecure ? " (INSECURE development setup)" : ""}`);
}

/** Fails unless the committed artifacts are exactly what the current sources produce. */
async function check(config: CircuitsConfig): Promise<void> {
    const manifest = readManifest();
    if (manifest === undefined) throw new Error(`${relative(MANIFEST_PATH)} is missing: run npm run circuits:build`);
    const problems: string[] = [];
    for (const circuit of config.circuits) {
        const entry = manifest.circuits[circuit.name];
        if (entry === undefined) {
            problems.push(`${circuit.name}: not in the manifest`);
            continue;
        }
        const compiled = compileCircuit(circuit, config, log);
        if (compiled.sourcesHash !== entry.sourcesHash) {
            const changed = Object.keys({ ...compiled.sources, ...entry.sources }).filter((f) => compiled.sources[f] !== entry.sources[f]);
            problems.push(`${circuit.name}: sources changed since the setup (${changed.join(", ") || "compiler"})`);
        }
        if ((await sha256File(compiled.r1cs)) !== entry.r1cs.sha256) problems.push(`${circuit.name}: the r1cs compiled here differs from the manifest`);
        if ((await sha256File(compiled.wasm)) !== entry.wasm.sha256) problems.push(`${circuit.name}: the wasm compiled here differs from the committed one`);
        if (JSON.stringify(entry.publicSignals) !== JSON.stringify(circuit.publicSignals)) problems.push(`${circuit.name}: public signals changed`);
        problems.push(...(await artifactMismatches(entry)).map((p) => `${circuit.name}: ${p}`));
        if (problems.length === 0) log(`${circuit.name}: artifacts match the sources (${entry.constraints} constraints)`);
    }
    if (manifest.insecureDevelopmentSetup) log(`note: ${INSECURE_WARNING}`);
    if (problems.length > 0) {
        problems.forEach((p) => console.error(`MISMATCH ${p}`));
        throw new Error("circuit artifacts disagree with their sources: run npm run circuits:build and commit the result");
    }
}

/** Regenerates every artifact from nothing (fresh ptau included) and compares byte for byte. */
async function reproduce(config: CircuitsConfig, options: Options): Promise<void> {
    const manifest = readManifest();
    if (manifest === undefined) throw new Error("nothing to reproduce: the manifest is missing");
    // A fresh cache: the compiler and the powers of tau run again from nothing.
    const outDir = mkdtempSync(path.join(os.tmpdir(), "zkapi-reproduce-"));
    const cacheDir = path.join(outDir, "cache");
    const mismatches: string[] = [];
    for (const circuit of config.circuits) {
        const entry = await buildCircuit(circuit, config, { ...options, force: true }, undefined, outDir, outDir, cacheDir);
        const committed = manifest.circuits[circuit.name];
        for (const key of ["wasm", "zkey", "verificationKey", "verifier"] as const) {
            const ok = committed?.[key].sha256 === entry[key].sha256;
            log(`${circuit.name}: ${key} ${ok ? "identical" : "DIFFERENT"} (${entry[key].sha256.slice(0, 16)})`);
            if (!ok) mismatches.push(`${circuit.name} ${key}`);
        }
    }
    const regenerated = await devPtau(config, log, cacheDir, true);
    const ptauHash = await sha256File(regenerated);
    const ptauOk = ptauHash === config.devPtauSha256;
    log(`ptau: regenerated ${ptauOk ? "identical to" : "DIFFERENT from"} the committed one (${ptauHash.slice(0, 16)})`);
    if (!ptauOk) mismatches.push("development powers of tau");
    rmSync(outDir, { recursive: true, force: true });
    if (mismatches.length > 0) throw new Error(`not reproducible: ${mismatches.join(", ")}`);
    log("every artifact was regenerated byte for byte");
}

async function main(): Promise<void> {
    const options = parseArgs(process.argv.slice(2));
    const config = loadConfig();
    if (options.mode === "check") await check(config);
    else if (options.mode === "reproduce") await reproduce(config, options);
    else await build(config, options);
    log("done");
}

main()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
        console.error(error instanceof Error ? error.message : error);
        process.exit(1);
    });

