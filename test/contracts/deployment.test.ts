import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { registryContext, registryScope } from "@zk-api-credits/protocol";
import { deployRegistry } from "../helpers/registry";
import type { RegistryFixture } from "../helpers/registry";

const MAX_AMOUNT = (1n << 96n) - 1n;


async function deployFixture(): Promise<RegistryFixture> {
    return deployRegistry();
}

describe("CreditRegistry", function () {
    describe("# constructor", function () {
        it("Should expose the deployed parameters, scope and context the circuits expect", async function () {
            const fx = await loadFixture(deployFixture);
            const { registry, parameters } = fx;
            const address = await registry.getAddress();
            expect(await registry.scope()).to.equal(registryScope(fx.chainId, address));
            expect(await registry.context()).to.equal(registryContext(fx.binding));
            expect(await registry.providerKey()).to.deep.equal([parameters.providerKeyX, parameters.providerKeyY]);
            expect(await registry.maxCost()).to.equal(parameters.maxCost);
            expect(await registry.policyPenalty()).to.equal(parameters.policyPenalty);
            expect(await registry.reserveBps()).to.equal(parameters.reserveBps);
            expect(await registry.challengeWindow()).to.equal(parameters.challengeWindow);
            expect(await registry.depositTerm()).to.equal(parameters.depositTerm);
            expect(await registry.treeDepth()).to.equal(parameters.treeDepth);
            expect(await registry.capacity()).to.equal(1n << parameters.treeDepth);
            expect(await registry.token()).to.equal(await fx.token.getAddress());
            expect(await registry.treasury()).to.equal(parameters.treasury);
            expect(await registry.owner()).to.equal(parameters.owner);
            expect(await registry.verifiers()).to.deep.equal([fx.verifiers.spend, fx.verifiers.withdraw, fx.verifiers.slash]);
            expect(await registry.leafCount()).to.equal(0n);
            expect(await registry.pendingTreasury()).to.equal(0n);
            expect(await registry.pendingBurn()).to.equal(0n);
        });

        it("Should set the minimum deposit to the smallest amount that pays one request above the reserve", async function () {
            const { registry, parameters } = await loadFixture(deployFixture);
            const minimum = await registry.minimumDeposit();
            const spendable = (amount: bigint): bigint => amount - (amount * parameters.reserveBps) / 10_000n;
            const need = parameters.maxCost + parameters.policyPenalty;
            expect(spendable(minimum) >= need).to.equal(true);
            expect(spendable(minimum - 1n) < need).to.equal(true);
        });

        describe("parameter validation", function () {
            let fx: RegistryFixture;
            type Config = Parameters<Awaited<ReturnType<typeof factory>>["deploy"]>[0];
            const factory = () => ethers.getContractFactory("CreditRegistry", { libraries: fx.libraries });
            const base = async (): Promise<Config> => ({
                token: await fx.token.getAddress(),
                treasury: fx.parameters.treasury,
                providerKeyX: fx.parameters.providerKeyX,
                providerKeyY: fx.parameters.providerKeyY,
                maxCost: fx.parameters.maxCost,
                policyPenalty: fx.parameters.policyPenalty,
                reserveBps: fx.parameters.reserveBps,
                challengeWindow: fx.parameters.challengeWindow,
                depositTerm: fx.parameters.depositTerm,
                treeDepth: fx.parameters.treeDepth,
                spendVerifier: fx.verifiers.spend,
                withdrawVerifier: fx.verifiers.withdraw,
                slashVerifier: fx.verifiers.slash,
                owner: fx.parameters.owner
            });

            before(async function () {
                fx = await loadFixture(deployFixture);
            });

            async function expectRevert(changes: Partial<Config>, error: string, args: unknown[]): Promise<void> {
                const contract = await factory();
                await expect(contract.deploy({ ...(await base()), ...changes }))
                    .to.be.revertedWithCustomError(contract, error)
                    .withArgs(...args);
            }

            it("Should deploy with valid parameters", async function () {
                const contract = await factory();
                const registry = await contract.deploy(await base());
                expect(await registry.context()).to.not.equal(await fx.registry.context());
            });

            it("Should revert with InvalidToken for an address without code", async function () {
                await expectRevert({ token: fx.users[0]!.address }, "InvalidToken", [fx.users[0]!.address]);
            });

            it("Should revert with InvalidTreasury for the zero address", async function () {
                await expectRevert({ treasury: ethers.ZeroAddress }, "InvalidTreasury", [ethers.ZeroAddress]);
            });

            it("Should revert with InvalidProviderKey for a point off the curve, the neutral point or a non-canonical point", async function () {
                const { providerKeyX: x, providerKeyY: y } = fx.parameters;
                await expectRevert({ providerKeyX: x + 1n }, "InvalidProviderKey", [x + 1n, y]);
                await expectRevert({ providerKeyX: 0n, providerKeyY: 1n }, "InvalidProviderKey", [0n, 1n]);
                const p = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
                await expectRevert({ providerKeyX: x + p }, "InvalidProviderKey", [x + p, y]);
            });

            it("Should revert with InvalidMaxCost for zero", async function () {
                await expectRevert({ maxCost: 0n }, "InvalidMaxCost", [0n]);
            });

            it("Should revert with InvalidMaxCost when no deposit could ever pay one request", async function () {
                await expectRevert({ maxCost: MAX_AMOUNT, reserveBps: 5_000n }, "InvalidMaxCost", [MAX_AMOUNT]);
            });

            it("Should revert with InvalidReserve at 100 % or more", async function () {
                await expectRevert({ reserveBps: 10_000n }, "InvalidReserve", [10_000n]);
            });

            it("Should revert with InvalidChallengeWindow for zero or more than 30 days", async function () {
                await expectRevert({ challengeWindow: 0n }, "InvalidChallengeWindow", [0n, 30n * 86_400n]);
                await expectRevert({ challengeWindow: 30n * 86_400n + 1n }, "InvalidChallengeWindow", [30n * 86_400n + 1n, 30n * 86_400n]);
            });

            it("Should revert with InvalidDepositTerm unless the term outlasts the challenge window", async function () {
                const window = fx.parameters.challengeWindow;
                await expectRevert({ depositTerm: window }, "InvalidDepositTerm", [window, window]);
            });

            it("Should revert with InvalidTreeDepth for 0 or above 32", async function () {
                await expectRevert({ treeDepth: 0n }, "InvalidTreeDepth", [0n, 32n]);
                await expectRevert({ treeDepth: 33n }, "InvalidTreeDepth", [33n, 32n]);
            });

            it("Should revert with InvalidVerifier for a verifier without code", async function () {
                const eoa = fx.users[1]!.address;
                await expectRevert({ spendVerifier: eoa }, "InvalidVerifier", [eoa]);
                await expectRevert({ withdrawVerifier: eoa }, "InvalidVerifier", [eoa]);
                await expectRevert({ slashVerifier: eoa }, "InvalidVerifier", [eoa]);
            });

            it("Should revert with OwnableInvalidOwner for the zero owner", async function () {
                await expectRevert({ owner: ethers.ZeroAddress }, "OwnableInvalidOwner", [ethers.ZeroAddress]);
            });
        });
    });
});
