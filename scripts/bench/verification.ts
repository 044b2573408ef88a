/**
 * Provider-side verification benchmark: snarkjs' one-proof `groth16.verify` (what
 * SnarkjsProofVerifier does) against the randomised batch verifier of
 * packages/provider/src/batch-verifier.ts, measured in the same run on the same Spend(32, 8)
 * proofs; what an invalid proof costs (alone, in a batch of valid ones, in a flood); and the
 * worker-thread pool (packages/provider/src/verification/pool.ts) the gateway uses.
 *
 *   npx ts-node --transpile-only scripts/bench/verification.ts
 *
 * Env: BENCH_PROOFS        distinct proofs (default 64; generated once, cached under
 *                          .cache/bench/proofs-<zkey hash>.json)
 *      BENCH_SINGLE_RUNS   snarkjs single verifications (default 60, at least 50)
 *      BENCH_REPS          repetitions per batch size (default 7, at least 5)
 *      BENCH_REP_MS        minimum wall time of one repetition (default 400 ms)
 *      BENCH_WORKERS=0     skip the ffjavascript worker-thread variant and the pool
 * Writes reports/bench/verification.json and reports/bench/verification.md.
 *
 * Targets (issue "Performance"): ≥ 400 proofs/s per core and ≥ 6× snarkjs' single verify.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { getCurveFromName } from "ffjavascript";
import type { Bn128Engine } from "ffjavascript";
import { groth16 } from "snarkjs";
import type { Groth16Proof } from "snarkjs";
import {
    baseBlinding,
    commitBase,
    decodeTicket,
    ephemeralKeyBinding,
    flattenSpendSignals,
    GENESIS_BASE,
    Identity,
    packProof,
    registryContext,
    RegistryTree,
    RequestKey,
    requestSigner,
    SNARK_SCALAR_FIELD,
    spendInputs,
    spendPublicSignals,
    ticketBlinding,
    TREE_DEPTH,
    unpackProof
} from "@zk-api-credits/protocol";
import type { BaseState, RegistryBinding, SignedBase, SpendWitness, VerificationKey } from "@zk-api-credits/protocol";
import { Groth16BatchVerifier, spendSignals, VerificationPool } from "@zk-api-credits/provider";
import type { Groth16BatchItem } from "@zk-api-credits/provider";
import { CACHE_DIR } from "../circuits/config";
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
    prover,
    stats,
    terminateCurve,
    textTable,
    writeReport
} from "./common";
import type { MachineInfo, Stats } from "./common";

const CHAIN_ID = 31337n;
const REGISTRIES = ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"];
const BATCH_SIZES = [1, 8, 16, 32, 64];
const TARGET_PER_CORE = 400;
const TARGET_SPEEDUP = 6;
/** Lone tickets per pool (the first LONE_WARMUP not counted), and pools of each kind. */
const LONE_TICKETS = 60;
const LONE_WARMUP = 10;
const LONE_ROUNDS = 3;
const R = SNARK_SCALAR_FIELD;

const log = (message: string): void => console.log(`[verification] ${message}`);

// ---------------------------------------------------------------- proofs (cached)

interface StoredProof {
    readonly proof: Groth16Proof;
    readonly publicSignals: string[];
}

interface ProofCache {
    readonly circuit: "spend-32";
    readonly zkeySha256: string;
    readonly proofs: StoredProof[];
}

/** An identity with a deposit in a tree of its own, holding a base signed by one of two providers. */
interface Account {
    readonly registry: RegistryBinding;
    readonly identity: Identity;
    readonly deposit: bigint;
    readonly tree: RegistryTree;
    readonly leafIndex: number;
    readonly base: SignedBase;
}

