import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { foldBase, GENESIS_BASE, Identity, recoverSecret, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import type { ChargeAmounts } from "@zk-api-credits/protocol";
import {
    BURN_ADDRESS,
    deployRegistry,
    fixedIdentity,
    minedAt,
    register,
    signedBase,
    slashing,
    spending,
    Status,
    ticketX,
    withdrawal
} from "../helpers/registry";
import type { Member, RegistryFixture, Withdrawal } from "../helpers/registry";

const DEPOSIT = 123_457n;
const BOUNTY = (DEPOSIT * 1_000n) / 10_000n;
/** The honest member's two folded requests: spent 1000, burned 1000. */
const HISTORY: ChargeAmounts[] = [
    { cost: 1_000n, penalty: 500n },
    { cost: 0n, penalty: 500n }
];
const SPENT = 1_000n;
const BURNED = 1_000n;

interface SlashFixture extends RegistryFixture {
    cheat: Member;
    honest: Member;
}

async function membersFixture(): Promise<SlashFixture> {
    const fx = await deployRegistry();
    const cheat = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("slashing/cheat"));
    const honest = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("slashing/honest"));
    return { ...fx, cheat, honest };
}

/** The honest member withdraws from base 2 (spent 1000, burned 1000) to users[1]. */
async function honestWithdrawal(fx: SlashFixture): Promise<Withdrawal> {
    const base = signedBase(fx, fx.honest, foldBase(GENESIS_BASE, HISTORY));
    return withdrawal(fx, fx.honest, { base, recipient: fx.users[1]!.address });
}

