import { expect } from "chai";
import {
    BABYJUB_SUBORDER,
    baseBlinding,
    chargeCommitment,
    commitBase,
    flattenFoldSignals,
    foldBase,
    foldedBase,
    foldInputs,
    foldNullifier,
    foldPublicSignals,
    GENESIS_BASE,
    Identity,
    MAX_AMOUNT,
    MAX_INDEX,
    registryContext,
    SNARK_SCALAR_FIELD,
    spendInputs,
    spendPublicSignals,
    flattenSpendSignals,
    ticketNullifier,
    TICKET_WINDOW,
    verifyBaseSignature,
    verifyChargeSignature
} from "@zk-api-credits/protocol";
import type { ChargeAmounts, CircuitInputs, FoldWitness, RegistryBinding, SignedBase, SignedCharge } from "@zk-api-credits/protocol";
import { CircuitUnderTest, witnessFailure } from "../helpers/circuits";
import { DEFAULT_TERMS, foldWitness, spendWitness, TEST_CHAIN_ID, testAccount, TestProvider } from "../helpers/scenario";
import {
    ASSERTIONS,
    baseState,
    chargesFrom,
    EDDSA_LINES,
    failedIn,
    randomBelow,
    randomTerms,
    replaced,
    signatureMismatch,
    freeSignalSweep
} from "./support/fixtures";
import { pooledProof } from "./support/proofs";

const W = BigInt(TICKET_WINDOW);

