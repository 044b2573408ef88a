import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { getCurveFromName } from "ffjavascript";
import type { Bn128Engine } from "ffjavascript";
import { groth16 } from "snarkjs";
import {
    chargePoint,
    EdDSAPoseidonSigner,
    flattenSpendSignals,
    packProof,
    randomFieldElement,
    RequestKey,
    SNARK_SCALAR_FIELD,
    spendInputs,
    spendPublicSignals,
    unpackProof,
    verifyBaseSignature,
    verifyChargeSignature
} from "@zk-api-credits/protocol";
import type { ProofWithSignals, VerificationKey } from "@zk-api-credits/protocol";
import { BatchProofVerifier, Groth16BatchVerifier, InThreadProviderSigner, InThreadTicketChecker, VerificationPool, verifyBatch } from "@zk-api-credits/provider";
import type { BatchVerifierStats, ChargeToSign, Groth16BatchItem, RequestSignatureCheck, TicketCheck } from "@zk-api-credits/provider";
import { prover } from "../helpers/provers";
import { signedHistory, spendWitness, testAccount, TestProvider } from "../helpers/scenario";

/** The BN254 base field (proof coordinates must be below it). */
const FIELD_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const R = SNARK_SCALAR_FIELD;

/** A proof in verifier order (packProof) with its signals, as a ticket carries them. */
interface Item {
    proof: bigint[];
    publicSignals: bigint[];
}

const clone = (item: Item): Item => ({ proof: [...item.proof], publicSignals: [...item.publicSignals] });

/** snarkjs' verdict on one item (the single-proof reference the gateway uses today). */
async function snarkjsVerdict(vkey: VerificationKey, item: Item): Promise<boolean> {
    return groth16.verify(vkey, item.publicSignals.map(String), unpackProof(item.proof));
}

