import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { addPoint, inCurve, mulPointEscalar } from "@zk-kit/baby-jubjub";
import {
    AMOUNT_BITS,
    BABYJUB_SUBORDER,
    BLINDING_BITS,
    chargeCommitment,
    chargeState,
    commitState,
    EdDSAPoseidonSigner,
    verifySignature,
    GENESIS_CHECKPOINT,
    Identity,
    nextCheckpoint,
    packRegistryTerms,
    recoverSecret,
    registryContext,
    rerandomiseCommitment,
    addBlinding,
    randomScalar,
    reserveOf,
    rlnShare,
    RegistryTree,
    SEQ_BITS,
    signState,
    STATE_GENERATORS,
    STATE_VALUE_BITS,
    stateValue,
    verifyStateSignature
} from "@zk-api-credits/protocol";
import { LeanIMT } from "@zk-kit/lean-imt";
import { derivePublicKey as zkKitPublicKey, signMessage as zkKitSign, verifySignature as zkKitVerify } from "@zk-kit/eddsa-poseidon";
import { randomBytes } from "node:crypto";
import { poseidon2 } from "poseidon-lite";
import { TestProvider, DEFAULT_TERMS } from "../helpers/scenario";

const ROOT = path.resolve(__dirname, "../..");

// The TypeScript reference of the protocol: constants shared with the circuits, the
// homomorphic state commitment, signatures, RLN recovery and the registry tree.
describe("Protocol reference (TypeScript)", function () {
    describe("# constants", function () {
        const circom = readFileSync(path.join(ROOT, "circuits/lib/constants.circom"), "utf8");
        const constant = (name: string): bigint => BigInt(new RegExp(`function ${name}\\(\\) \\{ return (\\d+); \\}`).exec(circom)![1]!);
        const point = (name: string): bigint[] => {
            const body = new RegExp(`function ${name}\\(\\) \\{\\s*return \\[\\s*(\\d+),\\s*(\\d+)\\s*\\];`).exec(circom)!;
            return [BigInt(body[1]!), BigInt(body[2]!)];
        };

        it("Should use the same widths and generators as circuits/lib/constants.circom", function () {
            expect(constant("AMOUNT_BITS")).to.equal(BigInt(AMOUNT_BITS));
            expect(constant("SEQ_BITS")).to.equal(BigInt(SEQ_BITS));
            expect(constant("BLINDING_BITS")).to.equal(BigInt(BLINDING_BITS));
            expect(constant("STATE_VALUE_BITS")).to.equal(BigInt(STATE_VALUE_BITS));
            expect(point("STATE_GENERATOR_G")).to.deep.equal(STATE_GENERATORS.G);
            expect(point("STATE_GENERATOR_H")).to.deep.equal(STATE_GENERATORS.H);
            expect(point("STATE_GENERATOR_J")).to.deep.equal(STATE_GENERATORS.J);
            expect(2 * AMOUNT_BITS + SEQ_BITS).to.equal(STATE_VALUE_BITS);
            expect(1n << BigInt(STATE_VALUE_BITS) < BABYJUB_SUBORDER).to.equal(true);
        });

        it("Should take the generators from circomlib's Pedersen bases: on the curve, order l, distinct", function () {
            const pedersen = readFileSync(path.join(ROOT, "node_modules/circomlib/circuits/pedersen.circom"), "utf8");
            const bases = [...pedersen.matchAll(/\[(\d{20,}),(\d{20,})\]/g)].map((m) => [BigInt(m[1]!), BigInt(m[2]!)]);
            expect(bases.slice(0, 3)).to.deep.equal([STATE_GENERATORS.G, STATE_GENERATORS.H, STATE_GENERATORS.J]);
            for (const generator of Object.values(STATE_GENERATORS)) {
                expect(inCurve(generator)).to.equal(true);
                expect(mulPointEscalar(generator, BABYJUB_SUBORDER)).to.deep.equal([0n, 1n]);
            }
            const { G, H, J } = STATE_GENERATORS;
            expect(new Set([G[0], H[0], J[0]]).size).to.equal(3);
        });
    });

    describe("# state commitment", function () {
        const identity = new Identity();
        const state = { spent: 1_000n, burned: 20n, seq: 4n };

        it("Should pack the state value as spent * 2^144 + burned * 2^48 + seq", function () {
            expect(stateValue(state)).to.equal(1_000n * 2n ** 144n + 20n * 2n ** 48n + 4n);
            expect(() => stateValue({ ...state, seq: 1n << 48n })).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => stateValue({ ...state, burned: 1n << 96n })).to.throw("VALUE_OUT_OF_RANGE");
        });

        it("Should let the provider charge a shown state homomorphically", function () {
            const blinding = randomScalar();
            const rerandomiser = randomScalar();
            const shown = rerandomiseCommitment(commitState(state, identity.commitment, blinding), rerandomiser);
            const next = chargeCommitment(shown, 345n, 500n);
            expect(next).to.deep.equal(commitState(chargeState(state, 345n, 500n), identity.commitment, addBlinding(blinding, rerandomiser)));
            expect(chargeState(state, 345n, 500n)).to.deep.equal({ spent: 1_345n, burned: 520n, seq: 5n });
        });

        it("Should hide the state: two showings of one state differ, and differ from the original", function () {
            const commitment = commitState(state, identity.commitment, randomScalar());
            const first = rerandomiseCommitment(commitment, randomScalar());
            const second = rerandomiseCommitment(commitment, randomScalar());
            expect(first).to.not.deep.equal(second);
            expect(first).to.not.deep.equal(commitment);
        });

        it("Should bind the identity: the same state and blinding commit differently for two identities", function () {
            const blinding = randomScalar();
            expect(commitState(state, identity.commitment, blinding)).to.not.deep.equal(commitState(state, new Identity().commitment, blinding));
            const { J } = STATE_GENERATORS;
            const difference = addPoint(commitState(state, 5n, blinding), mulPointEscalar(J, BABYJUB_SUBORDER - 3n));
            expect(difference).to.deep.equal(commitState(state, 2n, blinding));
        });
    });

    describe("# fast arithmetic against the zk-kit reference", function () {
        it("Should sign exactly as @zk-kit/eddsa-poseidon and verify the same signatures", function () {
            for (let i = 0; i < 12; i++) {
                const key = i % 2 === 0 ? randomBytes(32) : `0x${randomBytes(32).toString("hex")}`;
                const message = BigInt(`0x${randomBytes(31).toString("hex")}`);
                const ours = new EdDSAPoseidonSigner(key).signMessage(message);
                const reference = zkKitSign(key, message);
                expect(ours).to.deep.equal({ R8: [reference.R8[0], reference.R8[1]], S: reference.S });
                expect(new EdDSAPoseidonSigner(key).publicKey).to.deep.equal(zkKitPublicKey(key));
                expect(zkKitVerify(message, ours, zkKitPublicKey(key))).to.equal(true);
                expect(verifySignature(message, reference, zkKitPublicKey(key))).to.equal(true);
                expect(verifySignature(message + 1n, reference, zkKitPublicKey(key))).to.equal(false);
                expect(verifySignature(message, { ...reference, S: reference.S + 1n }, zkKitPublicKey(key))).to.equal(false);
            }
        });

        it("Should commit, re-randomise and charge exactly as zk-kit's affine arithmetic does", function () {
            for (let i = 0; i < 6; i++) {
                const state = { spent: BigInt(i * 1_000_003), burned: BigInt(i * 7), seq: BigInt(i) };
                const idc = new Identity().commitment;
                const blinding = randomScalar();
                const { G, H, J } = STATE_GENERATORS;
                const reference = addPoint(addPoint(mulPointEscalar(G, stateValue(state)), mulPointEscalar(J, idc)), mulPointEscalar(H, blinding));
                expect(commitState(state, idc, blinding)).to.deep.equal(reference);
                const eta = randomScalar();
                expect(rerandomiseCommitment(reference, eta)).to.deep.equal(addPoint(reference, mulPointEscalar(H, eta)));
                const charge = stateValue({ spent: 12_345n, burned: 500n, seq: 1n });
                expect(chargeCommitment(reference, 12_345n, 500n)).to.deep.equal(addPoint(reference, mulPointEscalar(G, charge)));
            }
        });
    });

    describe("# provider signatures", function () {
        it("Should verify the provider's signature on a state and reject it for any other", function () {
            const provider = new TestProvider();
            const commitment = commitState({ spent: 1n, burned: 0n, seq: 1n }, new Identity().commitment, randomScalar());
            const signature = signState(provider.privateKey, commitment);
            expect(verifyStateSignature(commitment, signature, provider.publicKey)).to.equal(true);
            expect(verifyStateSignature(commitment, signature, new TestProvider().publicKey)).to.equal(false);
            const other = commitState({ spent: 0n, burned: 0n, seq: 1n }, 1n, 1n);
            expect(verifyStateSignature(other, signature, provider.publicKey)).to.equal(false);
            expect(verifyStateSignature([1n, 2n], signature, provider.publicKey)).to.equal(false);
        });
    });

    describe("# RLN", function () {
        it("Should recover the secret from any two shares of one ticket and refuse equal x", function () {
            for (let i = 0; i < 20; i++) {
                const identity = new Identity();
                const scope = BigInt(i + 1);
                const first = rlnShare(identity.secret, scope, BigInt(i), BigInt(1000 + i));
                const second = rlnShare(identity.secret, scope, BigInt(i), BigInt(7 ** (i + 2)));
                expect(first.nullifier).to.equal(second.nullifier);
                expect(recoverSecret(first, second)).to.equal(identity.secret);
            }
            const share = rlnShare(1n, 2n, 3n, 4n);
            expect(() => recoverSecret(share, share)).to.throw("INVALID_SHARES");
        });
    });

    describe("# registry", function () {
        it("Should pack terms injectively and check their ranges", function () {
            expect(packRegistryTerms({ maxCost: 1n, policyPenalty: 2n, reserveBps: 3n })).to.equal(1n + 2n * 2n ** 96n + 3n * 2n ** 192n);
            expect(() => packRegistryTerms({ ...DEFAULT_TERMS, reserveBps: 10_001n })).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => packRegistryTerms({ ...DEFAULT_TERMS, maxCost: 1n << 96n })).to.throw("VALUE_OUT_OF_RANGE");
            const provider = new TestProvider();
            expect(registryContext(provider.binding())).to.not.equal(registryContext(provider.binding({ ...DEFAULT_TERMS, policyPenalty: 501n })));
            expect(reserveOf(123_457n, 1_000n)).to.equal(12_345n);
        });

        it("Should build the same tree as zk-kit's LeanIMT and pad proofs to the circuit depth", function () {
            const tree = new RegistryTree();
            const reference = new LeanIMT<bigint>((a, b) => poseidon2([a, b]));
            for (let i = 0; i < 37; i++) {
                const idc = new Identity().commitment;
                tree.insert(idc, BigInt(i + 1));
                reference.insert(poseidon2([idc, BigInt(i + 1)]));
                expect(tree.root).to.equal(reference.root);
            }
            const proof = tree.merkleProof(17, 20);
            expect(proof.siblings).to.have.length(20);
            expect(proof.depth).to.equal(reference.generateProof(17).siblings.length);
            expect(() => tree.merkleProof(17, 3)).to.throw("TREE_TOO_DEEP");
        });

        it("Should chain checkpoints over (idc, deposit) from the zero hash", function () {
            const first = nextCheckpoint(GENESIS_CHECKPOINT, 1n, 2n);
            expect(first).to.match(/^0x[0-9a-f]{64}$/);
            expect(nextCheckpoint(first, 3n, 4n)).to.not.equal(nextCheckpoint(GENESIS_CHECKPOINT, 3n, 4n));
        });
    });
});
