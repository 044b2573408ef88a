import { expect } from "chai";
import { ethers } from "hardhat";
import { SNARK_SCALAR_FIELD, toSolidityProof } from "@zk-api-credits/protocol";
import type { SolidityProof } from "@zk-api-credits/protocol";
import { loadConfig } from "../../scripts/circuits/config";
import { pooledProof } from "./support/proofs";
import type { PooledProof, PooledProofName } from "./support/proofs";

/** BN254's base field modulus q (coordinates of G1 and G2 points live below it). */
const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const UINT256_MAX = (1n << 256n) - 1n;

/** The generated verifier's `verifyProof(pA, pB, pC, pubSignals)`. */
interface GeneratedVerifier {
    verifyProof(pA: SolidityProof["pA"], pB: SolidityProof["pB"], pC: SolidityProof["pC"], signals: bigint[]): Promise<boolean>;
}

// The Solidity verifiers snarkjs generated from the committed zkeys (contracts/verifiers)
// accept real proofs of the v2 circuits and reject every mutation of a public signal or of the
// proof, and every public signal at or above the field modulus.
describe("Generated Solidity verifiers (v2)", function () {
    const cases: { contract: string; proof: PooledProofName; signals: number }[] = [
        { contract: "SpendVerifier", proof: "spend", signals: 7 },
        { contract: "FoldVerifier", proof: "fold", signals: 4 },
        { contract: "WithdrawVerifier", proof: "withdraw", signals: 6 },
        { contract: "SlashVerifier", proof: "slash", signals: 2 }
    ];

    it("Should cover every circuit of circuits.json with its verifier and number of public signals", function () {
        const declared = loadConfig().circuits.map((c) => [c.verifierContract, c.publicSignals.length]);
        expect(cases.map((c) => [c.contract, c.signals])).to.deep.equal(declared);
    });

    for (const { contract, proof, signals } of cases) {
        describe(`# ${contract}`, function () {
            let verifier: GeneratedVerifier;
            let real: PooledProof;
            let solidity: SolidityProof;
            const verify = (p: SolidityProof, publicSignals: bigint[]): Promise<boolean> => verifier.verifyProof(p.pA, p.pB, p.pC, publicSignals);

            before(async function () {
                verifier = (await ethers.deployContract(contract)) as unknown as GeneratedVerifier;
                real = await pooledProof(proof);
                solidity = toSolidityProof(real.proof);
                expect(real.publicSignals).to.have.length(signals);
            });

            it(`Should accept a real ${proof} proof with its ${signals} public signals`, async function () {
                expect(await verify(solidity, real.publicSignals)).to.equal(true);
            });

            it("Should reject the proof with any public signal changed", async function () {
                for (let i = 0; i < signals; i++) {
                    for (const delta of [1n, SNARK_SCALAR_FIELD - 1n]) {
                        const changed = real.publicSignals.map((s, j) => (j === i ? (s + delta) % SNARK_SCALAR_FIELD : s));
                        expect(await verify(solidity, changed), `signal ${i} + ${delta}`).to.equal(false);
                    }
                }
            });

            it("Should reject a public signal at or above the field modulus (s + p, p, 2^256 − 1)", async function () {
                for (let i = 0; i < signals; i++) {
                    for (const value of [real.publicSignals[i]! + SNARK_SCALAR_FIELD, SNARK_SCALAR_FIELD, UINT256_MAX]) {
                        const changed = real.publicSignals.map((s, j) => (j === i ? value : s));
                        expect(await verify(solidity, changed), `signal ${i} = ${value}`).to.equal(false);
                    }
                }
            });

            it("Should reject the proof with any point coordinate changed, or moved to q + coordinate", async function () {
                const { pA, pB, pC } = solidity;
                const variants: SolidityProof[] = [
                    { pA: [pA[0] + 1n, pA[1]], pB, pC },
                    { pA: [pA[0], pA[1] + 1n], pB, pC },
                    { pA: [pA[0] + BASE_FIELD, pA[1]], pB, pC },
                    { pA, pB: [[pB[0][0] + 1n, pB[0][1]], pB[1]], pC },
                    { pA, pB: [[pB[0][0], pB[0][1] + 1n], pB[1]], pC },
                    { pA, pB: [pB[0], [pB[1][0] + 1n, pB[1][1]]], pC },
                    { pA, pB: [pB[0], [pB[1][0], pB[1][1] + 1n]], pC },
                    { pA, pB: [pB[0], [pB[1][0] + BASE_FIELD, pB[1][1]]], pC },
                    { pA, pB, pC: [pC[0] + 1n, pC[1]] },
                    { pA, pB, pC: [pC[0], pC[1] + 1n] },
                    { pA, pB, pC: [pC[0], pC[1] + BASE_FIELD] },
                    { pA: pC, pB, pC: pA },
                    { pA: [pA[0], BASE_FIELD - pA[1]], pB, pC },
                    { pA: [0n, 0n], pB, pC }
                ];
                for (const [i, v] of variants.entries()) expect(await verify(v, real.publicSignals), `variant ${i}`).to.equal(false);
            });

            it("Should accept the negated proof (−A, −B, C): Groth16 proofs are malleable, so nothing may key on proof bytes", async function () {
                const { pA, pB, pC } = solidity;
                const negated: SolidityProof = { pA: [pA[0], BASE_FIELD - pA[1]], pB: [pB[0], [BASE_FIELD - pB[1][0], BASE_FIELD - pB[1][1]]], pC };
                expect(await verify(negated, real.publicSignals)).to.equal(true);
            });
        });
    }
});
