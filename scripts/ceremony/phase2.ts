/**
 * The coordinator's side of a Groth16 phase-2 ceremony over this repository's circuits:
 * start each circuit from an externally supplied phase-1 file, accept contributions made
 * elsewhere after verifying each one, close with a public beacon and export a separate artifact
 * set (its own manifest, verification keys and Solidity verifiers). See docs/trusted-setup.md.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";
import { r1cs as r1csInfo, zKey } from "snarkjs";
import { compileCircuit } from "../circuits/compile";
import { loadConfig, packageDir, packageVersion } from "../circuits/config";
import type { CircuitConfig } from "../circuits/config";
import { sha256File } from "../circuits/hashing";
import type { CircuitManifest } from "../circuits/manifest";
import { progressLogger, ptauIdentity, writeAtomic } from "../circuits/setup";
import type { Phase2Step, SnarkLogger } from "../circuits/setup";
import type { CeremonyManifest } from "./artifact-set";
import { circuitDir, circuitFile, fileHashes, latestZkey, ptauPower, readCeremony, readCircuit, writeJson, ceremonyFile } from "./transcript";
import type { CeremonyRecordFile, CircuitRecord, ZkeyRecord } from "./transcript";

export type Log = (message: string) => void;

/** A phase-1 file and the hash its publication gives (at least one of the two). */
export interface PtauExpectation {
    readonly file: string;
    readonly sha256?: string;
    readonly blake2b512?: string;
}

/** Checks the phase-1 file against its published hash; returns its hashes and power. */
export async function checkPtau(expected: PtauExpectation): Promise<CeremonyRecordFile["ptau"]> {
    if (expected.sha256 === undefined && expected.blake2b512 === undefined) {
        throw new Error("give the phase-1 file's published hash (--ptau-sha256 or --ptau-blake2b): an unchecked file could be anyone's");
    }
    if (!existsSync(expected.file)) throw new Error(`phase-1 file ${expected.file} not found`);
    const hashes = await fileHashes(expected.file);
    for (const [kind, want, got] of [
        ["SHA-256", expected.sha256, hashes.sha256],
        ["Blake2b-512", expected.blake2b512, hashes.blake2b512]
    ] as const) {
        if (want !== undefined && want.toLowerCase() !== got) {
            throw new Error(`the phase-1 file ${expected.file} has ${kind} ${got}, not the published ${want.toLowerCase()}: refusing it`);
        }
    }
    return { file: path.resolve(expected.file), ...hashes, power: ptauPower(expected.file) };
}

/** The circuits of circuits/circuits.json, or the named ones. */
export function ceremonyCircuits(names?: readonly string[]): CircuitConfig[] {
    const config = loadConfig();
    if (names === undefined || names.length === 0) return [...config.circuits];
    return names.map((name) => {
        const circuit = config.circuits.find((c) => c.name === name);
        if (circuit === undefined) throw new Error(`no circuit ${name} in circuits/circuits.json`);
        return circuit;
    });
}

/** Starts the ceremony folder: the phase-1 file, checked, and the circuits' list. */
export async function startCeremony(dir: string, ptau: PtauExpectation, circuits: readonly CircuitConfig[], log: Log): Promise<CeremonyRecordFile> {
    if (existsSync(ceremonyFile(dir))) throw new Error(`${dir} already holds a ceremony`);
    const checked = await checkPtau(ptau);
    log(`ptau: ${path.basename(checked.file)} 2^${checked.power}, SHA-256 ${checked.sha256} matches its publication`);
    const record: CeremonyRecordFile = { version: 1, ptau: checked, circuits: circuits.map((c) => c.name) };
    mkdirSync(dir, { recursive: true });
    writeJson(ceremonyFile(dir), record);
    return record;
}

function snarkLogger(prefix: string, log: Log, sink?: (message: string) => void): SnarkLogger {
    const base = progressLogger(prefix, log);
    return { ...base, info: (message) => (sink ? sink(message) : base.info(message)) };
}

/**
 * `zkey new` for one circuit: compile (cached), check it fits the phase-1 file, write the initial
 * zkey. The initial zkey is a deterministic function of the r1cs and the phase-1 file, so with
 * `cacheDir` one computed earlier from the same two files (same SHA-256s) is reused.
 */
