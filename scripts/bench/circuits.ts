/**
 * Circuit benchmark (protocol v2): size and Groth16 proving/verification time of Spend(32, 8),
 * Fold(2), Withdraw(2, 8) and Slash, next to a plain RLN v2 circuit
 * (scripts/bench/rln-yardstick.circom, depth 20, as in v1's report) built and timed the same
 * way as the yardstick, and compared with v1's published figures.
 *
 *   npx ts-node --transpile-only scripts/bench/circuits.ts
 *
 * Env: BENCH_RUNS (warm repetitions; default 10, slash and the yardstick 20),
 *      BENCH_VERIFY_RUNS (default 30), BENCH_COLD_RUNS (fresh processes per circuit, default 3).
 * Writes reports/bench/circuits.json and reports/bench/circuits.md.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { groth16, r1cs as r1csInfo, wtns, zKey } from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import {
    baseBlinding,
    chargePoint,
    commitBase,
    commitTicket,
    ephemeralKeyBinding,
    FOLD_SIZE,
    flattenFoldSignals,
    flattenSlashSignals,
    flattenSpendSignals,
    flattenWithdrawSignals,
    foldBase,
    foldInputs,
    foldPublicSignals,
    Identity,
    randomFieldElement,
    registryContext,
    RegistryTree,
    requestSigner,
    rlnShare,
    slashInputs,
    slashPublicSignals,
    slashReceiverBinding,
    spendInputs,
    spendPublicSignals,
    ticketBlinding,
    TICKET_WINDOW,
    TREE_DEPTH,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { BaseState, ChargeAmounts, CircuitInputs, RegistryBinding, SignedBase, SignedCharge } from "@zk-api-credits/protocol";
import { compileCircuit } from "../circuits/compile";
import { CACHE_DIR, loadConfig } from "../circuits/config";
import type { CircuitConfig, CircuitsConfig } from "../circuits/config";
import { devPtau, phase2, writeAtomic } from "../circuits/setup";
import {
    artifactPaths,
    BenchProvider,
    busyWarning,
    envInt,
    fmtInt,
    fmtMs,
    machineInfo,
    machineMarkdown,
    markdownTable,
    ROOT,
    stats,
    terminateCurve,
    textTable,
    timed,
    writeReport
} from "./common";
import type { CircuitName, MachineInfo, Stats } from "./common";

const CHAIN_ID = 31337n;
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const RECEIVER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const YARDSTICK = "rln-yardstick";
/** Ratio of Spend's to the yardstick's warm proving time the design aims for. */
const RATIO_TARGET = 2;
/** Protocol v1's figures (its reports/bench/circuits.json), to compare v2 with. */
const V1_FIGURES: readonly { circuit: string; comparedWith: string; constraints?: number; warmP50Ms: number; warmP95Ms?: number }[] = [
    { circuit: "spend-20", comparedWith: "spend-32", constraints: 14_624, warmP50Ms: 1_499, warmP95Ms: 1_540 },
    { circuit: "withdraw", comparedWith: "withdraw-2-8", constraints: 7_991, warmP50Ms: 803, warmP95Ms: 861 },
    { circuit: "slash", comparedWith: "slash", constraints: 214, warmP50Ms: 107, warmP95Ms: 125 },
    // The yardstick is the same circuit in v1 and v2: only its timing is compared (machine drift).
    { circuit: YARDSTICK, comparedWith: YARDSTICK, warmP50Ms: 840 }
];

const log = (message: string): void => console.log(`[circuits] ${message}`);

/** Fresh, valid inputs of one proof and the public signals they must give. */
interface ProofCase {
    readonly inputs: CircuitInputs;
    readonly expected: bigint[];
}

interface BenchCircuit {
    readonly name: string;
    readonly wasm: string;
    readonly zkey: string;
    readonly verificationKey: string;
    readonly runs: number;
    /** Public signals the repository declares (circuits.json), if any. */
    readonly declaredPublicSignals?: number;
    r1cs(): Promise<string>;
    next(): ProofCase;
}

// ---------------------------------------------------------------- valid witnesses

/** A member of a small tree (`others` random leaves) with `leafValue` as the second leaf input. */
function member(identity: Identity, leafValue: bigint, others = 64): { tree: RegistryTree; index: number } {
    const tree = new RegistryTree();
    tree.insertMany(Array.from({ length: others }, (_, i) => ({ identityCommitment: new Identity().commitment, deposit: 1_000n + BigInt(i) })));
    const index = tree.insert(identity.commitment, leafValue);
    return { tree, index };
}

