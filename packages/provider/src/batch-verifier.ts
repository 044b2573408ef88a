/// <reference path="../../../types/ffjavascript.d.ts" />
/**
 * Batch verification of Groth16 proofs (BN254) that share one verification key.
 *
 * A proof π = (A, B, C) for public signals s_1..s_n is valid iff
 *
 *     e(A, B) = e(α, β) · e(L, γ) · e(C, δ),        L = IC_0 + Σ_j s_j·IC_j.
 *
 * For N proofs we draw independent random 128-bit weights r_i ≠ 0 (crypto.randomBytes) and
 * check the single equation (the small-exponents batch test of Bellare, Garay and Rabin,
 * EUROCRYPT 1998, applied to the Groth16 equation)
 *
 *     Π_i e(r_i·A_i, B_i) · e(−(Σ_i r_i)·α, β) · e(−Σ_j (Σ_i r_i·s_ij)·IC_j, γ) · e(−Σ_i r_i·C_i, δ) = 1
 *
 * (j runs over 0..n with s_i0 = 1, so IC_0 is weighted by Σ_i r_i: the IC terms of the whole
 * batch are ONE multi-scalar multiplication over the n+1 IC points). If every proof is valid
 * the product is 1. If some proof is invalid, its "error" e(A_i,B_i)·e(α,β)^-1·e(L_i,γ)^-1·
 * e(C_i,δ)^-1 is a non-trivial element of the prime-order group G_T, and the product is 1 only
 * if the r_i satisfy one non-trivial linear relation mod r: probability ≤ 2^-128 per check.
 * That argument needs every input to be a point of the right prime-order group and every
 * signal to be a canonical scalar, so each proof is checked BEFORE it is combined:
 *
 *   - every coordinate is canonical (< p) and every public signal is < r;
 *   - A and C are on the curve (G1 of BN254 has cofactor 1, so on the curve = in G1) and
 *     not the point at infinity;
 *   - B is on the twist, not infinity, and in the order-r subgroup G2
 *     ([x+1]B + ψ([x]B) + ψ²([x]B) = ψ³([2x]B), Dai–Lin–Zhao–Zhou, eprint 2022/348, §3/5.1).
 *
 * A proof failing these checks is rejected on its own and never enters a product. (This is
 * stricter than snarkjs, which reduces coordinates ≥ p and accepts such a re-encoded proof;
 * the EVM precompiles, hence the on-chain verifiers, refuse them as we do.)
 *
 * Cost: one Miller loop per proof plus three (the α/β, IC/γ, C/δ pairs, whose G2 line
 * coefficients are precomputed once per key), all sharing the Fp12 squarings of one
 * multi-Miller loop, and ONE final exponentiation per batch. The arithmetic is the
 * WebAssembly of ffjavascript/wasmcurves (the library snarkjs uses), driven directly through
 * its exports on a private single-threaded engine.
 *
 * A proof checked on its own uses the plain Groth16 equation (r = 1) with the Miller loop of
 * the constant pair (−α, β) precomputed once: e(A, B) · ML(−α, β) · e(−L, γ) · e(−C, δ) = 1
 * (three Miller-loop pairs and one final exponentiation; the final exponentiation of a
 * product of Miller loops is the product of the pairings, so this is the same equation).
 *
 * When a combined check fails, every proof of that group is checked on its own with the plain
 * equation, so every valid proof of a failing group is still accepted and exactly the invalid
 * ones are rejected (a proof enters at most one combined check, with weights drawn for it
 * alone; a verdict of "valid" is either the plain equation's or a passed combined check's,
 * wrong with probability ≤ 2^-128). What an invalid proof costs is bounded by choosing the
 * group size from the recent failure rate q (an exponentially weighted average over the
 * proofs that reached a pairing check, `failureSmoothing` per proof): a group of g proofs
 * costs about g·m + F when it passes and g·F more when it fails (m: one proof's share of a
 * combined check, F: one check of one proof; it fails with probability ≈ g·q), so the
 * expected cost per proof is m + F/g + g·q·F, least at g = 1/√q. The verifier therefore combines groups of
 * min(maxGroup, ⌊1/√q⌋) proofs and checks every proof on its own once q ≥ 1/4: a flood of
 * invalid proofs costs one plain check per proof, as the same number of valid proofs checked
 * alone would; never the repeated halving a bisection spends on each culprit. Proofs marked
 * `alone` (from a client whose proofs failed recently) are checked on their own and never
 * combined, so they cannot spoil a group of others' proofs.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { getCurveFromName } from "ffjavascript";
import type { Bn128Engine, Bn128WasmExports } from "ffjavascript";
import type { Groth16Proof } from "snarkjs";
import type { VerificationKey } from "@zk-api-credits/protocol";
import type { ProofVerifier } from "./ticket-verifier";

// ---------------------------------------------------------------- BN254 constants

/** Base-field modulus p. */
const P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** Group order r (scalar field). */
const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** The curve parameter x (BN254: p and r are polynomials in x). */
const X = 4965661367192848881n;
/** The optimal ate loop count 6x + 2, as wasmcurves' Miller loop walks it. */
const ATE_LOOP_COUNT = 6n * X + 2n;
/** ψ (untwist-Frobenius-twist) on the twist: ψ(x, y) = (conj(x)·PSI_X, conj(y)·PSI_Y). Same constants as wasmcurves' mulByQ. */
const PSI_X: readonly [bigint, bigint] = [
    21575463638280843010398324269430826099269044274347216827212613867836435027261n,
    10307601595873709700152284273816112264069230130616436755625194854815875713954n
];
const PSI_Y: readonly [bigint, bigint] = [
    2821565182194536844548159561693502659359617185244120367078079554186484126554n,
    3505843767911556378687030309984248845540243509899259641013678093033130930403n
];

const N8 = 32;
const FP2 = 2 * N8;
const G1_AFFINE = 2 * N8;
const G1_JACOBIAN = 3 * N8;
const G2_AFFINE = 2 * FP2;
const G2_JACOBIAN = 3 * FP2;
const FP12 = 12 * N8;
/** One line's coefficients (ell_0, ell_VW, ell_VV ∈ Fp2) in wasmcurves' prepared G2 point. */
const COEF = 3 * FP2;
/** The prepared G2 point starts with the normalised point itself. */
const FIRST_COEF = 3 * FP2;
/** Random weights are 128-bit. */
const WEIGHT_BYTES = 16;
/**
 * Most IC points (public signals + 1) a key may have: each gets a fixed-base table of 32
 * affine points (2 kB), and the table's multi-scalar multiplication of 32·(n + 1) ≤ 4,096
 * one-byte scalars then needs ≤ 512 buckets (48 kB) of the 64 kB of scratch the engine keeps
 * free. (Our circuits have 3 to 8.)
 */
