import { expect } from "chai";
import { ethers } from "hardhat";
import type { Interface } from "ethers";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { GENESIS_BASE, Identity } from "@zk-api-credits/protocol";
import type { BaseState } from "@zk-api-credits/protocol";
import type {
    BlocklistToken,
    FalseReturnToken,
    FeeOnTransferToken,
    NoReturnToken,
    ReentrantToken,
    ZeroTransferRevertingToken
} from "../../typechain-types";
import {
    BURN_ADDRESS,
    deployRegistry,
    fixedIdentity,
    register,
    registryFor,
    signedBase,
    slashing,
    spending,
    Status,
    withdrawal
} from "../helpers/registry";
import type { Member, RegistryFixture, WithdrawalRequest } from "../helpers/registry";

const DEPOSIT = 100_000n;
const BOUNTY = (DEPOSIT * 1_000n) / 10_000n;
const BURN = BURN_ADDRESS;

/** ReentrantToken.Hook */
const HOOK_TRANSFER = 1;
const HOOK_TRANSFER_FROM = 2;

/** A signed base with these totals (two folds: four tickets). */
const base = (spent: bigint, burned: bigint): BaseState => ({ spent, burned, folded: 4n });

/**
 * Everything a registry call could change, rendered as lines: accounting, checkpoint, refunds
 * owed, the given deposits and the token balances of every account involved.
 */
async function observe(fx: RegistryFixture, identities: readonly bigint[], extraHolders: readonly string[] = []): Promise<string[]> {
    const { registry } = fx;
    const token = new ethers.Contract(await fx.token.getAddress(), ["function balanceOf(address) view returns (uint256)"], ethers.provider);
    const leafCount = await registry.leafCount();
    const lines = [
        `leafCount ${leafCount}`,
        `checkpoint ${await registry.checkpointAt(leafCount)}`,
        `pendingTreasury ${await registry.pendingTreasury()}`,
        `pendingBurn ${await registry.pendingBurn()}`,
        `totalRefundsOwed ${await registry.totalRefundsOwed()}`,
        `violationCount ${await registry.violationCount()}`
    ];
    for (const idc of identities) {
        const r = await registry.deposits(idc);
        lines.push(`deposit ${idc}: ${r.amount} ${r.registeredAt} ${r.withdrawalRequestedAt} ${r.leafIndex} ${r.status} ${await registry.withdrawalCommitments(idc)}`);
    }
    const holders = [fx.registryAddress, fx.treasury.address, BURN, fx.owner.address, ...fx.users.map((u) => u.address), ...extraHolders];
    for (const holder of holders) lines.push(`balance ${holder} ${await token.balanceOf(holder)} owed ${await registry.refundsOwed(holder)}`);
    return lines;
}

/** The registry's custody invariant: balance = live deposits + pending revenue + pending burn + refunds owed (`identities`: every deposit). */
async function expectCustody(fx: RegistryFixture, identities: readonly bigint[]): Promise<void> {
    let live = 0n;
    for (const idc of identities) {
        const r = await fx.registry.deposits(idc);
        if (r.status === Status.Active || r.status === Status.Withdrawing) live += r.amount;
    }
    const token = new ethers.Contract(await fx.token.getAddress(), ["function balanceOf(address) view returns (uint256)"], ethers.provider);
    const balance = (await token.balanceOf(fx.registryAddress)) as bigint;
    const pending = (await fx.registry.pendingTreasury()) + (await fx.registry.pendingBurn()) + (await fx.registry.totalRefundsOwed());
    expect(balance).to.equal(live + pending);
}