describe("CreditRegistry", function () {
    describe("# slash", function () {
        it("Should slash a cheat whose secret two shares of one ticket reveal: the reserve to the receiver, the rest to the treasury", async function () {
            const fx = await loadFixture(membersFixture);
            const genesis = signedBase(fx, fx.cheat, GENESIS_BASE);
            const first = await spending(fx, fx.cheat, genesis, 0n);
            const second = await spending(fx, fx.cheat, genesis, 0n, { x: ticketX(fx.cheat, fx.binding, 0n) + 1n });
            expect(first.nullifier).to.equal(second.nullifier);
            const secret = recoverSecret(first.signals, second.signals);
            expect(secret).to.equal(fx.cheat.identity.secret);

            const receiver = fx.users[5]!.address;
            const proof = await slashing(fx, secret, receiver);
            const idc = fx.cheat.identity.commitment;
            const tx = fx.registry.connect(fx.users[6]!).slash(idc, receiver, proof);
            await expect(tx).to.emit(fx.registry, "Slashed").withArgs(idc, receiver, BOUNTY, DEPOSIT - BOUNTY, 0n);
            await expect(tx).to.changeTokenBalances(fx.token, [receiver, fx.users[6]!.address, fx.registryAddress], [BOUNTY, 0n, -BOUNTY]);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT - BOUNTY);
            expect(await fx.registry.pendingBurn()).to.equal(0n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
        });

        it("Should give a front-runner nothing: a copied slash pays the original receiver", async function () {
            const fx = await loadFixture(membersFixture);
            const receiver = fx.users[5]!.address;
            const attacker = fx.users[7]!;
            const idc = fx.cheat.identity.commitment;
            const proof = await slashing(fx, fx.cheat.identity.secret, receiver);
            await expect(fx.registry.connect(attacker).slash(idc, attacker.address, proof)).to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof").withArgs(idc);
            await expect(fx.registry.connect(attacker).slash(idc, receiver, proof)).to.changeTokenBalances(fx.token, [receiver, attacker.address], [BOUNTY, 0n]);
        });

        it("Should revert with InvalidSlashProof for another identity, another registry or a wrong secret", async function () {
            const fx = await loadFixture(membersFixture);
            const receiver = fx.users[5]!.address;
            const idc = fx.cheat.identity.commitment;
            await expect(fx.registry.slash(fx.honest.identity.commitment, receiver, await slashing(fx, fx.cheat.identity.secret, receiver)))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(fx.honest.identity.commitment);
            await expect(fx.registry.slash(idc, receiver, await slashing(fx, fx.cheat.identity.secret, receiver, fx.users[9]!.address)))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(idc);
            await expect(fx.registry.slash(idc, receiver, await slashing(fx, new Identity().secret, receiver)))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(idc);
        });

        it("Should revert with InvalidReceiver for the zero address and UnexpectedDepositStatus unless active", async function () {
            const fx = await loadFixture(membersFixture);
            const receiver = fx.users[5]!.address;
            const idc = fx.cheat.identity.commitment;
            const proof = await slashing(fx, fx.cheat.identity.secret, receiver);
            await expect(fx.registry.slash(idc, ethers.ZeroAddress, proof)).to.be.revertedWithCustomError(fx.registry, "InvalidReceiver").withArgs(ethers.ZeroAddress);
            await expect(fx.registry.slash(777n, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(777n, Status.None);
            await fx.registry.slash(idc, receiver, proof);
            await expect(fx.registry.slash(idc, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Slashed);
        });

        it("Should refuse to slash a deposit under withdrawal (that is slashWithdrawal, without bounty) or already paid out", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const receiver = fx.users[5]!.address;
            const proof = await slashing(fx, fx.honest.identity.secret, receiver);
            const { request, proof: withdrawProof } = await honestWithdrawal(fx);
            await fx.registry.requestWithdrawal(idc, request, withdrawProof);
            await expect(fx.registry.slash(idc, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Withdrawing);
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(idc, request);
            await expect(fx.registry.slash(idc, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Withdrawn);
        });
    });

    describe("# slashWithdrawal", function () {
        it("Should slash a deposit under withdrawal with no bounty: burned to the burn address, the rest to the treasury", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await honestWithdrawal(fx);
            await fx.registry.requestWithdrawal(idc, request, proof);
            const receiver = fx.users[5]!.address;
            const tx = fx.registry.connect(fx.users[6]!).slashWithdrawal(idc, request, receiver, await slashing(fx, fx.honest.identity.secret, receiver));
            await expect(tx).to.emit(fx.registry, "Slashed").withArgs(idc, receiver, 0n, DEPOSIT - BURNED, BURNED);
            await expect(tx).to.changeTokenBalances(fx.token, [receiver, fx.users[6]!.address, request.recipient, fx.registryAddress], [0n, 0n, 0n, 0n]);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.token, [fx.treasury.address, BURN_ADDRESS], [DEPOSIT - BURNED, BURNED]);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(idc, request)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Slashed);
        });

        it("Should still slash after the challenge window closed, until the withdrawal is finalized", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await honestWithdrawal(fx);
            const requestedAt = await minedAt(fx.registry.requestWithdrawal(idc, request, proof));
            await time.setNextBlockTimestamp(requestedAt + fx.parameters.challengeWindow + 100n);
            const receiver = fx.users[5]!.address;
            await expect(fx.registry.slashWithdrawal(idc, request, receiver, await slashing(fx, fx.honest.identity.secret, receiver)))
                .to.emit(fx.registry, "Slashed")
                .withArgs(idc, receiver, 0n, DEPOSIT - BURNED, BURNED);
        });

        it("Should revert with UnexpectedDepositStatus, WithdrawalRequestMismatch, InvalidReceiver and InvalidSlashProof", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const receiver = fx.users[5]!.address;
            const slashProof = await slashing(fx, fx.honest.identity.secret, receiver);
            const { request, proof } = await honestWithdrawal(fx);
            await expect(fx.registry.slashWithdrawal(idc, request, receiver, slashProof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, Status.Active);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await expect(fx.registry.slashWithdrawal(idc, { ...request, burned: 0n }, receiver, slashProof))
                .to.be.revertedWithCustomError(fx.registry, "WithdrawalRequestMismatch")
                .withArgs(idc);
            await expect(fx.registry.slashWithdrawal(idc, request, ethers.ZeroAddress, slashProof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidReceiver")
                .withArgs(ethers.ZeroAddress);
            await expect(fx.registry.slashWithdrawal(idc, request, fx.users[7]!.address, slashProof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(idc);
            await expect(fx.registry.slashWithdrawal(idc, request, receiver, await slashing(fx, fx.cheat.identity.secret, receiver)))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(idc);
        });
    });

    describe("# reportViolation", function () {
        it("Should log a violation with the running count, only for the owner, once per nullifier", async function () {
            const fx = await loadFixture(membersFixture);
            const evidence = ethers.id("evidence: prompt broke the terms");
            await expect(fx.registry.connect(fx.owner).reportViolation(42n, evidence)).to.emit(fx.registry, "ViolationReported").withArgs(42n, evidence, 1n);
            await expect(fx.registry.connect(fx.owner).reportViolation(43n, evidence)).to.emit(fx.registry, "ViolationReported").withArgs(43n, evidence, 2n);
            expect(await fx.registry.violationCount()).to.equal(2n);
            expect(await fx.registry.violationReported(42n)).to.equal(true);
            expect(await fx.registry.violationReported(44n)).to.equal(false);
            await expect(fx.registry.connect(fx.owner).reportViolation(42n, evidence)).to.be.revertedWithCustomError(fx.registry, "ViolationAlreadyReported").withArgs(42n);
            await expect(fx.registry.connect(fx.users[0]!).reportViolation(44n, evidence))
                .to.be.revertedWithCustomError(fx.registry, "OwnableUnauthorizedAccount")
                .withArgs(fx.users[0]!.address);
        });

        it("Should revert with InvalidNullifier and InvalidEvidence on malformed reports", async function () {
            const fx = await loadFixture(membersFixture);
            for (const nullifier of [0n, SNARK_SCALAR_FIELD]) {
                await expect(fx.registry.connect(fx.owner).reportViolation(nullifier, ethers.id("e")))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidNullifier")
                    .withArgs(nullifier);
            }
            await expect(fx.registry.connect(fx.owner).reportViolation(1n, ethers.ZeroHash)).to.be.revertedWithCustomError(fx.registry, "InvalidEvidence").withArgs(ethers.ZeroHash);
        });
    });

    describe("# claimExpired", function () {
        it("Should send an untouched deposit to the treasury after its term, not before", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const expiresAt = (await fx.registry.deposits(idc)).registeredAt + fx.parameters.depositTerm;
            await time.setNextBlockTimestamp(expiresAt - 1n);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "DepositNotExpired").withArgs(idc, expiresAt);
            await time.setNextBlockTimestamp(expiresAt);
            await expect(fx.registry.connect(fx.users[9]!).claimExpired(idc)).to.emit(fx.registry, "DepositExpired").withArgs(idc, DEPOSIT);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Expired);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Expired);
            await expect(fx.registry.claimExpired(5n)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(5n, Status.None);
        });

        it("Should not claim a deposit whose withdrawal was requested in time", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await honestWithdrawal(fx);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await time.increase(fx.parameters.depositTerm);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, Status.Withdrawing);
            await expect(fx.registry.finalizeWithdrawal(idc, request)).to.changeTokenBalance(fx.token, fx.users[1]!, DEPOSIT - SPENT - BURNED);
        });
    });

    describe("# sweep", function () {
        it("Should pay accrued revenue to the treasury and penalties to the burn address, to the unit", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await honestWithdrawal(fx);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(idc, request);
            const tx = fx.registry.connect(fx.users[4]!).sweep();
            await expect(tx).to.emit(fx.registry, "Swept").withArgs(fx.treasury.address, SPENT, BURNED);
            await expect(tx).to.changeTokenBalances(fx.token, [fx.treasury.address, BURN_ADDRESS, fx.registryAddress], [SPENT, BURNED, -(SPENT + BURNED)]);
            expect(await fx.registry.pendingTreasury()).to.equal(0n);
            expect(await fx.registry.pendingBurn()).to.equal(0n);
            await expect(fx.registry.sweep()).to.be.revertedWithCustomError(fx.registry, "NothingToSweep");
        });

        it("Should keep every token accounted for: balance = live deposits + pending revenue + pending burn", async function () {
            const fx = await loadFixture(membersFixture);
            await fx.registry.slash(fx.cheat.identity.commitment, fx.users[5]!.address, await slashing(fx, fx.cheat.identity.secret, fx.users[5]!.address));
            const pending = (await fx.registry.pendingTreasury()) + (await fx.registry.pendingBurn());
            expect(await fx.token.balanceOf(fx.registryAddress)).to.equal(DEPOSIT + pending);
            await fx.registry.sweep();
            expect(await fx.token.balanceOf(fx.registryAddress)).to.equal(DEPOSIT);
        });
    });
});
