import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Identity, recoverSecret, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import { deployRegistry, register, signedState, slashing, spending, withdrawal } from "../helpers/registry";
import type { Member, RegistryFixture } from "../helpers/registry";

const ACTIVE = 1n;
const WITHDRAWN = 3n;
const SLASHED = 4n;
const EXPIRED = 5n;
const DEPOSIT = 123_457n;
const BOUNTY = (DEPOSIT * 1_000n) / 10_000n;

interface SlashFixture extends RegistryFixture {
    cheat: Member;
    honest: Member;
}

async function membersFixture(): Promise<SlashFixture> {
    const fx = await deployRegistry();
    const cheat = await register(fx, fx.users[0]!, DEPOSIT);
    const honest = await register(fx, fx.users[1]!, DEPOSIT);
    return { ...fx, cheat, honest };
}

describe("CreditRegistry", function () {
    describe("# slash", function () {
        it("Should slash a cheat whose secret two shares of one ticket reveal: bounty to the receiver, rest to the treasury", async function () {
            const fx = await loadFixture(membersFixture);
            const state = signedState(fx, fx.cheat, { spent: 500n, burned: 0n, seq: 3n });
            const first = await spending(fx, fx.cheat, state, 1111n);
            const second = await spending(fx, fx.cheat, state, 2222n);
            expect(first.nullifier).to.equal(second.nullifier);
            const secret = recoverSecret(
                { x: BigInt(first.signals.x), y: BigInt(first.signals.y) },
                { x: BigInt(second.signals.x), y: BigInt(second.signals.y) }
            );
            expect(secret).to.equal(fx.cheat.identity.secret);

            const receiver = fx.users[5]!.address;
            const proof = await slashing(fx, secret, receiver);
            const idc = fx.cheat.identity.commitment;
            const tx = fx.registry.connect(fx.users[6]!).slash(idc, receiver, proof);
            await expect(tx).to.emit(fx.registry, "Slashed").withArgs(idc, receiver, BOUNTY, DEPOSIT - BOUNTY);
            await expect(tx).to.changeTokenBalances(fx.token, [receiver, await fx.registry.getAddress()], [BOUNTY, -BOUNTY]);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT - BOUNTY);
            expect((await fx.registry.deposits(idc)).status).to.equal(SLASHED);
        });

        it("Should slash a deposit under withdrawal and cancel the withdrawal", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.cheat, signedState(fx, fx.cheat, { spent: 0n, burned: 0n, seq: 0n }), fx.users[0]!.address);
            const idc = fx.cheat.identity.commitment;
            await fx.registry.requestWithdrawal(idc, request, proof);
            await fx.registry.slash(idc, fx.users[5]!.address, await slashing(fx, fx.cheat.identity.secret, fx.users[5]!.address));
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(idc, request))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, SLASHED);
        });

        it("Should give a front-runner nothing: a copied slash pays the original receiver", async function () {
            const fx = await loadFixture(membersFixture);
            const receiver = fx.users[5]!.address;
            const attacker = fx.users[7]!;
            const idc = fx.cheat.identity.commitment;
            const proof = await slashing(fx, fx.cheat.identity.secret, receiver);
            await expect(fx.registry.connect(attacker).slash(idc, attacker.address, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidSlashProof")
                .withArgs(idc);
            await expect(fx.registry.connect(attacker).slash(idc, receiver, proof)).to.changeTokenBalances(
                fx.token,
                [receiver, attacker.address],
                [BOUNTY, 0n]
            );
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

        it("Should revert with InvalidReceiver for the zero address and UnexpectedDepositStatus when nothing is left", async function () {
            const fx = await loadFixture(membersFixture);
            const receiver = fx.users[5]!.address;
            const idc = fx.cheat.identity.commitment;
            const proof = await slashing(fx, fx.cheat.identity.secret, receiver);
            await expect(fx.registry.slash(idc, ethers.ZeroAddress, proof)).to.be.revertedWithCustomError(fx.registry, "InvalidReceiver").withArgs(ethers.ZeroAddress);
            await expect(fx.registry.slash(777n, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(777n, 0n);
            await fx.registry.slash(idc, receiver, proof);
            await expect(fx.registry.slash(idc, receiver, proof)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, SLASHED);
        });

        it("Should not slash a deposit that was already paid out", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await withdrawal(fx, fx.honest, signedState(fx, fx.honest, { spent: 0n, burned: 0n, seq: 0n }), fx.users[1]!.address);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(idc, request);
            await expect(fx.registry.slash(idc, fx.users[5]!.address, await slashing(fx, fx.honest.identity.secret, fx.users[5]!.address)))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, WITHDRAWN);
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
            await expect(fx.registry.connect(fx.owner).reportViolation(42n, evidence))
                .to.be.revertedWithCustomError(fx.registry, "ViolationAlreadyReported")
                .withArgs(42n);
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
            await expect(fx.registry.connect(fx.owner).reportViolation(1n, ethers.ZeroHash))
                .to.be.revertedWithCustomError(fx.registry, "InvalidEvidence")
                .withArgs(ethers.ZeroHash);
        });
    });

    describe("# claimExpired", function () {
        it("Should send an untouched deposit to the treasury after its term, not before", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const expiresAt = (await fx.registry.deposits(idc)).registeredAt + fx.parameters.depositTerm;
            await time.setNextBlockTimestamp(expiresAt - 1n);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "DepositNotExpired").withArgs(idc, expiresAt);
            await expect(fx.registry.connect(fx.users[9]!).claimExpired(idc)).to.emit(fx.registry, "DepositExpired").withArgs(idc, DEPOSIT);
            expect((await fx.registry.deposits(idc)).status).to.equal(EXPIRED);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, EXPIRED);
        });

        it("Should not claim a deposit whose withdrawal was requested in time", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const { request, proof } = await withdrawal(fx, fx.honest, signedState(fx, fx.honest, { spent: 0n, burned: 0n, seq: 0n }), fx.users[1]!.address);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await time.increase(fx.parameters.depositTerm);
            await expect(fx.registry.claimExpired(idc)).to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus").withArgs(idc, 2n);
            await expect(fx.registry.finalizeWithdrawal(idc, request)).to.changeTokenBalance(fx.token, fx.users[1]!, DEPOSIT);
        });
    });

    describe("# sweep", function () {
        it("Should pay accrued revenue to the treasury and penalties to the burn address, to the unit", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.honest.identity.commitment;
            const state = signedState(fx, fx.honest, { spent: 7_000n, burned: 1_500n, seq: 9n });
            const { request, proof } = await withdrawal(fx, fx.honest, state, fx.users[1]!.address);
            await fx.registry.requestWithdrawal(idc, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(idc, request);
            const burn = "0x000000000000000000000000000000000000dEaD";
            const tx = fx.registry.connect(fx.users[4]!).sweep();
            await expect(tx).to.emit(fx.registry, "Swept").withArgs(fx.treasury.address, 7_000n, 1_500n);
            await expect(tx).to.changeTokenBalances(fx.token, [fx.treasury.address, burn, await fx.registry.getAddress()], [7_000n, 1_500n, -8_500n]);
            expect(await fx.registry.pendingTreasury()).to.equal(0n);
            expect(await fx.registry.pendingBurn()).to.equal(0n);
            await expect(fx.registry.sweep()).to.be.revertedWithCustomError(fx.registry, "NothingToSweep");
        });

        it("Should keep every token accounted for: balance = live deposits + pending revenue + pending burn", async function () {
            const fx = await loadFixture(membersFixture);
            const registryAddress = await fx.registry.getAddress();
            await fx.registry.slash(fx.cheat.identity.commitment, fx.users[5]!.address, await slashing(fx, fx.cheat.identity.secret, fx.users[5]!.address));
            const live = (await fx.registry.deposits(fx.honest.identity.commitment)).status === ACTIVE ? DEPOSIT : 0n;
            const pending = (await fx.registry.pendingTreasury()) + (await fx.registry.pendingBurn());
            expect(await fx.token.balanceOf(registryAddress)).to.equal(live + pending);
            await fx.registry.sweep();
            expect(await fx.token.balanceOf(registryAddress)).to.equal(live);
        });
    });
});
