import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { addPoint } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import {
    FOLD_SIZE,
    registryContext,
    registryScope,
    slotNullifiersHash,
    SNARK_SCALAR_FIELD,
    TICKET_WINDOW,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import { readDeployParameters } from "../../deploy/registry-deployment";
import { deployRegistry, MAX_AMOUNT } from "../helpers/registry";
import type { RegistryFixture } from "../helpers/registry";

const p = SNARK_SCALAR_FIELD;

/** circomlib's generator of the whole Baby Jubjub group (order 8·l); small-order keys: test/contracts/attacks.test.ts (8). */
const FULL_ORDER_GENERATOR: Point<bigint> = [
    995203441582195749578291179787384436505546430278305826713579947235728471134n,
    5472060717959818805561601436314318772137091100104008585924551046643952123905n
];
async function deployFixture(): Promise<RegistryFixture> {
    return deployRegistry();
}

describe("CreditRegistry", function () {
    describe("# constructor", function () {
        it("Should expose the deployed parameters, scope and context the circuits expect", async function () {
            const fx = await loadFixture(deployFixture);
            const { registry, parameters } = fx;
            expect(await registry.scope()).to.equal(registryScope(fx.chainId, fx.registryAddress));
            expect(await registry.context()).to.equal(registryContext(fx.binding));
            expect(await registry.providerKey()).to.deep.equal([parameters.providerKeyX, parameters.providerKeyY]);
            expect(await registry.maxCost()).to.equal(parameters.maxCost);
            expect(await registry.policyPenalty()).to.equal(parameters.policyPenalty);
            expect(await registry.reserveBps()).to.equal(parameters.reserveBps);
            expect(await registry.challengeWindow()).to.equal(parameters.challengeWindow);
            expect(await registry.depositTerm()).to.equal(parameters.depositTerm);
            expect(await registry.epochBlocks()).to.equal(parameters.epochBlocks);
            expect(await registry.token()).to.equal(await fx.token.getAddress());
            expect(await registry.treasury()).to.equal(parameters.treasury);
            expect(await registry.owner()).to.equal(parameters.owner);
            expect(await registry.verifiers()).to.deep.equal([fx.verifiers.spend, fx.verifiers.fold, fx.verifiers.withdraw, fx.verifiers.slash]);
            expect(await registry.leafCount()).to.equal(0n);
            expect(await registry.pendingTreasury()).to.equal(0n);
            expect(await registry.pendingBurn()).to.equal(0n);
            expect(await registry.totalRefundsOwed()).to.equal(0n);
            expect(await registry.violationCount()).to.equal(0n);
        });

        it("Should expose the circuits' shape: tree depth 32 (capacity 2^32), ticket window 8, fold size 2", async function () {
            const { registry } = await loadFixture(deployFixture);
            expect(await registry.treeDepth()).to.equal(32n);
            expect(await registry.capacity()).to.equal(1n << 32n);
            expect(await registry.ticketWindow()).to.equal(8n);
            expect(await registry.foldSize()).to.equal(2n);
            expect([TREE_DEPTH, TICKET_WINDOW, FOLD_SIZE]).to.deep.equal([32, 8, 2]);
        });

        it("Should set the minimum deposit to the smallest amount that pays one fold's worth of requests (K) above the reserve", async function () {
            const { registry, parameters } = await loadFixture(deployFixture);
            const minimum = await registry.minimumDeposit();
            const spendable = (amount: bigint): bigint => amount - (amount * parameters.reserveBps) / 10_000n;
            const need = BigInt(FOLD_SIZE) * (parameters.maxCost + parameters.policyPenalty);
            expect(spendable(minimum) >= need).to.equal(true);
            expect(spendable(minimum - 1n) < need).to.equal(true);
        });

        it("Should compute the slot nullifiers hash like the protocol package (Poseidon of two Poseidon quadruples)", async function () {
            const { registry } = await loadFixture(deployFixture);
            const nullifiers = [1n, 0n, 3n, p - 1n, 5n, 6n, 0n, 8n];
            expect(await registry.hashSlotNullifiers(nullifiers)).to.equal(slotNullifiersHash(nullifiers));
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
                epochBlocks: fx.parameters.epochBlocks,
                spendVerifier: fx.verifiers.spend,
                foldVerifier: fx.verifiers.fold,
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

            it("Should deploy with valid parameters, and take no tree depth (it is the circuit's)", async function () {
                const contract = await factory();
                const registry = await contract.deploy(await base());
                expect(await registry.context()).to.not.equal(await fx.registry.context());
                const constructorInputs = contract.interface.deploy.inputs[0]!.components!.map((c) => c.name);
                expect(constructorInputs).to.deep.equal([
                    "token",
                    "treasury",
                    "providerKeyX",
                    "providerKeyY",
                    "maxCost",
                    "policyPenalty",
                    "reserveBps",
                    "challengeWindow",
                    "depositTerm",
                    "epochBlocks",
                    "spendVerifier",
                    "foldVerifier",
                    "withdrawVerifier",
                    "slashVerifier",
                    "owner"
                ]);
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
                await expectRevert({ providerKeyX: x + p }, "InvalidProviderKey", [x + p, y]);
                await expectRevert({ providerKeyY: y + p }, "InvalidProviderKey", [x, y + p]);
            });

            it("Should accept a key outside the prime-order subgroup that is not of small order (only 8·A = O is refused)", async function () {
                const contract = await factory();
                const mixed = addPoint(FULL_ORDER_GENERATOR, [fx.parameters.providerKeyX, fx.parameters.providerKeyY]);
                const registry = await contract.deploy({ ...(await base()), providerKeyX: mixed[0], providerKeyY: mixed[1] });
                expect(await registry.providerKey()).to.deep.equal([mixed[0], mixed[1]]);
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

            it("Should revert with InvalidEpochBlocks for zero", async function () {
                await expectRevert({ epochBlocks: 0n }, "InvalidEpochBlocks", [0n]);
            });

            it("Should revert with InvalidVerifier for any of the four verifiers without code", async function () {
                const eoa = fx.users[1]!.address;
                await expectRevert({ spendVerifier: eoa }, "InvalidVerifier", [eoa]);
                await expectRevert({ foldVerifier: eoa }, "InvalidVerifier", [eoa]);
                await expectRevert({ withdrawVerifier: eoa }, "InvalidVerifier", [eoa]);
                await expectRevert({ slashVerifier: eoa }, "InvalidVerifier", [eoa]);
            });

            it("Should revert with OwnableInvalidOwner for the zero owner", async function () {
                await expectRevert({ owner: ethers.ZeroAddress }, "OwnableInvalidOwner", [ethers.ZeroAddress]);
            });
        });
    });

    describe("# deploy parameters", function () {
        it("Should refuse a parameters file that still sets treeDepth (the depth is the circuit's)", function () {
            const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-parameters-"));
            const file = path.join(dir, "parameters.json");
            const local = { maxCost: "1000", policyPenalty: "500", reserveBps: 1000, challengeWindow: 3600, depositTerm: 7776000, epochBlocks: 1 };
            writeFileSync(file, JSON.stringify(local));
            expect(readDeployParameters(file).epochBlocks).to.equal(1n);
            writeFileSync(file, JSON.stringify({ ...local, treeDepth: 20 }));
            expect(() => readDeployParameters(file)).to.throw(/treeDepth is no parameter any more \(the tree depth is 32/);
            writeFileSync(file, JSON.stringify({ ...local, epochBlocks: undefined }));
            expect(() => readDeployParameters(file)).to.throw(/epochBlocks is missing/);
        });
    });
});