/** Signs bases and charges of one registry as the gateway does. */
class BenchSigner {
    readonly registry: RegistryBinding;
    private readonly context: bigint;

    constructor(private readonly provider: BenchProvider) {
        this.registry = provider.binding(CHAIN_ID, REGISTRY);
        this.context = registryContext(this.registry);
    }

    signBase(identity: Identity, base: BaseState): SignedBase {
        const blinding = baseBlinding(identity.secret, this.registry.scope, base.folded);
        return { base, blinding, signature: this.provider.signer.signBase(this.context, commitBase(base, identity.commitment, blinding)) };
    }

    charge(identity: Identity, index: bigint, amounts: ChargeAmounts): SignedCharge {
        const blinding = ticketBlinding(identity.secret, this.registry.scope, index);
        const ticket = commitTicket(index, identity.commitment, blinding);
        return { ...amounts, blinding, signature: this.provider.signer.signCharge(this.context, chargePoint(ticket, amounts.cost, amounts.penalty)) };
    }
}

/**
 * Spend, Fold, Withdraw and Slash proof cases of one account, as a client makes them: each
 * case takes the next base of the account's history (bases 2, 4, …, signed), so every proof has
 * fresh inputs; a Spend proof is the last ticket of the base's window, with its request key.
 */
function protocolCases(): Record<CircuitName, () => ProofCase> {
    const provider = new BenchSigner(new BenchProvider());
    const { registry } = provider;
    const identity = new Identity();
    const secret = identity.secret;
    const deposit = 10_000_000n;
    const { tree, index } = member(identity, deposit);
    const merkleProof = tree.merkleProof(index, TREE_DEPTH);
    const K = BigInt(FOLD_SIZE);
    let folded = 0n;
    /** The next signed base of the account and the K charges beyond it. */
    const next = (): { base: SignedBase; charges: SignedCharge[] } => {
        folded += K;
        const base = provider.signBase(identity, { spent: 700n * folded, burned: folded % 3n === 0n ? 500n : 0n, folded });
        const charges = Array.from({ length: FOLD_SIZE }, (_, s) => provider.charge(identity, folded + BigInt(s), { cost: 300n + BigInt(s), penalty: s === 1 ? 500n : 0n }));
        return { base, charges };
    };
    return {
        "spend-32": () => {
            const { base } = next();
            const ticket = folded + BigInt(TICKET_WINDOW) - 1n;
            const x = ephemeralKeyBinding(requestSigner(secret, registry.scope, ticket).publicKey);
            const witness = { secret, deposit, merkleProof, base, index: ticket, ticketBlinding: ticketBlinding(secret, registry.scope, ticket), registry, x };
            return { inputs: spendInputs(witness), expected: flattenSpendSignals(spendPublicSignals(witness)) };
        },
        "fold-2": () => {
            const { base, charges } = next();
            const newBlinding = baseBlinding(secret, registry.scope, foldBase(base.base, charges).folded);
            const witness = { secret, base, charges, newBlinding, registry };
            return { inputs: foldInputs(witness), expected: flattenFoldSignals(foldPublicSignals(witness)) };
        },
        "withdraw-2-8": () => {
            const { base, charges } = next();
            const declared = Array.from({ length: TICKET_WINDOW }, (_, j) => j % 3 === 1);
            const witness = { secret, base, charges, declared, registry, recipient: BigInt(`0x${randomBytes(20).toString("hex")}`) };
            return { inputs: withdrawInputs(witness), expected: flattenWithdrawSignals(withdrawPublicSignals(witness)) };
        },
        slash: () => {
            const witness = { secret: new Identity().secret, receiverBinding: slashReceiverBinding(CHAIN_ID, REGISTRY, RECEIVER) };
            return { inputs: slashInputs(witness), expected: flattenSlashSignals(slashPublicSignals(witness)) };
        }
    };
}