export async function initCircuit(dir: string, circuit: CircuitConfig, log: Log, cacheDir?: string): Promise<CircuitRecord> {
    const ceremony = readCeremony(dir);
    const config = loadConfig();
    const compiled = compileCircuit(circuit, config, log);
    const r1csSha256 = await sha256File(compiled.r1cs);
    const info = await r1csInfo.info(compiled.r1cs);
    const needed = Math.ceil(Math.log2(info.nConstraints + info.nPubInputs + info.nOutputs + 1));
    if (needed > ceremony.ptau.power) {
        throw new Error(`${circuit.name} has ${info.nConstraints} constraints: it needs a phase-1 file of 2^${needed}, this one is 2^${ceremony.ptau.power}`);
    }
    const folder = circuitDir(dir, circuit.name);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    const initial = path.join(folder, "0000.zkey");
    const cached = cacheDir && path.join(cacheDir, `${circuit.name}-r1cs-${r1csSha256.slice(0, 16)}-ptau-${ceremony.ptau.sha256.slice(0, 16)}.zkey`);
    const started = Date.now();
    if (cached && existsSync(cached)) {
        copyFileSync(cached, initial);
        log(`${circuit.name}: initial zkey of this r1cs and phase-1 file from ${cached}`);
    } else {
        const csHash = await zKey.newZKey(compiled.r1cs, ceremony.ptau.file, initial, snarkLogger(`${circuit.name}: `, log, () => undefined));
        if (!(csHash instanceof Uint8Array)) throw new Error(`zkey new failed for ${circuit.name}`);
        log(`${circuit.name}: initial zkey in ${((Date.now() - started) / 1000).toFixed(1)} s (${info.nConstraints} constraints)`);
        if (cached) {
            mkdirSync(path.dirname(cached), { recursive: true });
            copyFileSync(initial, `${cached}.tmp`);
            renameSync(`${cached}.tmp`, cached);
        }
    }
    const record: CircuitRecord = {
        name: circuit.name,
        instance: circuit.instance,
        verifierContract: circuit.verifierContract,
        publicSignals: circuit.publicSignals,
        compiler: compiled.compiler,
        sources: compiled.sources,
        sourcesHash: compiled.sourcesHash,
        constraints: info.nConstraints,
        r1csSha256,
        zkeys: [{ file: "0000.zkey", sha256: await sha256File(initial) }]
    };
    writeJson(circuitFile(dir, circuit.name), record);
    return record;
}

/** The circuit's initial zkey (`zkey new` of its r1cs and the phase-1 file), checked unchanged. */
async function initialZkey(dir: string, record: CircuitRecord): Promise<string> {
    const file = path.join(circuitDir(dir, record.name), record.zkeys[0]!.file);
    if ((await sha256File(file)) !== record.zkeys[0]!.sha256) throw new Error(`${file} changed since the ceremony started`);
    return file;
}

/** The compiled r1cs of a circuit of the ceremony, checked against the one it started from. */
function ceremonyR1cs(record: CircuitRecord, log: Log): Promise<string> {
    const config = loadConfig();
    const circuit = config.circuits.find((c) => c.name === record.name);
    if (circuit === undefined) throw new Error(`${record.name} is no longer in circuits/circuits.json`);
    const compiled = compileCircuit(circuit, config, log);
    return sha256File(compiled.r1cs).then((sha) => {
        if (sha !== record.r1csSha256) throw new Error(`${record.name}: the circuit changed since the ceremony started (r1cs ${sha})`);
        return compiled.r1cs;
    });
}

/** One contribution as the verification reports it. */
export interface VerifiedContribution {
    readonly name: string;
    /** snarkjs' contribution hash (Blake2b-512), hex. */
    readonly hash: string;
    readonly beacon?: { readonly hash: string; readonly iterationsExp: number };
}

/**
 * `zkey verify`: checks `zkey` against the r1cs and the phase-1 file. snarkjs' verifyFromR1cs
 * recomputes the initial zkey (`zkey new`) and then runs verifyFromInit; the ceremony computed
 * that initial zkey from the same r1cs and phase-1 file when it started (and checks its hash),
 * so it runs verifyFromInit on it directly: every contribution's proof of knowledge, the
 * transcript, delta, and that the L and H sections follow from the initial ones. Returns the
 * contributions, oldest first.
 */
