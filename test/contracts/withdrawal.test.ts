import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { GENESIS_STATE, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import { deployRegistry, register, signedState, spending, withdrawal } from "../helpers/registry";
import type { Member, RegistryFixture, SignedState, WithdrawalRequest } from "../helpers/registry";
import { TestProvider } from "../helpers/scenario";

const WITHDRAWING = 2n;
const WITHDRAWN = 3n;
const SLASHED = 4n;
const DEPOSIT = 100_000n;

interface WithdrawFixture extends RegistryFixture {
    alice: Member;
    bob: Member;
    aliceState: SignedState;
}

/** Two members; Alice has made 6 requests (signed state), Bob none. */
async function membersFixture(): Promise<WithdrawFixture> {
    const fx = await deployRegistry();
    const alice = await register(fx, fx.users[0]!, DEPOSIT);
    const bob = await register(fx, fx.users[1]!, DEPOSIT);
    const aliceState = signedState(fx, alice, { spent: 12_345n, burned: 500n, seq: 6n });
    return { ...fx, alice, bob, aliceState };
}

function requestHash(request: WithdrawalRequest): string {
    return ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
            ["uint256", "address", "uint96", "uint96"],
            [request.nullifier, request.recipient, request.spent, request.burned]
        )
    );
}

describe("CreditRegistry", function () {
    describe("# requestWithdrawal", function () {
        it("Should start a withdrawal of the latest signed state, bound to the recipient", async function () {
            const fx = await loadFixture(membersFixture);
            const recipient = fx.users[5]!.address;
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, recipient);
            const tx = fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof);
            const finalizableAt = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 1n + fx.parameters.challengeWindow;
            await expect(tx)
                .to.emit(fx.registry, "WithdrawalRequested")
                .withArgs(fx.alice.identity.commitment, request.nullifier, recipient, 12_345n, 500n, finalizableAt);
            const record = await fx.registry.deposits(fx.alice.identity.commitment);
            expect(record.status).to.equal(WITHDRAWING);
            expect(record.withdrawalRequestedAt).to.equal(finalizableAt - fx.parameters.challengeWindow);
            expect(await fx.registry.withdrawalCommitments(fx.alice.identity.commitment)).to.equal(requestHash(request));
        });

        it("Should accept the genesis state of a member who never made a request", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.bob, signedState(fx, fx.bob, GENESIS_STATE), fx.users[1]!.address);
            await expect(fx.registry.requestWithdrawal(fx.bob.identity.commitment, request, proof)).to.emit(fx.registry, "WithdrawalRequested");
        });

        it("Should revert with UnexpectedDepositStatus for an unknown identity or a second request", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address);
            await expect(fx.registry.requestWithdrawal(12345n, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(12345n, 0n);
            await fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof);
            await expect(fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.alice.identity.commitment, WITHDRAWING);
        });

        it("Should revert with InvalidRecipient, InvalidNullifier and TotalsExceedDeposit on malformed requests", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address);
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.requestWithdrawal(idc, { ...request, recipient: ethers.ZeroAddress }, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidRecipient")
                .withArgs(ethers.ZeroAddress);
            for (const nullifier of [0n, SNARK_SCALAR_FIELD, request.nullifier + SNARK_SCALAR_FIELD]) {
                await expect(fx.registry.requestWithdrawal(idc, { ...request, nullifier }, proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidNullifier")
                    .withArgs(nullifier);
            }
            await expect(fx.registry.requestWithdrawal(idc, { ...request, spent: DEPOSIT, burned: 1n }, proof))
                .to.be.revertedWithCustomError(fx.registry, "TotalsExceedDeposit")
                .withArgs(DEPOSIT, 1n, DEPOSIT);
        });

        it("Should revert with InvalidWithdrawProof for altered totals, recipient or identity", async function () {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address);
            const idc = fx.alice.identity.commitment;
            for (const altered of [
                { ...request, spent: 0n },
                { ...request, burned: 0n },
                { ...request, recipient: fx.users[6]!.address },
                { ...request, nullifier: request.nullifier + 1n }
            ]) {
                await expect(fx.registry.requestWithdrawal(idc, altered, proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                    .withArgs(idc);
            }
            await expect(fx.registry.requestWithdrawal(fx.bob.identity.commitment, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(fx.bob.identity.commitment);
        });

        it("Should revert with InvalidWithdrawProof for a proof bound to another registry or provider key", async function () {
            const fx = await loadFixture(membersFixture);
            const idc = fx.alice.identity.commitment;
            const otherScope = { ...fx.binding, scope: fx.binding.scope + 1n };
            const other = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address, otherScope);
            await expect(fx.registry.requestWithdrawal(idc, other.request, other.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(idc);
            const rogue = new TestProvider();
            const forged = { ...fx.aliceState, signature: rogue.sign({ spent: 0n, burned: 0n, seq: 6n }, idc, fx.aliceState.blinding) };
            const rogueKey = await withdrawal(
                fx,
                fx.alice,
                { ...forged, state: { spent: 0n, burned: 0n, seq: 6n } },
                fx.users[5]!.address,
                { ...fx.binding, providerKey: rogue.publicKey }
            );
            await expect(fx.registry.requestWithdrawal(idc, rogueKey.request, rogueKey.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof")
                .withArgs(idc);
        });

        it("Should give a front-runner nothing: a copied request pays the same recipient", async function () {
            const fx = await loadFixture(membersFixture);
            const recipient = fx.users[5]!.address;
            const attacker = fx.users[7]!;
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, recipient);
            await expect(fx.registry.connect(attacker).requestWithdrawal(fx.alice.identity.commitment, { ...request, recipient: attacker.address }, proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidWithdrawProof");
            await fx.registry.connect(attacker).requestWithdrawal(fx.alice.identity.commitment, request, proof);
            await expect(fx.registry.connect(fx.alice.signer).requestWithdrawal(fx.alice.identity.commitment, request, proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus");
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.connect(attacker).finalizeWithdrawal(fx.alice.identity.commitment, request)).to.changeTokenBalances(
                fx.token,
                [recipient, attacker.address],
                [DEPOSIT - 12_345n - 500n, 0n]
            );
        });
    });

    describe("# finalizeWithdrawal", function () {
        async function requested(): Promise<WithdrawFixture & { request: WithdrawalRequest }> {
            const fx = await loadFixture(membersFixture);
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address);
            await fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof);
            return { ...fx, request };
        }

        it("Should pay deposit - spent - burned to the recipient and accrue spent and burned, to the unit", async function () {
            const fx = await requested();
            const idc = fx.alice.identity.commitment;
            await time.increase(fx.parameters.challengeWindow);
            const tx = fx.registry.connect(fx.users[9]!).finalizeWithdrawal(idc, fx.request);
            await expect(tx)
                .to.emit(fx.registry, "WithdrawalFinalized")
                .withArgs(idc, fx.request.recipient, DEPOSIT - 12_845n, 12_345n, 500n);
            await expect(tx).to.changeTokenBalances(fx.token, [fx.request.recipient, await fx.registry.getAddress()], [DEPOSIT - 12_845n, -(DEPOSIT - 12_845n)]);
            expect(await fx.registry.pendingTreasury()).to.equal(12_345n);
            expect(await fx.registry.pendingBurn()).to.equal(500n);
            expect((await fx.registry.deposits(idc)).status).to.equal(WITHDRAWN);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            expect(await fx.token.balanceOf(await fx.registry.getAddress())).to.equal(DEPOSIT + 12_845n);
        });

        it("Should revert with ChallengeWindowOpen before the window has passed", async function () {
            const fx = await requested();
            const record = await fx.registry.deposits(fx.alice.identity.commitment);
            const finalizableAt = record.withdrawalRequestedAt + fx.parameters.challengeWindow;
            await time.setNextBlockTimestamp(finalizableAt - 1n);
            await expect(fx.registry.finalizeWithdrawal(fx.alice.identity.commitment, fx.request))
                .to.be.revertedWithCustomError(fx.registry, "ChallengeWindowOpen")
                .withArgs(fx.alice.identity.commitment, finalizableAt);
        });

        it("Should revert with WithdrawalRequestMismatch for any field other than requested", async function () {
            const fx = await requested();
            await time.increase(fx.parameters.challengeWindow);
            const idc = fx.alice.identity.commitment;
            for (const altered of [
                { ...fx.request, spent: 0n },
                { ...fx.request, burned: 0n },
                { ...fx.request, recipient: fx.users[8]!.address },
                { ...fx.request, nullifier: 1n }
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
                .withArgs(fx.alice.identity.commitment, WITHDRAWN);
            await expect(fx.registry.finalizeWithdrawal(fx.bob.identity.commitment, fx.request))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.bob.identity.commitment, 1n);
        });
    });

    describe("# challengeWithdrawal", function () {
        /** Alice spent ticket 6 (the provider holds that Spend proof), then withdraws with state 6. */
        async function staleWithdrawal() {
            const fx = await loadFixture(membersFixture);
            const spend = await spending(fx, fx.alice, fx.aliceState, 424242n);
            const { request, proof } = await withdrawal(fx, fx.alice, fx.aliceState, fx.users[5]!.address);
            await fx.registry.requestWithdrawal(fx.alice.identity.commitment, request, proof);
            return { ...fx, request, spend };
        }

        it("Should send the whole deposit to the treasury when the withdrawn state's ticket was spent", async function () {
            const fx = await staleWithdrawal();
            const idc = fx.alice.identity.commitment;
            expect(fx.spend.nullifier).to.equal(fx.request.nullifier);
            const challenger = fx.users[9]!;
            await expect(fx.registry.connect(challenger).challengeWithdrawal(idc, fx.request, fx.spend.signals, fx.spend.proof))
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(idc, fx.request.nullifier, challenger.address, DEPOSIT);
            expect((await fx.registry.deposits(idc)).status).to.equal(SLASHED);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT);
            expect(await fx.registry.withdrawalCommitments(idc)).to.equal(ethers.ZeroHash);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(idc, fx.request))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, SLASHED);
        });

        it("Should revert with InvalidChallengeProof for a Spend proof of another ticket or with altered signals", async function () {
            const fx = await staleWithdrawal();
            const idc = fx.alice.identity.commitment;
            const otherTicket = await spending(fx, fx.alice, signedState(fx, fx.alice, { spent: 1n, burned: 0n, seq: 5n }), 1n);
            await expect(fx.registry.challengeWithdrawal(idc, fx.request, otherTicket.signals, otherTicket.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                .withArgs(idc);
            for (const key of ["root", "rerandomisedStateX", "rerandomisedStateY", "y", "x"] as const) {
                const altered = { ...fx.spend.signals, [key]: (BigInt(fx.spend.signals[key]) + 1n) % SNARK_SCALAR_FIELD };
                await expect(fx.registry.challengeWithdrawal(idc, fx.request, altered, fx.spend.proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                    .withArgs(idc);
            }
        });

        it("Should revert with InvalidChallengeProof for a Spend proof bound to another registry context", async function () {
            const fx = await staleWithdrawal();
            const foreign = await spending(fx, fx.alice, fx.aliceState, 99n, { ...fx.binding, terms: { ...fx.binding.terms, maxCost: 1n } });
            await expect(fx.registry.challengeWithdrawal(fx.alice.identity.commitment, fx.request, foreign.signals, foreign.proof))
                .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                .withArgs(fx.alice.identity.commitment);
        });

        it("Should revert with ChallengeWindowClosed once the window has passed", async function () {
            const fx = await staleWithdrawal();
            const record = await fx.registry.deposits(fx.alice.identity.commitment);
            const closedAt = record.withdrawalRequestedAt + fx.parameters.challengeWindow;
            await time.setNextBlockTimestamp(closedAt);
            await expect(fx.registry.challengeWithdrawal(fx.alice.identity.commitment, fx.request, fx.spend.signals, fx.spend.proof))
                .to.be.revertedWithCustomError(fx.registry, "ChallengeWindowClosed")
                .withArgs(fx.alice.identity.commitment, closedAt);
        });

        it("Should revert with WithdrawalRequestMismatch or UnexpectedDepositStatus for the wrong withdrawal", async function () {
            const fx = await staleWithdrawal();
            const idc = fx.alice.identity.commitment;
            await expect(fx.registry.challengeWithdrawal(idc, { ...fx.request, nullifier: fx.spend.nullifier + 1n }, fx.spend.signals, fx.spend.proof))
                .to.be.revertedWithCustomError(fx.registry, "WithdrawalRequestMismatch")
                .withArgs(idc);
            await expect(fx.registry.challengeWithdrawal(fx.bob.identity.commitment, fx.request, fx.spend.signals, fx.spend.proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(fx.bob.identity.commitment, 1n);
        });
    });
});
