import { expect } from "chai";
import {
    BABYJUB_SUBORDER,
    baseBlinding,
    canSpend,
    chargeCommitment,
    chargePoint,
    commitBase,
    commitTicket,
    flattenSpendSignals,
    GENESIS_BASE,
    Identity,
    isSafePublicKey,
    MAX_AMOUNT,
    MAX_INDEX,
    randomFieldElement,
    recoverSecret,
    registryContext,
    spendableOf,
    spendInputs,
    spendPublicSignals,
    SNARK_SCALAR_FIELD,
    ticketBlinding,
    ticketNullifier,
    TICKET_WINDOW,
    verifyBaseSignature,
    verifyChargeSignature
} from "@zk-api-credits/protocol";
import type { BaseState, CircuitInputs, RegistryBinding, SignedBase, SpendWitness } from "@zk-api-credits/protocol";
import { CircuitUnderTest, witnessFailure } from "../helpers/circuits";
import { DEFAULT_TERMS, spendWitness, TEST_CHAIN_ID, testAccount, TestProvider } from "../helpers/scenario";
import type { TestAccount } from "../helpers/scenario";
import {
    accountOf,
    ASSERTIONS,
    baseState,
    EDDSA_LINES,
    failedIn,
    forgedSignature,
    freeSignalSweep,
    fullDepthPath,
    populatedTree,
    randomBelow,
    randomTerms,
    signatureMismatch,
    smallOrderPoints
} from "./support/fixtures";
import { pooledProof } from "./support/proofs";

const W = BigInt(TICKET_WINDOW);