export async function verifyZkey(initial: string, ptau: string, zkey: string, prefix: string, log: Log): Promise<VerifiedContribution[]> {
    const messages: string[] = [];
    const logger = snarkLogger(prefix, log, (message) => messages.push(message));
    if (!(await zKey.verifyFromInit(initial, ptau, zkey, logger))) throw new Error(`${zkey} does NOT verify against the r1cs and the phase-1 file`);
    const contributions: VerifiedContribution[] = [];
    for (let i = 0; i < messages.length; i++) {
        const match = /^contribution #(\d+) ?(.*):\n([\s\S]*)$/.exec(messages[i]!);
        if (match === null) continue;
        const beaconHash = /^Beacon generator: ([0-9a-f]+)$/.exec(messages[i + 1] ?? "");
        const beaconExp = /^Beacon iterations Exp: (\d+)$/.exec(messages[i + 2] ?? "");
        contributions[Number(match[1]) - 1] = {
            name: match[2]!,
            hash: match[3]!.replace(/\s+/g, ""),
            ...(beaconHash && beaconExp ? { beacon: { hash: beaconHash[1]!, iterationsExp: Number(beaconExp[1]) } } : {})
        };
    }
    if (contributions.some((c) => c === undefined)) throw new Error(`could not read the contributions of ${zkey}`);
    return contributions;
}

export interface AcceptOptions {
    /** The name the contributor announced (checked against the one in the zkey). */
    readonly name?: string;
    /** The contribution hash the contributor published (checked). */
    readonly expectHash?: string;
}

/**
 * Accepts a contributed zkey into a circuit's chain: it must verify against the r1cs and the
 * phase-1 file and hold exactly the accepted contributions plus one new one.
 */
