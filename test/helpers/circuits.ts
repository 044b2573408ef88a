import { readFileSync } from "node:fs";
import path from "node:path";
import { wtns } from "snarkjs";
import { CircuitProver, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import type { CircuitInputs } from "@zk-api-credits/protocol";
import { compileCircuit } from "../../scripts/circuits/compile";
import { ARTIFACTS_DIR, loadConfig } from "../../scripts/circuits/config";

/** snarkjs' in-memory file. */
interface MemFile {
    type: "mem";
    data?: Uint8Array;
}

/** A witness file (snarkjs "wtns" v2) holding `values`, for checking tampered witnesses. */
function wtnsFile(values: readonly bigint[]): MemFile {
    const n8 = 32;
    const header = Buffer.alloc(4 + n8 + 4);
    header.writeUInt32LE(n8, 0);
    writeLE(header, 4, SNARK_SCALAR_FIELD, n8);
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

/**
 * One compiled circuit under test: computes witnesses with the committed wasm, checks any
 * (possibly tampered) witness against the constraint system, and proves with the
 * committed zkey.
 */
export class CircuitUnderTest {
    private readonly signals: Map<string, number>;

    private constructor(
        readonly name: string,
        readonly r1cs: string,
        readonly wasm: string,
        sym: string,
        readonly prover: CircuitProver
    ) {
        this.signals = new Map();
        for (const line of readFileSync(sym, "utf8").split("\n")) {
            const [, witnessIndex, , signal] = line.split(",");
            if (signal !== undefined && Number(witnessIndex) >= 0) this.signals.set(signal, Number(witnessIndex));
        }
    }

    static load(name: string): CircuitUnderTest {
        const config = loadConfig();
        const circuit = config.circuits.find((c) => c.name === name);
        if (circuit === undefined) throw new Error(`no circuit ${name} in circuits/circuits.json`);
        const compiled = compileCircuit(circuit, config, () => undefined);
        const artifact = (extension: string): string => path.join(ARTIFACTS_DIR, `${name}${extension}`);
        const prover = new CircuitProver({ wasm: artifact(".wasm"), zkey: artifact(".zkey"), verificationKey: artifact(".vkey.json") });
        return new CircuitUnderTest(name, compiled.r1cs, artifact(".wasm"), compiled.sym, prover);
    }

    /** The full witness (index 0 is the constant 1); throws if an assertion fails. */
    async witness(inputs: CircuitInputs): Promise<bigint[]> {
        const file: MemFile = { type: "mem" };
        await wtns.calculate(inputs, this.wasm, file);
        return ((await wtns.exportJson(file as never)) as unknown[]).map((v) => BigInt(v as bigint));
    }

    /** True if the witness satisfies every constraint. */
    async satisfies(witness: readonly bigint[]): Promise<boolean> {
        const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
        return Boolean(await wtns.check(this.r1cs, wtnsFile(witness) as never, silent));
    }

    /** Witness index of the unique signal whose name matches. */
    signalIndex(pattern: RegExp): number {
        const found = [...this.signals.entries()].filter(([name]) => pattern.test(name));
        if (found.length !== 1) throw new Error(`${pattern} matches ${found.length} signals of ${this.name}`);
        return found[0]![1];
    }

    /** A copy of `witness` with some signals replaced. */
    static tamper(witness: readonly bigint[], changes: ReadonlyMap<number, bigint>): bigint[] {
        return witness.map((v, i) => changes.get(i) ?? v);
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
