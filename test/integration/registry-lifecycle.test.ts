import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { getAddress } from "ethers";
import type { JsonRpcSigner } from "ethers";
import {
    baseBlinding,
    ephemeralKeyBinding,
    foldBase,
    foldInputs,
    foldPublicSignals,
    GENESIS_BASE,
    Identity,
    parseDeployment,
    recoverSecret,
    RegistryTree,
    requestSigner,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    TICKET_WINDOW,
    ticketBlinding,
    TREE_DEPTH,
    withdrawalClaim,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { BaseState, ChargeAmounts, RegistryBinding, RegistryDeployment, SignedBase, SignedCharge, WithdrawWitness } from "@zk-api-credits/protocol";
import { CreditRegistry__factory, TestToken__factory } from "../../typechain-types";
import type { CreditRegistry, TestToken } from "../../typechain-types";
import { advanceTime, runHardhat, startAnvil, startHardhatNode } from "../../scripts/lib/local-node";
import type { LocalNode } from "../../scripts/lib/local-node";
import { BURN_ADDRESS, prove, settlement } from "../helpers/registry";
import type { WithdrawalRequest } from "../helpers/registry";
import { TestProvider } from "../helpers/scenario";

const DEPOSIT = 10n ** 19n; // 10 tokens
const CENT = 10n ** 16n;

/** A user as the protocol sees one: identity, signer, leaf, the charges it holds. */
interface User {
    identity: Identity;
    signer: JsonRpcSigner;
    leafIndex: number;
}

// Deploys with the deploy task over JSON-RPC to a real node process, then runs the registry's
// whole life: registrations, a double-spend slashed with the secret recovered from two shares,
// a withdrawal from a folded base challenged with the recorded Fold proof, an honest withdrawal
// with a declared slot paid to the unit, the sweep.
for (const [kind, start] of [
    ["hardhat node", startHardhatNode],
    ["anvil", startAnvil]
] as const) {
    describe(`Registry lifecycle against a real ${kind}`, function () {
        let node: LocalNode;
        let deployment: RegistryDeployment;
        let registry: CreditRegistry;
        let token: TestToken;
        let binding: RegistryBinding;
        let treasury: JsonRpcSigner;
        const provider = new TestProvider();
        const users: User[] = [];

        before(async function () {
            node = await start();
            const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-lifecycle-"));
            const keyFile = path.join(dir, "provider-key.json");
            writeFileSync(keyFile, JSON.stringify({ publicKey: provider.publicKey.map(String) }));
            treasury = await node.provider.getSigner(1);
            const parametersFile = path.join(dir, "parameters.json");
            const local = JSON.parse(readFileSync(path.resolve(__dirname, "../../deploy/parameters/local.json"), "utf8")) as object;
            writeFileSync(parametersFile, JSON.stringify({ ...local, treasury: treasury.address, owner: (await node.provider.getSigner(2)).address }));
            const out = path.join(dir, "deployment.json");
            const output = await runHardhat(
                ["deploy-registry", "--network", node.hardhatNetwork, "--provider-key", keyFile, "--parameters", parametersFile, "--out", out],
                node.env
            );
            expect(output).to.match(/deploy: registry 0x[0-9a-fA-F]{40}/);
            deployment = parseDeployment(readFileSync(out, "utf8"));
            const deployer = await node.provider.getSigner(0);
            registry = CreditRegistry__factory.connect(deployment.contracts.registry, deployer);
            token = TestToken__factory.connect(deployment.contracts.token, deployer);
            binding = { scope: deployment.parameters.scope, providerKey: deployment.parameters.providerKey, terms: deployment.parameters };
        });

        after(async function () {
            await node?.stop();
        });

        it("Should write a deployment file with the four verifiers and the circuits' shape", async function () {
            const p = deployment.parameters;
            expect([p.epochBlocks, p.treeDepth, p.ticketWindow, p.foldSize]).to.deep.equal([1, 32, 8, 2]);
            expect(await registry.verifiers()).to.deep.equal([
                deployment.contracts.spendVerifier,
                deployment.contracts.foldVerifier,
                deployment.contracts.withdrawVerifier,
                deployment.contracts.slashVerifier
            ]);
            expect(await registry.epochBlocks()).to.equal(1n);
            expect(await registry.context()).to.equal(p.context);
            expect(await registry.minimumDeposit()).to.equal(p.minimumDeposit);
        });

        async function tree(): Promise<RegistryTree> {
            const events = await registry.queryFilter(registry.filters.Registered(), deployment.deploymentBlock);
            const rebuilt = new RegistryTree();
            rebuilt.insertMany(events.map((e) => ({ identityCommitment: e.args.identityCommitment, deposit: e.args.amount })));
            return rebuilt;
        }

        function signed(user: User, base: BaseState): SignedBase {
            return provider.signBase(binding, user.identity, base);
        }

        function charges(user: User, first: bigint, amounts: readonly ChargeAmounts[]): SignedCharge[] {
            return amounts.map((a, i) => provider.charge(binding, user.identity, first + BigInt(i), a));
        }

        /** Ticket `index` on `base`, proved with request binding `x` (by default the ticket's own request key). */
        async function spend(user: User, base: SignedBase, index: bigint, x?: bigint) {
            const inputs = spendInputs({
                secret: user.identity.secret,
                deposit: DEPOSIT,
                merkleProof: (await tree()).merkleProof(user.leafIndex, TREE_DEPTH),
                base,
                index,
                ticketBlinding: ticketBlinding(user.identity.secret, binding.scope, index),
                registry: binding,
                x: x ?? ephemeralKeyBinding(requestSigner(user.identity.secret, binding.scope, index).publicKey)
            });
            const { proof, publicSignals } = await prove("spend-32", inputs);
            const [root, , ticketX, ticketY, nullifier, y, xs] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
            return { nullifier, signals: { root, ticketX, ticketY, y, x: xs }, proof };
        }

        async function withdraw(user: User, base: SignedBase, held: SignedCharge[], declared: number[], recipient: string) {
            const witness: WithdrawWitness = {
                secret: user.identity.secret,
                base,
                charges: held,
                declared: Array.from({ length: TICKET_WINDOW }, (_, j) => declared.includes(j)),
                registry: binding,
                recipient: BigInt(recipient)
            };
            const { proof } = await prove("withdraw-2-8", withdrawInputs(witness));
            const claim = withdrawalClaim(witness);
            const request: WithdrawalRequest = {
                recipient: getAddress(recipient),
                spent: claim.spent,
                burned: claim.burned,
                declaredSlots: BigInt(claim.declaredSlots),
                foldNullifier: claim.foldNullifier,
                slotNullifiersHash: claim.slotNullifiersHash,
                slotNullifiers: [...claim.slotNullifiers]
            };
            return { request, proof };
        }

        it("Should register several users and let each rebuild the tree from the events", async function () {
            for (let i = 0; i < 4; i++) {
                const signer = await node.provider.getSigner(3 + i);
                const identity = new Identity();
                await (await token.connect(signer).mint(signer.address, DEPOSIT)).wait();
                await (await token.connect(signer).approve(deployment.contracts.registry, DEPOSIT)).wait();
                const receipt = await (await registry.connect(signer).register(identity.commitment, DEPOSIT)).wait();
                const event = receipt!.logs.map((log) => registry.interface.parseLog(log)).find((e) => e?.name === "Registered");
                users.push({ identity, signer, leafIndex: Number(event!.args.leafIndex) });
            }
            expect(await registry.leafCount()).to.equal(4n);
            expect(await token.balanceOf(deployment.contracts.registry)).to.equal(4n * DEPOSIT);
            expect((await tree()).size).to.equal(4);
        });

        it("Should slash a double-spender: two shares of one ticket give the secret, the receiver gets the reserve", async function () {
            const cheat = users[0]!;
            const genesis = signed(cheat, GENESIS_BASE);
            const honest = await spend(cheat, genesis, 0n);
            const reused = await spend(cheat, genesis, 0n, 3_003n);
            expect(reused.nullifier).to.equal(honest.nullifier);
            const secret = recoverSecret(honest.signals, reused.signals);
            expect(secret).to.equal(cheat.identity.secret);

            const receiver = treasury.address;
            const receiverBinding = slashReceiverBinding(deployment.chainId, deployment.contracts.registry, receiver);
            const { proof } = await prove("slash", slashInputs({ secret, receiverBinding }));
            const before = await token.balanceOf(receiver);
            await (await registry.slash(cheat.identity.commitment, receiver, proof)).wait();
            const bounty = (DEPOSIT * deployment.parameters.reserveBps) / 10_000n;
            expect(await token.balanceOf(receiver)).to.equal(before + bounty);
            expect(await registry.pendingTreasury()).to.equal(DEPOSIT - bounty);
            await (await registry.sweep()).wait();
            expect(await token.balanceOf(receiver)).to.equal(before + DEPOSIT);
        });

        it("Should forfeit a withdrawal from a base the user had folded, with the Fold proof the gateway recorded", async function () {
            const stale = users[1]!;
            const held = charges(stale, 0n, [
                { cost: 2n * CENT, penalty: 0n },
                { cost: CENT, penalty: deployment.parameters.policyPenalty }
            ]);
            const genesis = signed(stale, GENESIS_BASE);
            const foldWitness = {
                secret: stale.identity.secret,
                base: genesis,
                charges: held,
                newBlinding: baseBlinding(stale.identity.secret, binding.scope, 2n),
                registry: binding
            };
            const fold = await prove("fold-2", foldInputs(foldWitness));
            const { newBase, foldNullifier } = foldPublicSignals(foldWitness);
            const { request, proof } = await withdraw(stale, genesis, [], [], stale.signer.address);
            expect(request.foldNullifier).to.equal(foldNullifier);
            await (await registry.connect(stale.signer).requestWithdrawal(stale.identity.commitment, request, proof)).wait();
            const before = await registry.pendingTreasury();
            await (await registry.challengeStaleBase(stale.identity.commitment, request, [newBase[0], newBase[1]], fold.proof)).wait();
            expect((await registry.deposits(stale.identity.commitment)).status).to.equal(4n);
            expect(await registry.pendingTreasury()).to.equal(before + DEPOSIT);
        });

        it("Should pay an honest withdrawal with a declared slot exactly deposit − burned − spent − maxCost after the window", async function () {
            const honest = users[2]!;
            const amounts: ChargeAmounts[] = [
                { cost: CENT, penalty: 0n },
                { cost: 3n * 10n ** 15n, penalty: deployment.parameters.policyPenalty },
                { cost: 123n, penalty: 0n }
            ];
            const held = charges(honest, 0n, amounts);
            const base2 = signed(honest, foldBase(GENESIS_BASE, amounts.slice(0, 2)));
            // Ticket 3 was sent but its answer never came: declared (slot 0 of the window of e = 3).
            const recipient = getAddress(`0x${randomBytes(20).toString("hex")}`);
            const { request, proof } = await withdraw(honest, base2, held.slice(2), [0], recipient);
            expect(request.spent).to.equal(CENT + 3n * 10n ** 15n + 123n);
            expect(request.burned).to.equal(deployment.parameters.policyPenalty);
            await (await registry.connect(honest.signer).requestWithdrawal(honest.identity.commitment, request, proof)).wait();
            await expect(registry.finalizeWithdrawal(honest.identity.commitment, request)).to.be.revertedWithCustomError(registry, "ChallengeWindowOpen");
            await advanceTime(node.provider, deployment.parameters.challengeWindow);
            const pending = await registry.pendingTreasury();
            const pendingBurn = await registry.pendingBurn();
            await (await registry.finalizeWithdrawal(honest.identity.commitment, request)).wait();
            const expected = settlement(DEPOSIT, request, deployment.parameters.maxCost);
            expect(expected.refund).to.equal(DEPOSIT - request.burned - request.spent - deployment.parameters.maxCost);
            expect(await token.balanceOf(recipient)).to.equal(expected.refund);
            expect(await registry.pendingTreasury()).to.equal(pending + expected.toTreasury);
            expect(await registry.pendingBurn()).to.equal(pendingBurn + expected.toBurn);
            const live = DEPOSIT; // users[3] never touched its deposit
            expect(await token.balanceOf(deployment.contracts.registry)).to.equal(
                live + (await registry.pendingTreasury()) + (await registry.pendingBurn()) + (await registry.totalRefundsOwed())
            );
            const burnBefore = await token.balanceOf(BURN_ADDRESS);
            await (await registry.sweep()).wait();
            expect(await token.balanceOf(BURN_ADDRESS)).to.equal(burnBefore + pendingBurn + expected.toBurn);
            expect(await token.balanceOf(deployment.contracts.registry)).to.equal(live);
        });
    });
}