// The randomised batch verifier (packages/provider/src/batch-verifier.ts) on real Spend(32, 8)
// proofs: valid batches pass, every kind of tampering is caught and pinpointed while the rest
// of the batch is accepted, every verdict equals snarkjs' single-proof verdict (except where
// documented: non-canonical point encodings, which snarkjs reduces and accepts), invalid proofs
// cost a bounded number of checks, and the worker-thread pool gives the same verdicts.
describe("Batch Groth16 verifier", function () {
    this.timeout(30 * 60_000);

    let vkey: VerificationKey;
    let curve: Bn128Engine;
    /** A verifier of the test's own, to read its counters. */
    let engine: Groth16BatchVerifier;
    let valid: Item[] = [];
    let originals: ProofWithSignals[] = [];

    // ---------------------------------------------------------------- point helpers (test side)

    const g1 = (x: bigint, y: bigint): Uint8Array => curve.G1.fromObject([x, y, 1n]);
    const g1Words = (point: Uint8Array): [bigint, bigint] => {
        const [x, y] = curve.G1.toObject(curve.G1.toAffine(point));
        return [x!, y!];
    };
    /** B from packed words (b.x1, b.x0, b.y1, b.y0 at 2..5). */
    const g2 = (w: readonly bigint[]): Uint8Array => curve.G2.fromObject([[w[3]!, w[2]!], [w[5]!, w[4]!], [1n, 0n]]);
    const g2Words = (point: Uint8Array): [bigint, bigint, bigint, bigint] => {
        const [x, y] = curve.G2.toObject(curve.G2.toAffine(point));
        return [x![1]!, x![0]!, y![1]!, y![0]!];
    };
    const randomBelowP = (): bigint => BigInt(`0x${randomBytes(32).toString("hex")}`) % FIELD_P;

    /** A point of the twist E'(Fp2) with a nonzero component outside G2: [r]·(random twist point). */
    function cofactorPoint(): Uint8Array {
        const { F2, G2 } = curve;
        for (;;) {
            const x = F2.fromObject([randomBelowP(), randomBelowP()]);
            const rhs = F2.add(F2.mul(F2.square(x), x), G2.b);
            if (!F2.isSquare(rhs)) continue;
            const point = new Uint8Array(2 * F2.n8);
            point.set(x);
            point.set(F2.sqrt(rhs), F2.n8);
            expect(G2.isValid(point)).to.equal(true);
            const torsion = G2.timesScalar(point, R);
            if (!G2.isZero(torsion)) return torsion;
        }
    }

    /** Π e(A_i, B_i) · e(−N·α, β) · e(−Σ L_i, γ) · e(−Σ C_i, δ) = 1: the UNWEIGHTED batch a naive verifier would check. */
    async function naiveSumAccepts(items: readonly Item[]): Promise<boolean> {
        const { G1, G2 } = curve;
        const key = (name: string): string[] => vkey[name] as string[];
        const key2 = (name: string): bigint[][] => (vkey[name] as string[][]).map((c) => c.map(BigInt));
        const ic = (vkey.IC as string[][]).map((p) => G1.fromObject(p.map(BigInt)));
        const args: Uint8Array[] = [];
        let sumL = G1.zero;
        let sumC = G1.zero;
        for (const item of items) {
            args.push(g1(item.proof[0]!, item.proof[1]!), curve.G2.toAffine(g2(item.proof)));
            sumL = G1.add(sumL, ic[0]!);
            item.publicSignals.forEach((s, j) => (sumL = G1.add(sumL, G1.timesScalar(ic[j + 1]!, s))));
            sumC = G1.add(sumC, g1(item.proof[6]!, item.proof[7]!));
        }
        const alpha = G1.fromObject(key("vk_alpha_1").map(BigInt));
        args.push(G1.toAffine(G1.neg(G1.timesScalar(alpha, BigInt(items.length)))), G2.fromObject(key2("vk_beta_2")));
        args.push(G1.toAffine(G1.neg(sumL)), G2.fromObject(key2("vk_gamma_2")));
        args.push(G1.toAffine(G1.neg(sumC)), G2.fromObject(key2("vk_delta_2")));
        return curve.pairingEq(...args);
    }

    /** Our verdicts, snarkjs' verdicts, and the check that they agree (except at `laxInSnarkjs`). */
    async function verifyBoth(items: readonly Item[], laxInSnarkjs: readonly number[] = []): Promise<boolean[]> {
        const ours = await engine.verify(items);
        expect(ours).to.have.length(items.length);
        for (let i = 0; i < items.length; i++) {
            const reference = await snarkjsVerdict(vkey, items[i]!);
            if (laxInSnarkjs.includes(i)) {
                expect(reference, `snarkjs on item ${i}`).to.equal(true);
                expect(ours[i], `item ${i}`).to.equal(false);
            } else {
                expect(ours[i], `item ${i}: batch verifier vs snarkjs`).to.equal(reference);
            }
        }
        return ours;
    }

    const expectOnlyRejected = (verdicts: readonly boolean[], rejected: readonly number[]): void => {
        expect(verdicts).to.deep.equal(verdicts.map((_, i) => !rejected.includes(i)));
    };

    // ---------------------------------------------------------------- fixtures

    before(async function () {
        const spend = prover("spend-32");
        vkey = spend.verificationKey;
        curve = await getCurveFromName("bn128", true);
        engine = await Groth16BatchVerifier.create(vkey);
        // 16 proofs with varied public signals: 2 providers (contexts), 4 accounts in trees of
        // their own (roots), bases folded 0, 2, 4 and 6 tickets (signed by the provider), every
        // index of the window, and the tickets' own request keys x.
        const providers = [new TestProvider(), new TestProvider()];
        const accounts = [0, 1, 2, 3].map((k) => {
            const provider = providers[k % 2]!;
            const registry = provider.binding();
            const account = testAccount({ others: 3 + 2 * k, position: k });
            const amounts = Array.from({ length: 2 * k }, (_, i) => ({ cost: 100n + BigInt(37 * i), penalty: i === 3 ? 500n : 0n }));
            const { base } = signedHistory(provider, registry, account, amounts);
            return { registry, account, base };
        });
        for (let i = 0; i < 16; i++) {
            const { registry, account, base } = accounts[i % accounts.length]!;
            const witness = spendWitness(account, registry, base, base.base.folded + BigInt(Math.floor(i / 4) + (i % 4)));
            const result = await spend.prove(spendInputs(witness));
            expect(result.publicSignals).to.deep.equal(flattenSpendSignals(spendPublicSignals(witness)));
            originals.push(result);
        }
        valid = originals.map(({ proof, publicSignals }) => ({ proof: packProof(proof), publicSignals: [...publicSignals] }));
        expect(new Set(valid.map((v) => v.publicSignals.join())).size).to.equal(16);
        expect(new Set(valid.map((v) => v.publicSignals[0])).size).to.equal(4); // four roots
        expect(new Set(valid.map((v) => v.publicSignals[1])).size).to.equal(2); // two contexts
    });

    after(async function () {
        await engine?.close();
        await curve?.terminate();
    });

    // ---------------------------------------------------------------- valid batches

    describe("# valid proofs", function () {
        it("Should accept a batch of 16 valid proofs, as snarkjs does", async function () {
            expect(await verifyBoth(valid)).to.deep.equal(valid.map(() => true));
        });

        it("Should accept snarkjs' proof objects as well as packed proofs", async function () {
            const verdicts = await verifyBatch(vkey, originals);
            expect(verdicts).to.deep.equal(originals.map(() => true));
        });

        it("Should accept every batch size from 1 to 16 and answer [] for an empty batch", async function () {
            expect(await verifyBatch(vkey, [])).to.deep.equal([]);
            for (const size of [1, 2, 3, 5, 8, 13]) {
                const start = size % valid.length;
                const batch = Array.from({ length: size }, (_, k) => valid[(start + k) % valid.length]!);
                expect(await verifyBatch(vkey, batch), `size ${size}`).to.deep.equal(batch.map(() => true));
            }
        });

        it("Should accept the same valid proof twice in one batch", async function () {
            expect(await verifyBatch(vkey, [valid[0]!, valid[0]!, valid[1]!])).to.deep.equal([true, true, true]);
        });

        it("Should give the same verdicts with a Miller group smaller than the batch", async function () {
            const small = await Groth16BatchVerifier.create(vkey, { millerGroup: 3, yieldEvery: 2 });
            expect(await small.verify(valid)).to.deep.equal(valid.map(() => true));
            const batch = valid.map(clone);
            batch[10]!.publicSignals[6] = (batch[10]!.publicSignals[6]! + 1n) % R;
            expectOnlyRejected(await small.verify(batch), [10]);
            await small.close();
        });
    });

    // ---------------------------------------------------------------- one tampered proof

    describe("# one tampered proof is pinpointed, the others are accepted", function () {
        interface Tamper {
            readonly name: string;
            /** Changes item in place. */
            readonly apply: (item: Item) => void;
            /** Where it must be caught: the per-proof point and signal checks, or the pairing check. */
            readonly caughtBy: "checks" | "pairing";
            /** snarkjs accepts this encoding (it reduces coordinates mod p); we reject it. */
            readonly laxInSnarkjs?: boolean;
        }
        const tampers: Tamper[] = [
            {
                name: "A replaced by another curve point (A + G1)",
                caughtBy: "pairing",
                apply: (item) => item.proof.splice(0, 2, ...g1Words(curve.G1.add(g1(item.proof[0]!, item.proof[1]!), curve.G1.g)))
            },
            {
                name: "C replaced by another curve point (C + G1)",
                caughtBy: "pairing",
                apply: (item) => item.proof.splice(6, 2, ...g1Words(curve.G1.add(g1(item.proof[6]!, item.proof[7]!), curve.G1.g)))
            },
            {
                name: "B replaced by another G2 point (B + G2)",
                caughtBy: "pairing",
                apply: (item) => item.proof.splice(2, 4, ...g2Words(curve.G2.add(g2(item.proof), curve.G2.g)))
            },
            { name: "a public signal changed (x + 1)", caughtBy: "pairing", apply: (item) => (item.publicSignals[6] = (item.publicSignals[6]! + 1n) % R) },
            { name: "a public signal changed (root)", caughtBy: "pairing", apply: (item) => (item.publicSignals[0] = randomFieldElement()) },
            { name: "a non-canonical public signal (nullifier + r, same residue)", caughtBy: "checks", apply: (item) => (item.publicSignals[4] = item.publicSignals[4]! + R) },
            { name: "A off the curve (A.y + 1)", caughtBy: "checks", apply: (item) => (item.proof[1] = (item.proof[1]! + 1n) % FIELD_P) },
            { name: "C off the curve (C.x + 1)", caughtBy: "checks", apply: (item) => (item.proof[6] = (item.proof[6]! + 1n) % FIELD_P) },
            { name: "B off the twist (B.y0 + 1)", caughtBy: "checks", apply: (item) => (item.proof[5] = (item.proof[5]! + 1n) % FIELD_P) },
            {
                name: "B on the twist but outside the prime-order subgroup (B + T, T = [r]P)",
                caughtBy: "checks",
                apply: (item) => {
                    const tampered = curve.G2.add(g2(item.proof), cofactorPoint());
                    expect(curve.G2.isValid(tampered)).to.equal(true);
                    expect(curve.G2.isZero(curve.G2.timesScalar(tampered, R))).to.equal(false);
                    item.proof.splice(2, 4, ...g2Words(tampered));
                }
            },
            { name: "A at infinity (0, 0)", caughtBy: "checks", apply: (item) => item.proof.splice(0, 2, 0n, 0n) },
            { name: "A with a non-canonical coordinate (A.x + p)", caughtBy: "checks", apply: (item) => (item.proof[0] = item.proof[0]! + FIELD_P), laxInSnarkjs: true },
            { name: "B with a non-canonical coordinate (B.x1 + p)", caughtBy: "checks", apply: (item) => (item.proof[2] = item.proof[2]! + FIELD_P), laxInSnarkjs: true }
        ];

        tampers.forEach((tamper, t) => {
            it(`Should reject only the proof with ${tamper.name}`, async function () {
                const bad = (3 + 5 * t) % valid.length;
                const batch = valid.map(clone);
                tamper.apply(batch[bad]!);
                const before = engine.stats;
                const verdicts = await verifyBoth(batch, tamper.laxInSnarkjs ? [bad] : []);
                expectOnlyRejected(verdicts, [bad]);
                // Rejected by the per-proof checks BEFORE any combination, or by the pairing check.
                const after = engine.stats;
                expect(after.malformed - before.malformed, "rejected by the point/signal checks").to.equal(tamper.caughtBy === "checks" ? 1 : 0);
                expect(after.invalid - before.invalid, "rejected by the pairing check").to.equal(tamper.caughtBy === "pairing" ? 1 : 0);
            });
        });

        it("Should give every tampered proof the same verdict split across two engines (keyMillerLoops, then verifySplit) as whole, and count it where it is decided", async function () {
            const other = await Groth16BatchVerifier.create(vkey);
            try {
                for (const [t, tamper] of tampers.entries()) {
                    const item = clone(valid[(3 + 5 * t) % valid.length]!);
                    tamper.apply(item);
                    // The key's half refuses what its cheap checks catch (all but B's subgroup test) before any Miller loop.
                    const cheap = tamper.caughtBy === "checks" && !tamper.name.includes("subgroup");
                    expect((await other.keyMillerLoops(item)) === undefined, `${tamper.name}: refused by the key's half`).to.equal(cheap);
                    const before = engine.stats;
                    expect(await engine.verifySplit(item, other.keyMillerLoops(item)), tamper.name).to.equal(false);
                    const after = engine.stats;
                    expect(after.proofs - before.proofs).to.equal(1);
                    expect(after.malformed - before.malformed, `${tamper.name}: refused by the point/signal checks`).to.equal(tamper.caughtBy === "checks" ? 1 : 0);
                    expect(after.invalid - before.invalid, `${tamper.name}: refused by the pairing check`).to.equal(tamper.caughtBy === "pairing" ? 1 : 0);
                    expect(after.pairingChecks - before.pairingChecks, "a final exponentiation only for a well-formed proof").to.equal(tamper.caughtBy === "pairing" ? 1 : 0);
                }
                expect(other.stats, "the key's half counts nothing").to.deep.include({ proofs: 0, pairingChecks: 0 });
                // Every valid proof passes, split as whole, whichever half ends first.
                for (const item of valid.slice(0, 6)) {
                    expect(await engine.verifySplit(item, other.keyMillerLoops(item))).to.equal(true);
                    const loops = await other.keyMillerLoops(item);
                    expect(await engine.verifySplit(item, Promise.resolve(loops))).to.equal(true);
                }
                // The key's half of another proof (or of the same proof with another signal) does not complete this one.
                expect(await engine.verifySplit(valid[0]!, other.keyMillerLoops(valid[1]!))).to.equal(false);
                const changed = clone(valid[2]!);
                changed.publicSignals[6] = (changed.publicSignals[6]! + 1n) % R;
                expect(await engine.verifySplit(valid[2]!, other.keyMillerLoops(changed))).to.equal(false);
                // Nothing handed over (the ticket was refused first): false, and no pairing check counted.
                const before = engine.stats;
                expect(await engine.verifySplit(valid[4]!, Promise.resolve(undefined))).to.equal(false);
                expect(engine.stats.pairingChecks).to.equal(before.pairingChecks);
                expect(engine.stats.invalid).to.equal(before.invalid);
                // A half that is not a Miller loop's 384 bytes is refused, and so is a failed half; the engine stays usable.
                await expect(engine.verifySplit(valid[3]!, Promise.resolve(new Uint8Array(100)))).to.be.rejectedWith(/384 bytes/);
                await expect(engine.verifySplit(valid[3]!, Promise.reject(new Error("the other thread failed")))).to.be.rejectedWith(/the other thread failed/);
                expect(await engine.verifySplit(valid[3]!, other.keyMillerLoops(valid[3]!))).to.equal(true);
                // A split check's verdict feeds the failure rate that sizes the groups, as a check alone does.
                const rate = engine.stats.failureRate;
                expect(await engine.verifySplit(changed, other.keyMillerLoops(changed))).to.equal(false);
                expect(engine.stats.failureRate).to.be.greaterThan(rate);
            } finally {
                await other.close();
            }
        });

        it("Should reject a proof at every position of the batch", async function () {
            for (const bad of [0, 7, 15]) {
                const batch = valid.map(clone);
                batch[bad]!.publicSignals[5] = (batch[bad]!.publicSignals[5]! + 1n) % R;
                expectOnlyRejected(await verifyBatch(vkey, batch), [bad]);
            }
        });
    });

    // ---------------------------------------------------------------- several bad proofs

    describe("# several bad proofs", function () {
        it("Should reject two proofs whose signals are swapped, which an unweighted sum would accept", async function () {
            const batch = valid.map(clone);
            const [i, j] = [3, 9];
            [batch[i]!.publicSignals, batch[j]!.publicSignals] = [batch[j]!.publicSignals, batch[i]!.publicSignals];
            expect(await naiveSumAccepts(batch), "the naive sum is fooled").to.equal(true);
            expectOnlyRejected(await verifyBoth(batch), [i, j]);
        });

        it("Should reject two proofs whose C errors cancel (C + D, C − D), which an unweighted sum would accept", async function () {
            const batch = valid.map(clone);
            const [i, j] = [4, 11];
            const d = curve.G1.timesScalar(curve.G1.g, randomFieldElement());
            batch[i]!.proof.splice(6, 2, ...g1Words(curve.G1.add(g1(batch[i]!.proof[6]!, batch[i]!.proof[7]!), d)));
            // (add(C, −D), not sub(C, D): ffjavascript's sub(affine, Jacobian) returns D − C.)
            batch[j]!.proof.splice(6, 2, ...g1Words(curve.G1.add(g1(batch[j]!.proof[6]!, batch[j]!.proof[7]!), curve.G1.neg(d))));
            expect(await naiveSumAccepts(batch), "the naive sum is fooled").to.equal(true);
            expect(await naiveSumAccepts(valid), "the naive sum accepts valid proofs").to.equal(true);
            expectOnlyRejected(await verifyBoth(batch), [i, j]);
        });

        it("Should pinpoint several different bad proofs in one batch", async function () {
            const batch = valid.map(clone);
            batch[1]!.publicSignals[2] = (batch[1]!.publicSignals[2]! + 1n) % R;
            batch[6]!.proof[1] = (batch[6]!.proof[1]! + 1n) % FIELD_P;
            batch[12]!.proof.splice(2, 4, ...g2Words(curve.G2.add(g2(batch[12]!.proof), curve.G2.g)));
            batch[13]!.publicSignals[0] = batch[13]!.publicSignals[0]! + R;
            expectOnlyRejected(await verifyBoth(batch), [1, 6, 12, 13]);
        });

        it("Should reject every proof of an all-bad batch", async function () {
            const batch = valid.map((item) => {
                const bad = clone(item);
                bad.publicSignals[6] = (bad.publicSignals[6]! + 1n) % R;
                return bad;
            });
            expect(await verifyBatch(vkey, batch)).to.deep.equal(batch.map(() => false));
        });

        it("Should reject a proof presented with another proof's statement (same A, B, C, other signals)", async function () {
            const batch = valid.map(clone);
            batch[2] = { proof: [...valid[8]!.proof], publicSignals: [...valid[2]!.publicSignals] };
            expectOnlyRejected(await verifyBoth(batch), [2]);
        });
    });

    // ---------------------------------------------------------------- the G2 subgroup test

    describe("# G2 subgroup membership", function () {
        it("Should let every G2 point through to the pairing and stop every twist point outside G2 (ground truth [r]B = O)", async function () {
            const { G2 } = curve;
            const inG2: Item[] = [];
            const outside: Item[] = [];
            for (let k = 0; k < 8; k++) {
                const b = G2.timesScalar(G2.g, randomFieldElement());
                expect(G2.isZero(G2.timesScalar(b, R))).to.equal(true);
                const wrong = clone(valid[k]!);
                wrong.proof.splice(2, 4, ...g2Words(b));
                inG2.push(wrong);
                const off = G2.add(b, cofactorPoint());
                expect(G2.isValid(off)).to.equal(true);
                expect(G2.isZero(G2.timesScalar(off, R))).to.equal(false);
                const bad = clone(valid[k]!);
                bad.proof.splice(2, 4, ...g2Words(off));
                outside.push(bad);
            }
            const torsion = clone(valid[8]!);
            torsion.proof.splice(2, 4, ...g2Words(cofactorPoint())); // a point of the cofactor part only
            outside.push(torsion);
            const before = engine.stats;
            const all = [...inG2, ...outside];
            expect(await verifyBoth(all)).to.deep.equal(all.map(() => false));
            const after = engine.stats;
            expect(after.invalid - before.invalid, "in G2: past the checks, refused by the pairing").to.equal(inG2.length);
            expect(after.malformed - before.malformed, "outside G2: refused by the checks").to.equal(outside.length);
        });
    });

    // ---------------------------------------------------------------- malformed input and fuzzing

    describe("# malformed input", function () {
        it("Should reject wrong shapes without throwing", async function () {
            const base = valid[0]!;
            const malformed: Groth16BatchItem[] = [
                { proof: base.proof.slice(0, 7), publicSignals: base.publicSignals },
                { proof: base.proof, publicSignals: base.publicSignals.slice(0, 6) },
                { proof: base.proof, publicSignals: [...base.publicSignals, 1n] },
                { proof: base.proof, publicSignals: [...base.publicSignals.slice(0, 6), -1n] },
                { proof: [...base.proof.slice(0, 7), -1n], publicSignals: base.publicSignals },
                { proof: { ...originals[0]!.proof, pi_a: [originals[0]!.proof.pi_a[0]!, originals[0]!.proof.pi_a[1]!, "2"] }, publicSignals: base.publicSignals },
                { proof: { ...originals[0]!.proof, pi_c: ["0x1", "2", "1"] }, publicSignals: base.publicSignals }
            ];
            const verdicts = await verifyBatch(vkey, [...malformed, valid[1]!, valid[2]!]);
            expect(verdicts).to.deep.equal([...malformed.map(() => false), true, true]);
        });

        it("Should agree with snarkjs on random single-word corruptions", async function () {
            const batch = valid.map(clone);
            const corrupted: number[] = [];
            for (let i = 0; i < batch.length; i += 2) {
                const item = batch[i]!;
                const word = (i * 7) % 15;
                if (word < 8) item.proof[word] = randomBelowP();
                else item.publicSignals[word - 8] = randomFieldElement();
                corrupted.push(i);
            }
            expectOnlyRejected(await verifyBoth(batch), corrupted);
        });
    });

    // ---------------------------------------------------------------- what invalid proofs cost

    describe("# bounded cost of invalid proofs (no bisection)", function () {
        const invalidCopy = (item: Item, k: number): Item => {
            const bad = clone(item);
            bad.publicSignals[6] = (bad.publicSignals[6]! + 1n + BigInt(k)) % R;
            return bad;
        };
        const delta = (before: BatchVerifierStats, after: BatchVerifierStats, name: keyof BatchVerifierStats): number => after[name] - before[name];

        it("Should settle a failing group with one check per proof, and shrink its groups as failures rise", async function () {
            const fresh = await Groth16BatchVerifier.create(vkey);
            try {
                // One invalid proof among 16: one combined check fails, then each of the 16 on its own.
                const batch = valid.map(clone);
                batch[9] = invalidCopy(batch[9]!, 0);
                expectOnlyRejected(await fresh.verify(batch), [9]);
                let stats = fresh.stats;
                expect(stats.groupChecks).to.equal(1);
                expect(stats.failedGroups).to.equal(1);
                expect(stats.singleChecks).to.equal(16);
                expect(stats.pairingChecks).to.equal(17); // bisection spent 2·log2(16) + 2 more checks on the culprit
                const q = stats.failureRate;
                expect(q).to.be.within(0.01, 1 / 16);
                // Now groups hold ⌊1/√q⌋ proofs, as even as possible: the same batch costs one
                // combined check per group, and single checks only for the group of the culprit.
                const g = Math.floor(1 / Math.sqrt(q));
                const groups = Math.ceil(16 / g);
                const size = Math.ceil(16 / groups);
                const culpritGroup = Math.min(size, 16 - Math.floor(9 / size) * size);
                const before = fresh.stats;
                expectOnlyRejected(await fresh.verify(batch), [9]);
                stats = fresh.stats;
                expect(delta(before, stats, "groupChecks")).to.equal(groups);
                expect(delta(before, stats, "failedGroups")).to.equal(1);
                expect(delta(before, stats, "singleChecks")).to.equal(culpritGroup);
                expect(culpritGroup).to.be.lessThan(16);
            } finally {
                await fresh.close();
            }
        });

        it("Should check a flood of invalid proofs one by one, one check each, and still accept the valid ones among them", async function () {
            const fresh = await Groth16BatchVerifier.create(vkey);
            try {
                // Half of every batch invalid (a junk flood from many sources): after the first
                // failing group the rate is far above 1/4, and every proof is checked on its own.
                const flood = (round: number): Item[] => valid.map((item, i) => (i % 2 === 0 ? invalidCopy(item, round) : clone(item)));
                const invalid = [0, 2, 4, 6, 8, 10, 12, 14];
                let round = 0;
                for (; round < 3 && fresh.stats.failureRate < 0.25; round++) expectOnlyRejected(await fresh.verify(flood(round)), invalid);
                expect(fresh.stats.failureRate, "a high failure rate within a few batches").to.be.at.least(0.25);
                for (const end = round + 3; round < end; round++) {
                    const before = fresh.stats;
                    expectOnlyRejected(await fresh.verify(flood(round)), invalid);
                    const after = fresh.stats;
                    expect(delta(before, after, "groupChecks"), "no combined check while the failure rate is high").to.equal(0);
                    expect(delta(before, after, "pairingChecks"), "one check per proof, valid or not").to.equal(16);
                }
                // When the flood stops, the failure rate decays and groups grow back.
                for (let round = 0; round < 12 && fresh.stats.failureRate >= 1 / 64; round++) await fresh.verify(valid);
                const before = fresh.stats;
                expect(await fresh.verify(valid)).to.deep.equal(valid.map(() => true));
                expect(delta(before, fresh.stats, "pairingChecks"), "valid proofs are combined again").to.be.at.most(2);
            } finally {
                await fresh.close();
            }
        });

        it("Should check proofs marked alone on their own, never combined with others", async function () {
            const fresh = await Groth16BatchVerifier.create(vkey);
            try {
                const items: Groth16BatchItem[] = valid.map((item, i) => (i === 5 ? { ...invalidCopy(item, 0), alone: true } : i === 6 ? { ...item, alone: true } : item));
                expectOnlyRejected(await fresh.verify(items), [5]);
                const stats = fresh.stats;
                expect(stats.singleChecks).to.equal(2); // the two alone
                expect(stats.groupChecks).to.equal(1); // the 14 others, together
                expect(stats.failedGroups).to.equal(0); // the invalid one spoiled nothing
                expect(stats.failureRate).to.equal(0); // and does not shrink the groups of others
            } finally {
                await fresh.close();
            }
        });

        it("Should agree with snarkjs on every proof checked on its own (the precomputed α/β Miller loop)", async function () {
            const fresh = await Groth16BatchVerifier.create(vkey);
            try {
                for (const [i, item] of valid.entries()) {
                    const bad = invalidCopy(item, i);
                    const verdicts = await fresh.verify([{ ...item, alone: true }, { ...bad, alone: true }]);
                    expect(verdicts).to.deep.equal([await snarkjsVerdict(vkey, item), await snarkjsVerdict(vkey, bad)]);
                    expect(verdicts).to.deep.equal([true, false]);
                }
                expect(fresh.stats.groupChecks).to.equal(0);
            } finally {
                await fresh.close();
            }
        });
    });

    // ---------------------------------------------------------------- the proof verifiers

    describe("# BatchProofVerifier (on the event loop)", function () {
        it("Should verify concurrent proofs as one batch and reject only the bad one", async function () {
            const verifier = new BatchProofVerifier(vkey, { windowMs: 5 });
            await verifier.ready();
            const items = valid.map(clone);
            items[5]!.publicSignals[4] = (items[5]!.publicSignals[4]! + 1n) % R;
            const verdicts = await Promise.all(items.map((item) => verifier.verify(item.proof, item.publicSignals)));
            expectOnlyRejected(verdicts, [5]);
            expect(verifier.stats.batches).to.equal(1);
            expect(verifier.stats.proofs).to.equal(16);
            expect(verifier.stats.invalid).to.equal(1);
            expect(verifier.stats.failedGroups).to.equal(1);
            await verifier.close();
            await verifier.verify(valid[0]!.proof, valid[0]!.publicSignals).then(
                () => expect.fail("a closed verifier must refuse proofs"),
                (error: Error) => expect(error.message).to.match(/closed/)
            );
        });

        it("Should split a full queue into batches of maxBatch", async function () {
            const verifier = new BatchProofVerifier(vkey, { windowMs: 1_000, maxBatch: 5 });
            const verdicts = await Promise.all(valid.map((item) => verifier.verify(item.proof, item.publicSignals)));
            expect(verdicts).to.deep.equal(valid.map(() => true));
            expect(verifier.stats.batches).to.equal(4); // 5 + 5 + 5 + 1
            await verifier.close();
        });

        it("Should answer a lone proof after the window, and sequential proofs one batch each", async function () {
            const verifier = new BatchProofVerifier(vkey);
            expect(await verifier.verify(valid[0]!.proof, valid[0]!.publicSignals)).to.equal(true);
            expect(await verifier.verify(valid[1]!.proof, valid[1]!.publicSignals)).to.equal(true);
            const bad = clone(valid[2]!);
            bad.proof[7] = (bad.proof[7]! + 1n) % FIELD_P;
            expect(await verifier.verify(bad.proof, bad.publicSignals)).to.equal(false);
            expect(verifier.stats.batches).to.equal(3);
            expect(verifier.stats.malformed).to.equal(1);
            await verifier.close();
        });

        it("Should reject a proof with a non-canonical signal and accept the others of its batch", async function () {
            const verifier = new BatchProofVerifier(vkey, { windowMs: 5 });
            const bad = clone(valid[3]!);
            bad.publicSignals[4] = bad.publicSignals[4]! + R;
            const items = [valid[0]!, bad, valid[1]!];
            expect(await Promise.all(items.map((item) => verifier.verify(item.proof, item.publicSignals)))).to.deep.equal([true, false, true]);
            await verifier.close();
        });

        it("Should refuse a malformed verification key at construction", function () {
            expect(() => new BatchProofVerifier({ ...vkey, IC: (vkey.IC as unknown[]).slice(1) })).to.throw(/IC/);
            expect(() => new BatchProofVerifier({ ...vkey, vk_beta_2: [["1", "2"], ["3"], ["1", "0"]] })).to.throw(/vk_beta_2/);
            expect(() => new BatchProofVerifier({ ...vkey, protocol: "plonk" } as unknown as VerificationKey)).to.throw(/groth16/);
            // More public signals than the IC tables have room for (the engine's memory is fixed).
            const ic = Array.from({ length: 129 }, () => (vkey.IC as unknown[])[0]);
            expect(() => new BatchProofVerifier({ ...vkey, nPublic: 128, IC: ic } as VerificationKey)).to.throw(/at most 127 public signals are supported, not 128/);
        });

        it("Should refuse a verification key whose points are not on the curve when the engine is built", async function () {
            const verifier = new BatchProofVerifier({ ...vkey, vk_alpha_1: ["1", "3", "1"] });
            await verifier.ready().then(
                () => expect.fail("an off-curve α must be refused"),
                (error: Error) => expect(error.message).to.match(/vk_alpha_1 is not on the curve/)
            );
            await verifier.verify(valid[0]!.proof, valid[0]!.publicSignals).then(
                () => expect.fail("no proof is accepted with a broken key"),
                (error: Error) => expect(error.message).to.match(/vk_alpha_1/)
            );
        });
    });

    describe("# VerificationPool (worker threads)", function () {
        it("Should give every proof snarkjs' verdict, batching what arrives while its worker is busy", async function () {
            const pool = new VerificationPool(vkey, { threads: 1 });
            try {
                await pool.ready();
                const items = valid.map(clone);
                items[3]!.publicSignals[6] = (items[3]!.publicSignals[6]! + 1n) % R; // pairing
                items[8]!.proof[1] = (items[8]!.proof[1]! + 1n) % FIELD_P; // point check
                items[12]!.proof.splice(0, 2, 0n, 0n); // infinity
                const verdicts = await Promise.all(items.map((item) => pool.verify(item.proof, item.publicSignals)));
                for (const [i, item] of items.entries()) expect(verdicts[i], `item ${i}`).to.equal(await snarkjsVerdict(vkey, item));
                expectOnlyRejected(verdicts, [3, 8, 12]);
                const stats = pool.stats;
                expect(stats.proofs).to.equal(16);
                expect(stats.batches, "the first proof alone, the rest together").to.equal(2);
                expect(stats.malformed).to.equal(2);
                expect(stats.invalid).to.equal(1);
            } finally {
                await pool.close();
            }
        });

        it("Should spread batches over several workers and keep proofs marked alone out of the groups", async function () {
            const pool = new VerificationPool(vkey, { threads: 2, maxBatch: 4 });
            try {
                await pool.ready();
                const items = valid.map(clone);
                items[7]!.publicSignals[0] = (items[7]!.publicSignals[0]! + 1n) % R;
                const verdicts = await Promise.all(items.map((item, i) => pool.verify(item.proof, item.publicSignals, { alone: i === 7 })));
                expectOnlyRejected(verdicts, [7]);
                const stats = pool.stats;
                expect(stats.proofs).to.equal(16);
                expect(stats.failedGroups, "the invalid proof was checked on its own").to.equal(0);
                expect(stats.batches).to.be.at.least(5); // 16 proofs, at most 4 per batch
            } finally {
                await pool.close();
            }
        });

        it("Should retry the batch of a worker that died on another worker", async function () {
            const pool = new VerificationPool(vkey, { threads: 1 });
            try {
                await pool.ready();
                const pending = valid.map((item) => pool.verify(item.proof, item.publicSignals));
                // The worker dies with the first proof in flight; a new one takes over.
                const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
                await slots[0]!.worker.terminate();
                expect(await Promise.all(pending)).to.deep.equal(valid.map(() => true));
            } finally {
                await pool.close();
            }
        });

        /** A request signature by a fresh one-time key: of `message`, or (bad) of another message. */
        const requestSignature = (message: bigint, bad = false): RequestSignatureCheck => {
            const key = new RequestKey(randomBytes(32));
            return { message, signature: key.signMessage(bad ? message + 1n : message), publicKey: key.publicKey };
        };

        it("Should check request signatures on the worker first: a bad one is refused without verifying its proof", async function () {
            const pool = new VerificationPool(vkey, { threads: 1, overlapWhenIdle: false });
            const reference = new BatchProofVerifier(vkey);
            try {
                await pool.ready();
                const items = valid.map(clone);
                items[5]!.publicSignals[6] = (items[5]!.publicSignals[6]! + 1n) % R; // a bad proof with a good signature
                const badSignatures = [2, 9, 14];
                const checks: TicketCheck[] = items.map((item, i) => ({ ...item, requestSignature: requestSignature(randomFieldElement(), badSignatures.includes(i)) }));
                const verdicts = await Promise.all(checks.map((check) => pool.checkTicket(check)));
                const expected = items.map((_, i) => (badSignatures.includes(i) ? "invalid-signature" : i === 5 ? "invalid-proof" : "valid"));
                expect(verdicts).to.deep.equal(expected);
                // The in-thread checker around any ProofVerifier gives the same verdicts.
                const inThread = new InThreadTicketChecker(reference);
                expect(await Promise.all(checks.map((check) => inThread.checkTicket(check)))).to.deep.equal(expected);
                // The three bad signatures cost no pairing: their proofs never reached the engine.
                expect(pool.stats.proofs).to.equal(16 - badSignatures.length);
                expect(pool.stats.invalid).to.equal(1);
                expect(pool.taskStats).to.deep.equal({ signatureChecks: 16, invalidSignatures: 3, overlapped: 0, checkedHere: 0, signatures: 0 });
                // A bad signature on a valid proof, alone in its batch: no batch at all reaches the engine.
                const { batches, pairingChecks } = pool.stats;
                expect(await pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(7n, true) })).to.equal("invalid-signature");
                expect(pool.stats.batches).to.equal(batches);
                expect(pool.stats.pairingChecks).to.equal(pairingChecks);
            } finally {
                await pool.close();
                await reference.close();
            }
        });

        it("Should split a lone ticket's check between an idle worker and this thread (signature here, first), check a queued ticket's signature here before queueing its proof, and suspect or keep-thread-free tickets signature first on the worker", async function () {
            const pool = new VerificationPool(vkey, { threads: 1 });
            try {
                await pool.ready();
                const badProof = clone(valid[1]!);
                badProof.publicSignals[6] = (badProof.publicSignals[6]! + 1n) % R;
                const offCurve = clone(valid[9]!);
                offCurve.proof[1] = (offCurve.proof[1]! + 1n) % FIELD_P; // A off the curve: refused by the worker's half
                const nonCanonical = clone(valid[10]!);
                nonCanonical.publicSignals[4] = nonCanonical.publicSignals[4]! + R; // refused by both halves' signal checks
                // Lone tickets on an idle pool: split, and the verdicts are exact.
                expect(await pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(randomFieldElement()) })).to.equal("valid");
                expect(await pool.checkTicket({ ...badProof, requestSignature: requestSignature(randomFieldElement()) })).to.equal("invalid-proof");
                expect(await pool.checkTicket({ ...valid[2]!, requestSignature: requestSignature(randomFieldElement(), true) })).to.equal("invalid-signature");
                expect(await pool.checkTicket({ ...offCurve, requestSignature: requestSignature(randomFieldElement()) })).to.equal("invalid-proof");
                expect(await pool.checkTicket({ ...nonCanonical, requestSignature: requestSignature(randomFieldElement()) })).to.equal("invalid-proof");
                // After the early answers, the next split check is not confused by their halves.
                expect(await pool.checkTicket({ ...valid[11]!, requestSignature: requestSignature(randomFieldElement()) })).to.equal("valid");
                expect(pool.taskStats).to.deep.equal({ signatureChecks: 6, invalidSignatures: 1, overlapped: 6, checkedHere: 0, signatures: 0 });
                // Every proof reached the worker's half; only the three well-formed ones with a good signature reached a final exponentiation.
                expect(pool.stats).to.include({ proofs: 6, malformed: 2, invalid: 1, pairingChecks: 3, singleChecks: 3 });
                // Marked alone (a suspect client's), a bad signature goes to the worker first and costs no pairing.
                expect(await pool.checkTicket({ ...valid[3]!, alone: true, requestSignature: requestSignature(randomFieldElement(), true) })).to.equal("invalid-signature");
                expect(pool.stats.proofs).to.equal(6);
                expect(pool.taskStats.overlapped).to.equal(6);
                // Marked keepThreadFree (an upstream call started ahead, not answered yet): all on the worker, signature first.
                expect(await pool.checkTicket({ ...valid[8]!, keepThreadFree: true, requestSignature: requestSignature(randomFieldElement(), true) })).to.equal("invalid-signature");
                expect(await pool.checkTicket({ ...valid[8]!, keepThreadFree: true, requestSignature: requestSignature(randomFieldElement()) })).to.equal("valid");
                expect(pool.taskStats.overlapped).to.equal(6);
                expect(pool.stats.proofs, "only the good signature's proof").to.equal(7);
                // Tickets that arrive together: the first finds the worker idle and is split; the rest find it busy, have their
                // signatures checked here, and only the proofs whose signature holds are queued for the worker.
                const together = [4, 5, 6, 7].map((i) => pool.checkTicket({ ...valid[i]!, requestSignature: requestSignature(randomFieldElement(), i === 6) }));
                expect(await Promise.all(together)).to.deep.equal(["valid", "valid", "invalid-signature", "valid"]);
                expect(pool.taskStats).to.deep.equal({ signatureChecks: 13, invalidSignatures: 4, overlapped: 7, checkedHere: 3, signatures: 0 });
                expect(pool.stats.proofs, "the queued bad signature cost no pairing").to.equal(10);
            } finally {
                await pool.close();
            }
        });

        it("Should finish a split check whole on another worker if the worker with its first half dies", async function () {
            const pool = new VerificationPool(vkey, { threads: 2 });
            try {
                await pool.ready();
                const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> }; inFlight?: object; ready: boolean }[] }).slots;
                /** Waits (on the condition, not a clock) until a started worker is ready and every worker idle: the next ticket is split. */
                const untilIdle = async (): Promise<void> => {
                    while (!(slots.some((slot) => slot.ready) && slots.every((slot) => slot.inFlight === undefined))) await new Promise((resolve) => setTimeout(resolve, 5));
                };
                const pending = pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(randomFieldElement()) });
                // The first half was posted before checkTicket returned: its worker dies with it.
                const busy = slots.find((slot) => slot.inFlight !== undefined)!;
                await busy.worker.terminate();
                expect(await pending).to.equal("valid");
                expect(pool.taskStats.overlapped).to.equal(1);
                // The other worker verified it whole; a bad proof is still refused that way.
                const bad = clone(valid[1]!);
                bad.publicSignals[6] = (bad.publicSignals[6]! + 1n) % R;
                await untilIdle();
                const refused = pool.checkTicket({ ...bad, requestSignature: requestSignature(randomFieldElement()) });
                const again = slots.find((slot) => slot.inFlight !== undefined);
                expect(again, "split again, on the surviving worker").to.not.equal(undefined);
                await again!.worker.terminate();
                expect(await refused).to.equal("invalid-proof");
                // A bad signature whose worker dies: refused, and its proof never reaches a pairing check, wherever it is retried.
                await untilIdle();
                const { pairingChecks } = pool.stats;
                const badSignature = pool.checkTicket({ ...valid[2]!, requestSignature: requestSignature(randomFieldElement(), true) });
                const third = slots.find((slot) => slot.inFlight !== undefined);
                expect(third).to.not.equal(undefined);
                await third!.worker.terminate();
                expect(await badSignature).to.equal("invalid-signature");
                expect(pool.stats.pairingChecks).to.equal(pairingChecks);
            } finally {
                await pool.close();
            }
        });

        it("Should overlap only when every worker is idle: with one worker busy, the next ticket's signature is checked here first", async function () {
            const pool = new VerificationPool(vkey, { threads: 2 });
            try {
                await pool.ready();
                const first = pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(randomFieldElement()) });
                const second = pool.checkTicket({ ...valid[1]!, requestSignature: requestSignature(randomFieldElement(), true) });
                expect(await Promise.all([first, second])).to.deep.equal(["valid", "invalid-signature"]);
                expect(pool.taskStats).to.deep.equal({ signatureChecks: 2, invalidSignatures: 1, overlapped: 1, checkedHere: 1, signatures: 0 });
                expect(pool.stats.proofs, "the second one's proof was never verified").to.equal(1);
            } finally {
                await pool.close();
            }
        });

        it("Should sign charges and bases on the workers exactly as in-thread, and they verify", async function () {
            const signingKey = `0x${randomBytes(32).toString("hex")}`;
            const pool = new VerificationPool(vkey, { threads: 2, signingKey });
            try {
                await pool.ready();
                const keyless = new VerificationPool(vkey, { threads: 1 });
                expect(keyless.providerSigner(), "no key, no signer").to.equal(undefined);
                await keyless.close();
                const onWorkers = pool.providerSigner()!;
                const inThread = new InThreadProviderSigner(signingKey);
                expect(onWorkers.publicKey).to.deep.equal(inThread.publicKey);
                const context = randomFieldElement();
                const commitments = [0, 1, 2, 3].map(() => new EdDSAPoseidonSigner(randomBytes(32)).publicKey);
                const charges: ChargeToSign[] = commitments.flatMap((ticketCommitment, i) => [
                    { context, ticketCommitment, cost: 0n, penalty: 0n },
                    { context, ticketCommitment, cost: 1234n + BigInt(i), penalty: i === 2 ? 5000n : 0n }
                ]);
                // Concurrent signs, spread over both workers and batched with each other.
                const signed = await Promise.all(charges.map((charge) => onWorkers.signCharge(charge)));
                for (const [i, charge] of charges.entries()) {
                    const reference = await inThread.signCharge(charge);
                    expect(signed[i], `charge ${i}`).to.deep.equal(reference);
                    expect(signed[i]!.charge).to.deep.equal(chargePoint(charge.ticketCommitment, charge.cost, charge.penalty));
                    expect(verifyChargeSignature(context, signed[i]!.charge, signed[i]!.signature, inThread.publicKey), `charge ${i} verifies`).to.equal(true);
                }
                for (const base of commitments) {
                    const signature = await onWorkers.signBase({ context, base });
                    expect(signature).to.deep.equal(await inThread.signBase({ context, base }));
                    expect(verifyBaseSignature(context, base, signature, inThread.publicKey)).to.equal(true);
                }
                expect(pool.taskStats.signatures).to.equal(charges.length + commitments.length);
                // A charge the worker cannot compute (not a curve point) is refused, and the pool goes on.
                await onWorkers.signCharge({ context, ticketCommitment: [1n, 2n], cost: 1n, penalty: 0n }).then(
                    () => expect.fail("a charge of a point off the curve must be refused"),
                    (error: Error) => expect(error.message).to.match(/signing failed/)
                );
                expect(await onWorkers.signCharge(charges[1]!)).to.deep.equal(signed[1]);
            } finally {
                await pool.close();
            }
        });

        it("Should retry the signs and ticket checks of a worker that died on another worker", async function () {
            const signingKey = `0x${randomBytes(32).toString("hex")}`;
            const pool = new VerificationPool(vkey, { threads: 1, signingKey });
            try {
                await pool.ready();
                const signer = pool.providerSigner()!;
                const context = randomFieldElement();
                const charges: ChargeToSign[] = Array.from({ length: 24 }, (_, i) => ({ context, ticketCommitment: new EdDSAPoseidonSigner(randomBytes(32)).publicKey, cost: BigInt(i), penalty: 0n }));
                const first = pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(randomFieldElement()) });
                const signs = charges.map((charge) => signer.signCharge(charge));
                const checks = valid.slice(1, 6).map((item, i) => pool.checkTicket({ ...item, requestSignature: requestSignature(randomFieldElement(), i === 3) }));
                // The first check's answer sends the rest (signs and checks) as the next batch; the worker dies with it in flight.
                expect(await first).to.equal("valid");
                const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
                await slots[0]!.worker.terminate();
                expect(await Promise.all(checks)).to.deep.equal(["valid", "valid", "valid", "invalid-signature", "valid"]);
                const inThread = new InThreadProviderSigner(signingKey);
                expect(await Promise.all(signs)).to.deep.equal(await Promise.all(charges.map((charge) => inThread.signCharge(charge))));
            } finally {
                await pool.close();
            }
        });

        it("Should refuse a malformed key at construction, a broken one at ready(), and proofs once closed", async function () {
            expect(() => new VerificationPool({ ...vkey, IC: (vkey.IC as unknown[]).slice(1) }, { threads: 1 })).to.throw(/IC/);
            const broken = new VerificationPool({ ...vkey, vk_alpha_1: ["1", "3", "1"] }, { threads: 1 });
            await broken.ready().then(
                () => expect.fail("an off-curve α must be refused"),
                (error: Error) => expect(error.message).to.match(/vk_alpha_1 is not on the curve/)
            );
            await broken.verify(valid[0]!.proof, valid[0]!.publicSignals).then(
                () => expect.fail("no proof is accepted with a broken key"),
                (error: Error) => expect(error.message).to.match(/vk_alpha_1/)
            );
            await broken.close();
            const pool = new VerificationPool(vkey, { threads: 1 });
            await pool.close();
            await pool.verify(valid[0]!.proof, valid[0]!.publicSignals).then(
                () => expect.fail("a closed pool must refuse proofs"),
                (error: Error) => expect(error.message).to.match(/closed/)
            );
            await pool.checkTicket({ ...valid[0]!, requestSignature: requestSignature(randomFieldElement(), true) }).then(
                () => expect.fail("a closed pool must refuse tickets, whatever their signature"),
                (error: Error) => expect(error.message).to.match(/closed/)
            );
        });
    });
});
