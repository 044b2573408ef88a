import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { foldBase, GENESIS_BASE, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import type { ChargeAmounts, SignedBase, SignedCharge } from "@zk-api-credits/protocol";
import {
    BURN_ADDRESS,
    ChallengeKind,
    deployRegistry,
    fixedIdentity,
    folding,
    minedAt,
    register,
    signedBase,
    signedCharges,
    spending,
    Status,
    withdrawal
} from "../helpers/registry";
import type { Member, RegistryFixture, Withdrawal, WithdrawalRequest } from "../helpers/registry";

const P = SNARK_SCALAR_FIELD;
const DEPOSIT = 100_000n;

/** Alice's charges for tickets 0 … 4. */
const CHARGES: ChargeAmounts[] = [
    { cost: 1_000n, penalty: 0n },
    { cost: 250n, penalty: 500n },
    { cost: 999n, penalty: 0n },
    { cost: 1n, penalty: 0n },
    { cost: 700n, penalty: 500n }
];

interface ChallengeFixture extends RegistryFixture {
    alice: Member;
    bob: Member;
    charges: SignedCharge[];
    base2: SignedBase;
    base4: SignedBase;
}

/**
 * Alice made requests 0 … 4 and folded twice: the gateway recorded the folds of base 0 and base 2
 * and signed bases 2 and 4; she holds the charge of ticket 4. Bob never made a request.
 */
async function membersFixture(): Promise<ChallengeFixture> {
    const fx = await deployRegistry();
    const alice = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("challenges/alice"));
    const bob = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("challenges/bob"));
    const charges = signedCharges(fx, alice, 0n, CHARGES);
    const base2 = signedBase(fx, alice, foldBase(GENESIS_BASE, CHARGES.slice(0, 2)));
    const base4 = signedBase(fx, alice, foldBase(GENESIS_BASE, CHARGES.slice(0, 4)));
    return { ...fx, alice, bob, charges, base2, base4 };
}

/** Requests `made` for Alice and returns it with the block time it was requested at. */
async function requested(fx: ChallengeFixture, made: Withdrawal): Promise<{ request: WithdrawalRequest; requestedAt: bigint }> {
    const requestedAt = await minedAt(fx.registry.requestWithdrawal(fx.alice.identity.commitment, made.request, made.proof));
    return { request: made.request, requestedAt };
}

/** The Fold proof of base 2 with the charges of tickets 2 and 3 (what the gateway recorded): its fold nullifier is F_2. */
async function foldOfBase2(fx: ChallengeFixture) {
    return folding(fx, fx.alice, fx.base2, fx.charges.slice(2, 4));
}

/** Alice withdraws from base 2 as if it were her newest: F_2 was folded, so the withdrawal is stale. */
async function staleWithdrawal(fx: ChallengeFixture): Promise<Withdrawal> {
    return withdrawal(fx, fx.alice, { base: fx.base2, recipient: fx.users[5]!.address });
}

/** Alice withdraws from base 4 plus the charge of ticket 4, declaring slot 2 (ticket 7); ticket 5 (slot 0) she used and hides. */
async function undeclaredWithdrawal(fx: ChallengeFixture): Promise<Withdrawal> {
    return withdrawal(fx, fx.alice, { base: fx.base4, charges: fx.charges.slice(4), declared: [2], recipient: fx.users[5]!.address });
}

/** The Spend proof of ticket 5 on base 4 (the provider keeps every ticket it served). */
async function ticket5(fx: ChallengeFixture) {
    return spending(fx, fx.alice, fx.base4, 5n);
}

