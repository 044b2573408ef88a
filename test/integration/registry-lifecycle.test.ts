import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { getAddress } from "ethers";
import type { JsonRpcSigner } from "ethers";
import {
    addBlinding,
    chargeCommitment,
    chargeState,
    GENESIS_STATE,
    Identity,
    parseDeployment,
    providerPublicKey,
    randomScalar,
    recoverSecret,
    RegistryTree,
    signState,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    toSolidityProof,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { AccountState, RegistryBinding, RegistryDeployment, StateSignature } from "@zk-api-credits/protocol";
import type { Groth16Proof as SnarkProof } from "snarkjs";
import { CreditRegistry__factory, TestToken__factory } from "../../typechain-types";
import type { CreditRegistry, TestToken } from "../../typechain-types";
import { advanceTime, runHardhat, startAnvil, startHardhatNode } from "../../scripts/lib/local-node";
import type { LocalNode } from "../../scripts/lib/local-node";
import { prover } from "../helpers/provers";

const DEPOSIT = 10n ** 19n; // 10 tokens

function solidity(proof: SnarkProof) {
    const { pA, pB, pC } = toSolidityProof(proof);
    return { a: pA, b: pB, c: pC };
}

/** A user as the protocol sees one: identity, deposit, latest signed state and its opening. */
interface User {
    identity: Identity;
    signer: JsonRpcSigner;
    leafIndex: number;
    state: AccountState;
    blinding: bigint;
    signature?: StateSignature;
}

// Deploys with the deploy task over JSON-RPC to a real node process, then runs the
// registry's whole life: registrations, a double-spend slashed with the secret recovered
// from two shares, a stale withdrawal challenged, an honest withdrawal paid to the unit.
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
        const providerKey = randomBytes(32);
        const users: User[] = [];

        before(async function () {
            node = await start();
            const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-lifecycle-"));
            const keyFile = path.join(dir, "provider-key.json");
            writeFileSync(keyFile, JSON.stringify({ publicKey: providerPublicKey(providerKey).map(String) }));
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

        async function tree(): Promise<RegistryTree> {
            const events = await registry.queryFilter(registry.filters.Registered(), deployment.deploymentBlock);
            const rebuilt = new RegistryTree();
            rebuilt.insertMany(events.map((e) => ({ identityCommitment: e.args.identityCommitment, deposit: e.args.amount })));
            return rebuilt;
        }

        /** One request: the user proves its ticket; the provider charges and signs the new state. */
        async function spend(user: User, x: bigint, cost: bigint) {
            const rerandomiser = randomScalar();
            const witness = {
                secret: user.identity.secret,
                deposit: DEPOSIT,
                merkleProof: (await tree()).merkleProof(user.leafIndex, deployment.parameters.treeDepth),
                state: user.state,
                blinding: user.blinding,
                signature: user.signature,
                rerandomiser,
                registry: binding,
                x
            };
            const { proof, publicSignals } = await prover("spend-20").prove(spendInputs(witness));
            const [root, , cx, cy, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint];
            const next = chargeCommitment([cx, cy], cost, 0n);
            const signature = signState(providerKey, next);
            const advance = () => {
                user.state = chargeState(user.state, cost, 0n);
                user.blinding = addBlinding(user.blinding, rerandomiser);
                user.signature = signature;
            };
            return { root, nullifier, y, x, signals: { root, rerandomisedStateX: cx, rerandomisedStateY: cy, y, x }, proof: solidity(proof), advance };
        }

        async function withdrawRequest(user: User, recipient: string) {
            const { proof, publicSignals } = await prover("withdraw").prove(
                withdrawInputs({ secret: user.identity.secret, state: user.state, blinding: user.blinding, signature: user.signature, registry: binding, recipient: BigInt(recipient) })
            );
            return { request: { nullifier: publicSignals[1]!, recipient, spent: user.state.spent, burned: user.state.burned }, proof: solidity(proof) };
        }

        it("Should register several users and let each rebuild the tree from the events", async function () {
            for (let i = 0; i < 4; i++) {
                const signer = await node.provider.getSigner(3 + i);
                const identity = new Identity();
                await (await token.connect(signer).mint(signer.address, DEPOSIT)).wait();
                await (await token.connect(signer).approve(deployment.contracts.registry, DEPOSIT)).wait();
                const receipt = await (await registry.connect(signer).register(identity.commitment, DEPOSIT)).wait();
                const event = receipt!.logs.map((log) => registry.interface.parseLog(log)).find((e) => e?.name === "Registered");
                users.push({ identity, signer, leafIndex: Number(event!.args.leafIndex), state: GENESIS_STATE, blinding: randomScalar() });
            }
            expect(await registry.leafCount()).to.equal(4n);
            expect(await token.balanceOf(deployment.contracts.registry)).to.equal(4n * DEPOSIT);
            expect((await tree()).size).to.equal(4);
        });

        it("Should slash a double-spender: two shares of one ticket give the secret, the provider collects", async function () {
            const cheat = users[0]!;
            const first = await spend(cheat, 1_001n, 10n ** 16n);
            first.advance();
            const reused = await spend(cheat, 2_002n, 10n ** 16n);
            const again = await spend(cheat, 3_003n, 10n ** 16n);
            expect(reused.nullifier).to.equal(again.nullifier);
            const secret = recoverSecret({ x: reused.x, y: reused.y }, { x: again.x, y: again.y });
            expect(secret).to.equal(cheat.identity.secret);

            const receiver = treasury.address;
            const binding = slashReceiverBinding(deployment.chainId, deployment.contracts.registry, receiver);
            const { proof } = await prover("slash").prove(slashInputs({ secret, receiverBinding: binding }));
            const before = await token.balanceOf(receiver);
            await (await registry.slash(cheat.identity.commitment, receiver, solidity(proof))).wait();
            const bounty = (DEPOSIT * deployment.parameters.reserveBps) / 10_000n;
            expect(await token.balanceOf(receiver)).to.equal(before + bounty);
            expect(await registry.pendingTreasury()).to.equal(DEPOSIT - bounty);
            await (await registry.sweep()).wait();
            expect(await token.balanceOf(receiver)).to.equal(before + DEPOSIT);
        });

        it("Should challenge and slash a withdrawal that claims a stale state", async function () {
            const stale = users[1]!;
            const used = await spend(stale, 4_004n, 2n * 10n ** 16n);
            const staleState = { state: stale.state, blinding: stale.blinding, signature: stale.signature };
            used.advance();
            const { request, proof } = await withdrawRequest({ ...stale, ...staleState }, stale.signer.address);
            expect(request.nullifier).to.equal(used.nullifier);
            await (await registry.connect(stale.signer).requestWithdrawal(stale.identity.commitment, request, proof)).wait();
            const before = await registry.pendingTreasury();
            await (await registry.challengeWithdrawal(stale.identity.commitment, request, used.signals, used.proof)).wait();
            expect((await registry.deposits(stale.identity.commitment)).status).to.equal(4n);
            expect(await registry.pendingTreasury()).to.equal(before + DEPOSIT);
        });

        it("Should pay an honest withdrawal exactly deposit - spent - burned after the window", async function () {
            const honest = users[2]!;
            for (const [x, cost] of [[5n, 10n ** 16n], [6n, 3n * 10n ** 15n], [7n, 123n]] as const) {
                (await spend(honest, x, cost)).advance();
            }
            expect(honest.state).to.deep.equal({ spent: 10n ** 16n + 3n * 10n ** 15n + 123n, burned: 0n, seq: 3n });
            const recipient = getAddress(`0x${randomBytes(20).toString("hex")}`);
            const { request, proof } = await withdrawRequest(honest, recipient);
            await (await registry.connect(honest.signer).requestWithdrawal(honest.identity.commitment, request, proof)).wait();
            await expect(registry.finalizeWithdrawal(honest.identity.commitment, request)).to.be.revertedWithCustomError(registry, "ChallengeWindowOpen");
            await advanceTime(node.provider, deployment.parameters.challengeWindow);
            const pending = await registry.pendingTreasury();
            await (await registry.finalizeWithdrawal(honest.identity.commitment, request)).wait();
            expect(await token.balanceOf(recipient)).to.equal(DEPOSIT - honest.state.spent - honest.state.burned);
            expect(await registry.pendingTreasury()).to.equal(pending + honest.state.spent);
            const live = DEPOSIT; // users[3] never touched its deposit
            expect(await token.balanceOf(deployment.contracts.registry)).to.equal(live + (await registry.pendingTreasury()) + (await registry.pendingBurn()));
        });
    });
}