/** RLN v2 inputs: rateCommitment = Poseidon(idc, limit) is exactly RegistryTree's leaf. */
function rlnCase(): () => ProofCase {
    const identity = new Identity();
    const userMessageLimit = 100n;
    const { tree, index } = member(identity, userMessageLimit);
    // The yardstick keeps v1's depth 20, so its figure compares with v1's report.
    const proof = tree.merkleProof(index, 20);
    return () => {
        const messageId = BigInt(Math.floor(Math.random() * Number(userMessageLimit)));
        const x = randomFieldElement();
        const externalNullifier = randomFieldElement();
        const share = rlnShare(identity.secret, externalNullifier, messageId, x);
        return {
            inputs: {
                identitySecret: identity.secret,
                userMessageLimit,
                messageId,
                merkleProofLength: BigInt(proof.depth),
                merkleProofIndex: proof.index,
                merkleProofSiblings: proof.siblings,
                x,
                externalNullifier
            },
            expected: [share.y, proof.root, share.nullifier, x, externalNullifier]
        };
    };
}

// ---------------------------------------------------------------- the yardstick's keys

const YARDSTICK_CIRCUIT: CircuitConfig = {
    name: YARDSTICK,
    instance: "scripts/bench/rln-yardstick.circom",
    verifierContract: "RlnYardstickVerifier",
    publicSignals: ["y", "root", "nullifier", "x", "externalNullifier"]
};
const BENCH_CACHE = path.join(CACHE_DIR, "bench");

/**
 * Compiles the yardstick (cached by its sources' hash under .cache/bench/circuits) and runs a
 * development Groth16 setup over the cached dev ptau with a zkey beacon, cached beside it.
 */
