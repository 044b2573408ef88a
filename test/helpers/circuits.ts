import { readFileSync } from "node:fs";
import path from "node:path";
import { wtns } from "snarkjs";
import { SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import type { CircuitInputs, CircuitProver } from "@zk-api-credits/protocol";
import { compileCircuit } from "../../scripts/circuits/compile";
import { ARTIFACTS_DIR, loadConfig } from "../../scripts/circuits/config";
import { prover } from "./provers";
import type { ArtifactName } from "./provers";

const P = SNARK_SCALAR_FIELD;
const mod = (a: bigint): bigint => ((a % P) + P) % P;

/** snarkjs' in-memory file. */
interface MemFile {
    type: "mem";
    data?: Uint8Array;
}

/** A witness file (snarkjs "wtns" v2) holding `values`, for checking tampered witnesses with snarkjs. */
function wtnsFile(values: readonly bigint[]): MemFile {
    const n8 = 32;
    const header = Buffer.alloc(4 + n8 + 4);
    header.writeUInt32LE(n8, 0);
    writeLE(header, 4, P, n8);
    header.writeUInt32LE(values.length, 4 + n8);
    const body = Buffer.alloc(values.length * n8);
    values.forEach((v, i) => writeLE(body, i * n8, v, n8));
    const section = (type: number, data: Buffer): Buffer => {
        const head = Buffer.alloc(12);
        head.writeUInt32LE(type, 0);
        head.writeBigUInt64LE(BigInt(data.length), 4);
        return Buffer.concat([head, data]);
    };
    const preamble = Buffer.alloc(12);
    preamble.write("wtns", 0, "ascii");
    preamble.writeUInt32LE(2, 4);
    preamble.writeUInt32LE(2, 8);
    return { type: "mem", data: Buffer.concat([preamble, section(1, header), section(2, body)]) };
}

function writeLE(buffer: Buffer, offset: number, value: bigint, bytes: number): void {
    let v = value;
    for (let i = 0; i < bytes; i++) {
        buffer[offset + i] = Number(v & 0xffn);
        v >>= 8n;
    }
}

function readLE(buffer: Buffer, offset: number, bytes: number): bigint {
    let v = 0n;
    for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(buffer[offset + i]!);
    return v;
}

/** One linear combination of a constraint: Σ coefficients[t] · w[wires[t]]. */
interface LinearCombination {
    readonly wires: Uint32Array;
    readonly coefficients: readonly bigint[];
}

/** A constraint A · B = C. */
interface Constraint {
    readonly a: LinearCombination;
    readonly b: LinearCombination;
    readonly c: LinearCombination;
}

/**
 * A rank-1 constraint system read from circom's .r1cs file (iden3 binary format), evaluated in
 * memory: checking a witness takes a fraction of a second instead of snarkjs' file round trip,
 * so the suites can check many tampered witnesses.
 */
export class ConstraintSystem {
    readonly constraints: readonly Constraint[];
    readonly wires: number;
    /** Witness indices of the public signals (outputs, then public inputs), after the constant 1. */
    readonly publicSignals: number;

    constructor(file: string) {
        const data = readFileSync(file);
        if (data.toString("ascii", 0, 4) !== "r1cs") throw new Error(`${file} is not an r1cs file`);
        const sections = new Map<number, { start: number; size: number }>();
        let at = 12;
        for (let s = 0; s < data.readUInt32LE(8); s++) {
            const type = data.readUInt32LE(at);
            const size = Number(data.readBigUInt64LE(at + 4));
            sections.set(type, { start: at + 12, size });
            at += 12 + size;
        }
        const header = sections.get(1);
        const body = sections.get(2);
        if (header === undefined || body === undefined) throw new Error(`${file} has no header or constraints`);
        let h = header.start;
        const n8 = data.readUInt32LE(h);
        if (readLE(data, h + 4, n8) !== P) throw new Error(`${file} is not over the BN254 scalar field`);
        h += 4 + n8;
        this.wires = data.readUInt32LE(h);
        this.publicSignals = data.readUInt32LE(h + 4) + data.readUInt32LE(h + 8);
        const count = data.readUInt32LE(h + 24);
        let c = body.start;
        const combination = (): LinearCombination => {
            const terms = data.readUInt32LE(c);
            c += 4;
            const wires = new Uint32Array(terms);
            const coefficients: bigint[] = [];
            for (let t = 0; t < terms; t++) {
                wires[t] = data.readUInt32LE(c);
                coefficients.push(readLE(data, c + 4, n8));
                c += 4 + n8;
            }
            return { wires, coefficients };
        };
        const constraints: Constraint[] = [];
        for (let i = 0; i < count; i++) constraints.push({ a: combination(), b: combination(), c: combination() });
        this.constraints = constraints;
    }

    private static evaluate(lc: LinearCombination, witness: readonly bigint[]): bigint {
        let sum = 0n;
        for (let t = 0; t < lc.wires.length; t++) sum += lc.coefficients[t]! * witness[lc.wires[t]!]!;
        return sum % P;
    }

    /** Indices of the constraints `witness` violates (empty: the witness satisfies the system). */
    violations(witness: readonly bigint[], limit = Infinity): number[] {
        if (witness.length !== this.wires) throw new Error(`a witness has ${this.wires} values, not ${witness.length}`);
        if (witness[0] !== 1n) return [-1];
        const failed: number[] = [];
        for (const [i, { a, b, c }] of this.constraints.entries()) {
            const value = ConstraintSystem.evaluate(a, witness) * ConstraintSystem.evaluate(b, witness) - ConstraintSystem.evaluate(c, witness);
            if (value % P !== 0n) {
                failed.push(i);
                if (failed.length >= limit) break;
            }
        }
        return failed;
    }

    /**
     * The signals of a valid witness that could be changed ALONE, everything else kept, without
     * violating a constraint: a signal appearing in no constraint, or one whose constraints
     * all admit some non-zero shift δ. Exact: a constraint A·B = C holds after w_s += δ iff
     * δ·(a·B + b·A − c) + δ²·a·b = 0 (a, b, c: the coefficients of s), so each constraint either
     * leaves δ free, pins it to 0, or allows the single root δ = −(a·B + b·A − c)/(a·b).
     */
    freeSignals(witness: readonly bigint[]): number[] {
        if (this.violations(witness, 1).length > 0) throw new Error("freeSignals needs a valid witness");
        type Term = { u: bigint; v: bigint };
        const terms: Term[][] = Array.from({ length: this.wires }, () => []);
        for (const { a, b, c } of this.constraints) {
            const A = ConstraintSystem.evaluate(a, witness);
            const B = ConstraintSystem.evaluate(b, witness);
            const coefficients = new Map<number, { a: bigint; b: bigint; c: bigint }>();
            const entry = (wire: number) => {
                let found = coefficients.get(wire);
                if (found === undefined) coefficients.set(wire, (found = { a: 0n, b: 0n, c: 0n }));
                return found;
            };
            a.wires.forEach((w, t) => (entry(w).a += a.coefficients[t]!));
            b.wires.forEach((w, t) => (entry(w).b += b.coefficients[t]!));
            c.wires.forEach((w, t) => (entry(w).c += c.coefficients[t]!));
            for (const [wire, k] of coefficients) terms[wire]!.push({ u: mod(k.a * B + k.b * A - k.c), v: mod(k.a * k.b) });
        }
        const free: number[] = [];
        for (let wire = 1; wire < this.wires; wire++) {
            let root: Term | undefined;
            let pinned = false;
            for (const t of terms[wire]!) {
                if (t.v === 0n) {
                    if (t.u !== 0n) pinned = true;
                } else if (t.u === 0n) {
                    pinned = true;
                } else if (root === undefined) {
                    root = t;
                } else if (mod(t.u * root.v - root.u * t.v) !== 0n) {
                    pinned = true;
                }
                if (pinned) break;
            }
            if (!pinned) free.push(wire);
        }
        return free;
    }
}

const loaded = new Map<string, CircuitUnderTest>();

/**
 * One compiled circuit under test: computes witnesses with the committed wasm, checks any
 * (possibly tampered) witness against the constraint system compiled from the sources, and
 * proves with the committed zkey.
 */
export class CircuitUnderTest {
    private readonly signals: Map<string, number>;
    private readonly names: Map<number, string>;
    private system?: ConstraintSystem;

    private constructor(
        readonly name: string,
        readonly r1cs: string,
        readonly wasm: string,
        sym: string,
        readonly prover: CircuitProver
    ) {
        this.signals = new Map();
        this.names = new Map();
        for (const line of readFileSync(sym, "utf8").split("\n")) {
            const [, witnessIndex, , signal] = line.split(",");
            if (signal === undefined || Number(witnessIndex) < 0) continue;
            this.signals.set(signal, Number(witnessIndex));
            if (!this.names.has(Number(witnessIndex))) this.names.set(Number(witnessIndex), signal);
        }
    }

    /** The circuit named in circuits/circuits.json (compiled once per test run, cached on disk). */
    static load(name: ArtifactName): CircuitUnderTest {
        let found = loaded.get(name);
        if (found === undefined) {
            const config = loadConfig();
            const circuit = config.circuits.find((c) => c.name === name);
            if (circuit === undefined) throw new Error(`no circuit ${name} in circuits/circuits.json`);
            const compiled = compileCircuit(circuit, config, () => undefined);
            found = new CircuitUnderTest(name, compiled.r1cs, path.join(ARTIFACTS_DIR, `${name}.wasm`), compiled.sym, prover(name));
            loaded.set(name, found);
        }
        return found;
    }

    /** The constraint system (read on first use). */
    get constraints(): ConstraintSystem {
        this.system ??= new ConstraintSystem(this.r1cs);
        return this.system;
    }

    /** The full witness (index 0 is the constant 1); throws if an assertion fails. */
    async witness(inputs: CircuitInputs): Promise<bigint[]> {
        const file: MemFile = { type: "mem" };
        await wtns.calculate(inputs, this.wasm, file);
        return ((await wtns.exportJson(file as never)) as unknown[]).map((v) => BigInt(v as bigint));
    }

    /** True if the witness satisfies every constraint (in-memory evaluation of the r1cs). */
    async satisfies(witness: readonly bigint[]): Promise<boolean> {
        return this.constraints.violations(witness, 1).length === 0;
    }

    /** The same check by snarkjs (`wtns check`), slower: the suites cross-check the two. */
    async snarkjsSatisfies(witness: readonly bigint[]): Promise<boolean> {
        const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
        return Boolean(await wtns.check(this.r1cs, wtnsFile(witness) as never, silent));
    }

    /** Names of the signals of a valid witness that can be changed alone (see ConstraintSystem.freeSignals). */
    freeSignals(witness: readonly bigint[]): string[] {
        return this.constraints.freeSignals(witness).map((i) => this.signalName(i));
    }

    /** Witness index of the unique signal whose name matches. */
    signalIndex(pattern: RegExp): number {
        const found = this.signalIndices(pattern);
        if (found.length !== 1) throw new Error(`${pattern} matches ${found.length} signals of ${this.name}`);
        return found[0]!;
    }

    /** Witness indices of every signal whose name matches, in witness order. */
    signalIndices(pattern: RegExp): number[] {
        const found = new Set<number>();
        for (const [name, index] of this.signals) if (pattern.test(name)) found.add(index);
        return [...found].sort((a, b) => a - b);
    }

    /** A name of the signal at witness index `index`. */
    signalName(index: number): string {
        return this.names.get(index) ?? `#${index}`;
    }

    /** A copy of `witness` with some signals replaced. */
    static tamper(witness: readonly bigint[], changes: ReadonlyMap<number, bigint>): bigint[] {
        return witness.map((v, i) => (changes.has(i) ? mod(changes.get(i)!) : v));
    }
}

/**
 * The circuit wasm's assertion message when a witness cannot be computed. The circom
 * runtime also prints each failed assertion to the console; that noise is held back here
 * and the message is returned for the test to assert on.
 */
export async function witnessFailure(promise: Promise<unknown>): Promise<string> {
    const { error: consoleError, log: consoleLog } = console;
    const runtimeNoise = (original: (...args: unknown[]) => void) => (...args: unknown[]) => {
        if (args[0] !== "ERROR: ") original(...args);
    };
    console.error = runtimeNoise(consoleError);
    console.log = runtimeNoise(consoleLog);
    try {
        await promise;
    } catch (error) {
        return error instanceof Error ? error.message : String(error);
    } finally {
        console.error = consoleError;
        console.log = consoleLog;
    }
    throw new Error("expected the witness computation to fail, but it succeeded");
}