const MAX_IC_POINTS = 128;
/** The failure rate above which every proof is checked on its own (g = 1/√q ≤ 2). */
const ALONE_ABOVE = 0.25;

/** Bits of the ate loop count, least significant first (as wasmcurves stores them). */
const ATE_BITS: readonly number[] = (() => {
    const bits: number[] = [];
    for (let e = ATE_LOOP_COUNT; e > 0n; e >>= 1n) bits.push(Number(e & 1n));
    return bits;
})();
/** Lines per Miller loop: one doubling per bit below the top, one addition per set bit, two Frobenius additions. */
const LINES = ATE_BITS.length - 1 + ATE_BITS.slice(0, -1).filter((b) => b === 1).length + 2;

// ---------------------------------------------------------------- public types

/** A proof in verifier order (packProof): a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y. */
export type PackedProof = readonly bigint[];

/** One proof to verify: snarkjs' object or the packed words, with its public signals. */
export interface Groth16BatchItem {
    readonly proof: Groth16Proof | PackedProof;
    readonly publicSignals: readonly bigint[];
    /** Check this proof on its own, never combined with others (a suspect client's proof). */
    readonly alone?: boolean;
}

export interface Groth16BatchVerifierOptions {
    /**
     * Proof pairs per multi-Miller loop (each needs ~19.8 kB of WebAssembly memory for its
     * line coefficients; the engine's memory is fixed at 1.6 MB). Default 32, at most 48.
     */
    readonly millerGroup?: number;
    /** Yield to the event loop after this many proofs are prepared (default 8). */
    readonly yieldEvery?: number;
    /** Most proofs combined in one check (default 64). */
    readonly maxGroup?: number;
    /**
     * Weight of one proof's outcome in the failure-rate estimate that sizes the groups
     * (exponential smoothing; default 1/32: a failure is mostly forgotten after ~100 proofs).
     */
    readonly failureSmoothing?: number;
}

/** Counters of one verifier since it was created. */
export interface BatchVerifierStats {
    /** verify() calls (batches). */
    readonly batches: number;
    readonly proofs: number;
    /** Proofs rejected by the point and signal checks before any pairing. */
    readonly malformed: number;
    /** Proofs rejected by the pairing check. */
    readonly invalid: number;
    /** Pairing-product checks (one final exponentiation each). */
    readonly pairingChecks: number;
    /** Combined checks (of two proofs or more). */
    readonly groupChecks: number;
    /** Combined checks that failed (each of their proofs was then checked on its own). */
    readonly failedGroups: number;
    /** Proofs checked on their own (alone, in groups of one, or after their group failed). */
    readonly singleChecks: number;
    /** The current failure-rate estimate q (the groups hold min(maxGroup, ⌊1/√q⌋) proofs). */
    readonly failureRate: number;
}

const NO_STATS: BatchVerifierStats = { batches: 0, proofs: 0, malformed: 0, invalid: 0, pairingChecks: 0, groupChecks: 0, failedGroups: 0, singleChecks: 0, failureRate: 0 };

// ---------------------------------------------------------------- parsing

type G1Words = readonly [bigint, bigint];
/** x.c0, x.c1, y.c0, y.c1. */
type G2Words = readonly [bigint, bigint, bigint, bigint];

interface ParsedProof {
    readonly a: G1Words;
    readonly b: G2Words;
    readonly c: G1Words;
    readonly signals: readonly bigint[];
}

const DECIMAL = /^[0-9]{1,80}$/;

function decimal(value: unknown): bigint | undefined {
    return typeof value === "string" && DECIMAL.test(value) ? BigInt(value) : undefined;
}

/** The 8 words of a proof in verifier order, or undefined if its shape is wrong (no range checks yet). */
function proofWords(proof: Groth16Proof | PackedProof): bigint[] | undefined {
    if (Array.isArray(proof)) {
        const words = proof as readonly unknown[];
        return words.length === 8 && words.every((w) => typeof w === "bigint") ? (words as bigint[]) : undefined;
    }
    const { pi_a: a, pi_b: b, pi_c: c } = proof as Groth16Proof;
    if (!Array.isArray(a) || !Array.isArray(b) || !Array.isArray(c)) return undefined;
    // Only normalised (z = 1) points, as snarkjs' prover and the packed form have them.
    if (a.length !== 3 || a[2] !== "1" || c.length !== 3 || c[2] !== "1" || b.length !== 3) return undefined;
    const [bx, by, bz] = b;
    if (!Array.isArray(bx) || !Array.isArray(by) || !Array.isArray(bz) || bx.length !== 2 || by.length !== 2) return undefined;
    if (bz.length !== 2 || bz[0] !== "1" || bz[1] !== "0") return undefined;
    const words = [a[0], a[1], bx[1], bx[0], by[1], by[0], c[0], c[1]].map(decimal);
    return words.every((w): w is bigint => w !== undefined) ? words : undefined;
}

/** Range checks: every coordinate < p, every signal < r, the right number of signals. */
function parseItem(item: Groth16BatchItem, nPublic: number): ParsedProof | undefined {
    if (item === null || typeof item !== "object" || item.proof === null || typeof item.proof !== "object") return undefined;
    const words = proofWords(item.proof);
    if (words === undefined || !words.every((w) => w >= 0n && w < P)) return undefined;
    const signals = item.publicSignals;
    if (!Array.isArray(signals) || signals.length !== nPublic) return undefined;
    if (!signals.every((s) => typeof s === "bigint" && s >= 0n && s < R)) return undefined;
    const [ax, ay, bx1, bx0, by1, by0, cx, cy] = words as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return { a: [ax, ay], b: [bx0, bx1, by0, by1], c: [cx, cy], signals: [...signals] };
}

// ---------------------------------------------------------------- the verification key

interface ParsedKey {
    readonly nPublic: number;
    readonly alpha: G1Words;
    readonly beta: G2Words;
    readonly gamma: G2Words;
    readonly delta: G2Words;
    /** IC_0..IC_n. */
    readonly ic: readonly G1Words[];
}

function keyError(message: string): Error {
    return new Error(`invalid Groth16 verification key: ${message}`);
}

function keyG1(value: unknown, name: string): G1Words {
    if (!Array.isArray(value) || value.length !== 3 || value[2] !== "1") throw keyError(`${name} is not a normalised G1 point`);
    const [x, y] = [decimal(value[0]), decimal(value[1])];
    if (x === undefined || y === undefined || x >= P || y >= P) throw keyError(`${name} has a non-canonical coordinate`);
    return [x, y];
}