async function yardstickArtifacts(config: CircuitsConfig, build: boolean): Promise<{ r1cs: string; wasm: string; zkey: string; verificationKey: string }> {
    const compiled = compileCircuit(YARDSTICK_CIRCUIT, config, build ? log : () => undefined, BENCH_CACHE);
    const dir = path.dirname(compiled.r1cs);
    const zkey = path.join(dir, `${YARDSTICK}.zkey`);
    const verificationKey = path.join(dir, `${YARDSTICK}.vkey.json`);
    if (existsSync(zkey) && existsSync(verificationKey)) {
        if (build) log(`${YARDSTICK}: zkey (cached, ${path.relative(ROOT, dir)})`);
    } else {
        if (!build) throw new Error(`${YARDSTICK} has no zkey yet: run the benchmark without --cold first`);
        const ptau = await devPtau(config, log);
        const options = { contribute: false, beaconHash: config.devBeacon.hash, beaconIterationsExp: config.devBeacon.iterationsExp };
        const workDir = path.join(dir, "setup");
        const started = Date.now();
        const quiet = (message: string): void => {
            if (!/Section|Applying key|Processing|Reading/.test(message)) log(message);
        };
        const { zkey: built } = await phase2(YARDSTICK_CIRCUIT, compiled.r1cs, ptau, options, workDir, quiet);
        writeAtomic(verificationKey, `${JSON.stringify(await zKey.exportVerificationKey(built), null, 1)}\n`);
        renameSync(built, zkey);
        rmSync(workDir, { recursive: true, force: true });
        log(`${YARDSTICK}: groth16 setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return { r1cs: compiled.r1cs, wasm: compiled.wasm, zkey, verificationKey };
}

async function benchCircuits(build: boolean): Promise<BenchCircuit[]> {
    const config = loadConfig();
    const runs = (fallback: number): number => envInt("BENCH_RUNS", fallback);
    const cases = protocolCases();
    const circuits: BenchCircuit[] = config.circuits.map((circuit) => {
        const name = circuit.name as CircuitName;
        return {
            name,
            ...artifactPaths(name),
            runs: runs(name === "slash" ? 20 : 10),
            declaredPublicSignals: circuit.publicSignals.length,
            r1cs: async () => compileCircuit(circuit, config, log).r1cs,
            next: cases[name]
        };
    });
    const yardstick = await yardstickArtifacts(config, build);
    circuits.push({ name: YARDSTICK, ...yardstick, runs: runs(20), r1cs: async () => yardstick.r1cs, next: rlnCase() });
    return circuits;
}

// ---------------------------------------------------------------- measurements

/** Child mode: the first proof of a fresh process, reading wasm and zkey from disk. */
async function coldChild(name: string): Promise<void> {
    const circuit = (await benchCircuits(false)).find((c) => c.name === name);
    if (circuit === undefined) throw new Error(`unknown circuit ${name}`);
    const { inputs } = circuit.next();
    const { ms } = await timed(() => groth16.fullProve(inputs, circuit.wasm, circuit.zkey));
    console.log(JSON.stringify({ coldMs: ms }));
}

/** Cold proving time of one fresh process. */
function coldRun(name: string): number {
    const child = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), __filename, "--cold", name], {
        cwd: ROOT,
        encoding: "utf8"
    });
    const last = child.stdout.trim().split("\n").pop() ?? "";
    if (child.status !== 0 || !last.startsWith("{")) throw new Error(`cold run of ${name} failed:\n${child.stdout}\n${child.stderr}`);
    return (JSON.parse(last) as { coldMs: number }).coldMs;
}

/** A circuit with its keys in memory, checked with one warm-up proof. */
interface Loaded {
    readonly circuit: BenchCircuit;
    readonly constraints: number;
    readonly wires: number;
    readonly privateInputs: number;
    readonly publicSignals: number;
    readonly wasm: Uint8Array;
    readonly zkey: Uint8Array;
    readonly vkey: object;
    readonly witnesses: Uint8Array[];
    last: { proof: Groth16Proof; publicSignals: string[] };
}

function sameSignals(actual: readonly string[], expected: readonly bigint[]): boolean {
    return actual.length === expected.length && actual.every((s, i) => BigInt(s) === expected[i]);
}

async function load(circuit: BenchCircuit): Promise<Loaded> {
    const info = await r1csInfo.info(await circuit.r1cs());
    const publicSignals = info.nPubInputs + info.nOutputs;
    if (circuit.declaredPublicSignals !== undefined && circuit.declaredPublicSignals !== publicSignals) {
        throw new Error(`${circuit.name}: the r1cs has ${publicSignals} public signals, circuits.json declares ${circuit.declaredPublicSignals}`);
    }
    log(`${circuit.name}: ${fmtInt(info.nConstraints)} constraints, ${publicSignals} public signals`);
    const wasm = readFileSync(circuit.wasm);
    const zkey = readFileSync(circuit.zkey);
    const vkey = JSON.parse(readFileSync(circuit.verificationKey, "utf8")) as object;
    // Warm-up proof (the first also builds the curve) and a check that the inputs are valid.
    const first = circuit.next();
    const last = await groth16.fullProve(first.inputs, wasm, zkey);
    if (!sameSignals(last.publicSignals, first.expected) || !(await groth16.verify(vkey, last.publicSignals, last.proof))) {
        throw new Error(`${circuit.name}: the benchmark's proof does not verify or has unexpected public signals`);
    }
    const { nConstraints: constraints, nVars: wires, nPrvInputs: privateInputs } = info;
    return { circuit, constraints, wires, privateInputs, publicSignals, wasm, zkey, vkey, witnesses: [], last };
}

/**
 * Runs `task` `runs(circuit)` times per circuit, one circuit after the other in each round,
 * so that a change of machine load affects every circuit alike (the ratios stay fair).
 */
async function roundRobin(loaded: Loaded[], runs: (l: Loaded) => number, task: (l: Loaded, round: number) => Promise<number>): Promise<number[][]> {
    const samples = loaded.map((): number[] => []);
    const rounds = Math.max(...loaded.map(runs));
    for (let round = 0; round < rounds; round++) {
        for (const [i, l] of loaded.entries()) if (round < runs(l)) samples[i]!.push(await task(l, round));
    }
    return samples;
}

interface CircuitResult {
    readonly name: string;
    readonly constraints: number;
    readonly wires: number;
    readonly privateInputs: number;
    readonly publicSignals: number;
    readonly coldFullProveMs: Stats;
    readonly warmFullProveMs: Stats;
    readonly witnessMs: Stats;
    readonly proveOnlyMs: Stats;
    readonly verifyMs: Stats;
    readonly samples: { readonly cold: number[]; readonly warm: number[]; readonly witness: number[]; readonly prove: number[]; readonly verify: number[] };
}

async function measureAll(circuits: BenchCircuit[], coldCount: number, verifyRuns: number): Promise<CircuitResult[]> {
    const loaded: Loaded[] = [];
    for (const circuit of circuits) loaded.push(await load(circuit));
    const runs = (l: Loaded): number => l.circuit.runs;

    log(`cold: ${coldCount} fresh process(es) per circuit`);
    const cold = await roundRobin(loaded, () => coldCount, async (l) => coldRun(l.circuit.name));

    log(`warm fullProve: ${loaded.map((l) => `${l.circuit.name} × ${runs(l)}`).join(", ")}`);
    const warm = await roundRobin(loaded, runs, async (l) => {
        const { inputs } = l.circuit.next();
        return (await timed(() => groth16.fullProve(inputs, l.wasm, l.zkey))).ms;
    });

    log("witness (wtns.calculate) and prove-only (groth16.prove on those witnesses)");
    const witness = await roundRobin(loaded, runs, async (l) => {
        const { inputs } = l.circuit.next();
        const file: { type: "mem"; data?: Uint8Array } = { type: "mem" };
        const { ms } = await timed(() => wtns.calculate(inputs, l.wasm, file));
        l.witnesses.push(file.data!);
        return ms;
    });
    const prove = await roundRobin(loaded, runs, async (l, round) => {
        const { ms, value } = await timed(() => groth16.prove(l.zkey, l.witnesses[round]!));
        l.last = value;
        return ms;
    });

    log(`verify: ${verifyRuns} per circuit`);
    const verify = await roundRobin(loaded, () => verifyRuns, async (l) => {
        const { ms, value: valid } = await timed(() => groth16.verify(l.vkey, l.last.publicSignals, l.last.proof));
        if (!valid) throw new Error(`${l.circuit.name}: a proof did not verify`);
        return ms;
    });

    return loaded.map((l, i) => {
        const samples = { cold: cold[i]!, warm: warm[i]!, witness: witness[i]!, prove: prove[i]!, verify: verify[i]! };
        return {
            name: l.circuit.name,
            constraints: l.constraints,
            wires: l.wires,
            privateInputs: l.privateInputs,
            publicSignals: l.publicSignals,
            coldFullProveMs: stats(samples.cold),
            warmFullProveMs: stats(samples.warm),
            witnessMs: stats(samples.witness),
            proveOnlyMs: stats(samples.prove),
            verifyMs: stats(samples.verify),
            samples
        };
    });
}

// ---------------------------------------------------------------- report

function report(results: CircuitResult[], machine: MachineInfo): void {
    // The machine may have been quiet when the benchmark started and busy by its end.
    const loadAtEnd = Math.round(os.loadavg()[0]! * 100) / 100;
    const warning =
        busyWarning(machine) ??
        (loadAtEnd >= machine.cpus / 2 ? `Caution: the machine was busy when this benchmark ended (1-minute load ${loadAtEnd} on ${machine.cpus} CPUs); timings may be inflated.` : undefined);
    if (warning !== undefined) log(warning);
    const headers = [
        "circuit",
        "constraints",
        "public",
        "cold fullProve",
        "warm p50",
        "warm p95",
        "warm min–max",
        "witness p50",
        "prove-only p50",
        "verify p50",
        "verify p95",
        "runs"
    ];
    const rows = results.map((r) => [
        r.name,
        fmtInt(r.constraints),
        String(r.publicSignals),
        `${fmtMs(r.coldFullProveMs.median)} (n=${r.coldFullProveMs.n})`,
        fmtMs(r.warmFullProveMs.p50),
        fmtMs(r.warmFullProveMs.p95),
        `${fmtMs(r.warmFullProveMs.min)}–${fmtMs(r.warmFullProveMs.max)}`,
        fmtMs(r.witnessMs.p50),
        fmtMs(r.proveOnlyMs.p50),
        fmtMs(r.verifyMs.p50),
        fmtMs(r.verifyMs.p95),
        `${r.warmFullProveMs.n}/${r.verifyMs.n}`
    ]);
    const find = (name: string): CircuitResult => {
        const found = results.find((r) => r.name === name);
        if (found === undefined) throw new Error(`no result for ${name}`);
        return found;
    };
    const spend = find("spend-32");
    const fold = find("fold-2");
    const rln = find(YARDSTICK);
    const ratio = {
        fullProve: spend.warmFullProveMs.p50 / rln.warmFullProveMs.p50,
        proveOnly: spend.proveOnlyMs.p50 / rln.proveOnlyMs.p50,
        witness: spend.witnessMs.p50 / rln.witnessMs.p50,
        constraints: spend.constraints / rln.constraints
    };
    const verdict = ratio.fullProve <= RATIO_TARGET ? "met" : `missed by ${(ratio.fullProve - RATIO_TARGET).toFixed(2)}`;
    // A request costs the client one Spend proof, and one K-th of a Fold proof in the background.
    const perRequestMs = spend.warmFullProveMs.p50 + fold.warmFullProveMs.p50 / FOLD_SIZE;
    const ratioLine =
        `Spend/RLN warm proving-time ratio (p50 fullProve): ${ratio.fullProve.toFixed(2)} (target ≤ ${RATIO_TARGET}: ${verdict}); ` +
        `prove-only ${ratio.proveOnly.toFixed(2)}, witness ${ratio.witness.toFixed(2)}, constraints ${ratio.constraints.toFixed(2)}. ` +
        `Client proving per request (Spend + Fold/${FOLD_SIZE}, warm p50): ${fmtMs(perRequestMs)} ms.`;

    // v1 against v2. v1's figures come from its report, measured on another machine; the
    // yardstick (the same circuit in both runs) scales them to this one: v1 × (yardstick now /
    // yardstick then), so the last column compares like with like.
    const v1Yardstick = V1_FIGURES.find((v1) => v1.circuit === YARDSTICK)!.warmP50Ms;
    const machineScale = find(YARDSTICK).warmFullProveMs.p50 / v1Yardstick;
    const v1Rows = V1_FIGURES.map((v1) => {
        const v2 = find(v1.comparedWith);
        const scaled = v1.warmP50Ms * machineScale;
        return [
            `${v1.circuit} → ${v1.comparedWith}`,
            v1.constraints === undefined ? `${fmtInt(v2.constraints)} (same circuit)` : `${fmtInt(v1.constraints)} → ${fmtInt(v2.constraints)}`,
            `${fmtMs(v1.warmP50Ms)} → ${fmtMs(v2.warmFullProveMs.p50)}`,
            v1.warmP95Ms === undefined ? "–" : `${fmtMs(v1.warmP95Ms)} → ${fmtMs(v2.warmFullProveMs.p95)}`,
            `${fmtMs(scaled)} → ${fmtMs(v2.warmFullProveMs.p50)} (×${(v2.warmFullProveMs.p50 / scaled).toFixed(2)})`
        ];
    });
    const v1Headers = ["v1 → v2", "constraints", "warm p50 (ms, as reported)", "warm p95 (ms, as reported)", "warm p50, v1 scaled to this machine"];

    console.log(`\n${textTable(headers, rows)}\n\n${ratioLine}\n\n${textTable(v1Headers, v1Rows)}\n`);
    const markdown = [
        "## Circuits",
        "",
        machineMarkdown(machine),
        "",
        ...(warning === undefined ? [] : [warning, ""]),
        "Times in milliseconds. Cold: median of fresh processes, each timing its first `groth16.fullProve` " +
            "(reading wasm and zkey from disk and building the curve). Warm: wasm and zkey in memory, fresh valid inputs per proof. " +
            "Witness: `wtns.calculate`; prove-only: `groth16.prove` on a precomputed witness; verify: `groth16.verify` with the vkey in memory. " +
            `\`${YARDSTICK}\` is a plain RLN v2 circuit (depth-20 BinaryMerkleRoot, as in v1's report) built by the benchmark as the yardstick.`,
        "",
        markdownTable(headers, rows),
        "",
        ratioLine,
        "",
        `Against protocol v1: v1's published figures (its machine), and scaled to this machine by the yardstick (×${machineScale.toFixed(2)}: the same RLN circuit took ${fmtMs(v1Yardstick)} ms there).`,
        "",
        markdownTable(v1Headers, v1Rows),
        ""
    ].join("\n");
    const comparison = V1_FIGURES.map((v1) => {
        const v2 = find(v1.comparedWith);
        return { ...v1, scaledToThisMachineP50Ms: v1.warmP50Ms * machineScale, v2: { constraints: v2.constraints, warmP50Ms: v2.warmFullProveMs.p50, warmP95Ms: v2.warmFullProveMs.p95 } };
    });
    const files = writeReport(
        "circuits",
        { machine, loadAtEnd, ratio: { ...ratio, target: RATIO_TARGET, met: ratio.fullProve <= RATIO_TARGET }, perRequestMs, circuits: results, v1: comparison },
        markdown
    );
    log(`wrote ${files.json} and ${files.md}`);
}

async function main(): Promise<void> {
    const coldAt = process.argv.indexOf("--cold");
    if (coldAt >= 0) return coldChild(process.argv[coldAt + 1] ?? "");
    const coldCount = envInt("BENCH_COLD_RUNS", 3);
    const verifyRuns = envInt("BENCH_VERIFY_RUNS", 30);
    const machine = machineInfo();
    const warning = busyWarning(machine);
    if (warning !== undefined) log(warning);
    report(await measureAll(await benchCircuits(true), coldCount, verifyRuns), machine);
}

main()
    .then(terminateCurve)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