function benchAccounts(): Account[] {
    const providers = [new BenchProvider(), new BenchProvider()];
    const bases: BaseState[] = [GENESIS_BASE, { spent: 12_345n, burned: 500n, folded: 8n }, { spent: 1n, burned: 0n, folded: 2n }, { spent: 40_000n, burned: 1_000n, folded: 98n }];
    return bases.map((state, k) => {
        const provider = providers[k % 2]!;
        const registry = provider.binding(CHAIN_ID, REGISTRIES[k % 2]!);
        const identity = new Identity();
        const deposit = 100_000n + BigInt(k) * 7_777n;
        const tree = new RegistryTree();
        tree.insertMany(Array.from({ length: 8 + 5 * k }, (_, i) => ({ identityCommitment: new Identity().commitment, deposit: 1_000n + BigInt(i) })));
        const leafIndex = tree.insert(identity.commitment, deposit);
        const blinding = baseBlinding(identity.secret, registry.scope, state.folded);
        const signature = state.folded === 0n ? undefined : provider.signer.signBase(registryContext(registry), commitBase(state, identity.commitment, blinding));
        return { registry, identity, deposit, tree, leafIndex, base: { base: state, blinding, signature } };
    });
}

async function proveOne(account: Account, offset: number): Promise<StoredProof> {
    const index = account.base.base.folded + BigInt(offset % 8);
    const { secret } = account.identity;
    const witness: SpendWitness = {
        secret,
        deposit: account.deposit,
        merkleProof: account.tree.merkleProof(account.leafIndex, TREE_DEPTH),
        base: account.base,
        index,
        ticketBlinding: ticketBlinding(secret, account.registry.scope, index),
        registry: account.registry,
        x: ephemeralKeyBinding(requestSigner(secret, account.registry.scope, index).publicKey)
    };
    const { proof, publicSignals } = await prover("spend-32").prove(spendInputs(witness));
    const expected = flattenSpendSignals(spendPublicSignals(witness));
    if (publicSignals.length !== expected.length || publicSignals.some((s, i) => s !== expected[i])) {
        throw new Error("a benchmark proof has unexpected public signals");
    }
    return { proof, publicSignals: publicSignals.map(String) };
}

/** The proofs of the gateway benchmark's cached tickets (real deployment, 8 indices of many accounts), if at least `count`. */
function gatewayTicketProofs(count: number): { proofs: StoredProof[]; file: string } | undefined {
    const dir = path.join(CACHE_DIR, "bench");
    if (!existsSync(dir)) return undefined;
    for (const name of readdirSync(dir).filter((n) => n.startsWith("gateway-v2-tickets-") && n.endsWith(".json"))) {
        const tickets = JSON.parse(readFileSync(path.join(dir, name), "utf8")) as { header: string }[];
        if (tickets.length < count) continue;
        const proofs = tickets.slice(0, count).map(({ header }) => {
            const ticket = decodeTicket(header);
            return { proof: unpackProof(ticket.proof), publicSignals: spendSignals(ticket).map(String) };
        });
        return { proofs, file: path.join(dir, name) };
    }
    return undefined;
}

/**
 * `count` distinct valid Spend proofs with varied signals: the gateway benchmark's tickets if
 * cached, else proved here (4 accounts, 2 registries, every index of the window) and cached.
 */
async function benchProofs(count: number): Promise<{ proofs: StoredProof[]; file: string; generated: number }> {
    const reused = gatewayTicketProofs(count);
    if (reused !== undefined) return { ...reused, generated: 0 };
    const zkeySha256 = createHash("sha256").update(readFileSync(artifactPaths("spend-32").zkey)).digest("hex");
    const dir = path.join(CACHE_DIR, "bench");
    const file = path.join(dir, `proofs-${zkeySha256.slice(0, 16)}.json`);
    let proofs: StoredProof[] = [];
    if (existsSync(file)) {
        const cached = JSON.parse(readFileSync(file, "utf8")) as ProofCache;
        if (cached.zkeySha256 === zkeySha256) proofs = cached.proofs;
    }
    const generated = Math.max(0, count - proofs.length);
    if (generated > 0) {
        log(`proving ${generated} Spend(32, 8) proofs (cached afterwards in ${path.relative(process.cwd(), file)})`);
        const accounts = benchAccounts();
        for (let i = 0; proofs.length < count; i++) {
            proofs.push(await proveOne(accounts[i % accounts.length]!, Math.floor(i / accounts.length)));
            if (proofs.length % 8 === 0) log(`  ${proofs.length}/${count}`);
        }
        mkdirSync(dir, { recursive: true });
        const cache: ProofCache = { circuit: "spend-32", zkeySha256, proofs };
        writeFileSync(`${file}.tmp`, JSON.stringify(cache));
        renameSync(`${file}.tmp`, file);
    }
    return { proofs: proofs.slice(0, count), file, generated };
}