function keyG2(value: unknown, name: string): G2Words {
    if (!Array.isArray(value) || value.length !== 3) throw keyError(`${name} is not a G2 point`);
    const [x, y, z] = value as unknown[];
    if (!Array.isArray(x) || !Array.isArray(y) || !Array.isArray(z) || z[0] !== "1" || z[1] !== "0") throw keyError(`${name} is not a normalised G2 point`);
    const words = [x[0], x[1], y[0], y[1]].map(decimal);
    if (!words.every((w): w is bigint => w !== undefined && w < P)) throw keyError(`${name} has a non-canonical coordinate`);
    return words as unknown as G2Words;
}

function parseKey(vkey: VerificationKey): ParsedKey {
    if (vkey.protocol !== "groth16" || vkey.curve !== "bn128") throw keyError("only groth16 over bn128 is supported");
    const ic = vkey.IC;
    if (!Number.isInteger(vkey.nPublic) || vkey.nPublic < 0 || !Array.isArray(ic) || ic.length !== vkey.nPublic + 1) {
        throw keyError("IC must have nPublic + 1 points");
    }
    if (ic.length > MAX_IC_POINTS) throw keyError(`at most ${MAX_IC_POINTS - 1} public signals are supported, not ${vkey.nPublic}`);
    return {
        nPublic: vkey.nPublic,
        alpha: keyG1(vkey.vk_alpha_1, "vk_alpha_1"),
        beta: keyG2(vkey.vk_beta_2, "vk_beta_2"),
        gamma: keyG2(vkey.vk_gamma_2, "vk_gamma_2"),
        delta: keyG2(vkey.vk_delta_2, "vk_delta_2"),
        ic: ic.map((point, j) => keyG1(point, `IC[${j}]`))
    };
}

/** A verification key object, read from its JSON file if given a path. */
export function loadVerificationKey(verificationKey: string | VerificationKey): VerificationKey {
    return typeof verificationKey === "string" ? (JSON.parse(readFileSync(verificationKey, "utf8")) as VerificationKey) : verificationKey;
}

/** Throws if `vkey` is not a well-formed Groth16 key over bn128 (points are checked when an engine is built). */
export function assertVerificationKey(vkey: VerificationKey): void {
    parseKey(vkey);
}

// ---------------------------------------------------------------- the engine