// Fold(2): a base (genesis or base-signed) and exactly K = 2 charges of tickets f and f + 1,
// each charge-signed under the registry's context with cost <= maxCost and penalty in
// {0, policyPenalty}, give newBase = Com(spent + Σcost, burned + Σpenalty, f + 2; r') and the
// fold nullifier F_f. Valid witnesses give exactly the reference's public signals; every
// constraint family rejects a wrong witness.
describe("Fold circuit (Fold(2))", function () {
    const circuit = CircuitUnderTest.load("fold-2");
    const provider = new TestProvider();
    const registry = provider.binding();
    const { maxCost, policyPenalty } = registry.terms;
    const account = testAccount();
    const genesis = provider.signBase(registry, account.identity, GENESIS_BASE);
    /** Base 6 and the charges of tickets 6 and 7 (the second penalised). */
    const signed = provider.signBase(registry, account.identity, baseState(12_345n, 500n, 6n));
    const charges = chargesFrom(provider, registry, account, 6n, [
        { cost: 250n, penalty: 0n },
        { cost: maxCost, penalty: policyPenalty }
    ]);

    // Public signals: context, foldNullifier, newBase.x, newBase.y (witness 1 … 4).
    const FOLD_NULLIFIER = 2;
    const NEW_BASE_X = 3;
    const outputs = (witness: readonly bigint[]): bigint[] => witness.slice(1, 5);

    async function expectValid(witness: FoldWitness): Promise<bigint[]> {
        const values = await circuit.witness(foldInputs(witness));
        expect(outputs(values)).to.deep.equal(flattenFoldSignals(foldPublicSignals(witness)));
        expect(await circuit.satisfies(values)).to.equal(true);
        return values;
    }

    async function expectRefused(inputs: CircuitInputs, where: RegExp): Promise<void> {
        expect(await witnessFailure(circuit.witness(inputs))).to.match(where);
    }

    /** Fold inputs built without the reference's checks (foldWitness refuses totals the circuit must refuse too). */
    const inputsOf = (base: SignedBase, slots: readonly SignedCharge[], binding: RegistryBinding = registry): CircuitInputs =>
        foldInputs({
            secret: account.identity.secret,
            base,
            charges: slots,
            newBlinding: baseBlinding(account.identity.secret, binding.scope, base.base.folded + 2n),
            registry: binding
        });
    /** Charges of tickets from, from + 1 with the given amounts (signed by the provider). */
    const chargesAt = (from: bigint, amounts: readonly ChargeAmounts[], binding: RegistryBinding = registry): SignedCharge[] => chargesFrom(provider, binding, account, from, amounts);
    const aboveMaxCost = failedIn(["SignedCharge", "Fold"], ASSERTIONS.chargeWithinMax);
    const penaltyNotInSet = failedIn(["SignedCharge", "Fold"], ASSERTIONS.chargePenaltyInSet);
    const outputsOfSpend = (witness: readonly bigint[]): bigint[] => witness.slice(1, 8);

    describe("# valid folds (differential against the TypeScript reference)", function () {
        it("Should fold the genesis base and two charges (penalties 0 and policyPenalty) into base 2", async function () {
            const first = chargesAt(0n, [{ cost: 250n, penalty: 0n }, { cost: 1_000n, penalty: policyPenalty }]);
            const witness = foldWitness(account, registry, genesis, first);
            const values = await expectValid(witness);
            expect(foldedBase(witness)).to.deep.equal(baseState(1_250n, policyPenalty, 2n));
            const expected = commitBase(baseState(1_250n, policyPenalty, 2n), account.identity.commitment, baseBlinding(account.identity.secret, registry.scope, 2n));
            expect(values.slice(NEW_BASE_X, NEW_BASE_X + 2)).to.deep.equal(expected);
        });

        it("Should fold a signed base, with every combination of penalties", async function () {
            for (const [p0, p1] of [[0n, 0n], [0n, policyPenalty], [policyPenalty, 0n], [policyPenalty, policyPenalty]] as const) {
                await expectValid(foldWitness(account, registry, signed, chargesAt(6n, [{ cost: 1n, penalty: p0 }, { cost: 0n, penalty: p1 }])));
            }
            await expectValid(foldWitness(account, registry, signed, charges));
        });

        it("Should match the reference on random terms, bases and charges", async function () {
            for (let run = 0; run < 5; run++) {
                const terms = randomTerms();
                const binding = provider.binding(terms, 1n + randomBelow(1n << 40n));
                const folded = run === 0 ? 0n : 2n * randomBelow(MAX_INDEX / 2n - 1n);
                const base = folded === 0n ? baseState(0n, 0n, 0n) : baseState(randomBelow(1n << 90n), randomBelow(1n << 90n), folded);
                const amounts = [0, 1].map(() => ({ cost: randomBelow(terms.maxCost + 1n), penalty: randomBelow(2n) === 0n ? 0n : terms.policyPenalty }));
                const owner = testAccount({ others: 0 });
                const slots = chargesFrom(provider, binding, owner, folded, amounts);
                await expectValid(foldWitness(owner, binding, provider.signBase(binding, owner.identity, base), slots));
            }
        });

        it("Should chain: the gateway signs newBase, the next Spend and the next Fold open it", async function () {
            const spend = CircuitUnderTest.load("spend-32");
            const first = chargesAt(0n, [{ cost: 10n, penalty: 0n }, { cost: 20n, penalty: policyPenalty }]);
            const values = await expectValid(foldWitness(account, registry, genesis, first));
            const newBase: [bigint, bigint] = [values[NEW_BASE_X]!, values[NEW_BASE_X + 1]!];
            // What the client holds after the fold answer: base 2, signed over the proof's newBase.
            const next: SignedBase = {
                base: foldBase(GENESIS_BASE, first),
                blinding: baseBlinding(account.identity.secret, registry.scope, 2n),
                signature: provider.signer.signBase(registryContext(registry), newBase)
            };
            const ticket = spendWitness(account, registry, next, 2n + W - 1n);
            expect(outputsOfSpend(await spend.witness(spendInputs(ticket)))).to.deep.equal(flattenSpendSignals(spendPublicSignals(ticket)));
            await expectValid(foldWitness(account, registry, next, chargesAt(2n, [{ cost: 5n, penalty: 0n }, { cost: 6n, penalty: 0n }])));
        });

        it("Should give the same newBase for the same inputs (deterministic r_{f+2}: a retry or another device)", async function () {
            const restored = { ...account, identity: new Identity(account.identity.secret) };
            const again = chargesFrom(provider, registry, restored, 6n, [
                { cost: 250n, penalty: 0n },
                { cost: maxCost, penalty: policyPenalty }
            ]);
            expect(again).to.deep.equal(charges);
            const first = await circuit.witness(inputsOf(signed, charges));
            const second = await circuit.witness(foldInputs(foldWitness(restored, registry, signed, again)));
            expect(outputs(second)).to.deep.equal(outputs(first));
            const cheaper = await circuit.witness(inputsOf(signed, chargesAt(6n, [{ cost: 249n, penalty: 0n }, { cost: maxCost, penalty: policyPenalty }])));
            expect(cheaper.slice(NEW_BASE_X, NEW_BASE_X + 2)).to.not.deep.equal(first.slice(NEW_BASE_X, NEW_BASE_X + 2));
            expect(cheaper[FOLD_NULLIFIER]).to.equal(first[FOLD_NULLIFIER]);
        });
    });

    describe("# charges (charge tag, this context, this identity, tickets f and f + 1)", function () {
        it("Should reject a charge above maxCost, though the provider signed it (issue 10, item 4)", async function () {
            for (const cost of [maxCost + 1n, MAX_AMOUNT]) {
                for (const slot of [0, 1]) {
                    const amounts = replaced([{ cost: 1n, penalty: 0n }, { cost: 2n, penalty: 0n }], slot, { cost, penalty: 0n });
                    const slots = chargesAt(6n, amounts);
                    const point = chargeCommitment(account.identity.secret, 6n + BigInt(slot), slots[slot]!);
                    expect(verifyChargeSignature(registryContext(registry), point, slots[slot]!.signature, provider.publicKey)).to.equal(true);
                    await expectRefused(inputsOf(signed, slots), aboveMaxCost);
                }
            }
            // maxCost itself is foldable (the first test), and so is a free request.
            await expectValid(foldWitness(account, registry, signed, chargesAt(6n, [{ cost: 0n, penalty: 0n }, { cost: maxCost, penalty: 0n }])));
        });

        it("Should reject a penalty other than 0 and policyPenalty, though the provider signed it", async function () {
            for (const penalty of [1n, policyPenalty - 1n, policyPenalty + 1n, 2n * policyPenalty]) {
                await expectRefused(inputsOf(signed, chargesAt(6n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty }])), penaltyNotInSet);
            }
            const lenient = provider.binding({ ...DEFAULT_TERMS, policyPenalty: 0n });
            const lenientBase = provider.signBase(lenient, account.identity, GENESIS_BASE);
            await expectRefused(inputsOf(lenientBase, chargesAt(0n, [{ cost: 1n, penalty: 1n }, { cost: 1n, penalty: 0n }], lenient), lenient), penaltyNotInSet);
        });

        it("Should reject a charge of the wrong ticket: f + 1 in slot 0, swapped slots, or tickets of another base", async function () {
            const [c6, c7] = charges as [SignedCharge, SignedCharge];
            const wrongs: SignedCharge[][] = [
                [c7, c7],
                [c7, c6],
                chargesAt(4n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }]),
                chargesAt(8n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }])
            ];
            for (const slots of wrongs) await expectRefused(inputsOf(signed, slots), signatureMismatch("SignedCharge"));
        });

        it("Should reject a base presented as a charge, and a charge signed with the base tag (domain separation)", async function () {
            // Base 6 opened as the charge of ticket 6: Com(spent, burned, 6; r_6), same point, other tag.
            const small = provider.signBase(registry, account.identity, baseState(3n, 0n, 6n));
            const asCharge: SignedCharge = { cost: 3n, penalty: 0n, blinding: small.blinding, signature: small.signature! };
            const point = chargeCommitment(account.identity.secret, 6n, asCharge);
            expect(point).to.deep.equal(commitBase(small.base, account.identity.commitment, small.blinding));
            expect(verifyBaseSignature(registryContext(registry), point, asCharge.signature, provider.publicKey)).to.equal(true);
            expect(verifyChargeSignature(registryContext(registry), point, asCharge.signature, provider.publicKey)).to.equal(false);
            await expectRefused(inputsOf(signed, [asCharge, charges[1]!]), signatureMismatch("SignedCharge"));
            const baseTagged: SignedCharge = {
                ...charges[1]!,
                signature: provider.signer.signBase(registryContext(registry), chargeCommitment(account.identity.secret, 7n, charges[1]!))
            };
            await expectRefused(inputsOf(signed, [charges[0]!, baseTagged]), signatureMismatch("SignedCharge"));
        });

        it("Should reject a charge signed for another registry under the same provider key", async function () {
            for (const other of [provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n), provider.binding({ ...DEFAULT_TERMS, reserveBps: 0n })]) {
                const foreign = chargesAt(6n, [{ cost: 1n, penalty: 0n }], other)[0]!;
                await expectRefused(inputsOf(signed, [foreign, charges[1]!]), signatureMismatch("SignedCharge"));
                const rebound = { ...foreign, blinding: charges[0]!.blinding };
                await expectRefused(inputsOf(signed, [rebound, charges[1]!]), signatureMismatch("SignedCharge"));
            }
        });

        it("Should reject another identity's charge (charges are bound to their identity)", async function () {
            const victim = testAccount();
            const theirs = chargesFrom(provider, registry, victim, 6n, [{ cost: 0n, penalty: 0n }])[0]!;
            await expectRefused(inputsOf(signed, [theirs, charges[1]!]), signatureMismatch("SignedCharge"));
        });

        it("Should reject a forged charge signature, a malleated S + l or another key's charge", async function () {
            const inputs = inputsOf(signed, charges);
            const s = inputs.chargeSignatureS as bigint[];
            await expectRefused({ ...inputs, chargeSignatureS: [s[0]!, s[1]! + 1n] }, signatureMismatch("SignedCharge"));
            await expectRefused(
                { ...inputs, chargeSignatureS: [s[0]! + BABYJUB_SUBORDER, s[1]!] },
                failedIn(["EdDSAPoseidonVerifier", "ProviderSignature", "SignedCharge", "Fold"], EDDSA_LINES.sBelowOrder)
            );
            const stranger = chargesFrom(new TestProvider(), registry, account, 7n, [{ cost: 0n, penalty: 0n }])[0]!;
            await expectRefused(inputsOf(signed, [charges[0]!, stranger]), signatureMismatch("SignedCharge"));
        });

        it("Should reject another opening of a signed charge (cost, penalty or blinding changed)", async function () {
            const inputs = inputsOf(signed, charges);
            const costs = inputs.costs as bigint[];
            const penalties = inputs.penalties as bigint[];
            const blindings = inputs.chargeBlindings as bigint[];
            const changes: CircuitInputs[] = [
                { costs: [costs[0]! - 1n, costs[1]!] },
                { penalties: [penalties[0]!, 0n] },
                { chargeBlindings: [blindings[0]!, blindings[1]! + 1n] }
            ];
            for (const change of changes) {
                await expectRefused({ ...inputs, ...change }, signatureMismatch("SignedCharge"));
            }
        });
    });

    describe("# base (genesis, or signed with the base tag under this context)", function () {
        it("Should reject genesis with non-zero totals, a forged or foreign base, and another identity's base", async function () {
            const first = chargesAt(0n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }]);
            const atGenesis = inputsOf(genesis, first);
            await expectRefused({ ...atGenesis, spent: 1n }, failedIn(["BaseAuthorisation", "Fold"], ASSERTIONS.genesisSpentZero));
            await expectRefused({ ...atGenesis, burned: 1n }, failedIn(["BaseAuthorisation", "Fold"], ASSERTIONS.genesisBurnedZero));
            const inputs = inputsOf(signed, charges);
            await expectRefused({ ...inputs, baseSignatureS: (inputs.baseSignatureS as bigint) + 1n }, signatureMismatch("BaseAuthorisation"));
            await expectRefused({ ...inputs, spent: 0n }, signatureMismatch("BaseAuthorisation"));
            const elsewhere = provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n);
            await expectRefused(inputsOf(provider.signBase(elsewhere, account.identity, signed.base), charges), signatureMismatch("BaseAuthorisation"));
            const victimBase = provider.signBase(registry, testAccount().identity, signed.base);
            await expectRefused(inputsOf(victimBase, charges), signatureMismatch("BaseAuthorisation"));
            const chargeTagged = { ...signed, signature: provider.signer.signCharge(registryContext(registry), commitBase(signed.base, account.identity.commitment, signed.blinding)) };
            await expectRefused(inputsOf(chargeTagged, charges), signatureMismatch("BaseAuthorisation"));
        });
    });

    describe("# totals and folded count stay in range", function () {
        it("Should accept totals reaching 2^96 − 1 and reject totals of 2^96 or more", async function () {
            const nearTop = provider.signBase(registry, account.identity, baseState(MAX_AMOUNT - 120n, MAX_AMOUNT - 2n * policyPenalty, 6n));
            const full = chargesAt(6n, [{ cost: 60n, penalty: policyPenalty }, { cost: 60n, penalty: policyPenalty }]);
            await expectValid(foldWitness(account, registry, nearTop, full));
            const spentOver = chargesAt(6n, [{ cost: 60n, penalty: 0n }, { cost: 61n, penalty: 0n }]);
            expect(() => foldWitness(account, registry, nearTop, spentOver)).to.throw("VALUE_OUT_OF_RANGE");
            await expectRefused(inputsOf(nearTop, spentOver), failedIn(["Num2Bits", "AccountCommitment", "Fold"]));
            const burnedOver = provider.signBase(registry, account.identity, baseState(0n, MAX_AMOUNT - 2n * policyPenalty + 1n, 6n));
            await expectRefused(inputsOf(burnedOver, full), failedIn(["Num2Bits", "AccountCommitment", "Fold"]));
            // The largest totals with the largest charges: 2^96 − 1 + 2·(2^96 − 1) does not wrap.
            const extreme = provider.binding({ maxCost: MAX_AMOUNT, policyPenalty: MAX_AMOUNT, reserveBps: 0n });
            const top = provider.signBase(extreme, account.identity, baseState(MAX_AMOUNT, MAX_AMOUNT, 6n));
            const largest = chargesAt(6n, [{ cost: MAX_AMOUNT, penalty: MAX_AMOUNT }, { cost: MAX_AMOUNT, penalty: MAX_AMOUNT }], extreme);
            await expectRefused(inputsOf(top, largest, extreme), failedIn(["Num2Bits", "AccountCommitment", "Fold"]));
        });

        it("Should fold up to the last index (new f = 2^48 − 1) and reject a new f of 2^48", async function () {
            const last = provider.signBase(registry, account.identity, baseState(0n, 0n, MAX_INDEX - 2n));
            await expectValid(foldWitness(account, registry, last, chargesAt(MAX_INDEX - 2n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }])));
            const beyond = provider.signBase(registry, account.identity, baseState(0n, 0n, MAX_INDEX - 1n));
            await expectRefused(
                inputsOf(beyond, chargesAt(MAX_INDEX - 1n, [{ cost: 1n, penalty: 0n }, { cost: 1n, penalty: 0n }])),
                failedIn(["Num2Bits", "AccountCommitment", "Fold"])
            );
        });
    });

    describe("# fold nullifier F_f = Poseidon(TAG_FOLD, k, scope, f)", function () {
        it("Should equal the reference and differ from every ticket slope and nullifier of the same indices", async function () {
            const values = await circuit.witness(inputsOf(signed, charges));
            const nullifier = values[FOLD_NULLIFIER]!;
            expect(nullifier).to.equal(foldNullifier(account.identity.secret, registry.scope, 6n));
            const tickets = new Set<bigint>();
            for (let index = 0n; index < 6n + 2n * W; index++) {
                const { slope, nullifier: ticket } = ticketNullifier(account.identity.secret, registry.scope, index);
                tickets.add(slope).add(ticket);
            }
            expect(tickets.has(nullifier)).to.equal(false);
            const others = [0n, 2n, 4n, 8n].map((f) => foldNullifier(account.identity.secret, registry.scope, f));
            expect(new Set([nullifier, ...others]).size).to.equal(5);
            expect(foldNullifier(account.identity.secret, provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n).scope, 6n)).to.not.equal(nullifier);
        });

        it("Should reject a tampered fold nullifier or new base", async function () {
            const values = await circuit.witness(inputsOf(signed, charges));
            for (let index = 1; index <= 4; index++) {
                expect(await circuit.satisfies(CircuitUnderTest.tamper(values, new Map([[index, values[index]! + 1n]]))), `signal ${index}`).to.equal(false);
            }
        });
    });

    describe("# under-constraint checks on the r1cs", function () {
        it("Should let no signal change alone, except the explained ones (genesis and signed bases)", async function () {
            const first = chargesAt(0n, [{ cost: 0n, penalty: 0n }, { cost: 7n, penalty: policyPenalty }]);
            for (const inputs of [inputsOf(genesis, first), inputsOf(signed, charges)]) {
                const { free, unexplained } = freeSignalSweep(circuit, await circuit.witness(inputs));
                expect(unexplained).to.deep.equal([]);
                expect(free.filter((name) => /SignedCharge.*eqCheck[XY]\.isz\.inv$/.test(name))).to.have.length(4);
            }
        });

        it("Should agree with snarkjs' wtns check on a valid and a tampered witness", async function () {
            const witness = await circuit.witness(inputsOf(signed, charges));
            expect(await circuit.snarkjsSatisfies(witness)).to.equal(true);
            const forged = CircuitUnderTest.tamper(witness, new Map([[FOLD_NULLIFIER, witness[FOLD_NULLIFIER]! + 1n]]));
            expect(await circuit.snarkjsSatisfies(forged)).to.equal(false);
        });
    });

    describe("# proofs", function () {
        it("Should prove and verify a fold, and bind every public signal", async function () {
            const { proof, publicSignals, expected } = await pooledProof("fold");
            expect(publicSignals).to.deep.equal(expected);
            expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
            for (let i = 0; i < publicSignals.length; i++) {
                const changed = publicSignals.map((s, j) => (j === i ? (s + 1n) % SNARK_SCALAR_FIELD : s));
                expect(await circuit.prover.verify(proof, changed), `signal ${i}`).to.equal(false);
                const aliased = publicSignals.map((s, j) => (j === i ? s + SNARK_SCALAR_FIELD : s));
                expect(await circuit.prover.verify(proof, aliased), `signal ${i} + p`).to.equal(false);
            }
        });
    });
});
