import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { foldBase, GENESIS_BASE, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import type { ChargeAmounts } from "@zk-api-credits/protocol";
import type { BlocklistToken } from "../../typechain-types";
import {
    BURN_ADDRESS,
    deployRegistry,
    fixedIdentity,
    minedAt,
    register,
    registryFor,
    requestHash,
    settlement,
    signedBase,
    signedCharges,
    Status,
    withdrawal
} from "../helpers/registry";
import type { Member, RegistryFixture, Withdrawal, WithdrawalRequest } from "../helpers/registry";
import { TestProvider } from "../helpers/scenario";

const P = SNARK_SCALAR_FIELD;
const DEPOSIT = 100_000n;

/** Alice's charges for tickets 0 … 4 (maxCost 1000, policyPenalty 500). */
const ALICE_CHARGES: ChargeAmounts[] = [
    { cost: 1_000n, penalty: 0n },
    { cost: 250n, penalty: 500n },
    { cost: 999n, penalty: 0n },
    { cost: 1n, penalty: 0n },
    { cost: 700n, penalty: 500n }
];
/** Totals of the effective base e = 5 (base 4 plus the charge of ticket 4). */
const SPENT = 2_950n;
const BURNED = 1_000n;
/** Alice declares slots 0 and 2 (tickets 5 and 7 were sent, their charges never came). */
const DECLARED = [0, 2];
const CHARGED = SPENT + 2n * 1_000n;

interface WithdrawFixture extends RegistryFixture {
    alice: Member;
    bob: Member;
}

async function membersFixture(): Promise<WithdrawFixture> {
    const fx = await deployRegistry();
    const alice = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("withdrawal/alice"));
    const bob = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("withdrawal/bob"));
    return { ...fx, alice, bob };
}

/** Alice's withdrawal: newest signed base 4 (tickets 0–3 folded), the charge of ticket 4, slots 0 and 2 declared. */
async function aliceWithdrawal(fx: WithdrawFixture, recipient = fx.users[5]!.address): Promise<Withdrawal> {
    const charges = signedCharges(fx, fx.alice, 0n, ALICE_CHARGES);
    const base = signedBase(fx, fx.alice, foldBase(GENESIS_BASE, ALICE_CHARGES.slice(0, 4)));
    return withdrawal(fx, fx.alice, { base, charges: charges.slice(4), declared: DECLARED, recipient });
}

