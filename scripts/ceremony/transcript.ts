/**
 * The coordinator's record of a phase-2 ceremony, kept in its folder:
 *
 *   <dir>/ceremony.json            the phase-1 file (path, SHA-256, power) and the circuits
 *   <dir>/<circuit>/circuit.json   the circuit's r1cs and the chain of accepted zkeys
 *   <dir>/<circuit>/0000.zkey      `zkey new` from the r1cs and the phase-1 file
 *   <dir>/<circuit>/0001.zkey ...  each accepted contribution, in order
 *
 * Every file is written atomically; each circuit has its own record, so circuits progress
 * independently (and in parallel).
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync } from "node:fs";
import path from "node:path";
import { writeAtomic } from "../circuits/setup";

export interface CeremonyRecordFile {
    readonly version: 1;
    readonly ptau: {
        /** Absolute path of the phase-1 file on the coordinator's machine. */
        readonly file: string;
        readonly sha256: string;
        readonly blake2b512: string;
        readonly power: number;
    };
    readonly circuits: readonly string[];
}

/** One accepted zkey of a circuit's chain. */
export interface ZkeyRecord {
    /** File name inside the circuit's folder. */
    readonly file: string;
    readonly sha256: string;
    /** Absent for the initial zkey; the contribution this zkey added otherwise. */
    readonly contribution?: { readonly name: string; readonly hash: string };
}

export interface CircuitRecord {
    readonly name: string;
    readonly instance: string;
    readonly verifierContract: string;
    readonly publicSignals: readonly string[];
    readonly compiler: string;
    readonly sources: Record<string, string>;
    readonly sourcesHash: string;
    readonly constraints: number;
    readonly r1csSha256: string;
    readonly zkeys: readonly ZkeyRecord[];
}

export function ceremonyFile(dir: string): string {
    return path.join(dir, "ceremony.json");
}

export function circuitDir(dir: string, name: string): string {
    return path.join(dir, name);
}

export function circuitFile(dir: string, name: string): string {
    return path.join(circuitDir(dir, name), "circuit.json");
}

function readJson<T>(file: string, what: string): T {
    if (!existsSync(file)) throw new Error(`${file} not found: ${what}`);
    return JSON.parse(readFileSync(file, "utf8")) as T;
}

export function readCeremony(dir: string): CeremonyRecordFile {
    return readJson<CeremonyRecordFile>(ceremonyFile(dir), "not a ceremony folder (run `ceremony.ts init` first)");
}

export function readCircuit(dir: string, name: string): CircuitRecord {
    return readJson<CircuitRecord>(circuitFile(dir, name), `no circuit ${name} in this ceremony`);
}

export function writeJson(file: string, value: unknown): void {
    writeAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** SHA-256 and Blake2b-512 of a file in one pass (phase-1 publications give one or the other). */
export async function fileHashes(file: string): Promise<{ sha256: string; blake2b512: string }> {
    const sha = createHash("sha256");
    const blake = createHash("blake2b512");
    for await (const chunk of createReadStream(file)) {
        sha.update(chunk as Buffer);
        blake.update(chunk as Buffer);
    }
    return { sha256: sha.digest("hex"), blake2b512: blake.digest("hex") };
}

/**
 * The power of a ptau file (its header section: n8, q, power), read without loading the file.
 * Layout (snarkjs binfileutils): "ptau", version u32, nSections u32, then sections of
 * (type u32, size u64, data); section 1 holds n8 u32, q (n8 bytes), power u32.
 */
export function ptauPower(file: string): number {
    const fd = openSync(file, "r");
    try {
        const head = Buffer.alloc(4096);
        readSync(fd, head, 0, head.length, 0);
        if (head.toString("ascii", 0, 4) !== "ptau") throw new Error(`${file} is not a ptau file`);
        let offset = 12;
        const sections = head.readUInt32LE(8);
        for (let i = 0; i < sections && offset + 12 <= head.length; i++) {
            const type = head.readUInt32LE(offset);
            const size = Number(head.readBigUInt64LE(offset + 4));
            if (type === 1) {
                const n8 = head.readUInt32LE(offset + 12);
                return head.readUInt32LE(offset + 16 + n8);
            }
            offset += 12 + size;
        }
        throw new Error(`${file} has no ptau header section first`);
    } finally {
        closeSync(fd);
    }
}

/** The newest accepted zkey of a circuit. */
export function latestZkey(dir: string, record: CircuitRecord): string {
    const last = record.zkeys[record.zkeys.length - 1];
    if (last === undefined) throw new Error(`${record.name} has no zkey`);
    return path.join(circuitDir(dir, record.name), last.file);
}