// ---------------------------------------------------------------- measurement

interface Throughput {
    readonly batchSize: number;
    /** Wall-clock proofs per second, one value per repetition. */
    readonly samples: number[];
    readonly proofsPerSecond: Stats;
    /** Proofs per CPU-second of the whole process (all threads): the per-core figure. */
    readonly proofsPerCpuSecond: Stats;
    readonly msPerBatch: Stats;
    readonly batchesPerRep: number;
}

/** Repeats `batch` (which verifies `size` proofs) for ≥ repMs per repetition. */
async function throughput(size: number, reps: number, repMs: number, batch: (round: number) => Promise<void>): Promise<Throughput> {
    // Calibrate: how many batches make one repetition last repMs.
    const started = performance.now();
    await batch(0);
    await batch(1);
    const perBatch = (performance.now() - started) / 2;
    const batchesPerRep = Math.max(1, Math.ceil(repMs / Math.max(perBatch, 0.01)));
    const wall: number[] = [];
    const cpu: number[] = [];
    const msPerBatch: number[] = [];
    let round = 2;
    for (let rep = 0; rep < reps; rep++) {
        const cpuStart = process.cpuUsage();
        const t0 = performance.now();
        for (let b = 0; b < batchesPerRep; b++) await batch(round++);
        const ms = performance.now() - t0;
        const used = process.cpuUsage(cpuStart);
        const cpuMs = (used.user + used.system) / 1000;
        wall.push((size * batchesPerRep * 1000) / ms);
        cpu.push((size * batchesPerRep * 1000) / cpuMs);
        msPerBatch.push(ms / batchesPerRep);
    }
    return { batchSize: size, samples: wall, proofsPerSecond: stats(wall), proofsPerCpuSecond: stats(cpu), msPerBatch: stats(msPerBatch), batchesPerRep };
}

/**
 * The same random-linear-combination equation through ffjavascript's high-level API on its
 * shared multi-threaded engine (Miller loops on the worker threads, curve.pairingEq), to see
 * whether its workers help. No subgroup checks: an optimistic bound.
 */
async function workerBatch(curve: Bn128Engine, vkey: VerificationKey, items: readonly { proof: Groth16Proof; publicSignals: bigint[] }[]): Promise<boolean> {
    const { G1, G2 } = curve;
    const r = curve.r;
    const n = vkey.nPublic;
    const ic = (vkey.IC as string[][]).map((p) => G1.fromObject(p.map(BigInt)));
    const g2 = (p: string[][]): Uint8Array => G2.fromObject(p.map((c) => c.map(BigInt)));
    const sums = new Array<bigint>(n + 1).fill(0n);
    const args: Uint8Array[] = [];
    let sumC = G1.zero;
    for (const item of items) {
        const w = BigInt(`0x${randomBytes(16).toString("hex")}`) || 1n;
        sums[0] = (sums[0]! + w) % r;
        item.publicSignals.forEach((s, j) => (sums[j + 1] = (sums[j + 1]! + w * s) % r));
        args.push(G1.toAffine(G1.timesScalar(G1.fromObject(item.proof.pi_a.map(BigInt)), w)), g2(item.proof.pi_b));
        sumC = G1.add(sumC, G1.timesScalar(G1.fromObject(item.proof.pi_c.map(BigInt)), w));
    }
    let sumIC = G1.zero;
    sums.forEach((s, j) => (sumIC = G1.add(sumIC, G1.timesScalar(ic[j]!, s))));
    const alpha = G1.fromObject((vkey.vk_alpha_1 as string[]).map(BigInt));
    args.push(G1.toAffine(G1.neg(G1.timesScalar(alpha, sums[0]!))), g2(vkey.vk_beta_2 as string[][]));
    args.push(G1.toAffine(G1.neg(sumIC)), g2(vkey.vk_gamma_2 as string[][]));
    args.push(G1.toAffine(G1.neg(sumC)), g2(vkey.vk_delta_2 as string[][]));
    return curve.pairingEq(...args);
}