/** A proof that passed the point and signal checks, with what its checks reuse. */
interface PreparedProof {
    readonly index: number;
    readonly signals: readonly bigint[];
    /** A, affine Montgomery (64 bytes). */
    readonly a: Uint8Array;
    /** C, affine Montgomery (64 bytes). */
    readonly c: Uint8Array;
    /** B's Miller-loop line coefficients (preQSize bytes). */
    readonly lines: Uint8Array;
    /** The batch weight r_i (and its 16 little-endian bytes) and r_i·A (affine), once drawn. */
    weight?: bigint;
    weightBytes?: Uint8Array;
    weightedA?: Uint8Array;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A nonzero 128-bit weight from the OS CSPRNG, with its little-endian bytes. */
function randomWeight(): { value: bigint; bytes: Uint8Array } {
    for (;;) {
        const bytes = new Uint8Array(randomBytes(WEIGHT_BYTES));
        let value = 0n;
        for (let i = WEIGHT_BYTES - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
        if (value !== 0n) return { value, bytes };
    }
}

/**
 * Verifies batches of Groth16 proofs for one verification key on a private, warm bn128
 * engine (the key's points and the α/β, γ, δ line coefficients are prepared once). Calls are
 * serialised; each call yields to the event loop while it works. Not for untrusted keys: the
 * key is checked for shape, curve and subgroup membership, nothing else.
 */
export class Groth16BatchVerifier {
    private readonly ex: Bn128WasmExports;
    private readonly key: ParsedKey;
    private readonly preQSize: number;
    private readonly millerGroup: number;
    private readonly yieldEvery: number;
    private lock: Promise<unknown> = Promise.resolve();
    private readonly maxGroup: number;
    private readonly smoothing: number;
    private readonly counters = { batches: 0, proofs: 0, malformed: 0, invalid: 0, pairingChecks: 0, groupChecks: 0, failedGroups: 0, singleChecks: 0 };
    /** Recent fraction of invalid proofs among those combined (see the file comment). */
    private failureRate = 0;

    // Fixed WebAssembly memory (allocated once; the engine is private to this verifier).
    private readonly pOne12: number;
    private readonly pPsiX: number;
    private readonly pPsiY: number;
    private readonly pX: number;
    private readonly pAlpha: number;
    /** The Miller loop of the constant pair (−α, β), for checks of one proof (r = 1). */
    private readonly pAlphaBeta: number;
    private readonly pIC: number;
    /** Prepared β, γ, δ. */
    private readonly pFixedQ: number;
    /** Line coefficients of the group's proofs. */
    private readonly pGroupQ: number;
    /** G1 points of the group's pairs (affine, 64 bytes each; the 3 fixed pairs first). */
    private readonly pGroupP: number;
    private readonly pF: number;
    private readonly pTotal: number;
    private readonly pVW: number;
    private readonly pVV: number;
    private readonly pScalar: number;
    private readonly pG1a: number;
    private readonly pG1b: number;
    private readonly pG1c: number;
    private readonly pSumC: number;
    /** Multi-scalar multiplication inputs: a chunk's C points and weights, the IC scalars. */
    private readonly pMsmBases: number;
    private readonly pMsmScalars: number;
    private readonly pIcScalars: number;
    /**
     * Fixed-base table of the IC points: [2^(8k)]·IC_j (affine) at index 32·j + k, and the bytes
     * of the IC scalars at the same indices, so that Σ_j S_j·IC_j is one multi-scalar
     * multiplication with 1-byte scalars: two bucket windows of a few doublings instead of 254
     * (0.49 against 1.02 ms for the 8 IC points of Spend(32, 8), same run).
     */
    private readonly pIcTable: number;
    private readonly pIcBytes: number;
    private readonly pG2: number;
    private readonly pG2t: readonly number[];

    private constructor(
        private readonly curve: Bn128Engine,
        key: ParsedKey,
        options: Groth16BatchVerifierOptions
    ) {
        this.key = key;
        this.ex = curve.tm.instance.exports;
        this.preQSize = curve.preQSize;
        if (this.preQSize !== FIRST_COEF + LINES * COEF) {
            throw new Error(`unexpected ffjavascript pairing layout (preQSize ${this.preQSize}, expected ${FIRST_COEF + LINES * COEF})`);
        }
        this.millerGroup = Math.max(1, Math.min(48, Math.floor(options.millerGroup ?? 32)));
        this.yieldEvery = Math.max(1, Math.floor(options.yieldEvery ?? 8));
        this.maxGroup = Math.max(1, Math.floor(options.maxGroup ?? 64));
        this.smoothing = Math.min(1, Math.max(1e-6, options.failureSmoothing ?? 1 / 32));
        const tm = curve.tm;
        const alloc = (bytes: number): number => tm.alloc(bytes);
        this.pOne12 = alloc(FP12);
        this.pPsiX = alloc(FP2);
        this.pPsiY = alloc(FP2);
        this.pX = alloc(8);
        this.pAlpha = alloc(G1_AFFINE);
        this.pAlphaBeta = alloc(FP12);
        this.pIC = alloc(G1_AFFINE * key.ic.length);
        this.pFixedQ = alloc(3 * this.preQSize);
        this.pGroupQ = alloc(this.millerGroup * this.preQSize);
        this.pGroupP = alloc((this.millerGroup + 3) * G1_AFFINE);
        this.pF = alloc(FP12);
        this.pTotal = alloc(FP12);
        this.pVW = alloc(FP2);
        this.pVV = alloc(FP2);
        this.pScalar = alloc(N8);
        this.pG1a = alloc(G1_JACOBIAN);
        this.pG1b = alloc(G1_JACOBIAN);
        this.pG1c = alloc(G1_JACOBIAN);
        this.pSumC = alloc(G1_JACOBIAN);
        this.pMsmBases = alloc(this.millerGroup * G1_AFFINE);
        this.pMsmScalars = alloc(this.millerGroup * WEIGHT_BYTES);
        this.pIcScalars = alloc(key.ic.length * N8);
        this.pIcTable = alloc(key.ic.length * N8 * G1_AFFINE);
        this.pIcBytes = alloc(key.ic.length * N8);
        this.pG2 = alloc(G2_JACOBIAN);
        this.pG2t = [alloc(G2_JACOBIAN), alloc(G2_JACOBIAN), alloc(G2_JACOBIAN), alloc(G2_JACOBIAN), alloc(G2_JACOBIAN)];
        // Keep 64 kB free for the module's own scratch allocations (multi-exponentiation tables).
        if (tm.u32[0]! + 65_536 > tm.memory.buffer.byteLength) throw new Error("the bn128 engine's memory is too small for this Miller group size");

        const ex = this.ex;
        ex.ftm_one(this.pOne12);
        this.writeFp(this.pPsiX, PSI_X[0]);
        this.writeFp(this.pPsiX + N8, PSI_X[1]);
        this.writeFp(this.pPsiY, PSI_Y[0]);
        this.writeFp(this.pPsiY + N8, PSI_Y[1]);
        this.writeScalar(this.pX, X, 8);

        // The key: G1 points on the curve, G2 points in G2, line coefficients of β, γ, δ.
        const g1 = (point: G1Words, pointer: number, name: string): void => {
            this.writeG1(pointer, point);
            if (!this.g1Valid(pointer)) throw keyError(`${name} is not on the curve`);
        };
        g1(key.alpha, this.pAlpha, "vk_alpha_1");
        key.ic.forEach((point, j) => g1(point, this.pIC + j * G1_AFFINE, `IC[${j}]`));
        // [2^(8k)]·IC_j by repeated doubling: never infinity (IC_j has prime order r > 2^(8k)).
        for (let j = 0; j < key.ic.length; j++) {
            this.scalarMulAffine(this.pIC + j * G1_AFFINE, 1n, this.pG1a);
            for (let k = 0; k < N8; k++) {
                ex.g1m_toAffine(this.pG1a, this.pIcTable + (j * N8 + k) * G1_AFFINE);
                for (let d = 0; d < 8; d++) ex.g1m_double(this.pG1a, this.pG1a);
            }
        }
        [key.beta, key.gamma, key.delta].forEach((point, k) => {
            this.writeG2(this.pG2, point);
            if (!this.g2Valid(this.pG2)) throw keyError(`${["vk_beta_2", "vk_gamma_2", "vk_delta_2"][k]} is not in G2`);
            ex.bn128_prepareG2(this.pG2, this.pFixedQ + k * this.preQSize);
        });
        this.scalarMulAffine(this.pAlpha, 1n, this.pG1a);
        this.negToAffine(this.pG1a, this.pGroupP);
        this.millerLoop([{ p: this.pGroupP, q: this.pFixedQ }], this.pAlphaBeta);
        this.selfTest();
    }

    /** Builds a private single-threaded bn128 engine and prepares the key on it. */
    static async create(vkey: VerificationKey, options: Groth16BatchVerifierOptions = {}): Promise<Groth16BatchVerifier> {
        const key = parseKey(vkey);
        const curve = await getCurveFromName("bn128", true);
        return new Groth16BatchVerifier(curve, key, options);
    }

    get nPublic(): number {
        return this.key.nPublic;
    }

    get stats(): BatchVerifierStats {
        return { ...this.counters, failureRate: this.failureRate };
    }

    /**
     * Verifies every item; result i is true iff item i is a valid proof for its signals
     * (up to the 2^-128 soundness error of the random combination for items of a batch that
     * passed as a whole).
     */
    verify(items: readonly Groth16BatchItem[]): Promise<boolean[]> {
        const run = this.lock.then(() => this.verifyNow(items));
        this.lock = run.catch(() => undefined);
        return run;
    }

    /** The engine has no worker threads; this only drops the memory with the object. */
    async close(): Promise<void> {
        await this.lock;
        await this.curve.terminate();
    }

    private async verifyNow(items: readonly Groth16BatchItem[]): Promise<boolean[]> {
        this.counters.batches++;
        this.counters.proofs += items.length;
        const results: boolean[] = items.map(() => false);
        const alone: PreparedProof[] = [];
        const shared: PreparedProof[] = [];
        for (let i = 0; i < items.length; i++) {
            const proof = this.prepare(items[i]!, i);
            if (proof === undefined) this.counters.malformed++;
            else (items[i]!.alone === true ? alone : shared).push(proof);
            if ((i + 1) % this.yieldEvery === 0) await yieldToEventLoop();
        }
        for (const proof of alone) results[proof.index] = await this.checkAlone(proof);
        // Groups of the best size for the failure rate as the batch starts, as even as possible.
        const size = Math.ceil(shared.length / Math.ceil(shared.length / this.groupSize()));
        for (let start = 0; start < shared.length; start += size) {
            const group = shared.slice(start, start + size);
            await this.settle(group, results);
            this.observe(group.length, group.filter((p) => !results[p.index]).length);
        }
        this.counters.invalid += alone.filter((p) => !results[p.index]).length + shared.filter((p) => !results[p.index]).length;
        return results;
    }

    /** The best group size for the current failure rate q: ⌊1/√q⌋ within [2, maxGroup], or 1 once q ≥ 1/4. */
    private groupSize(): number {
        const q = this.failureRate;
        if (q >= ALONE_ABOVE) return 1;
        if (q <= 0) return this.maxGroup;
        return Math.max(2, Math.min(this.maxGroup, Math.floor(1 / Math.sqrt(q))));
    }

    /** Folds `invalid` failures among `count` proofs into the failure rate (as if spread evenly over them). */
    private observe(count: number, invalid: number): void {
        const keep = (1 - this.smoothing) ** count;
        this.failureRate = keep * this.failureRate + (1 - keep) * (invalid / count);
    }

    /** Decides every proof of `group`: one combined check; if it fails, each proof on its own. */
    private async settle(group: readonly PreparedProof[], results: boolean[]): Promise<void> {
        if (group.length === 1) {
            results[group[0]!.index] = await this.checkAlone(group[0]!);
            return;
        }
        this.counters.groupChecks++;
        if (await this.check(group, true)) {
            for (const proof of group) results[proof.index] = true;
            return;
        }
        this.counters.failedGroups++;
        for (const proof of group) results[proof.index] = await this.checkAlone(proof);
    }

    /** The plain Groth16 equation for one proof. */
    private checkAlone(proof: PreparedProof): Promise<boolean> {
        this.counters.singleChecks++;
        return this.check([proof], false);
    }

    // ------------------------------------------------------------ one proof, split across two engines

    /**
     * The key's half of a split check of one proof (see verifySplit, which runs on another engine
     * of the same key, usually on another thread, at the same time): checks C and the signals,
     * then ML(−α, β)·ML(−L, γ)·ML(−C, δ), L = IC_0 + Σ_j s_j·IC_j, as 384 bytes (an Fp12 element
     * in the engine's Montgomery form). Undefined, with no Miller loop computed, if a signal or
     * a coordinate is malformed, or A, B or C is off its curve or at infinity (the cheap checks:
     * B's subgroup test is the other half's). Counts nothing: the proof is counted where it is
     * decided.
     */
    keyMillerLoops(item: Groth16BatchItem): Promise<Uint8Array | undefined> {
        const run = this.lock.then(() => {
            const ex = this.ex;
            const parsed = parseItem(item, this.key.nPublic);
            if (parsed === undefined) return undefined;
            this.writeG1(this.pG1a, parsed.a);
            if (!this.g1Valid(this.pG1a)) return undefined;
            this.writeG2(this.pG2, parsed.b);
            if (this.u8.subarray(this.pG2, this.pG2 + G2_AFFINE).every((byte) => byte === 0) || ex.g2m_inCurveAffine(this.pG2) === 0) return undefined;
            this.writeG1(this.pG1a, parsed.c);
            if (!this.g1Valid(this.pG1a)) return undefined;
            ex.g1m_zero(this.pSumC);
            ex.g1m_addMixed(this.pSumC, this.pG1a, this.pSumC);
            const pairs = this.fixedPairs([1n, ...parsed.signals], this.pSumC, false);
            this.millerLoop(pairs, this.pF);
            ex.ftm_mul(this.pF, this.pAlphaBeta, this.pF);
            return this.read(this.pF, FP12);
        });
        this.lock = run.catch(() => undefined);
        return run;
    }

    /**
     * One proof checked with the plain Groth16 equation, its work split across two engines (this
     * one and another, usually on another thread; never this one: it would wait for itself):
     *
     *     ML(A, B) · [ML(−α, β) · ML(−L, γ) · ML(−C, δ)], final exponentiation, = 1.
     *
     * This engine checks every point and signal of `item` and computes ML(A, B) while another
     * engine of the same key computes the bracket (keyMillerLoops) and hands it over as
     * `keyLoops`; this one then multiplies and finishes with the final exponentiation. The
     * verdict, the counters and the failure rate are this engine's, exactly as if it had checked
     * the proof alone. False at once if the proof is malformed (counted); false, with no
     * pairing check counted, if `keyLoops` resolves to undefined (the other half refused it,
     * or the ticket was refused before: its request signature).
     */
    verifySplit(item: Groth16BatchItem, keyLoops: Promise<Uint8Array | undefined>): Promise<boolean> {
        keyLoops.catch(() => undefined); // not awaited if the proof is malformed
        const run = this.lock.then(async () => {
            const ex = this.ex;
            this.counters.batches++;
            this.counters.proofs++;
            const proof = this.prepare(item, 0);
            if (proof === undefined) {
                this.counters.malformed++;
                return false;
            }
            // prepare() left B's line coefficients at pGroupQ.
            const p = this.pGroupP + 3 * G1_AFFINE;
            this.u8.set(proof.a, p);
            this.millerLoop([{ p, q: this.pGroupQ }], this.pTotal);
            const other = await keyLoops;
            if (other === undefined) return false;
            if (other.length !== FP12) throw new Error(`a Miller loop has ${FP12} bytes, not ${other.length}`);
            this.counters.pairingChecks++;
            this.counters.singleChecks++;
            this.u8.set(other, this.pF);
            ex.ftm_mul(this.pTotal, this.pF, this.pTotal);
            ex.bn128_finalExponentiation(this.pTotal, this.pTotal);
            const valid = ex.ftm_eq(this.pTotal, this.pOne12) !== 0;
            if (!valid) this.counters.invalid++;
            this.observe(1, valid ? 0 : 1);
            return valid;
        });
        this.lock = run.catch(() => undefined);
        return run;
    }

    // ------------------------------------------------------------ per-proof checks

    /** The point and signal checks; on success B's line coefficients are computed. */
    private prepare(item: Groth16BatchItem, index: number): PreparedProof | undefined {
        const parsed = parseItem(item, this.key.nPublic);
        if (parsed === undefined) return undefined;
        const ex = this.ex;
        this.writeG1(this.pG1a, parsed.a);
        if (!this.g1Valid(this.pG1a)) return undefined;
        const a = this.read(this.pG1a, G1_AFFINE);
        this.writeG1(this.pG1a, parsed.c);
        if (!this.g1Valid(this.pG1a)) return undefined;
        const c = this.read(this.pG1a, G1_AFFINE);
        this.writeG2(this.pG2, parsed.b);
        if (!this.g2Valid(this.pG2)) return undefined;
        ex.bn128_prepareG2(this.pG2, this.pGroupQ);
        return { index, signals: parsed.signals, a, c, lines: this.read(this.pGroupQ, this.preQSize) };
    }

    /** On the curve and not the point at infinity (the packed encoding of infinity is (0, 0)). Cofactor 1: in G1. */
    private g1Valid(pAffine: number): boolean {
        const u8 = this.u8;
        if (u8.subarray(pAffine, pAffine + G1_AFFINE).every((byte) => byte === 0)) return false;
        return this.ex.g1m_inCurveAffine(pAffine) !== 0;
    }

    /**
     * On the twist, not infinity, and in the order-r subgroup G2. `pJacobian` holds the point
     * with Z = 1. The subgroup test (eprint 2022/348) costs one 63-bit scalar multiplication
     * instead of the 254-bit [r]B = O: [x+1]B + ψ([x]B) + ψ²([x]B) == ψ³([2x]B).
     */
    private g2Valid(pJacobian: number): boolean {
        const ex = this.ex;
        if (this.u8.subarray(pJacobian, pJacobian + G2_AFFINE).every((byte) => byte === 0)) return false;
        if (ex.g2m_inCurveAffine(pJacobian) === 0) return false;
        const [xB, lhs, t, rhs] = this.pG2t as [number, number, number, number, number];
        ex.g2m_timesScalarAffine(pJacobian, this.pX, 8, xB); // [x]B (Z = 1: affine, mixed additions)
        ex.g2m_add(xB, pJacobian, lhs); // [x+1]B
        this.psi(xB, t); // ψ([x]B)
        ex.g2m_add(lhs, t, lhs);
        this.psi(t, t); // ψ²([x]B)
        ex.g2m_add(lhs, t, lhs);
        ex.g2m_double(xB, rhs); // [2x]B
        this.psi(rhs, rhs);
        this.psi(rhs, rhs);
        this.psi(rhs, rhs); // ψ³([2x]B)
        return ex.g2m_eq(lhs, rhs) !== 0;
    }

    /** ψ on Jacobian coordinates: (conj(X)·PSI_X, conj(Y)·PSI_Y, conj(Z)). In place allowed. */
    private psi(from: number, to: number): void {
        const ex = this.ex;
        ex.f2m_conjugate(from, to);
        ex.f2m_mul(to, this.pPsiX, to);
        ex.f2m_conjugate(from + FP2, to + FP2);
        ex.f2m_mul(to + FP2, this.pPsiY, to + FP2);
        ex.f2m_conjugate(from + 2 * FP2, to + 2 * FP2);
    }

    // ------------------------------------------------------------ the pairing-product check

    /**
     * One pairing-product check over `group`. With `weighted`, each proof gets its random
     * weight r_i; without, `group` is one proof and r = 1: the plain Groth16 equation, with the
     * precomputed Miller loop of (−α, β) in place of the α pair.
     *
     *   Π_i e(r_i·A_i, B_i) · e(−(Σr_i)·α, β) · e(−Σ_j S_j·IC_j, γ) · e(−Σ_i r_i·C_i, δ) = 1,
     *   S_0 = Σ_i r_i, S_j = Σ_i r_i·s_ij (mod r).
     *
     * The proofs are taken `millerGroup` at a time (WebAssembly memory is fixed): per chunk,
     * Σ r_i·C_i is one multi-scalar multiplication and the chunk's pairs share one Miller
     * loop; the three fixed pairs join the last chunk, when the sums are complete.
     */
    private async check(group: readonly PreparedProof[], weighted: boolean): Promise<boolean> {
        const ex = this.ex;
        if (!weighted && group.length !== 1) throw new Error("an unweighted check takes exactly one proof");
        this.counters.pairingChecks++;
        const n = this.key.nPublic;
        const sums: bigint[] = new Array<bigint>(n + 1).fill(0n);
        const pSumC = this.pSumC;
        ex.g1m_zero(pSumC);
        ex.ftm_one(this.pTotal);
        const chunks = Math.max(1, Math.ceil(group.length / this.millerGroup));
        for (let chunkIndex = 0; chunkIndex < chunks; chunkIndex++) {
            const chunk = group.slice(chunkIndex * this.millerGroup, (chunkIndex + 1) * this.millerGroup);
            if (weighted) this.weigh(chunk);
            const pairs: { p: number; q: number }[] = [];
            chunk.forEach((proof, k) => {
                const r = weighted ? proof.weight! : 1n;
                sums[0] = sums[0]! + r;
                for (let j = 0; j < n; j++) sums[j + 1] = (sums[j + 1]! + r * proof.signals[j]!) % R;
                if (weighted) {
                    this.u8.set(proof.c, this.pMsmBases + k * G1_AFFINE);
                    this.u8.set(proof.weightBytes!, this.pMsmScalars + k * WEIGHT_BYTES);
                } else {
                    this.u8.set(proof.c, this.pG1a);
                    ex.g1m_addMixed(pSumC, this.pG1a, pSumC);
                }
                const p = this.pGroupP + (3 + k) * G1_AFFINE;
                const q = this.pGroupQ + k * this.preQSize;
                this.u8.set(weighted ? proof.weightedA! : proof.a, p);
                this.u8.set(proof.lines, q);
                pairs.push({ p, q });
            });
            if (weighted && chunk.length > 0) {
                ex.g1m_multiexpAffine(this.pMsmBases, this.pMsmScalars, WEIGHT_BYTES, chunk.length, this.pG1a);
                ex.g1m_add(pSumC, this.pG1a, pSumC);
            }
            if (chunkIndex === chunks - 1) pairs.push(...this.fixedPairs(sums, pSumC, weighted));
            this.millerLoop(pairs, this.pF);
            ex.ftm_mul(this.pTotal, this.pF, this.pTotal);
            if (chunkIndex < chunks - 1) await yieldToEventLoop();
        }
        if (!weighted) ex.ftm_mul(this.pTotal, this.pAlphaBeta, this.pTotal);
        ex.bn128_finalExponentiation(this.pTotal, this.pTotal);
        return ex.ftm_eq(this.pTotal, this.pOne12) !== 0;
    }

    /**
     * The fixed pairs: (−(Σr)·α, β) unless `withAlpha` is false (one proof, r = 1: the caller
     * multiplies in the precomputed Miller loop of (−α, β)), (−Σ_j S_j·IC_j, γ) — one
     * multi-scalar multiplication over the IC points, IC_0 weighted by Σr — and (−Σ r_i·C_i, δ).
     * A pair whose G1 point is the point at infinity is left out (e(O, Q) = 1).
     */
    private fixedPairs(sums: bigint[], pSumC: number, withAlpha: boolean): { p: number; q: number }[] {
        sums[0] = sums[0]! % R;
        const pairs: { p: number; q: number }[] = [];
        const fixed = (pJacobian: number, k: number): void => {
            const p = this.pGroupP + k * G1_AFFINE;
            if (this.negToAffine(pJacobian, p)) pairs.push({ p, q: this.pFixedQ + k * this.preQSize });
        };
        if (withAlpha) {
            this.scalarMulAffine(this.pAlpha, sums[0]!, this.pG1a);
            fixed(this.pG1a, 0);
        }
        this.icSum(sums, this.pG1c);
        fixed(this.pG1c, 1);
        fixed(pSumC, 2);
        return pairs;
    }

    /** Σ_j sums[j]·IC_j (Jacobian) into `pResult`, through the fixed-base table. */
    private icSum(sums: readonly bigint[], pResult: number): void {
        // Byte k of S_j (little-endian) weighs [2^(8k)]·IC_j: Σ_j Σ_k byte_jk·[2^(8k)]·IC_j = Σ_j S_j·IC_j.
        sums.forEach((sum, j) => this.writeScalar(this.pIcBytes + j * N8, sum, N8));
        this.ex.g1m_multiexpAffine(this.pIcTable, this.pIcBytes, 1, sums.length * N8, pResult);
    }

    /** Draws a weight for each proof that has none yet, and caches r·A (affine). */
    private weigh(chunk: readonly PreparedProof[]): void {
        const ex = this.ex;
        for (const proof of chunk) {
            if (proof.weight !== undefined) continue;
            const { value, bytes } = randomWeight();
            this.u8.set(bytes, this.pScalar);
            this.u8.set(proof.a, this.pG1b);
            ex.g1m_timesScalarAffine(this.pG1b, this.pScalar, WEIGHT_BYTES, this.pG1c);
            ex.g1m_toAffine(this.pG1c, this.pG1b); // r·A ≠ O: A ≠ O has prime order r > r_i
            proof.weightedA = this.read(this.pG1b, G1_AFFINE);
            proof.weightBytes = bytes;
            proof.weight = value;
        }
    }

    /**
     * f = Π_k f_{6x+2,Q_k}(P_k) with the Frobenius lines: wasmcurves' Miller loop, walked for
     * all pairs at once so that the Fp12 squarings are shared. Same result, bit for bit, as the
     * product of bn128_millerLoop over the pairs (checked by selfTest).
     */
    private millerLoop(pairs: readonly { p: number; q: number }[], pF: number): void {
        const ex = this.ex;
        const { pVW, pVV } = this;
        const line = (offset: number): void => {
            for (const { p, q } of pairs) {
                const coef = q + offset;
                ex.f2m_mul1(coef + FP2, p + N8, pVW); // ell_VW · y_P
                ex.f2m_mul1(coef + 2 * FP2, p, pVV); // ell_VV · x_P
                ex.bn128__mulBy024(coef, pVW, pVV, pF);
            }
        };
        ex.ftm_one(pF);
        let offset = FIRST_COEF;
        for (let i = ATE_BITS.length - 2; i >= 0; i--) {
            ex.ftm_square(pF, pF);
            line(offset);
            offset += COEF;
            if (ATE_BITS[i] === 1) {
                line(offset);
                offset += COEF;
            }
        }
        line(offset);
        offset += COEF;
        line(offset);
    }

    // ------------------------------------------------------------ memory helpers

    private get u8(): Uint8Array {
        return this.curve.tm.u8;
    }

    private dataView?: DataView;

    private get view(): DataView {
        const buffer = this.curve.tm.memory.buffer;
        if (this.dataView === undefined || this.dataView.buffer !== buffer) this.dataView = new DataView(buffer);
        return this.dataView;
    }

    private read(pointer: number, length: number): Uint8Array {
        return this.u8.slice(pointer, pointer + length);
    }

    /** Little-endian plain (not Montgomery) integer of `bytes` bytes (a multiple of 8). */
    private writeScalar(pointer: number, value: bigint, bytes: number): void {
        const view = this.view;
        let v = value;
        for (let offset = 0; offset < bytes; offset += 8) {
            view.setBigUint64(pointer + offset, BigInt.asUintN(64, v), true);
            v >>= 64n;
        }
    }

    /** A canonical field element, converted to Montgomery form in place. */
    private writeFp(pointer: number, value: bigint): void {
        this.writeScalar(pointer, value, N8);
        this.ex.f1m_toMontgomery(pointer, pointer);
    }

    private writeG1(pointer: number, [x, y]: G1Words): void {
        this.writeFp(pointer, x);
        this.writeFp(pointer + N8, y);
    }

    /** A G2 point in Jacobian form with Z = 1. */
    private writeG2(pointer: number, [x0, x1, y0, y1]: G2Words): void {
        this.writeFp(pointer, x0);
        this.writeFp(pointer + N8, x1);
        this.writeFp(pointer + 2 * N8, y0);
        this.writeFp(pointer + 3 * N8, y1);
        this.ex.f2m_one(pointer + 2 * FP2);
    }

    /** [s]P for an affine P and a scalar s < r (only the scalar's significant 64-bit words are walked: Σr has ~134 bits). */
    private scalarMulAffine(pAffine: number, scalar: bigint, pResult: number): void {
        const bytes = Math.min(N8, 8 * Math.max(1, Math.ceil(scalar.toString(2).length / 64)));
        this.writeScalar(this.pScalar, scalar, bytes);
        this.ex.g1m_timesScalarAffine(pAffine, this.pScalar, bytes, pResult);
    }

    /** −P in affine form; false (nothing written) if P is the point at infinity: e(O, Q) = 1. */
    private negToAffine(pJacobian: number, pAffine: number): boolean {
        if (this.ex.g1m_isZero(pJacobian) !== 0) return false;
        this.ex.g1m_neg(pJacobian, pJacobian);
        this.ex.g1m_toAffine(pJacobian, pAffine);
        return true;
    }

    /**
     * Guards against a different ffjavascript layout: the shared-squaring Miller loop must
     * equal bn128_millerLoop, ψ must act on G2 as [p], and the subgroup test must accept the
     * generator and reject a point of the twist outside G2.
     */
    private selfTest(): void {
        const ex = this.ex;
        const pairs = [{ p: this.pAlpha, q: this.pFixedQ }];
        this.millerLoop(pairs, this.pF);
        ex.bn128_millerLoop(this.pAlpha, this.pFixedQ, this.pTotal);
        if (ex.ftm_eq(this.pF, this.pTotal) === 0) throw new Error("batch verifier self-test failed: Miller loop mismatch");
        // The fixed-base table gives the plain multi-scalar multiplication's sum (scalars up to r − 1).
        const sums = this.key.ic.map((_, j) => (R - 1n - BigInt(j) * 0x9e3779b97f4a7c15f39cc0605cedc834n) % R);
        this.icSum(sums, this.pG1b);
        sums.forEach((sum, j) => this.writeScalar(this.pIcScalars + j * N8, sum, N8));
        ex.g1m_multiexpAffine(this.pIC, this.pIcScalars, N8, sums.length, this.pG1c);
        if (ex.g1m_eq(this.pG1b, this.pG1c) === 0) throw new Error("batch verifier self-test failed: the IC table's sum differs");

        const generator = this.curve.G2.g;
        const pG = this.pG2;
        this.u8.set(generator, pG); // Jacobian Montgomery, Z = 1
        const [t0, t1] = this.pG2t as [number, number];
        this.psi(pG, t0);
        this.writeScalar(this.pScalar, P % R, N8);
        ex.g2m_timesScalar(pG, this.pScalar, N8, t1);
        if (ex.g2m_eq(t0, t1) === 0) throw new Error("batch verifier self-test failed: ψ is not [p] on G2");
        if (!this.g2Valid(pG)) throw new Error("batch verifier self-test failed: the G2 generator is not in G2");
        // A twist point outside G2: the first x = (k, 1) with x³ + b' a square.
        for (let k = 1n; ; k++) {
            this.writeFp(pG, k);
            this.writeFp(pG + N8, 1n);
            const pRhs = this.pG2t[4]!;
            ex.f2m_mul(pG, pG, pRhs);
            ex.f2m_mul(pRhs, pG, pRhs);
            this.writeFp(t0, 19485874751759354771024239261021720505790618469301721065564631296452457478373n);
            this.writeFp(t0 + N8, 266929791119991161246907387137283842545076965332900288569378510910307636690n);
            ex.f2m_add(pRhs, t0, pRhs);
            if (ex.f2m_isSquare(pRhs) === 0) continue;
            ex.f2m_sqrt(pRhs, pG + FP2);
            ex.f2m_one(pG + 2 * FP2);
            if (ex.g2m_inCurveAffine(pG) === 0) throw new Error("batch verifier self-test failed: cannot build a twist point");
            this.writeScalar(this.pScalar, R, N8);
            ex.g2m_timesScalar(pG, this.pScalar, N8, t1);
            if (ex.g2m_isZero(t1) !== 0) continue; // (astronomically unlikely) in G2 after all
            if (this.g2Valid(pG)) throw new Error("batch verifier self-test failed: a point outside G2 passed the subgroup test");
            break;
        }
    }
}

// ---------------------------------------------------------------- verifyBatch

const engines = new WeakMap<VerificationKey, Promise<Groth16BatchVerifier>>();

/**
 * Verifies proofs that share `vkey` in randomised groups (each proof of a failing group then on its own); result i
 * says whether item i is valid. The engine for a key object is built once and kept.
 */
export async function verifyBatch(vkey: VerificationKey, items: readonly Groth16BatchItem[]): Promise<boolean[]> {
    let engine = engines.get(vkey);
    if (engine === undefined) {
        engine = Groth16BatchVerifier.create(vkey);
        engines.set(vkey, engine);
        engine.catch(() => engines.delete(vkey));
    }
    return (await engine).verify(items);
}

// ---------------------------------------------------------------- the batching proof verifier

export interface BatchProofVerifierOptions {
    /** How long the first proof of a batch waits for others, in ms (default 2). */
    readonly windowMs?: number;
    /** Most proofs per batch (default 64); a full queue is verified at once. */
    readonly maxBatch?: number;
    /** Passed to the engine. */
    readonly engine?: Groth16BatchVerifierOptions;
}

interface Pending {
    readonly item: Groth16BatchItem;
    readonly resolve: (valid: boolean) => void;
    readonly reject: (error: unknown) => void;
}

/**
 * A {@link ProofVerifier} that verifies concurrent proofs (tickets, folds) together on this
 * thread: a proof waits at most `windowMs` for others (up to `maxBatch`), then the batch is
 * verified in randomised groups on a warm engine (see the file comment). Proofs that arrive
 * while a batch is being verified form the next batch, which starts as soon as the current
 * one ends. An invalid proof fails alone: the others of its batch are still accepted. (The
 * gateway's default is the worker-thread pool of verification/pool.ts, which runs this same
 * engine off the event loop.)
 */
export class BatchProofVerifier implements ProofVerifier {
    private readonly key: VerificationKey;
    private readonly windowMs: number;
    private readonly maxBatch: number;
    private readonly engineOptions: Groth16BatchVerifierOptions;
    private enginePromise?: Promise<Groth16BatchVerifier>;
    private built?: Groth16BatchVerifier;
    private queue: Pending[] = [];
    private timer?: NodeJS.Timeout;
    private draining?: Promise<void>;
    private closed = false;

    constructor(verificationKey: string | VerificationKey, options: BatchProofVerifierOptions = {}) {
        this.key = loadVerificationKey(verificationKey);
        parseKey(this.key); // fail now on a malformed key
        this.windowMs = Math.max(0, options.windowMs ?? 2);
        this.maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 64));
        this.engineOptions = options.engine ?? {};
    }

