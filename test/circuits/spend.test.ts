import { expect } from "chai";
import {
    flattenSpendSignals,
    GENESIS_STATE,
    Identity,
    MAX_SPENDABLE_SEQ,
    recoverSecret,
    spendableOf,
    spendInputs,
    spendPublicSignals,
    SNARK_SCALAR_FIELD
} from "@zk-api-credits/protocol";
import type { AccountState, CircuitInputs } from "@zk-api-credits/protocol";
import { CircuitUnderTest, witnessFailure } from "../helpers/circuits";
import { DEFAULT_TERMS, spendWitness, testAccount, TestProvider } from "../helpers/scenario";

// Spend(20): membership, state opening and authorisation, re-randomisation, solvency with
// reserve, RLN share. Valid witnesses must give exactly the TypeScript reference's public
// signals; each constraint family must reject a wrong witness.
describe("Spend circuit", function () {
    const circuit = CircuitUnderTest.load("spend-20");
    const provider = new TestProvider();
    const registry = provider.binding();
    const signedState: AccountState = { spent: 12_345n, burned: 500n, seq: 7n };

    // Outputs are witness signals 1..6; the public input x is 7.
    const outputs = (witness: bigint[]): bigint[] => witness.slice(1, 8);

    async function expectValid(inputs: CircuitInputs, expected: bigint[]): Promise<bigint[]> {
        const witness = await circuit.witness(inputs);
        expect(outputs(witness)).to.deep.equal(expected);
        expect(await circuit.satisfies(witness)).to.equal(true);
        return witness;
    }

    describe("# valid witnesses (differential against the TypeScript reference)", function () {
        it("Should accept the genesis state without a signature", async function () {
            const account = testAccount(provider, GENESIS_STATE);
            const witness = spendWitness(account, registry, 42n);
            await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
        });

        it("Should accept a provider-signed state", async function () {
            const account = testAccount(provider, signedState);
            const witness = spendWitness(account, registry, 42n);
            await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
        });

        it("Should match the reference on random accounts, trees, terms and requests", async function () {
            for (let run = 0; run < 6; run++) {
                const terms = {
                    maxCost: BigInt(1 + Math.floor(Math.random() * 10_000)),
                    policyPenalty: BigInt(Math.floor(Math.random() * 1_000)),
                    reserveBps: BigInt(Math.floor(Math.random() * 5_000))
                };
                const deposit = 1_000_000n + BigInt(Math.floor(Math.random() * 1e9));
                const seq = BigInt(Math.floor(Math.random() * 1_000));
                const limit = spendableOf(deposit, terms.reserveBps) - terms.maxCost - terms.policyPenalty;
                const spent = seq === 0n ? 0n : BigInt(Math.floor(Math.random() * Number(limit / 2n)));
                const burned = seq === 0n ? 0n : BigInt(Math.floor(Math.random() * Number(limit / 2n)));
                const account = testAccount(provider, { spent, burned, seq }, { deposit, others: Math.floor(Math.random() * 40) });
                const witness = spendWitness(account, provider.binding(terms, BigInt(1 + run)), BigInt(`0x${"ab".repeat(31)}`) + BigInt(run));
                await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
            }
        });

        it("Should accept a one-member tree (a proof of depth 0)", async function () {
            const alone = testAccount(provider, signedState, { others: 0 });
            const aloneWitness = spendWitness(alone, registry, 1n);
            expect(aloneWitness.merkleProof.depth).to.equal(0);
            await expectValid(spendInputs(aloneWitness), flattenSpendSignals(spendPublicSignals(aloneWitness)));
        });
    });

    describe("# membership", function () {
        const account = testAccount(provider, GENESIS_STATE, { others: 9 });
        const rootIndex = 1;

        it("Should not reach the registry root with a wrong sibling, index or deposit", async function () {
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            const siblings = [...(inputs.merkleSiblings as bigint[])];
            siblings[1] = siblings[1]! + 1n;
            const wrongs: CircuitInputs[] = [
                { ...inputs, merkleSiblings: siblings },
                { ...inputs, merkleIndex: (inputs.merkleIndex as bigint) ^ 1n },
                { ...inputs, deposit: (inputs.deposit as bigint) + 1n },
                { ...inputs, secret: new Identity().secret }
            ];
            for (const wrong of wrongs) {
                const witness = await circuit.witness(wrong);
                expect(witness[rootIndex]).to.not.equal(account.tree.root);
            }
        });

        it("Should reject a forged root (tampered output) for a wrong path", async function () {
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            const witness = await circuit.witness({ ...inputs, deposit: (inputs.deposit as bigint) + 1n });
            const forged = CircuitUnderTest.tamper(witness, new Map([[rootIndex, account.tree.root]]));
            expect(await circuit.satisfies(forged)).to.equal(false);
        });

        it("Should reject a Merkle depth above the maximum", async function () {
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            expect(await witnessFailure(circuit.witness({ ...inputs, merkleDepth: 21n }))).to.match(/template RegistryMembership_/);
        });
    });

    describe("# state authorisation", function () {
        it("Should reject a signed state whose signature is forged", async function () {
            const account = testAccount(provider, signedState);
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            const forged = { ...inputs, signatureS: (inputs.signatureS as bigint) + 1n };
            expect(await witnessFailure(circuit.witness(forged))).to.match(/template EdDSAPoseidonVerifier_/);
        });

        it("Should reject a non-genesis state with no signature", async function () {
            const account = testAccount(provider, signedState);
            const unsigned = { ...account, signature: undefined };
            expect(() => spendInputs(spendWitness(unsigned, registry, 5n))).to.throw("MISSING_SIGNATURE");
            const genesisInputs = spendInputs(spendWitness(testAccount(provider, GENESIS_STATE), registry, 5n));
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            const noSignature = { ...inputs, signatureR8: genesisInputs.signatureR8, signatureS: genesisInputs.signatureS };
            expect(await witnessFailure(circuit.witness(noSignature))).to.match(/template EdDSAPoseidonVerifier_/);
        });

        it("Should reject a state signed by another key", async function () {
            const other = new TestProvider();
            const account = testAccount(other, signedState);
            expect(await witnessFailure(circuit.witness(spendInputs(spendWitness(account, registry, 5n))))).to.match(
                /template EdDSAPoseidonVerifier_/
            );
        });

        it("Should reject a wrong opening (other blinding or other totals) of the signed state", async function () {
            const account = testAccount(provider, signedState);
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            for (const wrong of [
                { ...inputs, blinding: (inputs.blinding as bigint) + 1n },
                { ...inputs, spent: 0n },
                { ...inputs, burned: 0n },
                { ...inputs, seq: 8n }
            ]) {
                expect(await witnessFailure(circuit.witness(wrong))).to.match(/template EdDSAPoseidonVerifier_/);
            }
        });

        it("Should reject another identity's signed state (states are bound to their identity)", async function () {
            const victim = testAccount(provider, { spent: 1n, burned: 0n, seq: 900n });
            const cheat = testAccount(provider, { spent: 90_000n, burned: 0n, seq: 10n });
            const borrowed = { ...cheat, state: victim.state, blinding: victim.blinding, signature: victim.signature };
            expect(await witnessFailure(circuit.witness(spendInputs(spendWitness(borrowed, registry, 5n))))).to.match(
                /template EdDSAPoseidonVerifier_/
            );
        });

        it("Should reject a state with seq 0 but non-zero totals (no skipping the signature)", async function () {
            const account = testAccount(provider, GENESIS_STATE);
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            expect(await witnessFailure(circuit.witness({ ...inputs, spent: 1n }))).to.match(/template StateAuthorisation_/);
            expect(await witnessFailure(circuit.witness({ ...inputs, burned: 1n }))).to.match(/template StateAuthorisation_/);
        });

        it("Should reject a re-randomised state that is not the opened state plus rerandomiser*H", async function () {
            const account = testAccount(provider, signedState);
            const witness = await circuit.witness(spendInputs(spendWitness(account, registry, 5n)));
            for (const index of [3, 4]) {
                const forged = CircuitUnderTest.tamper(witness, new Map([[index, witness[index]! + 1n]]));
                expect(await circuit.satisfies(forged)).to.equal(false);
            }
            const other = spendPublicSignals(spendWitness(account, registry, 5n)).rerandomisedState;
            const swapped = CircuitUnderTest.tamper(witness, new Map([[3, other[0]], [4, other[1]]]));
            expect(await circuit.satisfies(swapped)).to.equal(false);
        });
    });

    describe("# solvency with reserve", function () {
        const deposit = 100_000n;
        const limit = spendableOf(deposit, DEFAULT_TERMS.reserveBps) - DEFAULT_TERMS.maxCost - DEFAULT_TERMS.policyPenalty;

        it("Should accept a state exactly at the solvency limit", async function () {
            const account = testAccount(provider, { spent: limit - 100n, burned: 100n, seq: 3n }, { deposit });
            const witness = spendWitness(account, registry, 5n);
            await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
        });

        it("Should reject a state one unit beyond the limit", async function () {
            const account = testAccount(provider, { spent: limit - 99n, burned: 100n, seq: 3n }, { deposit });
            expect(() => spendPublicSignals(spendWitness(account, registry, 5n))).to.throw("INSOLVENT");
            expect(await witnessFailure(circuit.witness(spendInputs(spendWitness(account, registry, 5n))))).to.match(
                /template Solvency_/
            );
        });

        it("Should keep the reserve: a 100 % reserve leaves nothing to spend", async function () {
            const account = testAccount(provider, GENESIS_STATE, { deposit });
            const allReserved = provider.binding({ ...DEFAULT_TERMS, reserveBps: 10_000n });
            expect(await witnessFailure(circuit.witness(spendInputs(spendWitness(account, allReserved, 5n))))).to.match(
                /template Solvency_/
            );
        });

        it("Should reject a forged reserve quotient or remainder (no under-constrained division)", async function () {
            const account = testAccount(provider, signedState, { deposit: 123_457n });
            const witness = await circuit.witness(spendInputs(spendWitness(account, registry, 5n)));
            const reserve = circuit.signalIndex(/Solvency_\d+_\d+\.reserve$/);
            const remainder = circuit.signalIndex(/Solvency_\d+_\d+\.remainder$/);
            expect(witness[reserve]).to.equal((123_457n * 1_000n) / 10_000n);
            const shifted = CircuitUnderTest.tamper(
                witness,
                new Map([[reserve, witness[reserve]! - 1n], [remainder, witness[remainder]! + 10_000n]])
            );
            expect(await circuit.satisfies(shifted)).to.equal(false);
            const wrapped = CircuitUnderTest.tamper(
                witness,
                new Map([[reserve, witness[reserve]! + 1n], [remainder, (witness[remainder]! - 10_000n + SNARK_SCALAR_FIELD) % SNARK_SCALAR_FIELD]])
            );
            expect(await circuit.satisfies(wrapped)).to.equal(false);
        });

        it("Should reject deposits, totals and terms at 2^96 (range limits)", async function () {
            const account = testAccount(provider, signedState);
            const inputs = spendInputs(spendWitness(account, registry, 5n));
            const big = 1n << 96n;
            expect(await witnessFailure(circuit.witness({ ...inputs, deposit: big }))).to.match(/template Solvency_/);
            for (const field of ["maxCost", "policyPenalty"]) {
                expect(await witnessFailure(circuit.witness({ ...inputs, [field]: big })), field).to.match(/template RegistryTerms_/);
            }
            expect(await witnessFailure(circuit.witness({ ...inputs, reserveBps: 10_001n }))).to.match(/template RegistryTerms_/);
            const witness = spendWitness(account, registry, 5n);
            expect(() => spendInputs({ ...witness, state: { ...signedState, spent: big } })).to.throw("VALUE_OUT_OF_RANGE");
            expect(await witnessFailure(circuit.witness({ ...inputs, spent: big }))).to.match(/template AccountStateCommitment_/);
            expect(await witnessFailure(circuit.witness({ ...inputs, burned: big }))).to.match(/template AccountStateCommitment_/);
        });

        it("Should accept the largest deposit, 2^96 - 1", async function () {
            const account = testAccount(provider, signedState, { deposit: (1n << 96n) - 1n });
            const witness = spendWitness(account, registry, 5n);
            await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
        });
    });

    describe("# RLN share, nullifier and seq", function () {
        it("Should give one nullifier per (identity, scope, seq), whatever the request or blinding", async function () {
            const account = testAccount(provider, signedState);
            const first = await circuit.witness(spendInputs(spendWitness(account, registry, 11n)));
            const second = await circuit.witness(spendInputs(spendWitness(account, registry, 22n)));
            expect(first[5]).to.equal(second[5]);
            expect(first[3]).to.not.equal(second[3]);
            expect(first[6]).to.not.equal(second[6]);
            const next = testAccount(provider, { ...signedState, seq: 8n }, { identity: account.identity });
            const third = await circuit.witness(spendInputs(spendWitness(next, registry, 11n)));
            expect(third[5]).to.not.equal(first[5]);
            const otherRegistry = await circuit.witness(
                spendInputs(spendWitness(account, provider.binding(DEFAULT_TERMS, 1n), 11n))
            );
            expect(otherRegistry[5]).to.not.equal(first[5]);
        });

        it("Should reveal the secret when one ticket is spent on two requests", async function () {
            const account = testAccount(provider, signedState);
            const first = await circuit.witness(spendInputs(spendWitness(account, registry, 1234n)));
            const second = await circuit.witness(spendInputs(spendWitness(account, registry, 98765n)));
            const secret = recoverSecret({ x: first[7]!, y: first[6]! }, { x: second[7]!, y: second[6]! });
            expect(secret).to.equal(account.identity.secret);
        });

        it("Should reject a tampered share or nullifier", async function () {
            const account = testAccount(provider, signedState);
            const witness = await circuit.witness(spendInputs(spendWitness(account, registry, 77n)));
            for (const index of [5, 6, 7]) {
                const forged = CircuitUnderTest.tamper(witness, new Map([[index, witness[index]! + 1n]]));
                expect(await circuit.satisfies(forged), `signal ${index}`).to.equal(false);
            }
        });

        it("Should accept the largest spendable seq and reject the last one (seq + 1 must fit)", async function () {
            const last = testAccount(provider, { spent: 0n, burned: 0n, seq: MAX_SPENDABLE_SEQ });
            const witness = spendWitness(last, registry, 5n);
            await expectValid(spendInputs(witness), flattenSpendSignals(spendPublicSignals(witness)));
            const overflow = testAccount(provider, { spent: 0n, burned: 0n, seq: MAX_SPENDABLE_SEQ + 1n });
            expect(await witnessFailure(circuit.witness(spendInputs(spendWitness(overflow, registry, 5n))))).to.match(
                /template Spend_/
            );
        });

        it("Should refuse non-canonical inputs before the witness calculator reduces them", async function () {
            const account = testAccount(provider, signedState);
            const witness = spendWitness(account, registry, 5n);
            expect(() => spendInputs({ ...witness, x: SNARK_SCALAR_FIELD + 5n })).to.throw("NON_CANONICAL_FIELD_ELEMENT");
            expect(() => spendInputs({ ...witness, secret: SNARK_SCALAR_FIELD })).to.throw("NON_CANONICAL_FIELD_ELEMENT");
        });
    });

    describe("# proofs", function () {
        it("Should prove and verify a ticket, and bind every public signal", async function () {
            const account = testAccount(provider, signedState);
            const witness = spendWitness(account, registry, 31337n);
            const { proof, publicSignals } = await circuit.prover.prove(spendInputs(witness));
            expect(publicSignals).to.deep.equal(flattenSpendSignals(spendPublicSignals(witness)));
            expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
            for (let i = 0; i < publicSignals.length; i++) {
                const changed = publicSignals.map((s, j) => (j === i ? (s + 1n) % SNARK_SCALAR_FIELD : s));
                expect(await circuit.prover.verify(proof, changed), `signal ${i}`).to.equal(false);
            }
            const nonCanonical = publicSignals.map((s, j) => (j === 6 ? s + SNARK_SCALAR_FIELD : s));
            expect(await circuit.prover.verify(proof, nonCanonical)).to.equal(false);
        });
    });
});
