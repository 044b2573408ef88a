import { expect } from "chai";
import {
    flattenWithdrawSignals,
    GENESIS_STATE,
    spendPublicSignals,
    SNARK_SCALAR_FIELD,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { AccountState } from "@zk-api-credits/protocol";
import { CircuitUnderTest, witnessFailure } from "../helpers/circuits";
import { DEFAULT_TERMS, spendWitness, testAccount, TestProvider, withdrawWitness } from "../helpers/scenario";

// Withdraw: ownership of idc, the latest state (genesis or signed), the nullifier of that
// state's ticket, and the recipient bound into the proof.
describe("Withdraw circuit", function () {
    const circuit = CircuitUnderTest.load("withdraw");
    const provider = new TestProvider();
    const registry = provider.binding();
    const state: AccountState = { spent: 4_321n, burned: 1_000n, seq: 12n };
    const recipient = 0x70997970c51812dc3a010c7d01b50e0d17dc79c8n;
    const outputs = (witness: bigint[]): bigint[] => witness.slice(1, 7);

    describe("# valid witnesses", function () {
        it("Should accept the genesis state and a signed state, matching the reference", async function () {
            for (const account of [testAccount(provider, GENESIS_STATE), testAccount(provider, state)]) {
                const witness = withdrawWitness(account, registry, recipient);
                const values = await circuit.witness(withdrawInputs(witness));
                expect(outputs(values)).to.deep.equal(flattenWithdrawSignals(withdrawPublicSignals(witness)));
                expect(await circuit.satisfies(values)).to.equal(true);
            }
        });

        it("Should match the reference on random states and registries", async function () {
            for (let run = 0; run < 4; run++) {
                const random: AccountState = {
                    spent: BigInt(Math.floor(Math.random() * 1e12)),
                    burned: BigInt(Math.floor(Math.random() * 1e9)),
                    seq: BigInt(1 + Math.floor(Math.random() * 1e6))
                };
                const binding = provider.binding(
                    { maxCost: BigInt(run + 1), policyPenalty: BigInt(run), reserveBps: BigInt(run * 100) },
                    BigInt(run + 10)
                );
                const witness = withdrawWitness(testAccount(provider, random), binding, BigInt(run) << 150n);
                const values = await circuit.witness(withdrawInputs(witness));
                expect(outputs(values)).to.deep.equal(flattenWithdrawSignals(withdrawPublicSignals(witness)));
            }
        });

        it("Should reveal the nullifier that the Spend proof of the same ticket reveals", async function () {
            const account = testAccount(provider, state);
            const withdrawal = await circuit.witness(withdrawInputs(withdrawWitness(account, registry, recipient)));
            const spend = spendPublicSignals(spendWitness(account, registry, 99n));
            expect(withdrawal[2]).to.equal(spend.nullifier);
            expect(withdrawal[3]).to.equal(spend.context);
        });
    });

    describe("# wrong witnesses", function () {
        it("Should reject a forged, missing or foreign signature", async function () {
            const account = testAccount(provider, state);
            const inputs = withdrawInputs(withdrawWitness(account, registry, recipient));
            expect(await witnessFailure(circuit.witness({ ...inputs, signatureS: (inputs.signatureS as bigint) + 1n }))).to.match(
                /template EdDSAPoseidonVerifier_/
            );
            const foreign = testAccount(new TestProvider(), state);
            expect(await witnessFailure(circuit.witness(withdrawInputs(withdrawWitness(foreign, registry, recipient))))).to.match(
                /template EdDSAPoseidonVerifier_/
            );
            const unsigned = { ...account, signature: undefined };
            expect(() => withdrawInputs(withdrawWitness(unsigned, registry, recipient))).to.throw("MISSING_SIGNATURE");
        });

        it("Should reject lower totals than the signed state (the cheat's motive)", async function () {
            const account = testAccount(provider, state);
            const inputs = withdrawInputs(withdrawWitness(account, registry, recipient));
            for (const wrong of [{ ...inputs, spent: 0n }, { ...inputs, burned: 0n }, { ...inputs, seq: 11n }]) {
                expect(await witnessFailure(circuit.witness(wrong))).to.match(/template EdDSAPoseidonVerifier_/);
            }
        });

        it("Should reject another identity's signed state", async function () {
            const victim = testAccount(provider, { spent: 1n, burned: 0n, seq: 3n });
            const cheat = testAccount(provider, state);
            const borrowed = { ...cheat, state: victim.state, blinding: victim.blinding, signature: victim.signature };
            expect(await witnessFailure(circuit.witness(withdrawInputs(withdrawWitness(borrowed, registry, recipient))))).to.match(
                /template EdDSAPoseidonVerifier_/
            );
        });

        it("Should reject seq 0 with non-zero totals, and totals of 2^96", async function () {
            const genesis = withdrawInputs(withdrawWitness(testAccount(provider, GENESIS_STATE), registry, recipient));
            expect(await witnessFailure(circuit.witness({ ...genesis, spent: 5n }))).to.match(/template StateAuthorisation_/);
            const inputs = withdrawInputs(withdrawWitness(testAccount(provider, state), registry, recipient));
            expect(await witnessFailure(circuit.witness({ ...inputs, spent: 1n << 96n }))).to.match(
                /template AccountStateCommitment_/
            );
        });

        it("Should reject tampered outputs", async function () {
            const values = await circuit.witness(withdrawInputs(withdrawWitness(testAccount(provider, state), registry, recipient)));
            for (const index of [1, 2, 3]) {
                const forged = CircuitUnderTest.tamper(values, new Map([[index, values[index]! + 1n]]));
                expect(await circuit.satisfies(forged), `signal ${index}`).to.equal(false);
            }
        });
    });

    describe("# proofs", function () {
        it("Should bind identity, nullifier, context, totals and recipient", async function () {
            const witness = withdrawWitness(testAccount(provider, state), registry, recipient);
            const { proof, publicSignals } = await circuit.prover.prove(withdrawInputs(witness));
            expect(publicSignals).to.deep.equal(flattenWithdrawSignals(withdrawPublicSignals(witness)));
            expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
            for (let i = 0; i < publicSignals.length; i++) {
                const changed = publicSignals.map((s, j) => (j === i ? (s + 1n) % SNARK_SCALAR_FIELD : s));
                expect(await circuit.prover.verify(proof, changed), `signal ${i}`).to.equal(false);
            }
            const otherRecipient = publicSignals.map((s, j) => (j === 5 ? 0x3c44cdddb6a900fa2b585dd299e03d12fa4293bcn : s));
            expect(await circuit.prover.verify(proof, otherRecipient)).to.equal(false);
        });

        it("Should give another context for other terms, another registry or another key", function () {
            const account = testAccount(provider, state);
            const context = (binding: typeof registry): bigint =>
                withdrawPublicSignals(withdrawWitness(account, binding, recipient)).context;
            const mine = context(registry);
            expect(context(provider.binding({ ...DEFAULT_TERMS, maxCost: DEFAULT_TERMS.maxCost + 1n }))).to.not.equal(mine);
            expect(context(provider.binding(DEFAULT_TERMS, 1n))).to.not.equal(mine);
            expect(context(new TestProvider().binding())).to.not.equal(mine);
        });
    });
});