// ---------------------------------------------------------------- main

interface Row {
    readonly variant: string;
    readonly batchSize: number;
    readonly result: Throughput;
    readonly speedup: number;
}

async function main(): Promise<void> {
    const count = Math.max(64, envInt("BENCH_PROOFS", 64));
    const singleRuns = Math.max(50, envInt("BENCH_SINGLE_RUNS", 60));
    const reps = Math.max(5, envInt("BENCH_REPS", 7));
    const repMs = envInt("BENCH_REP_MS", 400);
    const withWorkers = process.env.BENCH_WORKERS !== "0";
    const machine = machineInfo();
    const warning = busyWarning(machine);
    if (warning !== undefined) log(warning);

    const { proofs: stored, file, generated } = await benchProofs(count);
    const vkey = JSON.parse(readFileSync(artifactPaths("spend-32").verificationKey, "utf8")) as VerificationKey;
    const items = stored.map((p) => ({ proof: p.proof, publicSignals: p.publicSignals.map(BigInt) }));
    log(`${items.length} proofs (${generated} generated, cache ${path.relative(process.cwd(), file)})`);

    // Correctness first: every proof verifies with snarkjs and in one batch.
    for (const p of stored) {
        if (!(await groth16.verify(vkey, p.publicSignals, p.proof))) throw new Error("a cached proof does not verify with snarkjs");
    }
    const engine = await Groth16BatchVerifier.create(vkey);
    const all = await engine.verify(items);
    if (!all.every(Boolean)) throw new Error("the batch verifier rejected a valid proof");

    // snarkjs single-proof verification (the SnarkjsProofVerifier path).
    log(`snarkjs groth16.verify × ${singleRuns}`);
    const singleMs: number[] = [];
    const singleCpuStart = process.cpuUsage();
    for (let i = 0; i < singleRuns; i++) {
        const p = stored[i % stored.length]!;
        const t0 = performance.now();
        const ok = await groth16.verify(vkey, p.publicSignals, p.proof);
        singleMs.push(performance.now() - t0);
        if (!ok) throw new Error("snarkjs rejected a valid proof");
    }
    const singleCpu = process.cpuUsage(singleCpuStart);
    const snarkjsSingle = stats(singleMs);
    const snarkjsCpuMsPerProof = (singleCpu.user + singleCpu.system) / 1000 / singleRuns;
    const snarkjsPerSecond = 1000 / snarkjsSingle.p50;
    log(`snarkjs single verify p50 ${fmtMs(snarkjsSingle.p50)} ms (${snarkjsPerSecond.toFixed(1)} proofs/s, ${fmtMs(snarkjsCpuMsPerProof)} CPU-ms/proof)`);

    // The batch verifier, single-threaded, on a window of distinct proofs rotating per round.
    const window = (size: number, round: number): Groth16BatchItem[] =>
        Array.from({ length: size }, (_, k) => items[(round * size + k) % items.length]!);
    const rows: Row[] = [];
    for (const size of BATCH_SIZES) {
        const result = await throughput(size, reps, repMs, async (round) => {
            const verdicts = await engine.verify(window(size, round));
            if (!verdicts.every(Boolean)) throw new Error("the batch verifier rejected a valid proof");
        });
        rows.push({ variant: "batch (single thread)", batchSize: size, result, speedup: result.proofsPerSecond.median / snarkjsPerSecond });
        log(
            `batch ${String(size).padStart(2)}: ${result.proofsPerSecond.median.toFixed(0)} proofs/s ` +
                `[${result.proofsPerSecond.min.toFixed(0)}–${result.proofsPerSecond.max.toFixed(0)}], ` +
                `${result.proofsPerCpuSecond.median.toFixed(0)} per CPU-s, ${(result.proofsPerSecond.median / snarkjsPerSecond).toFixed(1)}× snarkjs`
        );
    }

    // What an invalid proof costs. A valid proof checked alone is the reference (one plain
    // check); an invalid one must cost no more, whether alone, in a batch of valid proofs, or in
    // a flood (the batch verifier then checks every proof alone instead of bisecting).
    const invalid = items.map((item, i) => ({ ...item, publicSignals: item.publicSignals.map((s, j) => (j === 6 ? (s + 1n + BigInt(i)) % R : s)) }));
    const costs = await Groth16BatchVerifier.create(vkey);
    const costRow = async (variant: string, size: number, batch: (round: number) => Groth16BatchItem[], expected: (round: number) => boolean[]): Promise<Row> => {
        const result = await throughput(size, reps, repMs, async (round) => {
            const verdicts = await costs.verify(batch(round));
            if (verdicts.some((v, i) => v !== expected(round)[i])) throw new Error(`${variant}: a wrong verdict`);
        });
        log(`${variant}: ${fmtMs(result.msPerBatch.median)} ms per batch of ${size}`);
        return { variant, batchSize: size, result, speedup: result.proofsPerSecond.median / snarkjsPerSecond };
    };
    const alone = (item: Groth16BatchItem): Groth16BatchItem => ({ ...item, alone: true });
    const validAlone = await costRow("valid proof checked alone", 1, (r) => [alone(items[r % items.length]!)], () => [true]);
    const invalidAlone = await costRow("invalid proof checked alone", 1, (r) => [alone(invalid[r % invalid.length]!)], () => [false]);
    // One invalid proof in every batch of 64 (steady state: groups of ⌊1/√q⌋ ≈ 8).
    const oneBad = (r: number): Groth16BatchItem[] => window(64, r).map((item, k) => (k === r % 64 ? invalid[(r * 64 + k) % invalid.length]! : item));
    const oneBadExpected = (r: number): boolean[] => Array.from({ length: 64 }, (_, k) => k !== r % 64);
    for (let r = 0; r < 40; r++) await costs.verify(oneBad(r)); // let the failure rate settle
    const oneInvalid = await costRow("1 invalid in each batch of 64", 64, oneBad, oneBadExpected);
    // A flood: half of every batch invalid.
    const half = (r: number): Groth16BatchItem[] => window(64, r).map((item, k) => (k % 2 === 0 ? invalid[(r * 64 + k) % invalid.length]! : item));
    const halfExpected = (): boolean[] => Array.from({ length: 64 }, (_, k) => k % 2 === 1);
    for (let r = 0; r < 4; r++) await costs.verify(half(r));
    const flood = await costRow("flood: half of each batch of 64 invalid", 64, half, halfExpected);
    rows.push(validAlone, invalidAlone, oneInvalid, flood);
    await costs.close();
    const valid64 = rows.find((row) => row.variant.startsWith("batch") && row.batchSize === 64)!;
    const validShare = valid64.result.msPerBatch.median / 64;
    const invalidCost = {
        validProofInBatch64Ms: validShare,
        validProofAloneMs: validAlone.result.msPerBatch.median,
        invalidProofAloneMs: invalidAlone.result.msPerBatch.median,
        /** What the invalid proof of a batch of 64 adds to the batch, in ms and in valid proofs checked alone. */
        extraPerInvalidInBatchMs: oneInvalid.result.msPerBatch.median - valid64.result.msPerBatch.median,
        extraPerInvalidInBatchVsAlone: (oneInvalid.result.msPerBatch.median - valid64.result.msPerBatch.median) / validAlone.result.msPerBatch.median,
        /** In a flood, ms per proof (valid or not) and the ratio to a valid proof checked alone. */
        floodPerProofMs: flood.result.msPerBatch.median / 64,
        floodPerProofVsAlone: flood.result.msPerBatch.median / 64 / validAlone.result.msPerBatch.median
    };
    log(
        `invalid proofs: alone ${fmtMs(invalidCost.invalidProofAloneMs)} ms (a valid one alone ${fmtMs(invalidCost.validProofAloneMs)} ms, in a batch of 64 ${fmtMs(validShare)} ms); ` +
            `one in a batch of 64 adds ${fmtMs(invalidCost.extraPerInvalidInBatchMs)} ms (${invalidCost.extraPerInvalidInBatchVsAlone.toFixed(1)} × a valid proof checked alone); ` +
            `in a flood ${fmtMs(invalidCost.floodPerProofMs)} ms per proof (${invalidCost.floodPerProofVsAlone.toFixed(2)} × a valid proof checked alone)`
    );

    // The gateway's verifier: the same engine on worker threads, fed concurrently.
    const packedItems = items.map((item) => ({ proof: packProof(item.proof), publicSignals: item.publicSignals }));
    if (withWorkers) {
        for (const threads of [1, 2]) {
            const pool = new VerificationPool(vkey, { threads });
            await pool.ready();
            const result = await throughput(256, reps, repMs, async (round) => {
                const batch = Array.from({ length: 256 }, (_, k) => packedItems[(round * 256 + k) % packedItems.length]!);
                const verdicts = await Promise.all(batch.map((item) => pool.verify(item.proof, item.publicSignals)));
                if (!verdicts.every(Boolean)) throw new Error("the pool rejected a valid proof");
            });
            rows.push({ variant: `VerificationPool, ${threads} thread${threads > 1 ? "s" : ""} (256 concurrent)`, batchSize: 256, result, speedup: result.proofsPerSecond.median / snarkjsPerSecond });
            log(`pool ${threads}: ${result.proofsPerSecond.median.toFixed(0)} proofs/s wall`);
            await pool.close();
        }
    }

    // A lone ticket on an idle pool (the gateway serving one request at a time): its check split
    // between the worker and this thread (the default), against its request signature and then
    // its proof on the worker (overlapWhenIdle: false). Alternated, LONE_ROUNDS pools of each.
    let loneTicket: { readonly splitMs: Stats; readonly onWorkerMs: Stats } | undefined;
    if (withWorkers) {
        const checks = packedItems.map((item, k) => {
            const key = new RequestKey(createHash("sha256").update(`lone ${k}`).digest());
            const message = BigInt(k + 1);
            return { ...item, requestSignature: { message, signature: key.signMessage(message), publicKey: key.publicKey } };
        });
        const timeLone = async (split: boolean): Promise<number[]> => {
            const pool = new VerificationPool(vkey, { threads: 1, overlapWhenIdle: split });
            await pool.ready();
            const ms: number[] = [];
            for (let i = 0; i < LONE_TICKETS; i++) {
                const started = performance.now();
                const verdict = await pool.checkTicket(checks[i % checks.length]!);
                ms.push(performance.now() - started);
                if (verdict !== "valid") throw new Error(`a valid lone ticket was refused: ${verdict}`);
            }
            if (split && pool.taskStats.overlapped !== LONE_TICKETS) throw new Error("a lone ticket was not split");
            await pool.close();
            return ms.slice(LONE_WARMUP);
        };
        const split: number[] = [];
        const onWorker: number[] = [];
        for (let round = 0; round < LONE_ROUNDS; round++) {
            onWorker.push(...(await timeLone(false)));
            split.push(...(await timeLone(true)));
        }
        loneTicket = { splitMs: stats(split), onWorkerMs: stats(onWorker) };
        log(`lone ticket: split ${fmtMs(loneTicket.splitMs.p50)} ms p50, signature then proof on the worker ${fmtMs(loneTicket.onWorkerMs.p50)} ms p50`);
    }

    // ffjavascript's worker threads for the same equation (no subgroup checks).
    if (withWorkers) {
        const curve = await getCurveFromName("bn128");
        for (const size of [16, 64]) {
            const result = await throughput(size, reps, repMs, async (round) => {
                if (!(await workerBatch(curve, vkey, window(size, round) as { proof: Groth16Proof; publicSignals: bigint[] }[]))) {
                    throw new Error("the worker-thread batch rejected valid proofs");
                }
            });
            rows.push({ variant: "ffjavascript workers (pairingEq)", batchSize: size, result, speedup: result.proofsPerSecond.median / snarkjsPerSecond });
            log(`workers ${size}: ${result.proofsPerSecond.median.toFixed(0)} proofs/s, ${result.proofsPerCpuSecond.median.toFixed(0)} per CPU-s`);
        }
    }

    report(machine, warning, { singleRuns, reps, repMs, proofs: items.length, cache: path.relative(process.cwd(), file) }, snarkjsSingle, snarkjsCpuMsPerProof, rows, invalidCost, loneTicket);
}