describe("CreditRegistry", function () {
    describe("# challengeStaleBase", function () {
        it("Should forfeit a withdrawal from a base that was folded: burned to the burn address, the rest to the treasury", async function () {
            const fx = await loadFixture(membersFixture);
            const fold = await foldOfBase2(fx);
            const { request } = await requested(fx, await staleWithdrawal(fx));
            expect(request.foldNullifier).to.equal(fold.foldNullifier);
            const idc = fx.alice.identity.commitment;
            const challenger = fx.users[9]!;
            const tx = fx.registry.connect(challenger).challengeStaleBase(idc, request, fold.newBase, fold.proof);
            await expect(tx)
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(idc, challenger.address, ChallengeKind.StaleBase, DEPOSIT - 500n, 500n);
            await expect(tx).to.changeTokenBalances(fx.token, [challenger, fx.registryAddress], [0n, 0n]);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT - 500n);
            expect(await fx.registry.pendingBurn()).to.equal(500n);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.token, [fx.treasury.address, BURN_ADDRESS], [DEPOSIT - 500n, 500n]);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(idc, request)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Slashed);
        });

        it("Should not touch an honest user whose fold answer was withheld: it withdraws from base 2 with the same two charges (e* = 4)", async function () {
            const fx = await loadFixture(membersFixture);
            const fold = await foldOfBase2(fx);
            const honest = await withdrawal(fx, fx.alice, { base: fx.base2, charges: fx.charges.slice(2, 4), recipient: fx.users[5]!.address });
            const fromBase4 = await withdrawal(fx, fx.alice, { base: fx.base4, recipient: fx.users[5]!.address });
            // Same claim as from base 4: the same totals, the same closing fold nullifier F_4.
            expect(honest.request).to.deep.equal(fromBase4.request);
            expect(honest.request.foldNullifier).to.not.equal(fold.foldNullifier);
            const { request } = await requested(fx, honest);
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.challengeStaleBase(idc, request, fold.newBase, fold.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                .withArgs(idc, ChallengeKind.StaleBase);
        });

        it("Should revert with InvalidChallengeProof for an altered new base", async function () {
            const fx = await loadFixture(membersFixture);
            const fold = await foldOfBase2(fx);
            const { request } = await requested(fx, await staleWithdrawal(fx));
            const idc = fx.alice.identity.commitment;
            for (const newBase of [
                [fold.newBase[0] + 1n, fold.newBase[1]],
                [fold.newBase[0], fold.newBase[1] + 1n],
                [fold.newBase[0] + P, fold.newBase[1]]
            ] as [bigint, bigint][]) {
                await expect(fx.registry.challengeStaleBase(idc, request, newBase, fold.proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                    .withArgs(idc, ChallengeKind.StaleBase);
            }
        });
    });

    describe("# challengeUndeclaredTicket", function () {
        it("Should forfeit a withdrawal that hides a used ticket in a disclosed slot", async function () {
            const fx = await loadFixture(membersFixture);
            const spend = await ticket5(fx);
            const { request } = await requested(fx, await undeclaredWithdrawal(fx));
            expect(request.slotNullifiers[0]).to.equal(spend.nullifier);
            const idc = fx.alice.identity.commitment;
            const challenger = fx.users[9]!;
            await expect(fx.registry.connect(challenger).challengeUndeclaredTicket(idc, request, 0, spend.signals, spend.proof))
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(idc, challenger.address, ChallengeKind.UndeclaredTicket, DEPOSIT - 1_000n, 1_000n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
            expect(await fx.registry.pendingBurn()).to.equal(1_000n);
        });

        it("Should revert with SlotDeclared for a declared slot and InvalidSlot outside the window", async function () {
            const fx = await loadFixture(membersFixture);
            const spend = await ticket5(fx);
            const { request } = await requested(fx, await undeclaredWithdrawal(fx));
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.challengeUndeclaredTicket(idc, request, 2, spend.signals, spend.proof))
                .to.be.revertedWithCustomError(fx.registry, "SlotDeclared")
                .withArgs(idc, 2n);
            for (const slot of [8, 255]) {
                await expect(fx.registry.challengeUndeclaredTicket(idc, request, slot, spend.signals, spend.proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidSlot")
                    .withArgs(BigInt(slot), 8n);
            }
        });

        it("Should revert with InvalidChallengeProof for another slot, altered signals or another registry's context", async function () {
            const fx = await loadFixture(membersFixture);
            const spend = await ticket5(fx);
            const { request } = await requested(fx, await undeclaredWithdrawal(fx));
            const idc = fx.alice.identity.commitment;
            const invalid = (slot: number, signals: typeof spend.signals, proof = spend.proof) =>
                expect(fx.registry.challengeUndeclaredTicket(idc, request, slot, signals, proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                    .withArgs(idc, ChallengeKind.UndeclaredTicket);
            for (const slot of [1, 3, 7]) await invalid(slot, spend.signals);
            for (const key of ["root", "ticketX", "ticketY", "y", "x"] as const) {
                await invalid(0, { ...spend.signals, [key]: (spend.signals[key] + 1n) % P });
            }
            // The same ticket proved (on genesis, which needs no signature) under other terms: same nullifier, another context.
            const elsewhere = { ...fx.binding, terms: { ...fx.binding.terms, maxCost: 999n } };
            const foreign = await spending(fx, fx.alice, signedBase(fx, fx.alice, GENESIS_BASE, elsewhere), 5n, { binding: elsewhere });
            expect(foreign.nullifier).to.equal(spend.nullifier);
            await invalid(0, foreign.signals, foreign.proof);
        });
    });

    describe("# challengeDisclosure", function () {
        it("Should forfeit a withdrawal whose published nullifiers do not hash to the proof's", async function () {
            const fx = await loadFixture(membersFixture);
            const made = await undeclaredWithdrawal(fx);
            // The proof binds only the hash: a list with slot 3 replaced passes the request checks.
            const disguised = { ...made, request: { ...made.request, slotNullifiers: made.request.slotNullifiers.map((n, j) => (j === 3 ? 12_345n : n)) } };
            const { request } = await requested(fx, disguised);
            expect(await fx.registry.hashSlotNullifiers(request.slotNullifiers)).to.not.equal(request.slotNullifiersHash);
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.connect(fx.users[9]!).challengeDisclosure(idc, request))
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(idc, fx.users[9]!.address, ChallengeKind.Disclosure, DEPOSIT - 1_000n, 1_000n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
        });

        it("Should revert with DisclosureConsistent when the nullifiers hash to the proof's", async function () {
            const fx = await loadFixture(membersFixture);
            const { request } = await requested(fx, await undeclaredWithdrawal(fx));
            expect(await fx.registry.hashSlotNullifiers(request.slotNullifiers)).to.equal(request.slotNullifiersHash);
            await expect(fx.registry.challengeDisclosure(fx.alice.identity.commitment, request))
                .to.be.revertedWithCustomError(fx.registry, "DisclosureConsistent")
                .withArgs(fx.alice.identity.commitment);
        });
    });

    describe("# every challenge", function () {
        interface Pending {
            fx: ChallengeFixture;
            request: WithdrawalRequest;
            requestedAt: bigint;
            /** Each challenge as it would succeed now, on `request`. */
            challenges: Record<string, (request: WithdrawalRequest, idc?: bigint) => Promise<unknown>>;
        }

        /** A stale withdrawal whose disclosed list also does not hash to the proof's, so each kind would succeed. */
        async function pending(): Promise<Pending> {
            const fx = await loadFixture(membersFixture);
            const fold = await foldOfBase2(fx);
            const made = await staleWithdrawal(fx);
            const disguised = { ...made, request: { ...made.request, slotNullifiers: made.request.slotNullifiers.map((n, j) => (j === 0 ? n + 1n : n)) } };
            const { request, requestedAt } = await requested(fx, disguised);
            const idc0 = fx.alice.identity.commitment;
            // Ticket 3 (slot 1 of the stale window [2, 10)) was used and its nullifier disclosed.
            const spend = await spending(fx, fx.alice, fx.base2, 3n);
            return {
                fx,
                request,
                requestedAt,
                challenges: {
                    challengeStaleBase: (r, idc = idc0) => fx.registry.challengeStaleBase(idc, r, fold.newBase, fold.proof),
                    challengeUndeclaredTicket: (r, idc = idc0) => fx.registry.challengeUndeclaredTicket(idc, r, 1, spend.signals, spend.proof),
                    challengeDisclosure: (r, idc = idc0) => fx.registry.challengeDisclosure(idc, r)
                }
            };
        }

        it("Should revert with ChallengeWindowClosed from the moment the window closes", async function () {
            const { fx, request, requestedAt, challenges } = await pending();
            const closedAt = requestedAt + fx.parameters.challengeWindow;
            await time.setNextBlockTimestamp(closedAt);
            for (const [name, challenge] of Object.entries(challenges)) {
                await expect(challenge(request) as Promise<never>, name)
                    .to.be.revertedWithCustomError(fx.registry, "ChallengeWindowClosed")
                    .withArgs(fx.alice.identity.commitment, closedAt);
            }
        });

        it("Should succeed one second before the window closes", async function () {
            for (const name of ["challengeStaleBase", "challengeUndeclaredTicket", "challengeDisclosure"]) {
                const { fx, request, requestedAt, challenges } = await pending();
                await time.setNextBlockTimestamp(requestedAt + fx.parameters.challengeWindow - 1n);
                await expect(challenges[name]!(request) as Promise<never>, name).to.emit(fx.registry, "WithdrawalChallenged");
            }
        });

        it("Should revert with WithdrawalRequestMismatch for a request other than the stored one", async function () {
            const { fx, request, challenges } = await pending();
            for (const [name, challenge] of Object.entries(challenges)) {
                for (const altered of [{ ...request, burned: 0n }, { ...request, recipient: fx.users[6]!.address }]) {
                    await expect(challenge(altered) as Promise<never>, name)
                        .to.be.revertedWithCustomError(fx.registry, "WithdrawalRequestMismatch")
                        .withArgs(fx.alice.identity.commitment);
                }
            }
        });

        it("Should revert with UnexpectedDepositStatus for a deposit not under withdrawal, or already challenged", async function () {
            const { fx, request, challenges } = await pending();
            const bob = fx.bob.identity.commitment;
            for (const [name, challenge] of Object.entries(challenges)) {
                await expect(challenge(request, bob) as Promise<never>, name)
                    .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                    .withArgs(bob, Status.Active);
            }
            await challenges.challengeDisclosure!(request);
            for (const [name, challenge] of Object.entries(challenges)) {
                await expect(challenge(request) as Promise<never>, name)
                    .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                    .withArgs(fx.alice.identity.commitment, Status.Slashed);
            }
        });

        it("Should give a front-runner nothing: a copied challenge pays no one but the treasury and the burn address", async function () {
            const { fx, request } = await pending();
            const fold = await foldOfBase2(fx);
            const copier = fx.users[12]!;
            const tx = fx.registry.connect(copier).challengeStaleBase(fx.alice.identity.commitment, request, fold.newBase, fold.proof);
            await expect(tx)
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(fx.alice.identity.commitment, copier.address, ChallengeKind.StaleBase, DEPOSIT - 500n, 500n);
            await expect(tx).to.changeTokenBalances(fx.token, [copier, fx.registryAddress], [0n, 0n]);
        });
    });
});
