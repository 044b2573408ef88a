import { readFileSync } from "node:fs";
import { groth16 } from "snarkjs";
import type { Groth16Proof, PublicSignals } from "snarkjs";
import type { CircuitInputs } from "./witness";

/** A Groth16 verification key as snarkjs exports it. */
export interface VerificationKey {
    readonly protocol: "groth16";
    readonly curve: "bn128";
    readonly nPublic: number;
    readonly [field: string]: unknown;
}

/** Where a circuit's proving artifacts are. */
export interface CircuitArtifactPaths {
    readonly wasm: string;
    readonly zkey: string;
    readonly verificationKey: string;
}

/** A proof with its public signals as bigints. */
export interface ProofWithSignals {
    readonly proof: Groth16Proof;
    readonly publicSignals: bigint[];
}

/** A Groth16 proof in the argument shape of snarkjs' Solidity verifier. */
export interface SolidityProof {
    readonly pA: [bigint, bigint];
    readonly pB: [[bigint, bigint], [bigint, bigint]];
    readonly pC: [bigint, bigint];
}

/**
 * Proves and verifies one circuit with snarkjs, keeping the witness calculator, the
 * proving key and the verification key in memory between proofs.
 */
export class CircuitProver {
    private readonly wasm: Uint8Array;
    private readonly zkey: Uint8Array;
    readonly verificationKey: VerificationKey;

    constructor(paths: CircuitArtifactPaths) {
        this.wasm = readFileSync(paths.wasm);
        this.zkey = readFileSync(paths.zkey);
        this.verificationKey = JSON.parse(readFileSync(paths.verificationKey, "utf8")) as VerificationKey;
    }

    async prove(inputs: CircuitInputs): Promise<ProofWithSignals> {
        const { proof, publicSignals } = await groth16.fullProve(inputs, this.wasm, this.zkey);
        return { proof, publicSignals: publicSignals.map((s) => BigInt(s)) };
    }

    async verify(proof: Groth16Proof, publicSignals: readonly bigint[]): Promise<boolean> {
        const signals: PublicSignals = publicSignals.map((s) => s.toString());
        return groth16.verify(this.verificationKey, signals, proof);
    }
}

/** snarkjs' proof as the Solidity verifier takes it (G2 coordinates in EVM order). */
export function toSolidityProof(proof: Groth16Proof): SolidityProof {
    const n = (s: string): bigint => BigInt(s);
    return {
        pA: [n(proof.pi_a[0]), n(proof.pi_a[1])],
        pB: [
            [n(proof.pi_b[0][1]), n(proof.pi_b[0][0])],
            [n(proof.pi_b[1][1]), n(proof.pi_b[1][0])]
        ],
        pC: [n(proof.pi_c[0]), n(proof.pi_c[1])]
    };
}

/** The eight words of a proof in verifier order: a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y. */
export function packProof(proof: Groth16Proof): bigint[] {
    const { pA, pB, pC } = toSolidityProof(proof);
    return [...pA, ...pB[0], ...pB[1], ...pC];
}

/** Inverse of {@link packProof}. */
export function unpackProof(words: readonly bigint[]): Groth16Proof {
    if (words.length !== 8) throw new RangeError(`a packed Groth16 proof has 8 words, not ${words.length}`);
    const s = words.map((w) => w.toString());
    return {
        pi_a: [s[0]!, s[1]!, "1"],
        pi_b: [
            [s[3]!, s[2]!],
            [s[5]!, s[4]!],
            ["1", "0"]
        ],
        pi_c: [s[6]!, s[7]!, "1"],
        protocol: "groth16",
        curve: "bn128"
    };
}