    /** Builds the engine now instead of on the first proof. */
    async ready(): Promise<void> {
        await this.engine();
    }

    /** The engine's counters (zero before the first batch). */
    get stats(): BatchVerifierStats {
        return this.built?.stats ?? NO_STATS;
    }

    /** Verifies one proof with the others queued now; `hint.alone` keeps it out of every combined check. */
    verify(proof: readonly bigint[], publicSignals: readonly bigint[], hint?: { readonly alone?: boolean }): Promise<boolean> {
        if (this.closed) return Promise.reject(new Error("the batch verifier is closed"));
        return new Promise<boolean>((resolve, reject) => {
            this.queue.push({ item: { proof, publicSignals, alone: hint?.alone === true }, resolve, reject });
            this.schedule();
        });
    }

    /** Verifies what is queued, then refuses new proofs. */
    async close(): Promise<void> {
        this.closed = true;
        if (this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
        }
        if (this.queue.length > 0) this.startDrain();
        await this.draining;
        if (this.enginePromise !== undefined) await (await this.enginePromise).close();
    }

    private engine(): Promise<Groth16BatchVerifier> {
        if (this.enginePromise === undefined) {
            this.enginePromise = Groth16BatchVerifier.create(this.key, this.engineOptions).then((engine) => (this.built = engine));
            this.enginePromise.catch(() => (this.enginePromise = undefined));
        }
        return this.enginePromise;
    }

    private schedule(): void {
        if (this.draining !== undefined) return; // the running drain takes it next
        if (this.queue.length >= this.maxBatch || this.windowMs === 0) {
            if (this.timer !== undefined) clearTimeout(this.timer);
            this.timer = undefined;
            this.startDrain();
        } else if (this.timer === undefined) {
            this.timer = setTimeout(() => {
                this.timer = undefined;
                this.startDrain();
            }, this.windowMs);
        }
    }

    private startDrain(): void {
        if (this.draining !== undefined) return;
        this.draining = this.drain().finally(() => {
            this.draining = undefined;
            if (this.queue.length > 0) this.schedule();
        });
    }

    private async drain(): Promise<void> {
        let engine: Groth16BatchVerifier;
        try {
            engine = await this.engine();
        } catch (error) {
            for (const pending of this.queue.splice(0)) pending.reject(error);
            return;
        }
        while (this.queue.length > 0) {
            const batch = this.queue.splice(0, this.maxBatch);
            try {
                const results = await engine.verify(batch.map((pending) => pending.item));
                batch.forEach((pending, i) => pending.resolve(results[i]!));
            } catch (error) {
                for (const pending of batch) pending.reject(error);
            }
        }
    }
}