// Spend(32, 8), ticket i: membership of Poseidon(Poseidon(k), D) in the registry tree; a base
// (spent, burned, f) of this identity, genesis or base-signed under the registry's context;
// f <= i < f + W; every ticket of the window up to i reserved at maxCost + policyPenalty; the
// ticket commitment T_i; the RLN share of ticket i. Valid witnesses give exactly the TypeScript
// reference's public signals; every constraint family rejects a wrong witness.
describe("Spend circuit (Spend(32, 8))", function () {
    const circuit = CircuitUnderTest.load("spend-32");
    const provider = new TestProvider();
    const registry = provider.binding();
    const account = testAccount({ others: 9 });
    const genesis = provider.signBase(registry, account.identity, GENESIS_BASE);
    /** A signed base whose window is tickets 6 … 13. */
    const signed = provider.signBase(registry, account.identity, baseState(12_345n, 500n, 6n));

    // Public signals: outputs root, context, T.x, T.y, nullifier, y (witness 1 … 6), input x (7).
    const ROOT = 1;
    const T_X = 3;
    const NULLIFIER = 5;
    const Y = 6;
    const X = 7;
    const outputs = (witness: readonly bigint[]): bigint[] => witness.slice(1, 8);

    async function expectValid(witness: SpendWitness): Promise<bigint[]> {
        const values = await circuit.witness(spendInputs(witness));
        expect(outputs(values)).to.deep.equal(flattenSpendSignals(spendPublicSignals(witness)));
        expect(await circuit.satisfies(values)).to.equal(true);
        return values;
    }

    async function expectRefused(inputs: CircuitInputs, where: RegExp): Promise<void> {
        expect(await witnessFailure(circuit.witness(inputs))).to.match(where);
    }

    /** Inputs of ticket `index` on `base` with some inputs replaced (the reference would refuse them). */
    const inputsWith = (base: SignedBase, index: bigint, changes: CircuitInputs = {}, of: TestAccount = account, binding: RegistryBinding = registry): CircuitInputs => ({
        ...spendInputs(spendWitness(of, binding, base, index)),
        ...changes
    });

    describe("# valid witnesses (differential against the TypeScript reference)", function () {
        it("Should accept every ticket of the genesis window (0 … W − 1) without a signature", async function () {
            for (let index = 0n; index < W; index++) await expectValid(spendWitness(account, registry, genesis, index));
        });

        it("Should accept every ticket of a signed base's window (f … f + W − 1)", async function () {
            for (let index = 6n; index < 6n + W; index++) await expectValid(spendWitness(account, registry, signed, index));
        });

        it("Should match the reference on random terms, deposits, trees, bases, tickets and requests", async function () {
            for (let run = 0; run < 6; run++) {
                const terms = randomTerms();
                const deposit = 100_000_000n + randomBelow(10n ** 15n);
                const folded = run === 0 ? 0n : randomBelow(MAX_INDEX - W);
                const offset = randomBelow(W);
                const room = spendableOf(deposit, terms.reserveBps) - (offset + 1n) * (terms.maxCost + terms.policyPenalty);
                const spent = folded === 0n ? 0n : randomBelow(room / 2n + 1n);
                const burned = folded === 0n ? 0n : randomBelow(room / 2n + 1n);
                const owner = testAccount({ deposit, others: Number(randomBelow(40n)) });
                const binding = provider.binding(terms, 1n + randomBelow(1n << 40n));
                const base = provider.signBase(binding, owner.identity, baseState(spent, burned, folded));
                await expectValid(spendWitness(owner, binding, base, folded + offset, randomFieldElement()));
            }
        });

        it("Should accept a one-member tree (a proof of depth 0)", async function () {
            const alone = testAccount({ others: 0 });
            const witness = spendWitness(alone, registry, provider.signBase(registry, alone.identity, GENESIS_BASE), 1n);
            expect(witness.merkleProof.depth).to.equal(0);
            await expectValid(witness);
        });
    });

    describe("# membership (zk-kit BinaryMerkleRoot, depth <= 32)", function () {
        it("Should prove deposits registered among 70,000 (depth 17), the last one's path skipping levels", async function () {
            const { tree, members } = populatedTree(70_000, [
                { position: 12_345, deposit: 5_000_000n },
                { position: 69_999, deposit: 6_000_000n }
            ]);
            expect(tree.depth).to.equal(17);
            const depths: number[] = [];
            for (const member of members.map((m) => accountOf(tree, m))) {
                const witness = spendWitness(member, registry, provider.signBase(registry, member.identity, GENESIS_BASE), 3n);
                depths.push(witness.merkleProof.depth);
                expect((await expectValid(witness))[ROOT]).to.equal(tree.root);
            }
            expect(depths[0]).to.equal(17);
            expect(depths[1]).to.be.below(17);
        });

        it("Should prove a path of the full depth 32 (a registry of 2^32 deposits)", async function () {
            for (const index of [(1n << 32n) - 1n, randomBelow(1n << 32n)]) {
                const witness = { ...spendWitness(account, registry, genesis, 2n), merkleProof: fullDepthPath(account.identity.commitment, account.deposit, index) };
                await expectValid(witness);
            }
        });

        it("Should not reach the registry root with a wrong sibling, index, deposit or secret", async function () {
            const inputs = inputsWith(genesis, 5n);
            const siblings = [...(inputs.merkleSiblings as bigint[])];
            siblings[1] = siblings[1]! + 1n;
            const wrongs: CircuitInputs[] = [
                { ...inputs, merkleSiblings: siblings },
                { ...inputs, merkleIndex: (inputs.merkleIndex as bigint) ^ 1n },
                { ...inputs, deposit: (inputs.deposit as bigint) + 1n },
                { ...inputs, secret: new Identity().secret }
            ];
            for (const wrong of wrongs) expect((await circuit.witness(wrong))[ROOT]).to.not.equal(account.tree.root);
        });

        it("Should reject a forged root (tampered output) for a wrong path", async function () {
            const inputs = inputsWith(genesis, 5n);
            const witness = await circuit.witness({ ...inputs, deposit: (inputs.deposit as bigint) + 1n });
            const forged = CircuitUnderTest.tamper(witness, new Map([[ROOT, account.tree.root]]));
            expect(await circuit.satisfies(forged)).to.equal(false);
        });

        it("Should reject a depth above 32 and an index of 2^32 or more", async function () {
            const inputs = inputsWith(genesis, 5n);
            await expectRefused({ ...inputs, merkleDepth: 33n }, failedIn(["RegistryMembership", "Spend"], ASSERTIONS.depthInRange));
            await expectRefused({ ...inputs, merkleDepth: 64n }, failedIn(["Num2Bits", "RegistryMembership", "Spend"]));
            await expectRefused({ ...inputs, merkleIndex: 1n << 32n }, failedIn(["Num2Bits", "BinaryMerkleRoot", "RegistryMembership", "Spend"]));
        });

        it("Should ignore the index bits above the proof's depth (harmless: the leaf index is private and used nowhere else)", async function () {
            const witness = spendWitness(account, registry, genesis, 5n);
            const depth = BigInt(witness.merkleProof.depth);
            const shifted = { ...witness, merkleProof: { ...witness.merkleProof, index: witness.merkleProof.index + (1n << depth) } };
            await expectValid(shifted);
        });

        it("Should refuse a removed (zeroed) leaf, and keep every other member provable", async function () {
            const { tree, members } = populatedTree(11, [
                { position: 0, deposit: 70_000n },
                { position: 1, deposit: 80_000n }
            ]);
            const removed = accountOf(tree, members[0]!);
            const neighbour = accountOf(tree, members[1]!);
            const before = tree.root;
            tree.remove(removed.leafIndex);
            expect(tree.leaf(removed.leafIndex)).to.equal(0n);
            expect(tree.root).to.not.equal(before);
            // The removed deposit proves the old root only, whichever path it takes.
            const stale = spendWitness(removed, registry, provider.signBase(registry, removed.identity, GENESIS_BASE), 0n);
            expect((await circuit.witness(spendInputs(stale)))[ROOT]).to.not.equal(tree.root);
            const values = await expectValid(spendWitness(neighbour, registry, provider.signBase(registry, neighbour.identity, GENESIS_BASE), 0n));
            expect(values[ROOT]).to.equal(tree.root);
        });
    });

    describe("# ticket window (f <= i < f + W)", function () {
        it("Should reject ticket f + W, and any ticket beyond", async function () {
            for (const index of [6n + W, 6n + 2n * W, 6n + 100n]) {
                expect(canSpend(signed.base, index, account.deposit, registry.terms)).to.equal(false);
                expect(() => spendPublicSignals(spendWitness(account, registry, signed, index))).to.throw("INSOLVENT");
                await expectRefused(inputsWith(signed, index), failedIn(["Num2Bits", "TicketWindow", "Spend"]));
            }
            await expectRefused(inputsWith(genesis, W), failedIn(["Num2Bits", "TicketWindow", "Spend"]));
        });

        it("Should reject a ticket below f (already folded into the base)", async function () {
            for (const index of [5n, 0n]) {
                expect(canSpend(signed.base, index, account.deposit, registry.terms)).to.equal(false);
                await expectRefused(inputsWith(signed, index), failedIn(["Num2Bits", "TicketWindow", "Spend"]));
            }
        });

        it("Should accept the last ticket index, 2^48 − 1, and reject 2^48", async function () {
            const last = provider.signBase(registry, account.identity, baseState(0n, 0n, MAX_INDEX - W + 1n));
            await expectValid(spendWitness(account, registry, last, MAX_INDEX));
            const beyond = provider.signBase(registry, account.identity, baseState(0n, 0n, MAX_INDEX - 1n));
            expect(() => spendPublicSignals(spendWitness(account, registry, beyond, MAX_INDEX + 1n))).to.throw("VALUE_OUT_OF_RANGE");
            await expectRefused(inputsWith(beyond, MAX_INDEX + 1n), failedIn(["Num2Bits", "TicketCommitment", "Spend"]));
        });
    });

    describe("# solvency with reserve", function () {
        const perTicket = DEFAULT_TERMS.maxCost + DEFAULT_TERMS.policyPenalty;
        const spendable = spendableOf(account.deposit, DEFAULT_TERMS.reserveBps);

        it("Should accept each number of open tickets (1 … W) at the exact limit and reject one unit more", async function () {
            for (let open = 1n; open <= W; open++) {
                const index = 4n + open - 1n;
                const limit = spendable - open * perTicket;
                const atLimit = provider.signBase(registry, account.identity, baseState(limit - 300n, 300n, 4n));
                expect(canSpend(atLimit.base, index, account.deposit, registry.terms), `${open} open`).to.equal(true);
                await expectValid(spendWitness(account, registry, atLimit, index));
                const over = provider.signBase(registry, account.identity, baseState(limit - 299n, 300n, 4n));
                expect(canSpend(over.base, index, account.deposit, registry.terms), `${open} open, one unit over`).to.equal(false);
                expect(() => spendPublicSignals(spendWitness(account, registry, over, index))).to.throw("INSOLVENT");
                await expectRefused(inputsWith(over, index), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
            }
        });

        it("Should reserve the next ticket too: at the limit for 3 open tickets, the 4th is refused", async function () {
            const atLimit = provider.signBase(registry, account.identity, baseState(spendable - 3n * perTicket, 0n, 4n));
            await expectValid(spendWitness(account, registry, atLimit, 6n));
            await expectRefused(inputsWith(atLimit, 7n), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
        });

        it("Should round the reserve down (floor(D · bps / 10^4)) and reject a forged quotient or remainder", async function () {
            const odd = testAccount({ deposit: 123_457n });
            // reserve = floor(12,345.7) = 12,345: spendable 111,112 (111,111 if it rounded up).
            const limit = spendableOf(123_457n, DEFAULT_TERMS.reserveBps);
            expect(limit).to.equal(111_112n);
            const atLimit = provider.signBase(registry, odd.identity, baseState(limit - perTicket, 0n, 2n));
            const witness = await expectValid(spendWitness(odd, registry, atLimit, 2n));
            const reserve = circuit.signalIndex(/Solvency_\d+_\d+\.reserve$/);
            const remainder = circuit.signalIndex(/Solvency_\d+_\d+\.remainder$/);
            expect([witness[reserve], witness[remainder]]).to.deep.equal([12_345n, 7_000n]);
            const shifted = CircuitUnderTest.tamper(witness, new Map([[reserve, witness[reserve]! - 1n], [remainder, witness[remainder]! + 10_000n]]));
            expect(await circuit.satisfies(shifted)).to.equal(false);
            const wrapped = CircuitUnderTest.tamper(witness, new Map([[reserve, witness[reserve]! + 1n], [remainder, witness[remainder]! - 10_000n]]));
            expect(await circuit.satisfies(wrapped)).to.equal(false);
            const over = provider.signBase(registry, odd.identity, baseState(limit - perTicket + 1n, 0n, 2n));
            await expectRefused(inputsWith(over, 2n, {}, odd), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
        });

        it("Should keep the reserve: a 100 % reserve leaves nothing to spend", async function () {
            const allReserved = provider.binding({ ...DEFAULT_TERMS, reserveBps: 10_000n });
            await expectRefused(inputsWith(provider.signBase(allReserved, account.identity, GENESIS_BASE), 0n, {}, account, allReserved), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
        });

        it("Should accept the largest deposit, 2^96 − 1, and reject 2^96", async function () {
            const largest = testAccount({ deposit: MAX_AMOUNT });
            const base = provider.signBase(registry, largest.identity, baseState(MAX_AMOUNT / 2n, 1_000n, 2n));
            await expectValid(spendWitness(largest, registry, base, 9n));
            await expectRefused(inputsWith(base, 9n, { deposit: MAX_AMOUNT + 1n }, largest), failedIn(["Num2Bits", "Solvency", "Spend"]));
        });

        it("Should reject terms, totals and a folded count out of range", async function () {
            const inputs = inputsWith(signed, 7n);
            const big = MAX_AMOUNT + 1n;
            for (const field of ["maxCost", "policyPenalty"]) {
                await expectRefused({ ...inputs, [field]: big }, failedIn(["Num2Bits", "RegistryTerms", "Spend"]));
            }
            await expectRefused({ ...inputs, reserveBps: 10_001n }, failedIn(["RegistryTerms", "Spend"], ASSERTIONS.reserveBpsInRange));
            expect(() => spendInputs(spendWitness(account, registry, { ...signed, base: { ...signed.base, spent: big } }, 7n))).to.throw("VALUE_OUT_OF_RANGE");
            await expectRefused({ ...inputs, spent: big }, failedIn(["Num2Bits", "AccountCommitment", "Spend"]));
            await expectRefused({ ...inputs, burned: big }, failedIn(["Num2Bits", "AccountCommitment", "Spend"]));
            await expectRefused({ ...inputs, folded: MAX_INDEX + 1n }, failedIn(["Num2Bits", "AccountCommitment", "Spend"]));
        });

        it("Should not wrap with the largest terms and totals (2^96 − 1 each)", async function () {
            const largest = testAccount({ deposit: MAX_AMOUNT });
            const extreme = provider.binding({ maxCost: MAX_AMOUNT, policyPenalty: MAX_AMOUNT, reserveBps: 0n });
            const genesisBase = provider.signBase(extreme, largest.identity, GENESIS_BASE);
            await expectRefused(inputsWith(genesisBase, 0n, {}, largest, extreme), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
            const full = provider.signBase(extreme, largest.identity, baseState(MAX_AMOUNT, MAX_AMOUNT, 8n));
            await expectRefused(inputsWith(full, 15n, {}, largest, extreme), failedIn(["Solvency", "Spend"], ASSERTIONS.solvent));
        });
    });

    describe("# base authorisation (genesis, or signed with the base tag under this context)", function () {
        it("Should reject a charge presented as a base (the tags keep the two apart)", async function () {
            // A charge Com(5, 0, 9; ρ_9) has the shape of a base (spent 5, burned 0, f 9): only the tag differs.
            const charge = provider.charge(registry, account.identity, 9n, { cost: 5n, penalty: 0n });
            const asBase: SignedBase = { base: baseState(5n, 0n, 9n), blinding: charge.blinding, signature: charge.signature };
            const point = commitBase(asBase.base, account.identity.commitment, asBase.blinding);
            expect(point).to.deep.equal(chargeCommitment(account.identity.secret, 9n, charge));
            expect(verifyChargeSignature(registryContext(registry), point, charge.signature, provider.publicKey)).to.equal(true);
            expect(verifyBaseSignature(registryContext(registry), point, charge.signature, provider.publicKey)).to.equal(false);
            await expectRefused(inputsWith(asBase, 9n), signatureMismatch("BaseAuthorisation"));
            // And a base commitment signed with the charge tag directly.
            const chargeTagged = { ...signed, signature: provider.signer.signCharge(registryContext(registry), commitBase(signed.base, account.identity.commitment, signed.blinding)) };
            await expectRefused(inputsWith(chargeTagged, 7n), signatureMismatch("BaseAuthorisation"));
        });

        it("Should reject a base signed for another registry under the same provider key (issue 10, item 1)", async function () {
            const registries = {
                "another chain": provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n),
                "another address": provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
                "other terms": provider.binding({ ...DEFAULT_TERMS, maxCost: DEFAULT_TERMS.maxCost + 1n })
            };
            const state = baseState(1n, 0n, 6n);
            for (const [name, other] of Object.entries(registries)) {
                expect(other.providerKey, name).to.deep.equal(registry.providerKey);
                // The same state signed for registry A (here) and for the other one: each verifies only where it was signed.
                const signedHere = provider.signBase(registry, account.identity, state);
                const signedThere = provider.signBase(other, account.identity, state);
                await expectValid(spendWitness(account, other, signedThere, 7n));
                await expectRefused(inputsWith(signedHere, 7n, {}, account, other), signatureMismatch("BaseAuthorisation"));
                // Even with the blinding the other registry's base would use.
                const rebound = { ...signedHere, blinding: baseBlinding(account.identity.secret, other.scope, 6n) };
                await expectRefused(inputsWith(rebound, 7n, {}, account, other), signatureMismatch("BaseAuthorisation"));
            }
        });

        it("Should reject another identity's signed base (bases are bound to their identity)", async function () {
            const victim = testAccount();
            const victimBase = provider.signBase(registry, victim.identity, baseState(1n, 0n, 6n));
            await expectRefused(inputsWith(victimBase, 7n), signatureMismatch("BaseAuthorisation"));
        });

        it("Should reject a genesis base (f = 0) with non-zero totals, even one the provider signed", async function () {
            const inputs = inputsWith(genesis, 3n);
            const spentCheck = failedIn(["BaseAuthorisation", "Spend"], ASSERTIONS.genesisSpentZero);
            const burnedCheck = failedIn(["BaseAuthorisation", "Spend"], ASSERTIONS.genesisBurnedZero);
            await expectRefused({ ...inputs, spent: 1n }, spentCheck);
            await expectRefused({ ...inputs, burned: 1n }, burnedCheck);
            for (const [state, check] of [[baseState(5n, 0n, 0n), spentCheck], [baseState(0n, 5n, 0n), burnedCheck]] as const) {
                const signedGenesis = provider.signBase(registry, account.identity, state);
                expect(signedGenesis.signature).to.not.equal(undefined);
                await expectRefused(inputsWith(signedGenesis, 3n), check);
            }
        });

        it("Should reject a non-genesis base without a signature (even with zero totals)", async function () {
            const unsigned: SignedBase = { base: baseState(0n, 0n, 2n), blinding: baseBlinding(account.identity.secret, registry.scope, 2n) };
            expect(() => spendInputs(spendWitness(account, registry, unsigned, 3n))).to.throw("MISSING_SIGNATURE");
            await expectRefused(inputsWith(genesis, 3n, { folded: 2n, baseBlinding: unsigned.blinding }), signatureMismatch("BaseAuthorisation"));
        });

        it("Should reject a forged signature, a malleated S + l and another key's signature", async function () {
            const inputs = inputsWith(signed, 7n);
            await expectRefused({ ...inputs, baseSignatureS: (inputs.baseSignatureS as bigint) + 1n }, signatureMismatch("BaseAuthorisation"));
            await expectRefused(
                { ...inputs, baseSignatureS: (inputs.baseSignatureS as bigint) + BABYJUB_SUBORDER },
                failedIn(["EdDSAPoseidonVerifier", "ProviderSignature", "BaseAuthorisation", "Spend"], EDDSA_LINES.sBelowOrder)
            );
            const stranger = new TestProvider();
            await expectRefused(inputsWith(stranger.signBase(registry, account.identity, signed.base), 7n), signatureMismatch("BaseAuthorisation"));
        });

        it("Should reject another opening of the signed commitment (blinding, totals or f changed)", async function () {
            const inputs = inputsWith(signed, 7n);
            const changes: CircuitInputs[] = [
                { baseBlinding: (inputs.baseBlinding as bigint) + 1n },
                { spent: 12_344n },
                { burned: 0n },
                { folded: 4n }
            ];
            for (const change of changes) {
                await expectRefused({ ...inputs, ...change }, signatureMismatch("BaseAuthorisation"));
            }
        });

        it("Should reject a base 'signed' under a small-order provider key (8·A = O would make any signature valid)", async function () {
            for (const [order, key] of Object.entries(smallOrderPoints())) {
                expect(isSafePublicKey(key), order).to.equal(false);
                const weak: RegistryBinding = { ...registry, providerKey: key };
                const forged: SignedBase = { base: baseState(0n, 0n, 2n), blinding: baseBlinding(account.identity.secret, weak.scope, 2n), signature: forgedSignature() };
                await expectRefused(
                    inputsWith(forged, 3n, {}, account, weak),
                    failedIn(["EdDSAPoseidonVerifier", "ProviderSignature", "BaseAuthorisation", "Spend"], EDDSA_LINES.keyNotSmallOrder)
                );
            }
        });

        it("Should reject a signed base passed off as genesis by tampering IsZero(f) (no skipping the signature)", async function () {
            const witness = await circuit.witness(inputsWith(signed, 7n));
            const isGenesis = circuit.signalIndex(/^main\.BaseAuthorisation_\d+_\d+\.isGenesis$/);
            const inverse = circuit.signalIndex(/^main\.BaseAuthorisation_\d+_\d+\.IsZero_\d+_\d+\.inv$/);
            expect(witness[isGenesis]).to.equal(0n);
            for (const changes of [new Map([[isGenesis, 1n]]), new Map([[isGenesis, 1n], [inverse, 0n]])]) {
                expect(await circuit.satisfies(CircuitUnderTest.tamper(witness, changes))).to.equal(false);
            }
        });
    });

    describe("# ticket commitment T_i = i·G + idc·J + ρ_i·H", function () {
        it("Should equal the reference commitTicket with the derived ρ_i, whatever the base", async function () {
            const atGenesis = await circuit.witness(inputsWith(genesis, 7n));
            const onBase = await circuit.witness(inputsWith(provider.signBase(registry, account.identity, baseState(2_000n, 0n, 2n)), 7n));
            const expected = commitTicket(7n, account.identity.commitment, ticketBlinding(account.identity.secret, registry.scope, 7n));
            expect(atGenesis.slice(T_X, T_X + 2)).to.deep.equal(expected);
            // Tickets are independent of the state: ticket 7 is the same ticket on base 0 and base 2.
            expect(outputs(onBase)).to.deep.equal(outputs(atGenesis));
        });

        it("Should let the provider's charge be opened: T + (cost·2^144 + penalty·2^48)·G = Com(cost, penalty, i; ρ_i)", async function () {
            const witness = await circuit.witness(inputsWith(signed, 9n));
            const ticket: [bigint, bigint] = [witness[T_X]!, witness[T_X + 1]!];
            const blinding = ticketBlinding(account.identity.secret, registry.scope, 9n);
            for (const [cost, penalty] of [[0n, 0n], [999n, 0n], [1_000n, 500n], [MAX_AMOUNT, MAX_AMOUNT]] as const) {
                expect(chargePoint(ticket, cost, penalty)).to.deep.equal(chargeCommitment(account.identity.secret, 9n, { cost, penalty, blinding }));
            }
        });

        it("Should match the reference at the blinding extremes (0, 1, l − 1, l, 2^251 − 1) and reject 2^251", async function () {
            const blindings = [0n, 1n, BABYJUB_SUBORDER - 1n, BABYJUB_SUBORDER, (1n << 251n) - 1n];
            for (const blinding of blindings) {
                await expectValid({ ...spendWitness(account, registry, signed, 8n), ticketBlinding: blinding });
            }
            await expectRefused(inputsWith(signed, 8n, { ticketBlinding: 1n << 251n }), failedIn(["Num2Bits", "TicketCommitment", "Spend"]));
        });

        it("Should open base commitments at the blinding and value extremes as the reference does", async function () {
            const context = registryContext(registry);
            // At the solvency limit of a 2^96 − 1 deposit with one open ticket.
            const top = spendableOf(MAX_AMOUNT, DEFAULT_TERMS.reserveBps) - DEFAULT_TERMS.maxCost - DEFAULT_TERMS.policyPenalty;
            const cases: [BaseState, bigint][] = [
                [baseState(0n, 0n, 1n), 0n],
                [baseState(top, 0n, MAX_INDEX - W + 1n), (1n << 251n) - 1n],
                [baseState(0n, top, 2n), BABYJUB_SUBORDER],
                [baseState(top - 7n, 7n, 4n), BABYJUB_SUBORDER - 1n]
            ];
            const rich = testAccount({ deposit: MAX_AMOUNT });
            for (const [base, blinding] of cases) {
                const commitment = commitBase(base, rich.identity.commitment, blinding);
                const signedBase = { base, blinding, signature: provider.signer.signBase(context, commitment) };
                await expectValid(spendWitness(rich, registry, signedBase, base.folded));
            }
            await expectRefused(inputsWith(signed, 7n, { baseBlinding: 1n << 251n }), failedIn(["Num2Bits", "AccountCommitment", "Spend"]));
        });
    });

    describe("# RLN share and nullifier of ticket i", function () {
        it("Should give one nullifier per (identity, registry, index), whatever the request or the base", async function () {
            const first = await circuit.witness(inputsWith(genesis, 3n));
            const otherRequest = await circuit.witness(inputsWith(genesis, 3n, { x: 12_345n }));
            const otherBase = await circuit.witness(inputsWith(provider.signBase(registry, account.identity, baseState(1n, 0n, 2n)), 3n));
            expect(first[NULLIFIER]).to.equal(ticketNullifier(account.identity.secret, registry.scope, 3n).nullifier);
            expect(otherRequest[NULLIFIER]).to.equal(first[NULLIFIER]);
            expect(otherBase[NULLIFIER]).to.equal(first[NULLIFIER]);
            expect(otherRequest[Y]).to.not.equal(first[Y]);
            const nextIndex = await circuit.witness(inputsWith(genesis, 4n));
            expect(nextIndex[NULLIFIER]).to.not.equal(first[NULLIFIER]);
            const elsewhere = provider.binding(DEFAULT_TERMS, TEST_CHAIN_ID + 1n);
            const otherRegistry = await circuit.witness(inputsWith(provider.signBase(elsewhere, account.identity, GENESIS_BASE), 3n, {}, account, elsewhere));
            expect(otherRegistry[NULLIFIER]).to.not.equal(first[NULLIFIER]);
        });

        it("Should reveal the secret when one ticket is spent on two requests", async function () {
            const first = await circuit.witness(inputsWith(signed, 8n, { x: 1234n }));
            const second = await circuit.witness(inputsWith(signed, 8n, { x: 98_765n }));
            expect(recoverSecret({ x: first[X]!, y: first[Y]! }, { x: second[X]!, y: second[Y]! })).to.equal(account.identity.secret);
        });

        it("Should repeat the same ticket on another device (same x and T_i), revealing nothing", async function () {
            const restored = { ...account, identity: new Identity(account.identity.secret) };
            const first = await circuit.witness(spendInputs(spendWitness(account, registry, signed, 10n)));
            const second = await circuit.witness(spendInputs(spendWitness(restored, registry, signed, 10n)));
            expect(outputs(second)).to.deep.equal(outputs(first));
            expect(() => recoverSecret({ x: first[X]!, y: first[Y]! }, { x: second[X]!, y: second[Y]! })).to.throw("INVALID_SHARES");
        });

        it("Should reject every tampered public signal", async function () {
            const witness = await circuit.witness(inputsWith(signed, 8n));
            for (let index = 1; index <= X; index++) {
                const forged = CircuitUnderTest.tamper(witness, new Map([[index, witness[index]! + 1n]]));
                expect(await circuit.satisfies(forged), `signal ${index}`).to.equal(false);
            }
        });
    });

    describe("# canonical inputs", function () {
        it("Should refuse non-canonical inputs before the witness calculator reduces them", async function () {
            const witness = spendWitness(account, registry, signed, 8n);
            expect(() => spendInputs({ ...witness, x: SNARK_SCALAR_FIELD + 5n })).to.throw("NON_CANONICAL_FIELD_ELEMENT");
            expect(() => spendInputs({ ...witness, secret: SNARK_SCALAR_FIELD })).to.throw("NON_CANONICAL_FIELD_ELEMENT");
            const siblings = [...witness.merkleProof.siblings];
            siblings[0] = siblings[0]! + SNARK_SCALAR_FIELD;
            expect(() => spendInputs({ ...witness, merkleProof: { ...witness.merkleProof, siblings } })).to.throw("NON_CANONICAL_FIELD_ELEMENT");
            // Why: circom reduces x + p to x without a word, proving a statement about another value.
            const inputs = spendInputs(witness);
            const aliased = await circuit.witness({ ...inputs, x: (inputs.x as bigint) + SNARK_SCALAR_FIELD });
            expect(aliased).to.deep.equal(await circuit.witness(inputs));
        });
    });

    describe("# under-constraint checks on the r1cs", function () {
        it("Should let no signal change alone, except the explained ones (genesis and signed bases)", async function () {
            const atGenesis = freeSignalSweep(circuit, await circuit.witness(inputsWith(genesis, 0n)));
            const onSigned = freeSignalSweep(circuit, await circuit.witness(inputsWith(signed, 13n)));
            expect([atGenesis.unexplained, onSigned.unexplained]).to.deep.equal([[], []]);
            // The sweep does find free signals: IsZero(f)'s hint on genesis, the EdDSA equality's hints once it holds.
            expect(atGenesis.free.some((name) => /^main\.BaseAuthorisation_\d+_\d+\.IsZero_\d+_\d+\.inv$/.test(name))).to.equal(true);
            expect(onSigned.free.some((name) => /BaseAuthorisation.*eqCheckX\.isz\.inv$/.test(name))).to.equal(true);
        });

        it("Should agree with snarkjs' wtns check on a valid and a tampered witness", async function () {
            const witness = await circuit.witness(inputsWith(signed, 9n));
            expect(await circuit.snarkjsSatisfies(witness)).to.equal(true);
            const forged = CircuitUnderTest.tamper(witness, new Map([[NULLIFIER, witness[NULLIFIER]! + 1n]]));
            expect(await circuit.snarkjsSatisfies(forged)).to.equal(false);
            expect(await circuit.satisfies(forged)).to.equal(false);
        });
    });

    describe("# proofs", function () {
        it("Should prove and verify a ticket, and bind every public signal", async function () {
            const { proof, publicSignals, expected } = await pooledProof("spend");
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
