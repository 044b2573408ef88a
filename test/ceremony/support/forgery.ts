/**
 * Forges Groth16 proofs for a development setup from public data alone.
 *
 * snarkjs' `zkey new` starts phase 2 from gamma = delta = 1; the development build then applies
 * one `zkey beacon` whose hash is public (in the manifest). The beacon's secret is
 * `Fr.fromRng(ChaCha(SHA-256^(2^n)(hash)))` (snarkjs src/zkey_beacon.js, src/misc.js
 * rngFromBeaconParams), so delta is known to everyone. With gamma = G2's generator, the proof
 *   A = alpha1, B = beta2, C = −delta⁻¹·vk_x,   vk_x = IC_0 + Σ s_i·IC_i
 * satisfies e(A, B) = e(alpha1, beta2)·e(vk_x, gamma2)·e(C, delta2) for ANY public signals s:
 * e(vk_x, G2)·e(−delta⁻¹·vk_x, delta·G2) = 1.
 */
import { createHash, randomBytes } from "node:crypto";
import { ChaCha, getCurveFromName } from "ffjavascript";
import type { Bn128Engine } from "ffjavascript";
import type { Groth16Proof } from "snarkjs";
import type { Phase2Step } from "../../../scripts/circuits/setup";

/** A Groth16 verification key as snarkjs exports it (decimal strings). */
export interface Groth16VerificationKey {
    readonly protocol: string;
    readonly curve: string;
    readonly nPublic: number;
    readonly vk_alpha_1: readonly string[];
    readonly vk_beta_2: readonly (readonly string[])[];
    readonly vk_gamma_2: readonly (readonly string[])[];
    readonly vk_delta_2: readonly (readonly string[])[];
    readonly IC: readonly (readonly string[])[];
}

/** A phase-2 beacon as the manifest records it. */
export interface PublicBeacon {
    readonly hash: string;
    readonly iterationsExp: number;
}

/**
 * The beacons of a phase 2 whose every step is a public beacon (the development setup), read
 * from the manifest's step names (`beacon <hex> 2^<n>`); undefined when any step is a
 * contribution or an imported zkey: a contribution's secret never leaves its contributor.
 */
export function publicBeacons(steps: readonly Phase2Step[]): PublicBeacon[] | undefined {
    const beacons: PublicBeacon[] = [];
    for (const step of steps) {
        const match = step.kind === "beacon" ? /^beacon ([0-9a-fA-F]+) 2\^(\d+)$/.exec(step.name) : null;
        if (match === null) return undefined;
        beacons.push({ hash: match[1]!, iterationsExp: Number(match[2]) });
    }
    return beacons;
}

/** snarkjs' misc.rngFromBeaconParams: SHA-256 iterated 2^n times, the digest's words seed ChaCha. */
function beaconRng(beacon: PublicBeacon): ChaCha {
    let digest: Buffer = Buffer.from(beacon.hash, "hex");
    const iterations = 2 ** beacon.iterationsExp;
    for (let i = 0; i < iterations; i++) digest = createHash("sha256").update(digest).digest();
    return new ChaCha(Array.from({ length: 8 }, (_, i) => digest.readUInt32BE(i * 4)));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
    let result = 1n;
    let b = base % modulus;
    for (let e = exponent; e > 0n; e >>= 1n) {
        if (e & 1n) result = (result * b) % modulus;
        b = (b * b) % modulus;
    }
    return result;
}

/** The bn128 engine (one per process is plenty; terminate it when done). */
export async function bn128(): Promise<Bn128Engine> {
    return getCurveFromName("bn128", true);
}

/** delta after the beacons, starting from `zkey new`'s delta = 1, as `zkey beacon` computes it. */
export function beaconDelta(curve: Bn128Engine, beacons: readonly PublicBeacon[]): bigint {
    let delta = 1n;
    for (const beacon of beacons) delta = (delta * curve.Fr.toObject(curve.Fr.fromRng(beaconRng(beacon)))) % curve.r;
    return delta;
}

const g1 = (curve: Bn128Engine, p: readonly string[]): Uint8Array => curve.G1.fromObject([BigInt(p[0]!), BigInt(p[1]!), BigInt(p[2]!)]);
const g2 = (curve: Bn128Engine, p: readonly (readonly string[])[]): Uint8Array =>
    curve.G2.fromObject(p.map((c) => [BigInt(c[0]!), BigInt(c[1]!)]));

/** True when delta·G2 is the key's delta_2: the derivation of the toxic waste is right. */
export function deltaMatches(curve: Bn128Engine, vkey: Groth16VerificationKey, delta: bigint): boolean {
    return curve.G2.eq(curve.G2.timesScalar(curve.G2.g, delta), g2(curve, vkey.vk_delta_2));
}

/** Forges proofs for any public signals under `vkey`, knowing its delta. */
export class Groth16Forger {
    private readonly deltaInverse: bigint;

    constructor(
        private readonly curve: Bn128Engine,
        readonly vkey: Groth16VerificationKey,
        delta: bigint
    ) {
        if (!deltaMatches(curve, vkey, delta)) throw new Error("delta·G2 differs from the key's delta_2");
        if (!curve.G2.eq(g2(curve, vkey.vk_gamma_2), curve.G2.g)) throw new Error("gamma_2 is not the generator (not a snarkjs key)");
        this.deltaInverse = modPow(delta, curve.r - 2n, curve.r);
    }

    /** A proof the key accepts for `signals` (each below the scalar field's modulus). */
    forge(signals: readonly bigint[]): Groth16Proof {
        const { curve, vkey } = this;
        if (signals.length !== vkey.nPublic) throw new Error(`the key takes ${vkey.nPublic} public signals, got ${signals.length}`);
        let vkX = g1(curve, vkey.IC[0]!);
        signals.forEach((s, i) => {
            if (s < 0n || s >= curve.r) throw new RangeError(`signal ${i} is not canonical`);
            vkX = curve.G1.add(vkX, curve.G1.timesScalar(g1(curve, vkey.IC[i + 1]!), s));
        });
        const c = curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(vkX, curve.r - this.deltaInverse)));
        const text = (values: readonly bigint[]): string[] => values.map((v) => v.toString());
        return {
            pi_a: [...vkey.vk_alpha_1],
            pi_b: vkey.vk_beta_2.map((c2) => [...c2]),
            pi_c: text([c[0]!, c[1]!, 1n]),
            protocol: "groth16",
            curve: "bn128"
        } as Groth16Proof;
    }
}

/** A proof in the generated Solidity verifier's argument order (G2 coordinates swapped). */
export function solidityArguments(proof: Groth16Proof): [[bigint, bigint], [[bigint, bigint], [bigint, bigint]], [bigint, bigint]] {
    const n = (s: string | undefined): bigint => BigInt(s!);
    return [
        [n(proof.pi_a[0]), n(proof.pi_a[1])],
        [
            [n(proof.pi_b[0]![1]), n(proof.pi_b[0]![0])],
            [n(proof.pi_b[1]![1]), n(proof.pi_b[1]![0])]
        ],
        [n(proof.pi_c[0]), n(proof.pi_c[1])]
    ];
}

/** `count` uniformly random field elements (public signals nobody has a witness for). */
export function randomSignals(curve: Bn128Engine, count: number): bigint[] {
    return Array.from({ length: count }, () => BigInt(`0x${randomBytes(32).toString("hex")}`) % curve.r);
}