describe("CreditRegistry with hostile ERC-20 tokens", function () {
    describe("a token that re-enters the registry from transfer and transferFrom", function () {
        interface ReentrancyFixture extends RegistryFixture {
            hostile: ReentrantToken;
            members: Member[];
            /** Calls that each succeed when made on their own (checked below), keyed by name. */
            inner: Record<string, string>;
            /** The outer calls, each of which moves tokens once the registry's state is updated. */
            outer: Record<string, { hook: number; send: () => Promise<unknown> }>;
            outerIdentity: Identity;
            innerIdentity: Identity;
            /** The recipient a refund is owed to (the token refused it once). */
            owedRecipient: string;
            at: number;
        }

        async function reentrancyFixture(): Promise<ReentrancyFixture> {
            const hostile = (await ethers.deployContract("ReentrantToken")) as unknown as ReentrantToken;
            const fx = await registryFor(await deployRegistry(), hostile);
            const u = fx.users;
            const id = (label: string) => fixedIdentity(`hostile/reentrancy/${label}`);

            // A deposit whose term is over (claimable), then the others.
            const expiring = await register(fx, u[0]!, DEPOSIT, id("expiring"));
            await time.increase(fx.parameters.depositTerm);
            const finalizable = await register(fx, u[1]!, DEPOSIT, id("finalizable"));
            const outerFinalizable = await register(fx, u[2]!, DEPOSIT, id("outer finalizable"));
            const challengeable = await register(fx, u[3]!, DEPOSIT, id("challengeable"));
            const slashable = await register(fx, u[4]!, DEPOSIT, id("slashable"));
            const outerSlashable = await register(fx, u[5]!, DEPOSIT, id("outer slashable"));
            const requester = await register(fx, u[6]!, DEPOSIT, id("requester"));
            const cheat = await register(fx, u[7]!, DEPOSIT, id("cheat"));
            const owed = await register(fx, u[13]!, DEPOSIT, id("owed"));
            const members = [expiring, finalizable, outerFinalizable, challengeable, slashable, outerSlashable, requester, cheat, owed];

            // Revenue to sweep: a slashed cheat.
            await fx.registry.slash(cheat.identity.commitment, u[8]!.address, await slashing(fx, cheat.identity.secret, u[8]!.address));

            // Three withdrawals past their window; the token refuses the third refund once (a bubbled, blocked re-entry): it is owed.
            const finalizing = await withdrawal(fx, finalizable, { base: signedBase(fx, finalizable, base(1_000n, 500n)), recipient: u[1]!.address });
            await fx.registry.requestWithdrawal(finalizable.identity.commitment, finalizing.request, finalizing.proof);
            const outerFinalizing = await withdrawal(fx, outerFinalizable, { base: signedBase(fx, outerFinalizable, base(2_000n, 500n)), recipient: u[2]!.address });
            await fx.registry.requestWithdrawal(outerFinalizable.identity.commitment, outerFinalizing.request, outerFinalizing.proof);
            const owing = await withdrawal(fx, owed, { base: signedBase(fx, owed, GENESIS_BASE), recipient: u[13]!.address });
            await fx.registry.requestWithdrawal(owed.identity.commitment, owing.request, owing.proof);
            await time.increase(fx.parameters.challengeWindow);
            await hostile.arm(HOOK_TRANSFER, fx.registryAddress, fx.registry.interface.encodeFunctionData("sweep"), true);
            await expect(fx.registry.finalizeWithdrawal(owed.identity.commitment, owing.request)).to.emit(fx.registry, "RefundDeferred");
            // The refused transfer reverted the token's own state too, so it is still armed: disarm it.
            await hostile.arm(0, fx.registryAddress, "0x", false);

            // A withdrawal that hides a used ticket (ticket 0 of genesis, disclosed in slot 0), still inside its window.
            const genesis = signedBase(fx, challengeable, GENESIS_BASE);
            const spent = await spending(fx, challengeable, genesis, 0n);
            const hiding = await withdrawal(fx, challengeable, { base: genesis, recipient: u[3]!.address });
            await fx.registry.requestWithdrawal(challengeable.identity.commitment, hiding.request, hiding.proof);

            const requesting = await withdrawal(fx, requester, { base: signedBase(fx, requester, GENESIS_BASE), recipient: u[6]!.address });
            const slashProof = await slashing(fx, slashable.identity.secret, u[9]!.address);
            const outerSlashProof = await slashing(fx, outerSlashable.identity.secret, u[10]!.address);
            const withdrawalSlashProof = await slashing(fx, challengeable.identity.secret, u[11]!.address);

            // The token's own deposit, for an inner register; and an outer registrant, approved in advance.
            const innerIdentity = id("inner");
            await hostile.mint(await hostile.getAddress(), DEPOSIT);
            await hostile.approveAsToken(fx.registryAddress, DEPOSIT);
            const outerIdentity = id("outer");
            await hostile.mint(u[11]!.address, DEPOSIT);
            await hostile.connect(u[11]!).approve(fx.registryAddress, DEPOSIT);

            const abi: Interface = fx.registry.interface;
            const encode = (name: string, args: unknown[]) => abi.encodeFunctionData(name, args);
            const challengeableIdc = challengeable.identity.commitment;
            const inner: Record<string, string> = {
                register: encode("register", [innerIdentity.commitment, DEPOSIT]),
                requestWithdrawal: encode("requestWithdrawal", [requester.identity.commitment, requesting.request, requesting.proof]),
                challengeUndeclaredTicket: encode("challengeUndeclaredTicket", [challengeableIdc, hiding.request, 0, spent.signals, spent.proof]),
                slashWithdrawal: encode("slashWithdrawal", [challengeableIdc, hiding.request, u[11]!.address, withdrawalSlashProof]),
                finalizeWithdrawal: encode("finalizeWithdrawal", [finalizable.identity.commitment, finalizing.request]),
                slash: encode("slash", [slashable.identity.commitment, u[9]!.address, slashProof]),
                claimExpired: encode("claimExpired", [expiring.identity.commitment]),
                claimRefund: encode("claimRefund", [u[13]!.address]),
                sweep: encode("sweep", []),
                "finalizeWithdrawal of the outer deposit": encode("finalizeWithdrawal", [outerFinalizable.identity.commitment, outerFinalizing.request]),
                "slash of the outer deposit": encode("slash", [outerSlashable.identity.commitment, u[10]!.address, outerSlashProof])
            };
            const outer: ReentrancyFixture["outer"] = {
                register: { hook: HOOK_TRANSFER_FROM, send: () => fx.registry.connect(u[11]!).register(outerIdentity.commitment, DEPOSIT) },
                finalizeWithdrawal: {
                    hook: HOOK_TRANSFER,
                    send: () => fx.registry.connect(u[12]!).finalizeWithdrawal(outerFinalizable.identity.commitment, outerFinalizing.request)
                },
                slash: { hook: HOOK_TRANSFER, send: () => fx.registry.connect(u[12]!).slash(outerSlashable.identity.commitment, u[10]!.address, outerSlashProof) },
                claimRefund: { hook: HOOK_TRANSFER, send: () => fx.registry.connect(u[12]!).claimRefund(u[13]!.address) },
                sweep: { hook: HOOK_TRANSFER, send: () => fx.registry.connect(u[12]!).sweep() }
            };
            // The outer calls run at this time in every variant (inside the hiding withdrawal's window).
            const at = (await time.latest()) + 1_800;
            return { ...fx, hostile, members, inner, outer, outerIdentity, innerIdentity, owedRecipient: u[13]!.address, at };
        }

        function identitiesOf(fx: ReentrancyFixture): bigint[] {
            return [...fx.members.map((m) => m.identity.commitment), fx.outerIdentity.commitment, fx.innerIdentity.commitment];
        }

        async function runOuter(fx: ReentrancyFixture, name: string): Promise<void> {
            await time.setNextBlockTimestamp(fx.at);
            await (await (fx.outer[name]!.send() as Promise<{ wait(): Promise<unknown> }>)).wait();
        }

        const guardError = () => ethers.id("ReentrancyGuardReentrantCall()").slice(0, 10);

        it("Should make each inner call succeed when the token makes it outside a registry call (the control)", async function () {
            for (const [name, payload] of Object.entries((await loadFixture(reentrancyFixture)).inner)) {
                const fx = await loadFixture(reentrancyFixture);
                const reentries = await fx.hostile.reentries();
                await fx.hostile.arm(HOOK_TRANSFER, fx.registryAddress, payload, true);
                await fx.hostile.mint(fx.users[14]!.address, 1n);
                // A plain token transfer between users fires the armed call: the registry is not mid-call.
                await time.setNextBlockTimestamp(fx.at);
                await fx.hostile.connect(fx.users[14]!).transfer(fx.users[15]!.address, 1n);
                expect(await fx.hostile.reentries(), name).to.equal(reentries + 1n);
                expect(await fx.hostile.lastReentrySucceeded(), `${name}: ${await fx.hostile.lastReentryResult()}`).to.equal(true);
            }
        });

        for (const outerName of ["register", "finalizeWithdrawal", "slash", "claimRefund", "sweep"]) {
            it(`Should stop every re-entry from inside ${outerName} with ReentrancyGuardReentrantCall, leaving exactly the outer call's effects`, async function () {
                // The outer call alone, unarmed: the reference state.
                let fx = await loadFixture(reentrancyFixture);
                const ids = identitiesOf(fx);
                const holders = [await fx.hostile.getAddress()];
                await runOuter(fx, outerName);
                const reference = await observe(fx, ids, holders);
                await expectCustody(fx, ids);

                for (const [innerName, payload] of Object.entries(fx.inner)) {
                    fx = await loadFixture(reentrancyFixture);
                    const before = await observe(fx, ids, holders);
                    const reentries = await fx.hostile.reentries();
                    await fx.hostile.arm(fx.outer[outerName]!.hook, fx.registryAddress, payload, false);
                    await runOuter(fx, outerName);
                    expect(await fx.hostile.reentries(), `${outerName} > ${innerName}: the hook did not fire`).to.equal(reentries + 1n);
                    expect(await fx.hostile.lastReentrySucceeded(), `${outerName} > ${innerName}`).to.equal(false);
                    expect(await fx.hostile.lastReentryResult(), `${outerName} > ${innerName}`).to.equal(guardError());
                    const after = await observe(fx, ids, holders);
                    expect(after, `${outerName} > ${innerName}: state differs from the outer call alone`).to.deep.equal(reference);
                    expect(after).to.not.deep.equal(before);
                    await expectCustody(fx, ids);
                }
            });
        }

        it("Should revert the whole outer call, changing nothing, when the token bubbles the blocked re-entry up from a deposit or a bounty", async function () {
            const attempts: [string, string][] = [
                ["register", "register"],
                ["slash", "slash of the outer deposit"]
            ];
            for (const [outerName, innerName] of attempts) {
                const fx = await loadFixture(reentrancyFixture);
                await fx.hostile.arm(fx.outer[outerName]!.hook, fx.registryAddress, fx.inner[innerName]!, true);
                const before = await observe(fx, identitiesOf(fx), [await fx.hostile.getAddress()]);
                await expect(fx.outer[outerName]!.send() as Promise<never>)
                    .to.be.revertedWithCustomError(fx.hostile, "ReentryFailed")
                    .withArgs(guardError());
                expect(await observe(fx, identitiesOf(fx), [await fx.hostile.getAddress()]), outerName).to.deep.equal(before);
            }
        });

        it("Should owe a refund the token refuses (here: a bubbled, blocked re-entry) and keep it owed while the claim is refused", async function () {
            const fx = await loadFixture(reentrancyFixture);
            const recipient = fx.users[2]!.address;
            await fx.hostile.arm(HOOK_TRANSFER, fx.registryAddress, fx.inner["finalizeWithdrawal of the outer deposit"]!, true);
            await time.setNextBlockTimestamp(fx.at);
            const refund = DEPOSIT - 2_500n;
            await expect(fx.outer.finalizeWithdrawal!.send() as Promise<never>)
                .to.emit(fx.registry, "RefundDeferred")
                .withArgs(fx.members[2]!.identity.commitment, recipient, refund);
            expect(await fx.registry.refundsOwed(recipient)).to.equal(refund);
            expect((await fx.registry.deposits(fx.members[2]!.identity.commitment)).status).to.equal(Status.Withdrawn);
            await expectCustody(fx, identitiesOf(fx));

            await fx.hostile.arm(HOOK_TRANSFER, fx.registryAddress, fx.inner.sweep!, true);
            await expect(fx.registry.claimRefund(recipient)).to.be.revertedWithCustomError(fx.registry, "RefundRefused").withArgs(recipient, refund);
            await fx.hostile.arm(0, fx.registryAddress, "0x", false);
            await expect(fx.registry.claimRefund(recipient)).to.changeTokenBalance(fx.hostile, recipient, refund);
            await expectCustody(fx, identitiesOf(fx));
        });

        it("Should keep a sweep leg the token refuses (here: a blocked re-entry) pending and lose nothing", async function () {
            const fx = await loadFixture(reentrancyFixture);
            await fx.hostile.arm(fx.outer.sweep!.hook, fx.registryAddress, fx.inner.sweep!, true);
            const toTreasury = await fx.registry.pendingTreasury();
            const toBurn = await fx.registry.pendingBurn();
            expect(toTreasury > 0n).to.equal(true);
            // The first leg (the treasury's) fires the armed call and is refused; a burn leg would be paid.
            if (toBurn === 0n) {
                await expect(fx.outer.sweep!.send() as Promise<never>)
                    .to.be.revertedWithCustomError(fx.registry, "SweepRefused")
                    .withArgs(toTreasury, 0n);
            } else {
                await expect(fx.outer.sweep!.send() as Promise<never>).to.emit(fx.registry, "Swept").withArgs(fx.treasury.address, 0n, toBurn);
                expect(await fx.registry.pendingBurn()).to.equal(0n);
            }
            expect(await fx.registry.pendingTreasury()).to.equal(toTreasury);
            await expectCustody(fx, identitiesOf(fx));
        });

        it("Should show a reader inside a payout the final state already (no read-only reentrancy window)", async function () {
            const fx = await loadFixture(reentrancyFixture);
            const idc = fx.members[2]!.identity.commitment;
            const pendingBefore = await fx.registry.pendingTreasury();
            await fx.hostile.arm(HOOK_TRANSFER, fx.registryAddress, fx.registry.interface.encodeFunctionData("deposits", [idc]), true);
            await runOuter(fx, "finalizeWithdrawal");
            expect(await fx.hostile.lastReentrySucceeded()).to.equal(true);
            const [seen] = fx.registry.interface.decodeFunctionResult("deposits", await fx.hostile.lastReentryResult());
            expect(seen.status).to.equal(Status.Withdrawn);

            const again = await loadFixture(reentrancyFixture);
            await again.hostile.arm(HOOK_TRANSFER, again.registryAddress, again.registry.interface.encodeFunctionData("pendingTreasury"), true);
            await runOuter(again, "finalizeWithdrawal");
            const [pending] = again.registry.interface.decodeFunctionResult("pendingTreasury", await again.hostile.lastReentryResult());
            expect(pending).to.equal(pendingBefore + 2_000n);
        });
    });

    describe("a token whose transfer and transferFrom return false", function () {
        async function falseFixture() {
            const hostile = (await ethers.deployContract("FalseReturnToken")) as unknown as FalseReturnToken;
            const fx = await registryFor(await deployRegistry(), hostile);
            const alice = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("hostile/false/alice"));
            const bob = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("hostile/false/bob"));
            const { request, proof } = await withdrawal(fx, alice, { base: signedBase(fx, alice, base(3_000n, 500n)), recipient: fx.users[2]!.address });
            await fx.registry.requestWithdrawal(alice.identity.commitment, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            const slashProof = await slashing(fx, bob.identity.secret, fx.users[3]!.address);
            return { ...fx, hostile, alice, bob, request, slashProof };
        }

        it("Should refuse a registration whose transferFrom returns false (SafeERC20FailedOperation), changing nothing", async function () {
            const fx = await loadFixture(falseFixture);
            const user = fx.users[4]!;
            await fx.hostile.mint(user.address, DEPOSIT);
            await fx.hostile.connect(user).approve(fx.registryAddress, DEPOSIT);
            await fx.hostile.setFailures(false, true);
            const identity = new Identity();
            const ids = [fx.alice.identity.commitment, fx.bob.identity.commitment, identity.commitment];
            const before = await observe(fx, ids);
            await expect(fx.registry.connect(user).register(identity.commitment, DEPOSIT))
                .to.be.revertedWithCustomError(fx.registry, "SafeERC20FailedOperation")
                .withArgs(await fx.hostile.getAddress());
            expect(await observe(fx, ids)).to.deep.equal(before);
        });

        it("Should take a false for a refusal: the refund is owed, a bounty reverts, a sweep keeps both legs; all paid once transfers work", async function () {
            const fx = await loadFixture(falseFixture);
            const token = await fx.hostile.getAddress();
            const ids = [fx.alice.identity.commitment, fx.bob.identity.commitment];
            const recipient = fx.users[2]!.address;
            await fx.hostile.setFailures(true, false);
            await expect(fx.registry.finalizeWithdrawal(fx.alice.identity.commitment, fx.request))
                .to.emit(fx.registry, "RefundDeferred")
                .withArgs(fx.alice.identity.commitment, recipient, DEPOSIT - 3_500n);
            expect(await fx.hostile.balanceOf(recipient)).to.equal(0n);
            const before = await observe(fx, ids);
            await expect(fx.registry.slash(fx.bob.identity.commitment, fx.users[3]!.address, fx.slashProof))
                .to.be.revertedWithCustomError(fx.registry, "SafeERC20FailedOperation")
                .withArgs(token);
            await expect(fx.registry.sweep()).to.be.revertedWithCustomError(fx.registry, "SweepRefused").withArgs(3_000n, 500n);
            await expect(fx.registry.claimRefund(recipient)).to.be.revertedWithCustomError(fx.registry, "RefundRefused").withArgs(recipient, DEPOSIT - 3_500n);
            expect(await observe(fx, ids)).to.deep.equal(before);
            await expectCustody(fx, ids);

            await fx.hostile.setFailures(false, false);
            await expect(fx.registry.claimRefund(recipient)).to.changeTokenBalance(fx.hostile, recipient, DEPOSIT - 3_500n);
            await expect(fx.registry.slash(fx.bob.identity.commitment, fx.users[3]!.address, fx.slashProof)).to.changeTokenBalance(fx.hostile, fx.users[3]!, BOUNTY);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.hostile, [fx.treasury.address, BURN], [3_000n + DEPOSIT - BOUNTY, 500n]);
            await expectCustody(fx, ids);
            expect(await fx.hostile.balanceOf(fx.registryAddress)).to.equal(0n);
        });
    });

    describe("a token without return values (USDT-style)", function () {
        it("Should take deposits and make every payout to the unit through SafeERC20", async function () {
            const deployed = await loadFixture(deployRegistry);
            const hostile = (await ethers.deployContract("NoReturnToken")) as unknown as NoReturnToken;
            const fx = await registryFor(deployed, hostile);
            const alice = await register(fx, fx.users[0]!, DEPOSIT, fixedIdentity("hostile/no return/alice"));
            const bob = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("hostile/no return/bob"));
            expect(await hostile.balanceOf(fx.registryAddress)).to.equal(2n * DEPOSIT);

            const { request, proof } = await withdrawal(fx, alice, { base: signedBase(fx, alice, base(7_000n, 500n)), declared: [1], recipient: fx.users[2]!.address });
            await fx.registry.requestWithdrawal(alice.identity.commitment, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            await fx.registry.finalizeWithdrawal(alice.identity.commitment, request);
            // Burned 500, charged 7,000 + 1,000 for the declared slot.
            expect(await hostile.balanceOf(fx.users[2]!.address)).to.equal(DEPOSIT - 500n - 8_000n);

            await fx.registry.slash(bob.identity.commitment, fx.users[3]!.address, await slashing(fx, bob.identity.secret, fx.users[3]!.address));
            expect(await hostile.balanceOf(fx.users[3]!.address)).to.equal(BOUNTY);

            await fx.registry.sweep();
            expect(await hostile.balanceOf(fx.treasury.address)).to.equal(8_000n + DEPOSIT - BOUNTY);
            expect(await hostile.balanceOf(BURN)).to.equal(500n);
            expect(await hostile.balanceOf(fx.registryAddress)).to.equal(0n);
        });
    });

    describe("a fee-on-transfer token", function () {
        it("Should refuse the deposit with DepositTransferMismatch and record nothing", async function () {
            const deployed = await loadFixture(deployRegistry);
            const hostile = (await ethers.deployContract("FeeOnTransferToken")) as unknown as FeeOnTransferToken;
            const fx = await registryFor(deployed, hostile);
            const user = fx.users[0]!;
            await hostile.mint(user.address, DEPOSIT);
            await hostile.connect(user).approve(fx.registryAddress, DEPOSIT);
            const identity = new Identity();
            const before = await observe(fx, [identity.commitment], ["0x0000000000000000000000000000000000000FEE"]);
            await expect(fx.registry.connect(user).register(identity.commitment, DEPOSIT))
                .to.be.revertedWithCustomError(fx.registry, "DepositTransferMismatch")
                .withArgs(DEPOSIT, DEPOSIT - DEPOSIT / 100n);
            expect(await observe(fx, [identity.commitment], ["0x0000000000000000000000000000000000000FEE"])).to.deep.equal(before);
            expect(await fx.registry.leafCount()).to.equal(0n);
            expect(await hostile.balanceOf(user.address)).to.equal(DEPOSIT);
        });
    });

    describe("a token with a blocklist (or that refuses the burn address)", function () {
        async function blocklistFixture() {
            const hostile = (await ethers.deployContract("BlocklistToken")) as unknown as BlocklistToken;
            const fx = await registryFor(await deployRegistry(), hostile);
            const u = fx.users;
            const alice = await register(fx, u[0]!, DEPOSIT, fixedIdentity("hostile/blocklist/alice"));
            const bob = await register(fx, u[1]!, DEPOSIT, fixedIdentity("hostile/blocklist/bob"));
            const carol = await register(fx, u[2]!, DEPOSIT, fixedIdentity("hostile/blocklist/carol"));
            const withdrawals: { member: Member; request: WithdrawalRequest }[] = [];
            for (const [member, spent, burned, recipient] of [
                [alice, 4_000n, 500n, u[5]!],
                [carol, 1_000n, 0n, u[6]!]
            ] as [Member, bigint, bigint, HardhatEthersSigner][]) {
                const { request, proof } = await withdrawal(fx, member, { base: signedBase(fx, member, base(spent, burned)), recipient: recipient.address });
                await fx.registry.requestWithdrawal(member.identity.commitment, request, proof);
                withdrawals.push({ member, request });
            }
            await time.increase(fx.parameters.challengeWindow);
            const bobSlash = { receiver: u[7]!.address, proof: await slashing(fx, bob.identity.secret, u[7]!.address) };
            const bobSlashElsewhere = { receiver: u[8]!.address, proof: await slashing(fx, bob.identity.secret, u[8]!.address) };
            return { ...fx, hostile, alice, bob, carol, withdrawals, bobSlash, bobSlashElsewhere };
        }

        it("Should pay the treasury while the token refuses the burn address, keeping burned funds pending", async function () {
            const fx = await loadFixture(blocklistFixture);
            await fx.hostile.setBlocked(BURN, true);
            const [alice, carol] = fx.withdrawals;
            // Users are not affected: the burned part only accrues.
            await expect(fx.registry.finalizeWithdrawal(alice!.member.identity.commitment, alice!.request)).to.changeTokenBalance(fx.hostile, fx.users[5]!, DEPOSIT - 4_500n);
            expect(await fx.registry.pendingBurn()).to.equal(500n);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.hostile, [fx.treasury.address, BURN], [4_000n, 0n]);
            expect(await fx.registry.pendingBurn()).to.equal(500n);
            expect(await fx.registry.pendingTreasury()).to.equal(0n);

            await fx.registry.slash(fx.bob.identity.commitment, fx.bobSlash.receiver, fx.bobSlash.proof);
            await fx.registry.finalizeWithdrawal(carol!.member.identity.commitment, carol!.request);
            await expect(fx.registry.sweep()).to.changeTokenBalance(fx.hostile, fx.treasury.address, DEPOSIT - BOUNTY + 1_000n);
            await expectCustody(fx, [fx.alice, fx.bob, fx.carol].map((m) => m.identity.commitment));

            // Only the burn leg is left, and the token still refuses it.
            await expect(fx.registry.sweep()).to.be.revertedWithCustomError(fx.registry, "SweepRefused").withArgs(0n, 500n);
            await fx.hostile.setBlocked(BURN, false);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.hostile, [fx.treasury.address, BURN], [0n, 500n]);
        });

        it("Should sweep revenue despite a refused burn address while nothing burned is pending (the zero leg is skipped)", async function () {
            const fx = await loadFixture(blocklistFixture);
            await fx.hostile.setBlocked(BURN, true);
            const carol = fx.withdrawals[1]!;
            await fx.registry.finalizeWithdrawal(carol.member.identity.commitment, carol.request);
            await fx.registry.slash(fx.bob.identity.commitment, fx.bobSlash.receiver, fx.bobSlash.proof);
            expect(await fx.registry.pendingBurn()).to.equal(0n);
            await expect(fx.registry.sweep()).to.changeTokenBalance(fx.hostile, fx.treasury.address, 1_000n + DEPOSIT - BOUNTY);
        });

        it("Should never let a refused treasury block a user's withdrawal, a slash bounty or the burn; only its own share waits", async function () {
            const fx = await loadFixture(blocklistFixture);
            await fx.hostile.setBlocked(fx.treasury.address, true);
            const alice = fx.withdrawals[0]!;
            await expect(fx.registry.finalizeWithdrawal(alice.member.identity.commitment, alice.request)).to.changeTokenBalance(fx.hostile, fx.users[5]!, DEPOSIT - 4_500n);
            await expect(fx.registry.slash(fx.bob.identity.commitment, fx.bobSlash.receiver, fx.bobSlash.proof)).to.changeTokenBalance(fx.hostile, fx.users[7]!, BOUNTY);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.hostile, [fx.treasury.address, BURN], [0n, 500n]);
            expect(await fx.registry.pendingTreasury()).to.equal(4_000n + DEPOSIT - BOUNTY);
            await expect(fx.registry.sweep()).to.be.revertedWithCustomError(fx.registry, "SweepRefused").withArgs(4_000n + DEPOSIT - BOUNTY, 0n);
            await expectCustody(fx, [fx.alice, fx.bob, fx.carol].map((m) => m.identity.commitment));
        });

        it("Should settle a withdrawal to a refused recipient at once and owe its refund (v1 locked it until the token accepted the recipient)", async function () {
            const fx = await loadFixture(blocklistFixture);
            const alice = fx.withdrawals[0]!;
            const idc = alice.member.identity.commitment;
            const recipient = alice.request.recipient;
            await fx.hostile.setBlocked(recipient, true);
            await expect(fx.registry.finalizeWithdrawal(idc, alice.request)).to.emit(fx.registry, "RefundDeferred").withArgs(idc, recipient, DEPOSIT - 4_500n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Withdrawn);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.hostile, [fx.treasury.address, BURN], [4_000n, 500n]);
            await expect(fx.registry.claimRefund(recipient)).to.be.revertedWithCustomError(fx.registry, "RefundRefused").withArgs(recipient, DEPOSIT - 4_500n);
            await expectCustody(fx, [fx.alice, fx.bob, fx.carol].map((m) => m.identity.commitment));
            await fx.hostile.setBlocked(recipient, false);
            await expect(fx.registry.connect(fx.users[9]!).claimRefund(recipient)).to.changeTokenBalance(fx.hostile, recipient, DEPOSIT - 4_500n);
            await expectCustody(fx, [fx.alice, fx.bob, fx.carol].map((m) => m.identity.commitment));
        });

        it("Should refuse a slash whose bounty receiver the token refuses, and accept the same slash to another receiver", async function () {
            const fx = await loadFixture(blocklistFixture);
            await fx.hostile.setBlocked(fx.bobSlash.receiver, true);
            await expect(fx.registry.slash(fx.bob.identity.commitment, fx.bobSlash.receiver, fx.bobSlash.proof))
                .to.be.revertedWithCustomError(fx.hostile, "Blocked")
                .withArgs(fx.bobSlash.receiver);
            expect((await fx.registry.deposits(fx.bob.identity.commitment)).status).to.equal(Status.Active);
            await expect(fx.registry.slash(fx.bob.identity.commitment, fx.bobSlashElsewhere.receiver, fx.bobSlashElsewhere.proof)).to.changeTokenBalance(
                fx.hostile,
                fx.bobSlashElsewhere.receiver,
                BOUNTY
            );
            expect((await fx.registry.deposits(fx.bob.identity.commitment)).status).to.equal(Status.Slashed);
        });
    });

    describe("a token that reverts on zero-value transfers", function () {
        it("Should skip zero payouts: a zero refund, a zero bounty (no reserve) and an empty sweep leg", async function () {
            const deployed = await loadFixture(deployRegistry);
            const hostile = (await ethers.deployContract("ZeroTransferRevertingToken")) as unknown as ZeroTransferRevertingToken;
            const fx = await registryFor(deployed, hostile, { reserveBps: 0n });
            const minimum = await fx.registry.minimumDeposit();
            expect(minimum).to.equal(3_000n);
            const spender = await register(fx, fx.users[0]!, minimum, fixedIdentity("hostile/zero/spender"));
            const cheat = await register(fx, fx.users[1]!, minimum, fixedIdentity("hostile/zero/cheat"));

            // No reserve: the whole slashed deposit goes to the treasury, the bounty is zero.
            await expect(fx.registry.slash(cheat.identity.commitment, fx.users[2]!.address, await slashing(fx, cheat.identity.secret, fx.users[2]!.address)))
                .to.emit(fx.registry, "Slashed")
                .withArgs(cheat.identity.commitment, fx.users[2]!.address, 0n, minimum, 0n);
            // Nothing burned yet: the burn leg of the sweep is zero.
            await expect(fx.registry.sweep()).to.changeTokenBalances(hostile, [fx.treasury.address, BURN], [minimum, 0n]);

            // Two tickets (the minimum deposit's K) at full cost with the penalty spend the whole deposit: the refund is zero.
            const { request, proof } = await withdrawal(fx, spender, {
                base: signedBase(fx, spender, GENESIS_BASE),
                charges: [0n, 1n].map((index) => fx.provider.charge(fx.binding, spender.identity, index, { cost: 1_000n, penalty: 500n })),
                recipient: fx.users[3]!.address
            });
            await fx.registry.requestWithdrawal(spender.identity.commitment, request, proof);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(spender.identity.commitment, request))
                .to.emit(fx.registry, "WithdrawalFinalized")
                .withArgs(spender.identity.commitment, fx.users[3]!.address, 0n, 2_000n, 1_000n);
            await expect(fx.registry.sweep()).to.changeTokenBalances(hostile, [fx.treasury.address, BURN], [2_000n, 1_000n]);
            expect(await hostile.balanceOf(fx.registryAddress)).to.equal(0n);
        });
    });
});