function report(
    machine: MachineInfo,
    warning: string | undefined,
    config: { singleRuns: number; reps: number; repMs: number; proofs: number; cache: string },
    snarkjsSingle: Stats,
    snarkjsCpuMsPerProof: number,
    rows: readonly Row[],
    invalidCost: Record<string, number>,
    loneTicket: { readonly splitMs: Stats; readonly onWorkerMs: Stats } | undefined
): void {
    const headers = ["variant", "batch", "proofs/s median", "min–max", "spread", "proofs/CPU-s", "ms/batch", "× snarkjs"];
    const cells = rows.map((row) => [
        row.variant,
        String(row.batchSize),
        fmtInt(Math.round(row.result.proofsPerSecond.median)),
        `${fmtInt(Math.round(row.result.proofsPerSecond.min))}–${fmtInt(Math.round(row.result.proofsPerSecond.max))}`,
        `${row.result.proofsPerSecond.spreadPct.toFixed(0)} %`,
        fmtInt(Math.round(row.result.proofsPerCpuSecond.median)),
        fmtMs(row.result.msPerBatch.median),
        `${row.speedup.toFixed(1)}×`
    ]);
    const snarkjsLine =
        `snarkjs groth16.verify (one proof, vkey in memory): p50 ${fmtMs(snarkjsSingle.p50)} ms, p95 ${fmtMs(snarkjsSingle.p95)} ms, ` +
        `min ${fmtMs(snarkjsSingle.min)} ms over ${snarkjsSingle.n} runs = ${(1000 / snarkjsSingle.p50).toFixed(1)} proofs/s; ` +
        `${fmtMs(snarkjsCpuMsPerProof)} CPU-ms per proof (its worker threads included).`;
    console.log(`\n${snarkjsLine}\n\n${textTable(headers, cells)}\n`);
    const best = rows.filter((r) => r.variant.startsWith("batch") && r.batchSize === 64)[0];
    const targets = best && {
        batchSize: 64,
        proofsPerCpuSecond: best.result.proofsPerCpuSecond.median,
        proofsPerSecond: best.result.proofsPerSecond.median,
        perCoreTarget: TARGET_PER_CORE,
        perCoreMet: best.result.proofsPerCpuSecond.median >= TARGET_PER_CORE && best.result.proofsPerSecond.median >= TARGET_PER_CORE,
        speedup: best.speedup,
        speedupTarget: TARGET_SPEEDUP,
        speedupMet: best.speedup >= TARGET_SPEEDUP
    };
    if (targets) {
        console.log(
            `targets at batch 64: ${targets.proofsPerSecond.toFixed(0)} proofs/s wall, ${targets.proofsPerCpuSecond.toFixed(0)} per CPU-second ` +
                `(≥ ${TARGET_PER_CORE}: ${targets.perCoreMet ? "met" : "NOT met"}); ${targets.speedup.toFixed(1)}× snarkjs (≥ ${TARGET_SPEEDUP}×: ${targets.speedupMet ? "met" : "NOT met"})`
        );
    }
    const markdown = [
        "# Groth16 verification: snarkjs single vs randomised batch",
        "",
        machineMarkdown(machine),
        ...(warning === undefined ? [] : ["", `> ${warning}`]),
        "",
        snarkjsLine,
        "",
        markdownTable(headers, cells),
        "",
        `What an invalid proof costs (ms of this thread): alone ${fmtMs(invalidCost.invalidProofAloneMs!)} (a valid proof alone ${fmtMs(invalidCost.validProofAloneMs!)}, ` +
            `a valid proof in a batch of 64 ${fmtMs(invalidCost.validProofInBatch64Ms!)}); one invalid proof in a batch of 64 adds ${fmtMs(invalidCost.extraPerInvalidInBatchMs!)} ` +
            `(${invalidCost.extraPerInvalidInBatchVsAlone!.toFixed(1)} × a valid proof checked alone: its group of ≈ 8 is checked again proof by proof); in a flood ` +
            `(half of every batch invalid) every proof is checked alone, ${fmtMs(invalidCost.floodPerProofMs!)} per proof, ${invalidCost.floodPerProofVsAlone!.toFixed(2)} × a valid proof alone.`,
        "",
        ...(loneTicket === undefined
            ? []
            : [
                  `A lone ticket on an idle VerificationPool (1 worker), request signature and proof, wall time (${loneTicket.splitMs.n} tickets each way, alternated): ` +
                      `split between the worker and this thread ${fmtMs(loneTicket.splitMs.p50)} ms p50 (p95 ${fmtMs(loneTicket.splitMs.p95)}); ` +
                      `signature then proof on the worker ${fmtMs(loneTicket.onWorkerMs.p50)} ms p50 (p95 ${fmtMs(loneTicket.onWorkerMs.p95)}).`,
                  ""
              ]),
        `Spend(32, 8) proofs (${config.proofs} distinct, varied signals). Each batch row: median of ${config.reps} repetitions of ≥ ${config.repMs} ms, ` +
            "throughput = proofs verified / wall time; spread = (max − min) / median; proofs/CPU-s uses the process's CPU time " +
            "(all threads) and is the per-core figure. The batch verifier runs on one thread and includes every per-proof check " +
            "(canonical encodings, curve membership, G2 subgroup test). The worker rows run the same equation through ffjavascript's " +
            "multi-threaded `pairingEq`, without subgroup checks.",
        "",
        ...(targets
            ? [
                  `Targets at batch 64: ${targets.proofsPerSecond.toFixed(0)} proofs/s, ${targets.proofsPerCpuSecond.toFixed(0)} per CPU-second ` +
                      `(≥ ${TARGET_PER_CORE} per core: ${targets.perCoreMet ? "met" : "not met"}); ${targets.speedup.toFixed(1)}× snarkjs ` +
                      `(≥ ${TARGET_SPEEDUP}×: ${targets.speedupMet ? "met" : "not met"}).`
              ]
            : [])
    ].join("\n");
    const files = writeReport(
        "verification",
        {
            machine,
            config,
            snarkjsSingle: { ms: snarkjsSingle, proofsPerSecond: 1000 / snarkjsSingle.p50, cpuMsPerProof: snarkjsCpuMsPerProof },
            batches: rows.map((row) => ({
                variant: row.variant,
                batchSize: row.batchSize,
                proofsPerSecond: row.result.proofsPerSecond,
                proofsPerCpuSecond: row.result.proofsPerCpuSecond,
                msPerBatch: row.result.msPerBatch,
                batchesPerRepetition: row.result.batchesPerRep,
                samples: row.result.samples.map((s) => Math.round(s * 10) / 10),
                speedupVsSnarkjsSingle: row.speedup
            })),
            targets,
            invalidCost,
            loneTicket
        },
        markdown
    );
    log(`wrote ${files.json} and ${files.md}`);
}

main()
    .then(terminateCurve)
    .then(() => process.exit(0))
    .catch((error: unknown) => {
        console.error(error);
        process.exit(1);
    });