describe("CreditRegistry", function () {
    describe("# requestWithdrawal", function () {
        it("Should start a withdrawal and emit every field a watcher needs", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            expect([request.spent, request.burned, request.declaredSlots]).to.deep.equal([SPENT, BURNED, 0b101n]);
            expect(request.slotNullifiers[0]).to.equal(0n);
            expect(request.slotNullifiers[2]).to.equal(0n);
            expect(request.slotNullifiers.filter((n) => n !== 0n)).to.have.length(6);
            const idc = fx.alice.identity.commitment;
            const tx = fx.registry.connect(fx.users[8]!).requestWithdrawal(idc, request, proof);
            const requestedAt = await minedAt(tx);
            await expect(tx)
                .to.emit(fx.registry, "WithdrawalRequested")
                .withArgs(
                    idc,
                    request.recipient,
                    request.foldNullifier,
                    SPENT,
                    BURNED,
                    0b101n,
                    request.slotNullifiers,
                    request.slotNullifiersHash,
                    requestedAt + fx.parameters.challengeWindow
                );
            const record = await fx.registry.deposits(idc);
            expect(record.status).to.equal(Status.Withdrawing);
            expect(record.withdrawalRequestedAt).to.equal(requestedAt);
            expect(record.amount).to.equal(DEPOSIT);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(requestHash(request));
        });

        it("Should accept the genesis base of a member who never made a request", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.bob, { base: signedBase(fx, fx.bob, GENESIS_BASE), recipient: fx.users[1]!.address });
            expect([request.spent, request.burned, request.declaredSlots]).to.deep.equal([0n, 0n, 0n]);
            await expect(fx.registry.requestWithdrawal(fx.bob.identity.commitment, request, proof)).to.emit(fx.registry, "WithdrawalRequested");
        });

        it("Should revert with UnexpectedDepositStatus for an unknown identity or a second request", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            await expect(fx.registry.requestWithdrawal(12345n, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(12345n, Status.None);
            await fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof);
            await expect(fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.alice.identity.commitment, Status.Withdrawing);
        });

        it("Should revert with InvalidRecipient, NonCanonicalFoldNullifier and NonCanonicalSlotNullifiersHash", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.requestWithdrawal(idc, { ...request, recipient: ethers.ZeroAddress }, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidRecipient")
                .withArgs(ethers.ZeroAddress);
            for (const foldNullifier of [P, request.foldNullifier + P, ethers.MaxUint256]) {
                await expect(fx.registry.requestWithdrawal(idc, { ...request, foldNullifier }, proof))
                    .to.be.revertedWithCustomError(fx.registry, "NonCanonicalFoldNullifier")
                    .withArgs(foldNullifier);
            }
            for (const slotNullifiersHash of [P, request.slotNullifiersHash + P]) {
                await expect(fx.registry.requestWithdrawal(idc, { ...request, slotNullifiersHash }, proof))
                    .to.be.revertedWithCustomError(fx.registry, "NonCanonicalSlotNullifiersHash")
                    .withArgs(slotNullifiersHash);
            }
        });

        it("Should revert naming the slot when a declared slot carries a nullifier or an undeclared one lacks a canonical one", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            const idc = fx.alice.identity.commitment;
            const withSlot = (slot: number, value: bigint): WithdrawalRequest => ({
                ...request,
                slotNullifiers: request.slotNullifiers.map((n, j) => (j === slot ? value : n))
            });
            await expect(fx.registry.requestWithdrawal(idc, withSlot(2, 5n), proof))
                .to.be.revertedWithCustomError(fx.registry, "DeclaredSlotDisclosed")
                .withArgs(2n, 5n);
            await expect(fx.registry.requestWithdrawal(idc, withSlot(0, request.slotNullifiers[1]!), proof))
                .to.be.revertedWithCustomError(fx.registry, "DeclaredSlotDisclosed")
                .withArgs(0n, request.slotNullifiers[1]!);
            for (const [slot, value] of [
                [1, 0n],
                [7, 0n],
                [3, P],
                [4, request.slotNullifiers[4]! + P]
            ] as const) {
                await expect(fx.registry.requestWithdrawal(idc, withSlot(slot, value), proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidSlotNullifier")
                    .withArgs(BigInt(slot), value);
            }
        });

        it("Should revert with InvalidWithdrawProof for any altered public value or another identity", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            const idc = fx.alice.identity.commitment;
            const undeclareSlot = 0;
            const declareSlot = 1;
            for (const altered of [
                { ...request, spent: request.spent - 1n },
                { ...request, burned: request.burned + 1n },
                // One more slot declared (its nullifier withheld): would cost the user more, still not what was proved.
                { ...request, declaredSlots: request.declaredSlots | (1n << BigInt(declareSlot)), slotNullifiers: request.slotNullifiers.map((n, j) => (j === declareSlot ? 0n : n)) },
                // A slot undeclared with some nullifier: cheaper for the user, not what was proved.
                { ...request, declaredSlots: request.declaredSlots & ~(1n << BigInt(undeclareSlot)), slotNullifiers: request.slotNullifiers.map((n, j) => (j === undeclareSlot ? 77n : n)) },
                { ...request, foldNullifier: request.foldNullifier + 1n },
                { ...request, slotNullifiersHash: request.slotNullifiersHash + 1n },
                { ...request, recipient: fx.users[6]!.address }
            ]) {
                await expect(fx.registry.requestWithdrawal(idc, altered, proof)).to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof").withArgs(idc);
            }
            await expect(fx.registry.requestWithdrawal(fx.bob.identity.commitment, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(fx.bob.identity.commitment);
        });

        it("Should revert with InvalidWithdrawProof for a proof bound to another registry or provider key", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.bob.identity.commitment;
            const recipient = fx.users[5]!.address;
            const elsewhere = { ...fx.binding, scope: fx.binding.scope + 1n };
            const other = await withdrawal(fx, fx.bob, { base: signedBase(fx, fx.bob, GENESIS_BASE, elsewhere), recipient, binding: elsewhere });
            await expect(fx.registry.requestWithdrawal(idc, other.request, other.proof)).to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof").withArgs(idc);
            // A rogue key signs a cheaper base: the proof holds only under the rogue key's context.
            const rogue = new TestProvider();
            const rogueBinding = { ...fx.binding, providerKey: rogue.publicKey };
            const forged = rogue.signBase(rogueBinding, fx.bob.identity, { spent: 0n, burned: 0n, folded: 2n });
            const rogueKey = await withdrawal(fx, fx.bob, { base: forged, recipient, binding: rogueBinding });
            await expect(fx.registry.requestWithdrawal(idc, rogueKey.request, rogueKey.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(idc);
        });

        it("Should give a front-runner nothing: a copied request pays the same recipient", async function () {
            const fx = await loadFixture(membersFixture);
            const recipient = fx.users[5]!.address;
            const attacker = fx.users[7]!;
            const idc = fx.alice.identity.commitment;
            const { request, proof } = await aliceWithdrawal(fx, recipient);
            await expect(fx.registry.connect(attacker).requestWithdrawal(idc, { ...request, recipient: attacker.address }, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(idc);
            await fx.registry.connect(attacker).requestWithdrawal(idc, request, proof);
            await expect(fx.registry.connect(fx.alice.signer).requestWithdrawal(idc, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, Status.Withdrawing);
            await time.increase(fx.parameters.challengeWindow);
            const refund = DEPOSIT - BURNED - CHARGED;
            await expect(fx.registry.connect(attacker).finalizeWithdrawal(idc, request)).to.changeTokenBalances(fx.token, [recipient, attacker.address], [refund, 0n]);
        });

        it("Should stay within 330k gas with eight declared slots and with none", async function () {
            const fx = await loadFixture(membersFixture);
            const everySlot = await withdrawal(fx, fx.bob, {
                base: signedBase(fx, fx.bob, GENESIS_BASE),
                declared: [0, 1, 2, 3, 4, 5, 6, 7],
                recipient: fx.users[1]!.address
            });
            const receipt = await (await fx.registry.requestWithdrawal(fx.bob.identity.commitment, everySlot.request, everySlot.proof)).wait();
            expect(receipt!.gasUsed).to.be.lessThanOrEqual(330_000n);
            const { request, proof } = await aliceWithdrawal(fx);
            const none = await (await fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof)).wait();
            expect(none!.gasUsed).to.be.lessThanOrEqual(330_000n);
        });
    });

    describe("# finalizeWithdrawal", function () {
        async function requested(): Promise<WithdrawFixture & { request: WithdrawalRequest; requestedAt: bigint }> {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await aliceWithdrawal(fx);
            const requestedAt = await minedAt(fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof));
            return { ...fx, request, requestedAt };
        }

        it("Should charge spent plus maxCost per declared slot, burn the penalties and refund the rest, to the unit", async function () {
            const fx = await requested();
            const idc = fx.alice.identity.commitment;
            await time.increaseTo(fx.requestedAt + fx.parameters.challengeWindow);
            const refund = DEPOSIT - BURNED - CHARGED;
            expect(settlement(DEPOSIT, fx.request, fx.parameters.maxCost)).to.deep.equal({ refund, toTreasury: CHARGED, toBurn: BURNED });
            const tx = fx.registry.connect(fx.users[9]!).finalizeWithdrawal(idc, fx.request);
            await expect(tx).to.emit(fx.registry, "WithdrawalFinalized").withArgs(idc, fx.request.recipient, refund, CHARGED, BURNED);
            await expect(tx).to.not.emit(fx.registry, "RefundDeferred");
            await expect(tx).to.changeTokenBalances(fx.token, [fx.request.recipient, fx.registryAddress], [refund, -refund]);
            expect(await fx.registry.pendingTreasury()).to.equal(CHARGED);
            expect(await fx.registry.pendingBurn()).to.equal(BURNED);
            expect(await fx.registry.refundsOwed(fx.request.recipient)).to.equal(0n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Withdrawn);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            expect(await fx.token.balanceOf(fx.registryAddress)).to.equal(DEPOSIT + CHARGED + BURNED);
        });

        it("Should revert with ChallengeWindowOpen until the window has passed, and finalize exactly when it has", async function () {
            const fx = await requested();
            const idc = fx.alice.identity.commitment;
            const finalizableAt = fx.requestedAt + fx.parameters.challengeWindow;
            await time.setNextBlockTimestamp(finalizableAt - 1n);
            await expect(fx.registry.finalizeWithdrawal(idc, fx.request)).to.be.revertedWithCustomError(fx.registry, "ChallengeWindowOpen").withArgs(idc, finalizableAt);
            await time.setNextBlockTimestamp(finalizableAt);
            await expect(fx.registry.finalizeWithdrawal(idc, fx.request)).to.emit(fx.registry, "WithdrawalFinalized");
        });

        it("Should revert with WithdrawalRequestMismatch for any field other than requested", async function () {
            const fx = await requested();
            await time.increase(fx.parameters.challengeWindow);
            const idc = fx.alice.identity.commitment;
            const r = fx.request;
            for (const altered of [
                { ...r, spent: 0n },
                { ...r, burned: 0n },
                { ...r, declaredSlots: 0n },
                { ...r, recipient: fx.users[8]!.address },
                { ...r, foldNullifier: 1n },
                { ...r, slotNullifiersHash: 1n },
                { ...r, slotNullifiers: r.slotNullifiers.map((n, j) => (j === 7 ? n + 1n : n)) }
            ]) {
                await expect(fx.registry.finalizeWithdrawal(idc, altered)).to.be.revertedWithCustomError(fx.registry, "WithdrawalRequestMismatch").withArgs(idc);
            }
        });

        it("Should revert with UnexpectedDepositStatus when finalizing twice or without a request", async function () {
            const fx = await requested();
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(fx.alice.identity.commitment, fx.request);
            await expect(fx.registry.finalizeWithdrawal(fx.alice.identity.commitment, fx.request))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.alice.identity.commitment, Status.Withdrawn);
            await expect(fx.registry.finalizeWithdrawal(fx.bob.identity.commitment, fx.request))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.bob.identity.commitment, Status.Active);
        });

        it("Should never revert on totals: eight declared slots above a minimum deposit refund 0 and charge what is there", async function () {
            const fx = await loadFixture(membersFixture);
            const minimum = await fx.registry.minimumDeposit();
            const small = await register(fx, fx.users[2]!, minimum, fixedIdentity("withdrawal/small"));
            const { request, proof } = await withdrawal(fx, small, {
                base: signedBase(fx, small, GENESIS_BASE),
                declared: [0, 1, 2, 3, 4, 5, 6, 7],
                recipient: fx.users[2]!.address
            });
            expect(request.spent + request.burned + 8n * fx.parameters.maxCost > minimum).to.equal(true);
            await fx.registry.requestWithdrawal(small.identity.commitment, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            const tx = fx.registry.finalizeWithdrawal(small.identity.commitment, request);
            await expect(tx).to.emit(fx.registry, "WithdrawalFinalized").withArgs(small.identity.commitment, request.recipient, 0n, minimum, 0n);
            await expect(tx).to.changeTokenBalance(fx.token, request.recipient, 0n);
            expect(await fx.registry.pendingTreasury()).to.equal(minimum);
        });
    });

    describe("# refunds the token refuses", function () {
        interface BlockedFixture extends WithdrawFixture {
            blocklist: BlocklistToken;
            request: WithdrawalRequest;
        }

        /** A registry of the deploy module for a token with a blocklist; Alice's withdrawal requested and past its window. */
        async function blockedFixture(): Promise<BlockedFixture> {
            const blocklist = (await ethers.deployContract("BlocklistToken")) as unknown as BlocklistToken;
            const fx = await registryFor(await deployRegistry(), blocklist);
            const alice = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("withdrawal/blocked alice"));
            const bob = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("withdrawal/blocked bob"));
            const members = { ...fx, alice, bob };
            const { request, proof } = await aliceWithdrawal(members);
            await fx.registry.requestWithdrawal(alice.identity.commitment, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            return { ...members, blocklist, request };
        }

        it("Should owe the refund to a recipient the token refuses, and settle everything else", async function () {
            const fx = await loadFixture(blockedFixture);
            const idc = fx.alice.identity.commitment;
            const recipient = fx.request.recipient;
            const refund = DEPOSIT - BURNED - CHARGED;
            await fx.blocklist.setBlocked(recipient, true);
            const tx = fx.registry.finalizeWithdrawal(idc, fx.request);
            await expect(tx).to.emit(fx.registry, "WithdrawalFinalized").withArgs(idc, recipient, refund, CHARGED, BURNED);
            await expect(tx).to.emit(fx.registry, "RefundDeferred").withArgs(idc, recipient, refund);
            await expect(tx).to.changeTokenBalances(fx.blocklist, [recipient, fx.registryAddress], [0n, 0n]);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Withdrawn);
            expect(await fx.registry.refundsOwed(recipient)).to.equal(refund);
            expect(await fx.registry.totalRefundsOwed()).to.equal(refund);
            // Custody: balance = live deposits + pending revenue + pending burn + refunds owed.
            expect(await fx.blocklist.balanceOf(fx.registryAddress)).to.equal(DEPOSIT + CHARGED + BURNED + refund);

            // The provider's revenue is not held up.
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.blocklist, [fx.treasury.address, BURN_ADDRESS], [CHARGED, BURNED]);

            await expect(fx.registry.claimRefund(recipient)).to.be.revertedWithCustomError(fx.registry, "RefundRefused").withArgs(recipient, refund);
            expect(await fx.registry.refundsOwed(recipient)).to.equal(refund);
            await fx.blocklist.setBlocked(recipient, false);
            const claim = fx.registry.connect(fx.users[9]!).claimRefund(recipient);
            await expect(claim).to.emit(fx.registry, "RefundClaimed").withArgs(recipient, refund);
            await expect(claim).to.changeTokenBalances(fx.blocklist, [recipient, fx.users[9]!.address, fx.registryAddress], [refund, 0n, -refund]);
            expect(await fx.registry.refundsOwed(recipient)).to.equal(0n);
            expect(await fx.registry.totalRefundsOwed()).to.equal(0n);
            await expect(fx.registry.claimRefund(recipient)).to.be.revertedWithCustomError(fx.registry, "NothingOwed").withArgs(recipient);
            expect(await fx.blocklist.balanceOf(fx.registryAddress)).to.equal(DEPOSIT);
        });

        it("Should revert with NothingOwed for an address owed nothing", async function () {
            const fx = await loadFixture(blockedFixture);
            await expect(fx.registry.claimRefund(fx.users[3]!.address)).to.be.revertedWithCustomError(fx.registry, "NothingOwed").withArgs(fx.users[3]!.address);
        });

        it("Should pay a recipient the token accepts directly, with nothing owed", async function () {
            const fx = await loadFixture(blockedFixture);
            const refund = DEPOSIT - BURNED - CHARGED;
            await expect(fx.registry.finalizeWithdrawal(fx.alice.identity.commitment, fx.request)).to.changeTokenBalance(fx.blocklist, fx.request.recipient, refund);
            expect(await fx.registry.totalRefundsOwed()).to.equal(0n);
        });
    });
});
