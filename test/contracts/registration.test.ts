import { expect } from "chai";
import { ethers, ignition } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { GENESIS_CHECKPOINT, Identity, nextCheckpoint, RegistryTree, SNARK_SCALAR_FIELD } from "@zk-api-credits/protocol";
import CreditRegistryModule from "../../deploy/modules/CreditRegistry";
import type { CreditRegistry, FeeOnTransferToken } from "../../typechain-types";
import { deployRegistry, MAX_AMOUNT, register, setLeafCount, Status, treeFromEvents } from "../helpers/registry";
import type { RegistryFixture } from "../helpers/registry";

const ACTIVE = Status.Active;

async function deployFixture(): Promise<RegistryFixture> {
    return deployRegistry();
}

/** The checkpoint a client computes over the events it has, in the order it has them. */
function chain(registrations: readonly { identityCommitment: bigint; amount: bigint }[]): string {
    return registrations.reduce((c, r) => nextCheckpoint(c, r.identityCommitment, r.amount), GENESIS_CHECKPOINT);
}

describe("CreditRegistry", function () {
    describe("# register", function () {
        it("Should take the deposit, record it and emit everything needed to rebuild the tree", async function () {
            const { registry, token, users } = await loadFixture(deployFixture);
            const user = users[0]!;
            const identity = new Identity();
            await token.mint(user.address, 50_000n);
            await token.connect(user).approve(await registry.getAddress(), 50_000n);
            const checkpoint = nextCheckpoint(GENESIS_CHECKPOINT, identity.commitment, 50_000n);

            const tx = registry.connect(user).register(identity.commitment, 50_000n);
            await expect(tx).to.emit(registry, "Registered").withArgs(identity.commitment, 0n, 50_000n, checkpoint);
            await expect(tx).to.changeTokenBalances(token, [user, registry], [-50_000n, 50_000n]);

            const record = await registry.deposits(identity.commitment);
            expect(record.amount).to.equal(50_000n);
            expect(record.status).to.equal(ACTIVE);
            expect(record.leafIndex).to.equal(0n);
            expect(record.withdrawalRequestedAt).to.equal(0n);
            expect(record.registeredAt).to.equal(BigInt((await ethers.provider.getBlock("latest"))!.timestamp));
            expect(await registry.leafCount()).to.equal(1n);
            expect(await registry.checkpointAt(1n)).to.equal(checkpoint);
        });

        it("Should revert with InvalidIdentityCommitment for zero or a non-canonical value", async function () {
            const { registry, users } = await loadFixture(deployFixture);
            for (const bad of [0n, SNARK_SCALAR_FIELD, SNARK_SCALAR_FIELD + 1n]) {
                await expect(registry.connect(users[0]!).register(bad, 10_000n))
                    .to.be.revertedWithCustomError(registry, "InvalidIdentityCommitment")
                    .withArgs(bad);
            }
        });

        it("Should revert with InvalidDepositAmount below the minimum or above 2^96 - 1", async function () {
            const { registry, users } = await loadFixture(deployFixture);
            const minimum = await registry.minimumDeposit();
            for (const amount of [0n, minimum - 1n, MAX_AMOUNT + 1n]) {
                await expect(registry.connect(users[0]!).register(new Identity().commitment, amount))
                    .to.be.revertedWithCustomError(registry, "InvalidDepositAmount")
                    .withArgs(amount, minimum, MAX_AMOUNT);
            }
        });

        it("Should accept the minimum deposit and the largest one", async function () {
            const fx = await loadFixture(deployFixture);
            await register(fx, fx.users[0]!, await fx.registry.minimumDeposit());
            await register(fx, fx.users[1]!, MAX_AMOUNT);
            expect(await fx.registry.leafCount()).to.equal(2n);
        });

        it("Should revert with IdentityAlreadyRegistered for a second deposit under one identity", async function () {
            const fx = await loadFixture(deployFixture);
            const member = await register(fx, fx.users[0]!, 10_000n);
            await fx.token.mint(fx.users[1]!.address, 10_000n);
            await fx.token.connect(fx.users[1]!).approve(await fx.registry.getAddress(), 10_000n);
            await expect(fx.registry.connect(fx.users[1]!).register(member.identity.commitment, 10_000n))
                .to.be.revertedWithCustomError(fx.registry, "IdentityAlreadyRegistered")
                .withArgs(member.identity.commitment);
        });

        it("Should fill the tree of the Spend circuit to its 2^32 leaves, then revert with RegistryFull(2^32)", async function () {
            const fx = await loadFixture(deployFixture);
            await register(fx, fx.users[0]!, 10_000n);
            // Registering 2^32 deposits is out of reach: jump the leaf count to the last free leaf.
            await setLeafCount(fx, (1n << 32n) - 1n);
            const last = await register(fx, fx.users[1]!, 10_000n);
            expect(last.leafIndex).to.equal(2 ** 32 - 1);
            expect(await fx.registry.leafCount()).to.equal(1n << 32n);
            expect((await fx.registry.deposits(last.identity.commitment)).leafIndex).to.equal((1n << 32n) - 1n);
            await fx.token.mint(fx.users[2]!.address, 10_000n);
            await fx.token.connect(fx.users[2]!).approve(fx.registryAddress, 10_000n);
            await expect(fx.registry.connect(fx.users[2]!).register(new Identity().commitment, 10_000n))
                .to.be.revertedWithCustomError(fx.registry, "RegistryFull")
                .withArgs(1n << 32n);
        });

        it("Should revert when the deposit was not approved (the token's own error)", async function () {
            const { registry, token, users } = await loadFixture(deployFixture);
            await token.mint(users[0]!.address, 10_000n);
            await expect(registry.connect(users[0]!).register(new Identity().commitment, 10_000n))
                .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
                .withArgs(await registry.getAddress(), 0n, 10_000n);
        });

        it("Should revert with DepositTransferMismatch for a fee-on-transfer token", async function () {
            const fx = await loadFixture(deployFixture);
            const feeToken = (await ethers.deployContract("FeeOnTransferToken")) as unknown as FeeOnTransferToken;
            const { registry } = (await ignition.deploy(CreditRegistryModule, {
                parameters: { CreditRegistry: { ...fx.parameters, token: await feeToken.getAddress() } }
            })) as unknown as { registry: CreditRegistry };
            const user = fx.users[0]!;
            await feeToken.mint(user.address, 10_000n);
            await feeToken.connect(user).approve(await registry.getAddress(), 10_000n);
            await expect(registry.connect(user).register(new Identity().commitment, 10_000n))
                .to.be.revertedWithCustomError(registry, "DepositTransferMismatch")
                .withArgs(10_000n, 9_900n);
        });
    });

    describe("# checkpoint", function () {
        it("Should start from zero and revert with UnknownCheckpoint beyond the leaf count", async function () {
            const fx = await loadFixture(deployFixture);
            expect(await fx.registry.checkpointAt(0n)).to.equal(GENESIS_CHECKPOINT);
            await register(fx, fx.users[0]!, 10_000n);
            await expect(fx.registry.checkpointAt(2n)).to.be.revertedWithCustomError(fx.registry, "UnknownCheckpoint").withArgs(2n, 1n);
        });

        it("Should match the tree and hash chain a client rebuilds from the events (random registrations)", async function () {
            const fx = await loadFixture(deployFixture);
            const registrations: { identityCommitment: bigint; amount: bigint }[] = [];
            const reference = new RegistryTree();
            for (let i = 0; i < 24; i++) {
                const amount = 10_000n + BigInt(Math.floor(Math.random() * 1e9));
                const member = await register(fx, fx.users[i % fx.users.length]!, amount);
                registrations.push({ identityCommitment: member.identity.commitment, amount });
                reference.insert(member.identity.commitment, amount);
                expect(member.leafIndex).to.equal(i);
                expect(await fx.registry.checkpointAt(BigInt(i + 1))).to.equal(chain(registrations));
            }
            const rebuilt = await treeFromEvents(fx.registry);
            expect(rebuilt.root).to.equal(reference.root);
            expect(rebuilt.size).to.equal(24);
        });

        it("Should expose a withheld or reordered event: the client's chain no longer matches", async function () {
            const fx = await loadFixture(deployFixture);
            const registrations: { identityCommitment: bigint; amount: bigint }[] = [];
            for (let i = 0; i < 6; i++) {
                const member = await register(fx, fx.users[i]!, 10_000n + BigInt(i));
                registrations.push({ identityCommitment: member.identity.commitment, amount: member.amount });
            }
            const onChain = await fx.registry.checkpointAt(6n);
            expect(chain(registrations)).to.equal(onChain);
            const withheld = registrations.filter((_, i) => i !== 3);
            expect(await fx.registry.checkpointAt(BigInt(withheld.length))).to.not.equal(chain(withheld));
            const reordered = [registrations[1]!, registrations[0]!, ...registrations.slice(2)];
            expect(chain(reordered)).to.not.equal(onChain);
            const altered = registrations.map((r, i) => (i === 2 ? { ...r, amount: r.amount + 1n } : r));
            expect(chain(altered)).to.not.equal(onChain);
        });
    });
});
