import { randomBytes } from "node:crypto";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import hre, { ethers } from "hardhat";
import { groth16 } from "snarkjs";
import { poseidon1 } from "poseidon-lite";
import type { Bn128Engine } from "ffjavascript";
import { getVerificationInformation } from "@nomicfoundation/ignition-core";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { CircuitProver, parseDeployment, providerPublicKey, RequestKey } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { BatchProofVerifier, createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway } from "@zk-api-credits/provider";
import { artifactSetMismatches, loadArtifactSet } from "../../scripts/ceremony/artifact-set";
import type { ArtifactSet, SetCircuit } from "../../scripts/ceremony/artifact-set";
import { inParallel } from "../../scripts/ceremony/cli";
import { readCeremony, readCircuit } from "../../scripts/ceremony/transcript";
import { compileVerifier } from "../../scripts/ceremony/verifier-contracts";
import { compileCircuit } from "../../scripts/circuits/compile";
import { loadConfig } from "../../scripts/circuits/config";
import { devWallet } from "../../scripts/lib/stack";
import { prover as devProver } from "../helpers/provers";
import { eventually } from "../helpers/users";
import { startChain } from "./support/anvil";
import type { ChainNode } from "./support/anvil";
import { CeremonyUser } from "./support/ceremony-user";
import { beaconDelta, bn128, deltaMatches, Groth16Forger, publicBeacons, randomSignals, solidityArguments } from "./support/forgery";
import type { Groth16VerificationKey } from "./support/forgery";
import { ROOT, run, runTs, runTsOk } from "./support/processes";

/** ICreditRegistry.DepositStatus.Slashed */
const SLASHED = 4n;

/**
 * The phase-1 file the ceremony starts from and the SHA-256 its "publication" gives. The
 * committed development powers of tau stands in for a public ceremony's file (the Perpetual
 * Powers of Tau, say); it is checked by hash exactly as a downloaded one would be.
 */
const PTAU = path.join(ROOT, "circuits/ptau/insecure-dev-15.ptau");
const PTAU_SHA256 = "47f5567e2a3b3170c315b0fa5fa8e486c1ea796385764f7c617f2ff70486595b";
/** Initial zkeys are a deterministic function of (r1cs, phase-1 file): reused across runs. */
const INITIAL_ZKEY_CACHE = path.join(ROOT, ".cache/ceremony/initial-zkeys");
/** The closing beacon: in production a value fixed after the last contribution (a future block hash). */
const BEACON = "5e9a1d6c1f4b3a2e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e";
const CONTRIBUTORS = ["alice", "bob"] as const;

const CEREMONY = "scripts/ceremony/ceremony.ts";
const CONTRIBUTE = "scripts/ceremony/contribute.ts";

/** The generated verifier's `verifyProof(pA, pB, pC, pubSignals)`. */
interface GeneratedVerifier {
    verifyProof(...args: [...ReturnType<typeof solidityArguments>, bigint[]]): Promise<boolean>;
}