export async function acceptContribution(dir: string, name: string, zkey: string, options: AcceptOptions, log: Log): Promise<ZkeyRecord> {
    const ceremony = readCeremony(dir);
    const record = readCircuit(dir, name);
    await ceremonyR1cs(record, log);
    const started = Date.now();
    const contributions = await verifyZkey(await initialZkey(dir, record), ceremony.ptau.file, zkey, `${name}: `, log);
    const accepted = record.zkeys.flatMap((z) => (z.contribution ? [z.contribution] : []));
    if (contributions.length !== accepted.length + 1) {
        throw new Error(`${zkey} holds ${contributions.length} contributions; the chain has ${accepted.length}, so it must add exactly one`);
    }
    accepted.forEach((c, i) => {
        if (contributions[i]!.hash !== c.hash) throw new Error(`${zkey} does not build on the accepted chain (contribution #${i + 1} differs)`);
    });
    const added = contributions[contributions.length - 1]!;
    if (added.beacon !== undefined) throw new Error(`${zkey} adds a beacon, not a contribution: the beacon closes the ceremony (finalize)`);
    if (options.name !== undefined && options.name !== added.name) throw new Error(`${zkey} was contributed as "${added.name}", not "${options.name}"`);
    if (options.expectHash !== undefined && options.expectHash.replace(/\s+/g, "").toLowerCase() !== added.hash) {
        throw new Error(`${zkey}'s contribution hash is ${added.hash}, not the published ${options.expectHash}`);
    }
    const file = `${String(record.zkeys.length).padStart(4, "0")}.zkey`;
    const target = path.join(circuitDir(dir, name), file);
    copyFileSync(zkey, `${target}.tmp`);
    renameSync(`${target}.tmp`, target);
    const entry: ZkeyRecord = { file, sha256: await sha256File(target), contribution: { name: added.name, hash: added.hash } };
    writeJson(circuitFile(dir, name), { ...record, zkeys: [...record.zkeys, entry] });
    log(`${name}: accepted contribution #${contributions.length} "${added.name}" ${added.hash.slice(0, 16)}… (verified in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return entry;
}

export interface Beacon {
    readonly hash: string;
    readonly iterationsExp: number;
}

/** Where a circuit's files go in the exported set (relative to the set's manifest). */
function setPaths(record: CircuitRecord) {
    return {
        wasm: `${record.name}.wasm`,
        zkey: `${record.name}.zkey`,
        verificationKey: `${record.name}.vkey.json`,
        verifier: `verifiers/${record.verifierContract}.sol`
    };
}

async function solidityVerifier(record: CircuitRecord, zkey: string): Promise<string> {
    const template = readFileSync(path.join(packageDir("snarkjs"), "templates/verifier_groth16.sol.ejs"), "utf8");
    const generated = (await zKey.exportSolidityVerifier(zkey, { groth16: template })) as string;
    if (!generated.includes("contract Groth16Verifier")) throw new Error("unexpected snarkjs verifier template");
    const notice =
        `// Generated by scripts/ceremony/ceremony.ts from ${record.name}.zkey of a phase-2 ceremony; do not edit.\n` +
        `// Public signals, in order: ${record.publicSignals.join(", ")}.\n` +
        "// Setup: see manifest.json next to this folder (phase-1 file, contributions, closing beacon).\n";
    return generated
        .replace("contract Groth16Verifier", `contract ${record.verifierContract}`)
        .replace(/^(\/\/ SPDX-License-Identifier: [^\n]*\n)/, `$1${notice}`);
}

/**
 * Closes one circuit: the beacon on the newest zkey, `zkey verify` of the result against the
 * r1cs and the phase-1 file, and its files in `outDir` (zkey, wasm, verification key,
 * verifier). Returns the circuit's manifest entry (also kept in the ceremony folder).
 */
export async function finalizeCircuit(dir: string, name: string, beacon: Beacon, outDir: string, log: Log): Promise<CircuitManifest> {
    const ceremony = readCeremony(dir);
    const record = readCircuit(dir, name);
    const contributions = record.zkeys.flatMap((z) => (z.contribution ? [z.contribution] : []));
    if (contributions.length === 0) throw new Error(`${name} has no contribution: a ceremony needs at least one independent contributor`);
    const config = loadConfig();
    const circuit = config.circuits.find((c) => c.name === name);
    if (circuit === undefined) throw new Error(`${name} is no longer in circuits/circuits.json`);
    const compiled = compileCircuit(circuit, config, log);
    await ceremonyR1cs(record, log);
    const latest = latestZkey(dir, record);
    if ((await sha256File(latest)) !== record.zkeys[record.zkeys.length - 1]!.sha256) throw new Error(`${latest} changed since it was accepted`);

    const paths = setPaths(record);
    const out = (p: string): string => path.join(outDir, p);
    mkdirSync(path.dirname(out(paths.verifier)), { recursive: true });
    const started = Date.now();
    const beaconHash = await zKey.beacon(latest, `${out(paths.zkey)}.tmp`, "closing beacon", beacon.hash, beacon.iterationsExp, snarkLogger(`${name}: `, log, () => undefined));
    if (!(beaconHash instanceof Uint8Array)) throw new Error(`the beacon failed for ${name} (hash must be hex, 2^10..2^63 iterations)`);
    const verified = await verifyZkey(await initialZkey(dir, record), ceremony.ptau.file, `${out(paths.zkey)}.tmp`, `${name}: `, log);
    if (verified.length !== contributions.length + 1 || verified.some((c, i) => i < contributions.length && c.hash !== contributions[i]!.hash)) {
        throw new Error(`${name}: the final zkey does not carry the accepted contributions`);
    }
    renameSync(`${out(paths.zkey)}.tmp`, out(paths.zkey));
    copyFileSync(compiled.wasm, out(paths.wasm));
    const vkey = await zKey.exportVerificationKey(out(paths.zkey));
    writeAtomic(out(paths.verificationKey), `${JSON.stringify(vkey, null, 2)}\n`);
    writeAtomic(out(paths.verifier), await solidityVerifier(record, out(paths.zkey)));
    log(`${name}: closed with the beacon and verified in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const steps: Phase2Step[] = [
        ...contributions.map((c) => ({ kind: "contribution" as const, name: c.name, hash: c.hash })),
        { kind: "beacon", name: `beacon ${beacon.hash} 2^${beacon.iterationsExp}`, hash: Buffer.from(beaconHash).toString("hex") }
    ];
    const recordFile = async (p: string) => ({ path: p, sha256: await sha256File(out(p)) });
    const entry: CircuitManifest = {
        name,
        instance: record.instance,
        compiler: record.compiler,
        sources: record.sources,
        sourcesHash: record.sourcesHash,
        constraints: record.constraints,
        publicSignals: record.publicSignals,
        r1cs: { sha256: record.r1csSha256 },
        wasm: await recordFile(paths.wasm),
        zkey: await recordFile(paths.zkey),
        verificationKey: await recordFile(paths.verificationKey),
        verifier: { ...(await recordFile(paths.verifier)), contract: record.verifierContract },
        setup: {
            ptau: ptauIdentity({ kind: "ceremony", file: ceremony.ptau.file }, ceremony.ptau.sha256),
            ptauSha256: ceremony.ptau.sha256,
            phase2: steps
        }
    };
    writeJson(path.join(circuitDir(dir, name), "final.json"), entry);
    return entry;
}

/** Writes the set's manifest from the finalized circuits: a ceremony, not the development setup. */
export function writeSetManifest(dir: string, outDir: string, beacon: Beacon): CeremonyManifest {
    const ceremony = readCeremony(dir);
    const circuits: Record<string, CircuitManifest> = {};
    let contributors: string[] | undefined;
    for (const name of ceremony.circuits) {
        const file = path.join(circuitDir(dir, name), "final.json");
        if (!existsSync(file)) throw new Error(`${name} is not finalized`);
        const entry = JSON.parse(readFileSync(file, "utf8")) as CircuitManifest;
        const names = entry.setup.phase2.filter((s) => s.kind === "contribution").map((s) => s.name);
        contributors ??= names;
        if (names.join("\n") !== contributors.join("\n")) throw new Error(`${name}'s contributors differ from the other circuits'`);
        circuits[name] = entry;
    }
    const manifest: CeremonyManifest = {
        insecureDevelopmentSetup: false,
        warning:
            "Phase-2 ceremony: the keys are sound as long as one contributor (see each circuit's setup.phase2) destroyed its entropy " +
            "and the phase-1 file's ceremony had one honest participant.",
        snarkjs: packageVersion("snarkjs"),
        pathsRelativeTo: "manifest",
        ceremony: {
            ptau: { name: path.basename(ceremony.ptau.file), sha256: ceremony.ptau.sha256, power: ceremony.ptau.power },
            contributors: contributors ?? [],
            beacon
        },
        circuits
    };
    writeJson(path.join(outDir, "manifest.json"), manifest);
    return manifest;
}

/**
 * What anyone runs on a published artifact set: compiles the circuit at this commit and checks
 * its r1cs and wasm are the set's, runs snarkjs' full `zkey verify` (verifyFromR1cs: `zkey new`
 * recomputed from the r1cs and the phase-1 file) on the set's zkey, checks the contributions and
 * the beacon it reports are the manifest's, and that the verification key and the Solidity
 * verifier are the ones the zkey gives.
 */
export async function verifySetCircuit(setDir: string, name: string, ptau: string, log: Log): Promise<VerifiedContribution[]> {
    const manifest = JSON.parse(readFileSync(path.join(setDir, "manifest.json"), "utf8")) as CeremonyManifest;
    const entry = manifest.circuits[name];
    if (entry === undefined) throw new Error(`the set in ${setDir} has no circuit ${name}`);
    const config = loadConfig();
    const circuit = config.circuits.find((c) => c.name === name);
    if (circuit === undefined) throw new Error(`${name} is not in circuits/circuits.json at this commit`);
    const compiled = compileCircuit(circuit, config, log);
    const file = (p: string): string => path.join(setDir, p);
    if ((await sha256File(compiled.r1cs)) !== entry.r1cs.sha256) throw new Error(`${name}: the r1cs compiled at this commit is not the set's`);
    if ((await sha256File(file(entry.wasm.path))) !== (await sha256File(compiled.wasm))) throw new Error(`${name}: the set's wasm is not the one compiled here`);
    const messages: string[] = [];
    if (!(await zKey.verifyFromR1cs(compiled.r1cs, ptau, file(entry.zkey.path), snarkLogger(`${name}: `, log, (m) => messages.push(m))))) {
        throw new Error(`${name}: the set's zkey does NOT verify against the r1cs and the phase-1 file`);
    }
    const reported = messages.flatMap((m) => {
        const match = /^contribution #(\d+) ?(.*):\n([\s\S]*)$/.exec(m);
        return match ? [{ index: Number(match[1]), hash: match[3]!.replace(/\s+/g, "") }] : [];
    });
    const hashes = reported.sort((a, b) => a.index - b.index).map((c) => c.hash);
    if (hashes.join() !== entry.setup.phase2.map((s) => s.hash).join()) throw new Error(`${name}: the zkey's contributions are not the manifest's`);
    const vkey = await zKey.exportVerificationKey(file(entry.zkey.path));
    if (JSON.stringify(vkey, null, 2) + "\n" !== readFileSync(file(entry.verificationKey.path), "utf8")) throw new Error(`${name}: the verification key is not the zkey's`);
    const record = { name, publicSignals: entry.publicSignals, verifierContract: entry.verifier.contract } as CircuitRecord;
    if ((await solidityVerifier(record, file(entry.zkey.path))) !== readFileSync(file(entry.verifier.path), "utf8")) {
        throw new Error(`${name}: the Solidity verifier is not the zkey's`);
    }
    log(`${name}: the set's zkey, verification key and verifier check out (${hashes.length - 1} contributions and the beacon)`);
    return entry.setup.phase2.map((s) => ({ name: s.name, hash: s.hash ?? "" }));
}
