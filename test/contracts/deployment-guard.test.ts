import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ContractFactory } from "ethers";
import hre from "hardhat";
import { ALLOW_INSECURE_SETUP_FLAG } from "@zk-api-credits/protocol";
import { loadArtifactSet } from "../../scripts/ceremony/artifact-set";
import { startChain } from "../ceremony/support/anvil";
import type { ChainNode } from "../ceremony/support/anvil";
import { ROOT, run } from "../ceremony/support/processes";
import { TestProvider } from "../helpers/scenario";

/** `npx hardhat deploy-registry --network anvil ...` against `node`, as a user runs it. */
async function deployTask(node: ChainNode, args: readonly string[]): Promise<{ code: number | null; output: string }> {
    return run(process.execPath, [path.join(ROOT, "node_modules/hardhat/internal/cli/cli.js"), "deploy-registry", "--network", "anvil", ...args], node.env);
}

/** The reason every refusal must give, and the way out it names. */
function expectRefusal(output: string, code: string): void {
    expect(output).to.contain(code);
    expect(output).to.contain(ALLOW_INSECURE_SETUP_FLAG);
    expect(output).to.contain("anyone can forge every proof");
    expect(output).to.contain("docs/trusted-setup.md");
}

// The deploy task never puts the development keys (whose proofs anyone can forge: see
// test/circuits/dev-setup-forgery.test.ts) on a public chain by accident: anvil plays Sepolia,
// Ethereum mainnet and a chain nobody knows. test/ceremony/ceremony.test.ts deploys a
// ceremony's keys to "Sepolia" without the flag.
describe("deploy-registry: the development keys stay off public chains", function () {
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-deploy-guard-"));
    const keyFile = path.join(dir, "provider-key.json");
    const localParameters = path.join(ROOT, "deploy/parameters/local.json");
    const chains: ChainNode[] = [];
    // Ignition keeps the journal of a deployment to a non-local chain (to resume it): this test's is thrown away.
    const journal = path.join(ROOT, "ignition/deployments/zkapi-anvil-84532");

    before(function () {
        rmSync(journal, { recursive: true, force: true });
        writeFileSync(keyFile, JSON.stringify({ publicKey: new TestProvider().publicKey.map(String) }));
        expect(loadArtifactSet().insecureDevelopmentSetup, "the committed set is the development setup").to.equal(true);
    });

    after(async function () {
        await Promise.all(chains.map((c) => c.stop()));
        rmSync(dir, { recursive: true, force: true });
        rmSync(journal, { recursive: true, force: true });
    });

    async function chain(chainId: bigint): Promise<ChainNode> {
        const node = await startChain(chainId);
        chains.push(node);
        return node;
    }

    /** Nothing was sent: the deployer's nonce is still zero. */
    async function expectNothingSent(node: ChainNode): Promise<void> {
        const [deployer] = (await node.provider.send("eth_accounts", [])) as string[];
        expect(await node.provider.getTransactionCount(deployer!)).to.equal(0);
    }

    it("Should refuse the development keys on a public testnet (Sepolia's chain id) without the flag, sending nothing", async function () {
        const sepolia = await chain(11155111n);
        const { code, output } = await deployTask(sepolia, ["--provider-key", keyFile, "--parameters", localParameters]);
        expect(code).to.not.equal(0);
        expectRefusal(output, "INSECURE_SETUP_NOT_ALLOWED");
        expect(output).to.contain("Sepolia (chain id 11155111)");
        await expectNothingSent(sepolia);
    });

    it("Should refuse them on a chain id it does not know, which counts as public", async function () {
        const unknown = await chain(987654321n);
        const { code, output } = await deployTask(unknown, ["--provider-key", keyFile, "--parameters", localParameters]);
        expect(code).to.not.equal(0);
        expectRefusal(output, "INSECURE_SETUP_NOT_ALLOWED");
        expect(output).to.contain("an unknown chain id counts as public");
        await expectNothingSent(unknown);
    });

    it("Should refuse them on a mainnet chain id even with the flag", async function () {
        const mainnet = await chain(1n);
        for (const extra of [[], [ALLOW_INSECURE_SETUP_FLAG]]) {
            const { code, output } = await deployTask(mainnet, ["--provider-key", keyFile, "--parameters", localParameters, ...extra]);
            expect(code).to.not.equal(0);
            expectRefusal(output, "INSECURE_SETUP_ON_MAINNET");
            expect(output).to.contain("Ethereum mainnet (chain id 1)");
        }
        await expectNothingSent(mainnet);
    });

    it("Should refuse an artifact set whose files differ from its manifest", async function () {
        const local = await chain(31337n);
        const copy = path.join(dir, "tampered-set");
        mkdirSync(path.join(copy, "verifiers"), { recursive: true });
        const set = loadArtifactSet();
        const manifest = JSON.parse(readFileSync(path.join(set.dir, "manifest.json"), "utf8")) as { circuits: Record<string, Record<string, { path: string }>> };
        for (const circuit of set.circuits) {
            for (const [key, file, target] of [
                ["wasm", circuit.wasm, `${circuit.name}.wasm`],
                ["zkey", circuit.zkey, `${circuit.name}.zkey`],
                ["verificationKey", circuit.verificationKey, `${circuit.name}.vkey.json`],
                ["verifier", circuit.verifier, `verifiers/${circuit.verifierContract}.sol`]
            ] as const) {
                copyFileSync(file, path.join(copy, target));
                manifest.circuits[circuit.name]![key]!.path = target;
            }
        }
        writeFileSync(path.join(copy, "manifest.json"), JSON.stringify({ ...manifest, pathsRelativeTo: "manifest" }));
        const spend = path.join(copy, "verifiers/SpendVerifier.sol");
        writeFileSync(spend, readFileSync(spend, "utf8").replace("// Public signals", "// (altered) Public signals"));
        const { code, output } = await deployTask(local, ["--provider-key", keyFile, "--parameters", localParameters, "--artifacts", copy]);
        expect(code).to.not.equal(0);
        expect(output).to.contain("verifiers/SpendVerifier.sol differs from its SHA-256 in the manifest");
        await expectNothingSent(local);
    });

    it("Should deploy them to a testnet with the flag, warn, and record both facts in the deployment file", async function () {
        const testnet = await chain(84532n); // Base Sepolia
        // Outside local chains the registry takes an existing token: one is deployed first.
        const [deployer, treasury] = await Promise.all([testnet.provider.getSigner(0), testnet.provider.getSigner(1)]);
        const testToken = await hre.artifacts.readArtifact("TestToken");
        const token = await new ContractFactory(testToken.abi, testToken.bytecode, deployer).deploy();
        await token.waitForDeployment();
        const parameters = path.join(dir, "base-sepolia.json");
        const local = JSON.parse(readFileSync(localParameters, "utf8")) as object;
        writeFileSync(parameters, JSON.stringify({ ...local, token: await token.getAddress(), treasury: treasury.address, owner: treasury.address }));
        const out = path.join(dir, "base-sepolia-deployment.json");
        const { code, output } = await deployTask(testnet, ["--provider-key", keyFile, "--parameters", parameters, "--out", out, ALLOW_INSECURE_SETUP_FLAG]);
        expect(code, output).to.equal(0);
        expect(output).to.contain("WARNING the INSECURE development setup is in use on Base Sepolia (chain id 84532)");
        const deployment = JSON.parse(readFileSync(out, "utf8")) as { chainId: string; insecureDevelopmentSetup: boolean; allowInsecureSetup: boolean; contracts: { registry: string } };
        expect(deployment.chainId).to.equal("84532");
        expect(deployment.insecureDevelopmentSetup).to.equal(true);
        expect(deployment.allowInsecureSetup).to.equal(true);
        expect(await testnet.provider.getCode(deployment.contracts.registry)).to.not.equal("0x");
    });
});
