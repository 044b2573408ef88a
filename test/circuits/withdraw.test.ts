import { expect } from "chai";
import {
    AMOUNT_BITS,
    commitBase,
    flattenFoldSignals,
    flattenWithdrawSignals,
    foldInputs,
    foldNullifier,
    foldPublicSignals,
    GENESIS_BASE,
    identityCommitment,
    MAX_AMOUNT,
    packAccounting,
    registryContext,
    slotNullifiersHash,
    SNARK_SCALAR_FIELD,
    spendInputs,
    ticketNullifier,
    TICKET_WINDOW,
    withdrawalClaim,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { ChargeAmounts, CircuitInputs, RegistryBinding, SignedBase, SignedCharge, WithdrawWitness } from "@zk-api-credits/protocol";
import { CircuitUnderTest, witnessFailure } from "../helpers/circuits";
import { DEFAULT_TERMS, foldWitness, spendWitness, TEST_CHAIN_ID, testAccount, TestProvider, withdrawWitness } from "../helpers/scenario";
import { ASSERTIONS, baseState, chargesFrom, failedIn, randomBelow, randomTerms, signatureMismatch, freeSignalSweep } from "./support/fixtures";
import { pooledProof, RECIPIENT } from "./support/proofs";

const W = TICKET_WINDOW;
const NONE = new Array<boolean>(W).fill(false);
const ALL = new Array<boolean>(W).fill(true);
/** Slots 0, 2, 5 and 7 declared (mask 0b10100101). */
const SOME = [true, false, true, false, false, true, false, true];

// Withdraw(2, 8): ownership of idc; the newest base f (genesis or signed) and the first m <= 2
// charges beyond it (used[] a prefix) give the effective base e = f + m and its totals; the
// fold nullifier of e* = f + 2 if m = 2, else f; for each slot j of the window [e, e + 8), 0 if
// declared, else the ticket's nullifier N_{e+j}, hashed; accounting = spentE + burnedE·2^96 +
// mask·2^192; the recipient bound. Valid witnesses give exactly the reference's public
// signals; every constraint family rejects a wrong witness.
describe("Withdraw circuit (Withdraw(2, 8))", function () {
    const circuit = CircuitUnderTest.load("withdraw-2-8");
    const provider = new TestProvider();
    const registry = provider.binding();
    const { maxCost, policyPenalty } = registry.terms;
    const account = testAccount();
    const genesis = provider.signBase(registry, account.identity, GENESIS_BASE);
    /** Base 6 and the charges of tickets 6 and 7. */
    const signed = provider.signBase(registry, account.identity, baseState(4_321n, 1_000n, 6n));
    const charges = chargesFrom(provider, registry, account, 6n, [
        { cost: 700n, penalty: 0n },
        { cost: 33n, penalty: policyPenalty }
    ]);

    // Public signals: identityCommitment, context, accounting, foldNullifier, slotNullifiersHash
    // (witness 1 … 5), input recipient (6).
    const ACCOUNTING = 3;
    const FOLD_NULLIFIER = 4;
    const SLOTS_HASH = 5;
    const RECIPIENT_SIGNAL = 6;
    const outputs = (witness: readonly bigint[]): bigint[] => witness.slice(1, 7);
    const disclosed = (witness: readonly bigint[]): bigint[] => circuit.signalIndices(/^main\.SlotDisclosure_\d+_\d+\.disclosed\[\d+\]$/).map((i) => witness[i]!);

    async function expectValid(witness: WithdrawWitness): Promise<bigint[]> {
        const values = await circuit.witness(withdrawInputs(witness));
        expect(outputs(values)).to.deep.equal(flattenWithdrawSignals(withdrawPublicSignals(witness)));
        expect(await circuit.satisfies(values)).to.equal(true);
        return values;
    }

    async function expectRefused(inputs: CircuitInputs, where: RegExp): Promise<void> {
        expect(await witnessFailure(circuit.witness(inputs))).to.match(where);
    }

    const inputsOf = (base: SignedBase, slots: readonly SignedCharge[], declared: readonly boolean[] = NONE, binding: RegistryBinding = registry): CircuitInputs =>
        withdrawInputs(withdrawWitness(account, binding, base, slots, RECIPIENT, declared));
    const chargesAt = (from: bigint, amounts: readonly ChargeAmounts[]): SignedCharge[] => chargesFrom(provider, registry, account, from, amounts);

    describe("# valid withdrawals (differential against the TypeScript reference)", function () {
        it("Should accept m = 0, 1 and 2 charges beyond a signed base", async function () {
            for (let m = 0; m <= 2; m++) {
                const witness = withdrawWitness(account, registry, signed, charges.slice(0, m), RECIPIENT);
                const values = await expectValid(witness);
                const claim = withdrawalClaim(witness);
                expect(claim.effectiveFolded).to.equal(6n + BigInt(m));
                expect(disclosed(values)).to.deep.equal(claim.slotNullifiers);
            }
        });

        it("Should accept m = 0, 1 and 2 charges beyond the genesis base", async function () {
            const first = chargesAt(0n, [{ cost: 1n, penalty: policyPenalty }, { cost: maxCost, penalty: 0n }]);
            for (let m = 0; m <= 2; m++) await expectValid(withdrawWitness(account, registry, genesis, first.slice(0, m), RECIPIENT, SOME));
        });

        it("Should match the reference on random terms, bases, charges, masks and recipients", async function () {
            for (let run = 0; run < 5; run++) {
                const terms = randomTerms();
                const binding = provider.binding(terms, 1n + randomBelow(1n << 40n));
                const folded = run === 0 ? 0n : 2n * (1n + randomBelow(1n << 40n));
                const base = folded === 0n ? GENESIS_BASE : baseState(randomBelow(1n << 90n), randomBelow(1n << 90n), folded);
                const owner = testAccount({ others: 0 });
                const m = Number(randomBelow(3n));
                const amounts = Array.from({ length: m }, () => ({ cost: randomBelow(terms.maxCost + 1n), penalty: randomBelow(2n) === 0n ? 0n : terms.policyPenalty }));
                const declared = Array.from({ length: W }, () => randomBelow(2n) === 1n);
                const witness = withdrawWitness(
                    owner,
                    binding,
                    provider.signBase(binding, owner.identity, base),
                    chargesFrom(provider, binding, owner, folded, amounts),
                    randomBelow(1n << 160n),
                    declared
                );
                await expectValid(witness);
            }
        });
    });

    describe("# accounting, fold nullifier and disclosure", function () {
        it("Should pack accounting = spentE + burnedE·2^96 + mask·2^192 with the effective totals", async function () {
            for (const [m, declared] of [[0, NONE], [1, SOME], [2, ALL]] as const) {
                const witness = withdrawWitness(account, registry, signed, charges.slice(0, m), RECIPIENT, declared);
                const accounting = (await expectValid(witness))[ACCOUNTING]!;
                const spentE = 4_321n + charges.slice(0, m).reduce((sum, c) => sum + c.cost, 0n);
                const burnedE = 1_000n + charges.slice(0, m).reduce((sum, c) => sum + c.penalty, 0n);
                const mask = declared.reduce((bits, flag, j) => (flag ? bits | (1 << j) : bits), 0);
                const bits = BigInt(AMOUNT_BITS);
                expect(accounting).to.equal(packAccounting(spentE, burnedE, mask));
                expect([accounting & MAX_AMOUNT, (accounting >> bits) & MAX_AMOUNT, accounting >> (2n * bits)]).to.deep.equal([spentE, burnedE, BigInt(mask)]);
            }
        });

        it("Should name e* = f + K exactly when m = K: the fold nullifier a Fold proof of e* records", async function () {
            const fold = CircuitUnderTest.load("fold-2");
            const expected = [6n, 6n, 8n];
            for (let m = 0; m <= 2; m++) {
                const values = await circuit.witness(inputsOf(signed, charges.slice(0, m)));
                expect(values[FOLD_NULLIFIER], `m = ${m}`).to.equal(foldNullifier(account.identity.secret, registry.scope, expected[m]!));
            }
            // The stale-base challenge: the Fold proof of base 6 names F_6 (a withdrawal with m < 2 from base 6
            // after that fold is stale); the Fold proof of base 8 names F_8 (m = 2: a withdrawal from base 6
            // is stale only if base 8 was folded in turn).
            const foldOf6 = foldWitness(account, registry, signed, charges);
            const base8 = provider.signBase(registry, account.identity, baseState(4_321n + 733n, 1_000n + policyPenalty, 8n));
            const foldOf8 = foldWitness(account, registry, base8, chargesAt(8n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }]));
            for (const [witness, m] of [[foldOf6, 1], [foldOf8, 2]] as const) {
                const foldValues = await fold.witness(foldInputs(witness));
                expect(foldValues.slice(1, 5)).to.deep.equal(flattenFoldSignals(foldPublicSignals(witness)));
                const withdrawal = await circuit.witness(inputsOf(signed, charges.slice(0, m)));
                expect(withdrawal[FOLD_NULLIFIER]).to.equal(foldValues[2]);
            }
        });

        it("Should disclose exactly the undeclared slots' nullifiers (masks none, some, all) and hash them as the reference", async function () {
            for (const declared of [NONE, SOME, ALL]) {
                const witness = withdrawWitness(account, registry, signed, charges.slice(0, 1), RECIPIENT, declared);
                const values = await expectValid(witness);
                const slots = disclosed(values);
                for (let j = 0; j < W; j++) {
                    const nullifier = ticketNullifier(account.identity.secret, registry.scope, 7n + BigInt(j)).nullifier;
                    expect(slots[j], `slot ${j}`).to.equal(declared[j] ? 0n : nullifier);
                }
                expect(values[SLOTS_HASH]).to.equal(slotNullifiersHash(slots));
                expect(values[SLOTS_HASH]).to.equal(withdrawalClaim(witness).slotNullifiersHash);
            }
        });

        it("Should disclose the nullifier the Spend proof of an undeclared ticket reveals (the undeclared-ticket challenge)", async function () {
            const spend = CircuitUnderTest.load("spend-32");
            const values = await circuit.witness(inputsOf(signed, charges.slice(0, 2), SOME));
            // e = 8; slot 1 (ticket 9) is undeclared, slot 0 (ticket 8) is declared.
            const spent9 = await spend.witness(spendInputs(spendWitness(account, registry, provider.signBase(registry, account.identity, baseState(5_054n, 1_500n, 8n)), 9n)));
            expect(disclosed(values)[1]).to.equal(spent9[5]);
            expect(disclosed(values)[0]).to.equal(0n);
        });

        it("Should reject a declared flag that is not boolean", async function () {
            const inputs = inputsOf(signed, charges, SOME);
            for (const flag of [2n, SNARK_SCALAR_FIELD - 1n]) {
                const declared = (inputs.declared as bigint[]).map((d, j) => (j === 3 ? flag : d));
                await expectRefused({ ...inputs, declared }, failedIn(["SlotDisclosure", "Withdraw"], ASSERTIONS.declaredBoolean));
            }
        });

        it("Should reject tampered public signals and disclosed nullifiers", async function () {
            const values = await circuit.witness(inputsOf(signed, charges, SOME));
            for (let index = 1; index <= RECIPIENT_SIGNAL; index++) {
                expect(await circuit.satisfies(CircuitUnderTest.tamper(values, new Map([[index, values[index]! + 1n]]))), `signal ${index}`).to.equal(false);
            }
            for (const index of circuit.signalIndices(/^main\.SlotDisclosure_\d+_\d+\.disclosed\[\d+\]$/)) {
                const zeroed = CircuitUnderTest.tamper(values, new Map([[index, values[index] === 0n ? 1n : 0n]]));
                expect(await circuit.satisfies(zeroed), circuit.signalName(index)).to.equal(false);
            }
        });
    });

    describe("# charge slots", function () {
        it("Should reject used[] that is not a prefix, or not boolean", async function () {
            const [c6, c7] = charges as [SignedCharge, SignedCharge];
            // Slot 1 used without slot 0: the charge of ticket 7 in slot 1.
            const gap = { ...inputsOf(signed, [c6, c7]), used: [0n, 1n], costs: [0n, c7.cost], penalties: [0n, c7.penalty] };
            await expectRefused(gap, failedIn(["Withdraw"], ASSERTIONS.usedPrefix));
            await expectRefused({ ...inputsOf(signed, [c6]), used: [2n, 0n] }, failedIn(["Withdraw"], ASSERTIONS.usedBoolean));
        });

        it("Should reject a disabled slot with a non-zero cost or penalty", async function () {
            const inputs = inputsOf(signed, charges.slice(0, 1));
            await expectRefused({ ...inputs, costs: [charges[0]!.cost, 5n] }, failedIn(["SignedCharge", "Withdraw"], ASSERTIONS.disabledCostZero));
            await expectRefused({ ...inputs, penalties: [0n, policyPenalty] }, failedIn(["SignedCharge", "Withdraw"], ASSERTIONS.disabledPenaltyZero));
            const none = inputsOf(signed, []);
            await expectRefused({ ...none, costs: [1n, 0n] }, failedIn(["SignedCharge", "Withdraw"], ASSERTIONS.disabledCostZero));
        });

        it("Should reject a used slot without a valid charge (claiming m = 2 with one charge)", async function () {
            const inputs = inputsOf(signed, charges.slice(0, 1));
            await expectRefused({ ...inputs, used: [1n, 1n] }, signatureMismatch("SignedCharge"));
        });

        it("Should reject a charge above maxCost or a penalty outside {0, policyPenalty}, though the provider signed them", async function () {
            const aboveMaxCost = failedIn(["SignedCharge", "Withdraw"], ASSERTIONS.chargeWithinMax);
            await expectRefused(inputsOf(signed, chargesAt(6n, [{ cost: maxCost + 1n, penalty: 0n }])), aboveMaxCost);
            await expectRefused(inputsOf(signed, chargesAt(6n, [{ cost: 1n, penalty: 0n }, { cost: MAX_AMOUNT, penalty: 0n }])), aboveMaxCost);
            await expectRefused(inputsOf(signed, chargesAt(6n, [{ cost: 1n, penalty: policyPenalty + 1n }])), failedIn(["SignedCharge", "Withdraw"], ASSERTIONS.chargePenaltyInSet));
        });

        it("Should reject a charge of the wrong ticket, another identity's, or one signed elsewhere or with the base tag", async function () {
            await expectRefused(inputsOf(signed, [charges[1]!]), signatureMismatch("SignedCharge"));
            const victim = testAccount();
            await expectRefused(inputsOf(signed, chargesFrom(provider, registry, victim, 6n, [{ cost: 0n, penalty: 0n }])), signatureMismatch("SignedCharge"));
            const elsewhere = provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n);
            await expectRefused(inputsOf(signed, chargesFrom(provider, elsewhere, account, 6n, [{ cost: 0n, penalty: 0n }])), signatureMismatch("SignedCharge"));
            const small = provider.signBase(registry, account.identity, baseState(3n, 0n, 6n));
            const asCharge: SignedCharge = { cost: 3n, penalty: 0n, blinding: small.blinding, signature: small.signature! };
            await expectRefused(inputsOf(signed, [asCharge]), signatureMismatch("SignedCharge"));
        });

        it("Should reject effective totals of 2^96 or more", async function () {
            const nearTop = provider.signBase(registry, account.identity, baseState(MAX_AMOUNT - 60n, MAX_AMOUNT - policyPenalty, 6n));
            await expectValid(withdrawWitness(account, registry, nearTop, chargesAt(6n, [{ cost: 60n, penalty: policyPenalty }]), RECIPIENT));
            await expectRefused(inputsOf(nearTop, chargesAt(6n, [{ cost: 61n, penalty: 0n }])), failedIn(["Num2Bits", "Withdraw"]));
            await expectRefused(inputsOf(nearTop, chargesAt(6n, [{ cost: 0n, penalty: policyPenalty }, { cost: 0n, penalty: policyPenalty }])), failedIn(["Num2Bits", "Withdraw"]));
        });
    });

    describe("# base and ownership", function () {
        it("Should reject another identity's base, a forged or foreign base, and genesis with non-zero totals", async function () {
            await expectRefused(inputsOf(provider.signBase(registry, testAccount().identity, signed.base), charges), signatureMismatch("BaseAuthorisation"));
            const inputs = inputsOf(signed, charges);
            await expectRefused({ ...inputs, baseSignatureS: (inputs.baseSignatureS as bigint) + 1n }, signatureMismatch("BaseAuthorisation"));
            for (const change of [{ spent: 4_320n }, { burned: 0n }, { folded: 4n }] as CircuitInputs[]) await expectRefused({ ...inputs, ...change }, signatureMismatch("BaseAuthorisation"));
            const elsewhere = provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n);
            await expectRefused(inputsOf(provider.signBase(elsewhere, account.identity, signed.base), charges), signatureMismatch("BaseAuthorisation"));
            const chargeTagged = {
                ...signed,
                signature: provider.signer.signCharge(registryContext(registry), commitBase(signed.base, account.identity.commitment, signed.blinding))
            };
            await expectRefused(inputsOf(chargeTagged, charges), signatureMismatch("BaseAuthorisation"));
            const atGenesis = inputsOf(genesis, []);
            await expectRefused({ ...atGenesis, spent: 1n }, failedIn(["BaseAuthorisation", "Withdraw"], ASSERTIONS.genesisSpentZero));
        });

        it("Should bind identityCommitment = Poseidon(k) and the recipient", async function () {
            const values = await circuit.witness(inputsOf(signed, charges));
            expect(values[1]).to.equal(identityCommitment(account.identity.secret));
            const other = CircuitUnderTest.tamper(values, new Map([[RECIPIENT_SIGNAL, 0x3c44cdddb6a900fa2b585dd299e03d12fa4293bcn]]));
            expect(await circuit.satisfies(other)).to.equal(false);
            // p − recipient has the same square (see EXPLAINED_FREE_SIGNALS): no address, and a proof does not carry over.
            expect(SNARK_SCALAR_FIELD - RECIPIENT >= 1n << 160n).to.equal(true);
        });
    });

    describe("# under-constraint checks on the r1cs", function () {
        it("Should let no signal change alone, except the explained ones (m = 0, 1, 2; genesis; masks)", async function () {
            const cases = [inputsOf(genesis, []), inputsOf(signed, charges.slice(0, 1), SOME), inputsOf(signed, charges, ALL)];
            for (const inputs of cases) {
                const { free, unexplained } = freeSignalSweep(circuit, await circuit.witness(inputs));
                expect(unexplained).to.deep.equal([]);
                expect(free).to.include("main.recipient");
            }
        });

        it("Should agree with snarkjs' wtns check on a valid and a tampered witness", async function () {
            const witness = await circuit.witness(inputsOf(signed, charges, SOME));
            expect(await circuit.snarkjsSatisfies(witness)).to.equal(true);
            const forged = CircuitUnderTest.tamper(witness, new Map([[ACCOUNTING, witness[ACCOUNTING]! - 1n]]));
            expect(await circuit.snarkjsSatisfies(forged)).to.equal(false);
        });
    });

    describe("# proofs", function () {
        for (const name of ["withdraw", "withdraw-genesis"] as const) {
            it(`Should prove and verify a withdrawal (${name}) and bind every public signal`, async function () {
                const { proof, publicSignals, expected } = await pooledProof(name);
                expect(publicSignals).to.deep.equal(expected);
                expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
                for (let i = 0; i < publicSignals.length; i++) {
                    const changed = publicSignals.map((s, j) => (j === i ? (s + 1n) % SNARK_SCALAR_FIELD : s));
                    expect(await circuit.prover.verify(proof, changed), `signal ${i}`).to.equal(false);
                    const aliased = publicSignals.map((s, j) => (j === i ? s + SNARK_SCALAR_FIELD : s));
                    expect(await circuit.prover.verify(proof, aliased), `signal ${i} + p`).to.equal(false);
                }
                const negated = publicSignals.map((s, j) => (j === RECIPIENT_SIGNAL - 1 ? SNARK_SCALAR_FIELD - s : s));
                expect(await circuit.prover.verify(proof, negated), "recipient p − r").to.equal(false);
            });
        }
    });
});