// docs/trusted-setup.md, "Production setup", run as a provider would run it: a phase-1 file
// checked by its published hash, two independent contributions (each a separate process with
// its own CSPRNG entropy) each verified before it is accepted, a closing beacon, and an artifact
// set of its own whose keys the development forgeries do not fool.
describe("Production ceremony, end to end", function () {
    // About 400 s of CPU (eight contributions and verifications over 2^15 domains, the beacons,
    // the deployment, the proofs): minutes on an idle 2-core machine, far more on a shared one.
    this.timeout(60 * 60_000);
    const work = mkdtempSync(path.join(os.tmpdir(), "zkapi-ceremony-"));
    const coordinator = path.join(work, "coordinator");
    const setDir = path.join(work, "artifacts");
    const circuits = loadConfig().circuits.map((c) => c.name);
    const published = new Map<string, string>();
    let started: number;

    before(function () {
        started = Date.now();
        for (const name of CONTRIBUTORS) mkdirSync(path.join(work, name));
    });

    after(function () {
        console.log(`        (ceremony of ${circuits.length} circuits: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
        rmSync(work, { recursive: true, force: true });
    });

    it("Should refuse a phase-1 file whose SHA-256 is not the published one", async function () {
        const wrong = PTAU_SHA256.slice(0, -1) + (PTAU_SHA256.endsWith("0") ? "1" : "0");
        const { code, output } = await runTs(CEREMONY, ["init", "--dir", path.join(work, "refused"), "--ptau", PTAU, "--ptau-sha256", wrong]);
        expect(code).to.not.equal(0);
        expect(output).to.contain(`has SHA-256 ${PTAU_SHA256}, not the published ${wrong}: refusing it`);
        const unchecked = await runTs(CEREMONY, ["init", "--dir", path.join(work, "refused"), "--ptau", PTAU]);
        expect(unchecked.code).to.not.equal(0);
        expect(unchecked.output).to.contain("give the phase-1 file's published hash");
    });

    it("Should start phase 2 of every circuit from the phase-1 file checked by SHA-256", async function () {
        await runTsOk(CEREMONY, ["init", "--dir", coordinator, "--ptau", PTAU, "--ptau-sha256", PTAU_SHA256, "--jobs", "2", "--initial-zkey-cache", INITIAL_ZKEY_CACHE]);
        const ceremony = readCeremony(coordinator);
        expect(ceremony.ptau.sha256).to.equal(PTAU_SHA256);
        expect(ceremony.ptau.power).to.equal(loadConfig().ptauPower);
        expect(ceremony.circuits).to.deep.equal(circuits);
        for (const name of circuits) expect(readCircuit(coordinator, name).zkeys.map((z) => z.file)).to.deep.equal(["0000.zkey"]);
    });

    it("Should accept two independent contributions per circuit, each from its own process and entropy, each verified", async function () {
        // Biggest circuits first, two circuits at a time (each contribution and verification is
        // its own process, as on separate machines).
        const order = [...circuits].sort((a, b) => readCircuit(coordinator, b).constraints - readCircuit(coordinator, a).constraints);
        await inParallel(order, 2, async (name) => {
            for (const contributor of CONTRIBUTORS) {
                const record = readCircuit(coordinator, name);
                const input = path.join(coordinator, name, record.zkeys[record.zkeys.length - 1]!.file);
                const output = path.join(work, contributor, `${name}.zkey`);
                const printed = await runTsOk(CONTRIBUTE, ["--in", input, "--out", output, "--name", contributor]);
                const hash = /contribution-hash ([0-9a-f]{128})/.exec(printed)?.[1];
                expect(hash, printed).to.not.equal(undefined);
                published.set(`${name}/${contributor}`, hash!);
                await runTsOk(CEREMONY, ["accept", "--dir", coordinator, "--circuit", name, "--zkey", output, "--name", contributor, "--expect-hash", hash!]);
            }
        });
        const hashes = new Set<string>();
        for (const name of circuits) {
            const chain = readCircuit(coordinator, name).zkeys;
            expect(chain.map((z) => z.contribution?.name)).to.deep.equal([undefined, ...CONTRIBUTORS]);
            for (const contributor of CONTRIBUTORS) {
                const accepted = chain.find((z) => z.contribution?.name === contributor)!.contribution!.hash;
                expect(accepted, `${name}/${contributor}`).to.equal(published.get(`${name}/${contributor}`));
                hashes.add(accepted);
            }
        }
        expect(hashes.size, "every contribution drew its own entropy").to.equal(circuits.length * CONTRIBUTORS.length);
    });

    it("Should refuse a zkey that does not extend the accepted chain by exactly one contribution", async function () {
        const stale = path.join(work, "alice", "slash.zkey");
        const { code, output } = await runTs(CEREMONY, ["accept", "--dir", coordinator, "--circuit", "slash", "--zkey", stale]);
        expect(code).to.not.equal(0);
        expect(output).to.contain("holds 1 contributions; the chain has 2, so it must add exactly one");
        expect(readCircuit(coordinator, "slash").zkeys).to.have.length(3);
    });

    it("Should refuse a tampered zkey: it does not verify against the r1cs and the phase-1 file", async function () {
        const tampered = path.join(work, "tampered-slash.zkey");
        copyFileSync(path.join(work, "bob", "slash.zkey"), tampered);
        const bytes = readFileSync(tampered);
        bytes[bytes.length - 200] ^= 0x01; // inside the last section (H or the contributions)
        writeFileSync(tampered, bytes);
        const { code, output } = await runTs(CEREMONY, ["accept", "--dir", coordinator, "--circuit", "slash", "--zkey", tampered]);
        expect(code).to.not.equal(0);
        expect(output).to.match(/does NOT verify|could not read the contributions/);
        expect(readCircuit(coordinator, "slash").zkeys).to.have.length(3);
    });

    describe("# the artifact set", function () {
        let set: ArtifactSet;
        let dev: ArtifactSet;

        before(async function () {
            await runTsOk(CEREMONY, ["finalize", "--dir", coordinator, "--beacon", BEACON, "--beacon-iterations-exp", "10", "--out", setDir, "--jobs", "2"]);
            set = loadArtifactSet(setDir);
            dev = loadArtifactSet();
        });

        it("Should be marked as a ceremony, list every contribution's hash and the beacon, and match its files", async function () {
            expect(set.insecureDevelopmentSetup).to.equal(false);
            expect(set.ceremony!.ptau).to.deep.equal({ name: path.basename(PTAU), sha256: PTAU_SHA256, power: loadConfig().ptauPower });
            expect(set.ceremony!.contributors).to.deep.equal([...CONTRIBUTORS]);
            expect(set.ceremony!.beacon).to.deep.equal({ hash: BEACON, iterationsExp: 10 });
            expect(set.circuits.map((c) => c.name)).to.deep.equal(circuits);
            for (const circuit of set.circuits) {
                const steps = circuit.entry.setup.phase2;
                expect(steps.map((s) => s.kind)).to.deep.equal(["contribution", "contribution", "beacon"]);
                expect(steps.slice(0, 2).map((s) => s.hash)).to.deep.equal(CONTRIBUTORS.map((c) => published.get(`${circuit.name}/${c}`)));
                expect(circuit.entry.setup.ptau).to.equal(`ceremony:sha256=${PTAU_SHA256}`);
                expect(path.dirname(circuit.zkey)).to.equal(set.dir);
            }
            expect(await artifactSetMismatches(set)).to.deep.equal([]);
        });

        it("Should be built from the same circuits as the development set, with other keys", function () {
            for (const circuit of set.circuits) {
                const devCircuit = dev.circuits.find((c) => c.name === circuit.name)!;
                expect(circuit.entry.r1cs.sha256, circuit.name).to.equal(devCircuit.entry.r1cs.sha256);
                expect(circuit.entry.wasm.sha256, circuit.name).to.equal(devCircuit.entry.wasm.sha256);
                expect(circuit.entry.verificationKey.sha256, circuit.name).to.not.equal(devCircuit.entry.verificationKey.sha256);
            }
        });

        it("Should pass snarkjs' own `zkey verify` against the r1cs and the phase-1 file (what anyone can rerun)", async function () {
            const config = loadConfig();
            const { r1cs } = compileCircuit(config.circuits.find((c) => c.name === "slash")!, config, () => undefined);
            const snarkjs = path.join(ROOT, "node_modules/snarkjs/build/cli.cjs");
            const { code, output } = await run(process.execPath, [snarkjs, "zkey", "verify", r1cs, PTAU, set.circuits.find((c) => c.name === "slash")!.zkey]);
            expect(code, output).to.equal(0);
            expect(output).to.contain("ZKey Ok!");
            CONTRIBUTORS.forEach((contributor, i) => expect(output).to.contain(`contribution #${i + 1} ${contributor}:`));
            const audit = await runTsOk(CEREMONY, ["verify-set", "--set", setDir, "--ptau", PTAU, "--ptau-sha256", PTAU_SHA256, "--circuit", "slash"]);
            expect(audit).to.contain("slash: the set's zkey, verification key and verifier check out (2 contributions and the beacon)");
        });

        it("Should fail the audit of a set whose verifier is not the one its zkey gives", async function () {
            const altered = path.join(work, "altered-set");
            cpSync(setDir, altered, { recursive: true });
            const verifier = path.join(altered, "verifiers/SlashVerifier.sol");
            writeFileSync(verifier, readFileSync(verifier, "utf8").replace(/uint256 constant deltax1 = \d+;/, "uint256 constant deltax1 = 1;"));
            const { code, output } = await runTs(CEREMONY, ["verify-set", "--set", altered, "--ptau", PTAU, "--ptau-sha256", PTAU_SHA256, "--circuit", "slash"]);
            expect(code).to.not.equal(0);
            expect(output).to.contain("slash: the Solidity verifier is not the zkey's");
        });

        it("Should prove with the ceremony's keys: a real Slash proof verifies with its key and its Solidity verifier", async function () {
            const slash = set.circuits.find((c) => c.name === "slash")!;
            const secret = 123456789n;
            const receiverBinding = 987654321n;
            const { proof, publicSignals } = await groth16.fullProve({ secret, receiverBinding }, slash.wasm, slash.zkey);
            expect(publicSignals).to.deep.equal([poseidon1([secret]).toString(), receiverBinding.toString()]);
            expect(await groth16.verify(vkeyOf(slash), publicSignals, proof)).to.equal(true);
            const verifier = await deployCompiled(slash);
            expect(await verifier.verifyProof(...solidityArguments(proof), publicSignals.map(BigInt))).to.equal(true);
        });

        describe("# the development setup's forgeries", function () {
            let curve: Bn128Engine;

            before(async function () {
                curve = await bn128();
            });

            after(async function () {
                await curve.terminate();
            });

            it("Should be rejected by every ceremony key and Solidity verifier", async function () {
                for (const circuit of set.circuits) {
                    const devCircuit = dev.circuits.find((c) => c.name === circuit.name)!;
                    const devKey = vkeyOf(devCircuit);
                    const forger = new Groth16Forger(curve, devKey, beaconDelta(curve, publicBeacons(devCircuit.entry.setup.phase2)!));
                    const verifier = await deployCompiled(circuit);
                    for (let round = 0; round < 2; round++) {
                        const signals = randomSignals(curve, devKey.nPublic);
                        const forged = forger.forge(signals);
                        expect(await groth16.verify(devKey, signals.map(String), forged), `${circuit.name}: a valid forgery for the dev key`).to.equal(true);
                        expect(await groth16.verify(vkeyOf(circuit), signals.map(String), forged), `${circuit.name}: ceremony key`).to.equal(false);
                        expect(await verifier.verifyProof(...solidityArguments(forged), signals), `${circuit.name}: ceremony verifier`).to.equal(false);
                    }
                }
            });

            it("Should not give its delta away: the contributions are secret and the public beacon alone is not delta", function () {
                for (const circuit of set.circuits) {
                    expect(publicBeacons(circuit.entry.setup.phase2), circuit.name).to.equal(undefined);
                    const closing = beaconDelta(curve, [{ hash: BEACON, iterationsExp: 10 }]);
                    expect(deltaMatches(curve, vkeyOf(circuit), closing), circuit.name).to.equal(false);
                    expect(() => new Groth16Forger(curve, vkeyOf(circuit), closing)).to.throw("delta·G2 differs");
                }
            });
        });

        // The production path, end to end: the ceremony's verifiers on a chain that says it is
        // Sepolia (anvil --chain-id 11155111), deployed by the deploy task without
        // --allow-insecure-setup, and a gateway and a user that prove and verify with the
        // ceremony's keys: a paid request, a double-spend, its slash.
        describe("# deployed to a public testnet's chain id (anvil as Sepolia)", function () {
            const journal = path.join(ROOT, "ignition/deployments/zkapi-anvil-11155111");
            const signingKey = `0x${randomBytes(32).toString("hex")}`;
            const deploymentFile = path.join(work, "sepolia.json");
            const keyFile = path.join(work, "provider-key.json");
            const parametersFile = path.join(work, "sepolia-parameters.json");
            let sepolia: ChainNode;
            let deployment: RegistryDeployment;
            let deployerNonce: number;
            let store: SqliteNullifierStore | undefined;
            let gateway: Gateway | undefined;
            let url: string;
            const users: CeremonyUser[] = [];

            before(async function () {
                rmSync(journal, { recursive: true, force: true });
                sepolia = await startChain(11155111n);
                // Outside local chains the registry takes an existing token: one is deployed first.
                const deployer = await sepolia.provider.getSigner(0);
                const testToken = await hre.artifacts.readArtifact("TestToken");
                const token = await new ethers.ContractFactory(testToken.abi, testToken.bytecode, deployer).deploy();
                await token.waitForDeployment();
                const local = JSON.parse(readFileSync(path.join(ROOT, "deploy/parameters/local.json"), "utf8")) as object;
                writeFileSync(parametersFile, JSON.stringify({ ...local, token: await token.getAddress(), treasury: devWallet(1).address, owner: devWallet(2).address }));
                writeFileSync(keyFile, JSON.stringify({ publicKey: providerPublicKey(signingKey).map(String) }));
                deployerNonce = await sepolia.provider.getTransactionCount(deployer.address);
            });

            after(async function () {
                users.forEach((u) => u.close());
                await gateway?.close();
                await store?.close();
                await sepolia?.stop();
                rmSync(journal, { recursive: true, force: true });
            });

            const deployTask = (args: readonly string[]) =>
                run(process.execPath, [path.join(ROOT, "node_modules/hardhat/internal/cli/cli.js"), "deploy-registry", "--network", "anvil", ...args], sepolia.env);

            it("Should refuse to deploy the development set there without --allow-insecure-setup", async function () {
                const { code, output } = await deployTask(["--provider-key", keyFile, "--parameters", parametersFile, "--out", path.join(work, "refused.json")]);
                expect(code).to.not.equal(0);
                expect(output).to.contain("INSECURE_SETUP_NOT_ALLOWED");
                expect(output).to.contain("Sepolia (chain id 11155111)");
                expect(output).to.contain("--allow-insecure-setup");
                expect(await sepolia.provider.getTransactionCount((await sepolia.provider.getSigner(0)).address)).to.equal(deployerNonce);
            });

            it("Should deploy the ceremony's verifiers there without the flag, and record a ceremony", async function () {
                const { code, output } = await deployTask(["--provider-key", keyFile, "--parameters", parametersFile, "--out", deploymentFile, "--artifacts", setDir]);
                expect(code, output).to.equal(0);
                expect(output).to.not.contain("INSECURE");
                const raw = JSON.parse(readFileSync(deploymentFile, "utf8")) as { insecureDevelopmentSetup: boolean; allowInsecureSetup: boolean };
                expect([raw.insecureDevelopmentSetup, raw.allowInsecureSetup]).to.deep.equal([false, false]);
                deployment = parseDeployment(readFileSync(deploymentFile, "utf8"));
                expect(deployment.chainId).to.equal(11155111n);
                const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, sepolia.provider);
                const { spendVerifier, foldVerifier, withdrawVerifier, slashVerifier } = deployment.contracts;
                expect(await registry.verifiers()).to.deep.equal([spendVerifier, foldVerifier, withdrawVerifier, slashVerifier]);
                // The code deployed is the ceremony's verifiers, compiled with the project's settings.
                const settings = hre.config.solidity.compilers[0]!.settings;
                for (const [circuit, address] of [
                    ["spend-32", spendVerifier],
                    ["fold-2", foldVerifier],
                    ["withdraw-2-8", withdrawVerifier],
                    ["slash", slashVerifier]
                ] as const) {
                    const entry = set.circuits.find((c) => c.name === circuit)!;
                    const { artifact } = compileVerifier(entry.verifier, entry.verifierContract, settings);
                    expect(await sepolia.provider.getCode(address), circuit).to.equal(artifact.deployedBytecode);
                }
            });

            it("Should leave Ignition's journal ready to verify the ceremony's verifiers on an explorer (what `ignition verify` sends)", async function () {
                const solc = require("solc") as { compile(input: string): string };
                const found = new Map<string, string>();
                for await (const [chain, info] of getVerificationInformation(journal)) {
                    if (chain === null || typeof info === "string") throw new Error(`no verification information for ${String(info)}`);
                    expect(chain.chainId).to.equal(11155111);
                    found.set(info.name, info.address);
                    if (!info.name.startsWith("verifiers/")) continue;
                    // What the explorer does: compile the submitted input, compare with the code on chain.
                    const [sourceName, contractName] = info.name.split(":") as [string, string];
                    expect(info.compilerVersion).to.equal("v0.8.28+commit.7893614a");
                    const input = JSON.parse(info.sourceCode) as { settings: { outputSelection: unknown } };
                    input.settings.outputSelection = { "*": { "*": ["evm.deployedBytecode.object"] } };
                    const output = JSON.parse(solc.compile(JSON.stringify(input))) as { contracts: Record<string, Record<string, { evm: { deployedBytecode: { object: string } } }>> };
                    expect(`0x${output.contracts[sourceName]![contractName]!.evm.deployedBytecode.object}`).to.equal(await sepolia.provider.getCode(info.address));
                }
                for (const verifier of ["SpendVerifier", "FoldVerifier", "WithdrawVerifier", "SlashVerifier"]) {
                    expect(found.get(`verifiers/${verifier}.sol:${verifier}`), verifier).to.not.equal(undefined);
                }
                expect([...found.keys()].some((name) => name.endsWith(":CreditRegistry"))).to.equal(true);
            });

            it("Should serve a real paid request proved with the ceremony's keys, and refuse one proved with the development keys", async function () {
                const prover = (name: string): CircuitProver => {
                    const c = set.circuits.find((entry) => entry.name === name)!;
                    return new CircuitProver({ wasm: c.wasm, zkey: c.zkey, verificationKey: c.verificationKey });
                };
                const chain = new JsonRpcProvider(sepolia.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
                const verifier = new BatchProofVerifier(set.circuits.find((c) => c.name === "spend-32")!.verificationKey);
                const foldVerifier = new BatchProofVerifier(set.circuits.find((c) => c.name === "fold-2")!.verificationKey);
                await Promise.all([verifier.ready(), foldVerifier.ready()]);
                store = new SqliteNullifierStore(path.join(work, "gateway.db"));
                gateway = await createGateway({
                    deployment,
                    signingKey,
                    provider: chain,
                    operator: new NonceManager(devWallet(2).connect(chain)),
                    store,
                    verifier,
                    foldVerifier,
                    slashProver: prover("slash"),
                    workerPollMs: 200
                });
                await gateway.app.listen({ port: 0, host: "127.0.0.1" });
                const address = gateway.app.server.address();
                url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

                const alice = await CeremonyUser.register(sepolia.url, deployment, prover("spend-32"), 5, 10n ** 19n);
                users.push(alice);
                const answer = await alice.send(url, await alice.prove(0n), "/v1/chat/completions", { model: "zkapi-echo", messages: [{ role: "user", content: "hello" }] });
                expect(answer.status).to.equal(200);
                expect(answer.charge!.cost > 0n).to.equal(true);

                const mallory = await CeremonyUser.register(sepolia.url, deployment, devProver("spend-32"), 6, 10n ** 19n);
                users.push(mallory);
                const refused = await mallory.send(url, await mallory.prove(0n), "/v1/chat/completions", { model: "zkapi-echo", messages: [{ role: "user", content: "hello" }] });
                expect([refused.status, refused.code]).to.deep.equal([403, "INVALID_PROOF"]);
            });

            it("Should slash a double-spender on-chain with the ceremony's Slash key", async function () {
                const spend = set.circuits.find((c) => c.name === "spend-32")!;
                const cheater = await CeremonyUser.register(sepolia.url, deployment, new CircuitProver({ wasm: spend.wasm, zkey: spend.zkey, verificationKey: spend.verificationKey }), 7, 10n ** 19n);
                users.push(cheater);
                const body = (content: string) => ({ model: "zkapi-echo", messages: [{ role: "user", content }] });
                expect((await cheater.send(url, await cheater.prove(0n), "/v1/chat/completions", body("one"))).status).to.equal(200);
                const second = await cheater.send(url, await cheater.prove(0n, new RequestKey(randomBytes(32))), "/v1/chat/completions", body("two"));
                expect(second.code).to.equal("DOUBLE_SPEND");
                const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, sepolia.provider);
                await eventually(async () => ((await registry.deposits(cheater.identity.commitment)).status === SLASHED ? true : undefined), "the slash on-chain");
            });
        });
    });
});

function vkeyOf(circuit: SetCircuit): Groth16VerificationKey {
    return JSON.parse(readFileSync(circuit.verificationKey, "utf8")) as Groth16VerificationKey;
}

/** Compiles a set's verifier with the project's compiler settings and deploys it in the Hardhat network. */
async function deployCompiled(circuit: SetCircuit): Promise<GeneratedVerifier> {
    const { artifact } = compileVerifier(circuit.verifier, circuit.verifierContract, hre.config.solidity.compilers[0]!.settings);
    const [deployer] = await ethers.getSigners();
    const contract = await new ethers.ContractFactory(artifact.abi as never[], artifact.bytecode, deployer).deploy();
    await contract.waitForDeployment();
    return contract as unknown as GeneratedVerifier;
}
