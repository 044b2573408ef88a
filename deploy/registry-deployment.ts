import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { assertSetupAllowed, FOLD_SIZE, registryContext, registryScope, serializeDeployment, TICKET_WINDOW, TREE_DEPTH } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { checkDeploymentSetup, recordVerifierSources, verifierArtifacts } from "../scripts/ceremony/deployment-setup";
import type { DeploymentSetup } from "../scripts/ceremony/deployment-setup";
import CreditRegistryModule, { buildCreditRegistry } from "./modules/CreditRegistry";
import type { VerifierArtifacts } from "./modules/CreditRegistry";
import LocalCreditRegistryModule from "./modules/LocalCreditRegistry";

/** Chains where a freely mintable TestToken may be deployed (Hardhat, hardhat node, anvil). */
export const LOCAL_CHAIN_IDS: readonly bigint[] = [31337n, 1337n];

/**
 * The registry parameters a deployment takes (deploy/parameters/*.json). The tree depth (32),
 * ticket window (8) and fold size (2) are the circuits' constants, not parameters.
 */
export interface DeployParameters {
    token?: string;
    treasury?: string;
    owner?: string;
    maxCost: bigint;
    policyPenalty: bigint;
    reserveBps: bigint;
    challengeWindow: bigint;
    depositTerm: bigint;
    /** Blocks per epoch of the tree roots clients prove against (1 on local chains). */
    epochBlocks: bigint;
}

export interface DeployOptions {
    /** The provider's EdDSA public key. */
    providerKey: readonly [bigint, bigint];
    parameters: DeployParameters;
    /** Where to write the deployment file (none if undefined). */
    out?: string;
    /** The artifact set whose verifiers to deploy (default circuits/artifacts, the development set). */
    artifacts?: string;
    /** Accept the development keys on a public testnet (`--allow-insecure-setup`; never on a mainnet). */
    allowInsecureSetup?: boolean;
    /** The set, already checked for this chain by {@link checkDeploymentSetup} (the task does it first). */
    setup?: DeploymentSetup;
    log?: (message: string) => void;
}

/** The deploy modules with the verifiers taken from compiled artifacts (a ceremony's set). */
function modulesWithVerifiers(verifiers: VerifierArtifacts) {
    return {
        local: buildModule("LocalCreditRegistry", (m) => {
            const token = m.contract("TestToken");
            return { token, ...buildCreditRegistry(m, token, verifiers) };
        }),
        remote: buildModule("CreditRegistry", (m) => buildCreditRegistry(m, m.getParameter<string>("token"), verifiers))
    };
}

export function readDeployParameters(file: string): DeployParameters {
    const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, string | number | undefined>;
    if (raw.treeDepth !== undefined) {
        throw new Error(`${file}: treeDepth is no parameter any more (the tree depth is ${TREE_DEPTH}, bound to the Spend circuit)`);
    }
    const big = (name: string): bigint => {
        const value = raw[name];
        if (value === undefined) throw new Error(`${file}: ${name} is missing`);
        return BigInt(value);
    };
    const address = (name: string): string | undefined => {
        const value = raw[name];
        return typeof value === "string" && !/^0x0{40}$/.test(value) ? value : undefined;
    };
    return {
        token: address("token"),
        treasury: address("treasury"),
        owner: address("owner"),
        maxCost: big("maxCost"),
        policyPenalty: big("policyPenalty"),
        reserveBps: big("reserveBps"),
        challengeWindow: big("challengeWindow"),
        depositTerm: big("depositTerm"),
        epochBlocks: big("epochBlocks")
    };
}

/** The provider's public key from a provider key file ({ "publicKey": [x, y] }). */
export function readProviderPublicKey(file: string): [bigint, bigint] {
    const raw = JSON.parse(readFileSync(file, "utf8")) as { publicKey?: [string, string] };
    if (!Array.isArray(raw.publicKey) || raw.publicKey.length !== 2) throw new Error(`${file} has no publicKey [x, y]`);
    return [BigInt(raw.publicKey[0]), BigInt(raw.publicKey[1])];
}

/**
 * Deploys the Poseidon libraries, the four verifiers and the registry with Hardhat Ignition
 * (plus a TestToken on local chains when no token is given), checks the deployed scope and
 * context against the TypeScript reference, and writes the deployment file.
 */
export async function deployRegistry(hre: HardhatRuntimeEnvironment, options: DeployOptions): Promise<RegistryDeployment> {
    const log = options.log ?? ((message: string) => console.log(message));
    const [deployer] = await hre.ethers.getSigners();
    if (deployer === undefined) throw new Error(`network ${hre.network.name} has no account to deploy from`);
    const chainId = (await hre.ethers.provider.getNetwork()).chainId;
    const local = LOCAL_CHAIN_IDS.includes(chainId);
    // Refuses the development keys off local chains (docs/trusted-setup.md) before anything is sent.
    const setup =
        options.setup ??
        (await checkDeploymentSetup(chainId, hre.config.solidity.compilers[0]?.settings ?? {}, {
            artifacts: options.artifacts,
            allowInsecureSetup: options.allowInsecureSetup
        }));
    // A set the caller checked is still checked against this chain.
    assertSetupAllowed({ chainId, insecureDevelopmentSetup: setup.insecureDevelopmentSetup, allowInsecureSetup: setup.allowInsecureSetup });
    if (setup.warning !== undefined) log(`deploy: ${setup.warning}`);
    const { parameters } = options;
    if (!local && (parameters.token === undefined || parameters.treasury === undefined || parameters.owner === undefined)) {
        throw new Error("token, treasury and owner are required outside local chains (the TestToken is for local chains only)");
    }
    const moduleParameters = {
        treasury: parameters.treasury ?? deployer.address,
        owner: parameters.owner ?? deployer.address,
        providerKeyX: options.providerKey[0],
        providerKeyY: options.providerKey[1],
        maxCost: parameters.maxCost,
        policyPenalty: parameters.policyPenalty,
        reserveBps: parameters.reserveBps,
        challengeWindow: parameters.challengeWindow,
        depositTerm: parameters.depositTerm,
        epochBlocks: parameters.epochBlocks
    };
    log(`deploy: ${hre.network.name} (chain ${chainId}) from ${deployer.address}`);

    // Ignition journals deployments so an interrupted testnet deployment resumes; local chains
    // are thrown away between runs, so their journal is too.
    const deploymentId = local ? `local-${chainId}-${randomBytes(4).toString("hex")}` : `zkapi-${hre.network.name}-${chainId}`;
    const ignitionDir = path.join(hre.config.paths.ignition, "deployments", deploymentId);
    const useTestToken = parameters.token === undefined;
    const artifacts = verifierArtifacts(setup);
    const modules = artifacts ? modulesWithVerifiers(artifacts) : { local: LocalCreditRegistryModule, remote: CreditRegistryModule };
    // Public networks wait for the configured confirmations (hardhat.config.ts); automining chains for one.
    const confirmations = hre.config.ignition.requiredConfirmations;
    const config = confirmations === undefined ? {} : { requiredConfirmations: confirmations };
    let deployed: Record<string, { getAddress(): Promise<string> }>;
    try {
        deployed = useTestToken
            ? await hre.ignition.deploy(modules.local, {
                  parameters: { LocalCreditRegistry: moduleParameters },
                  deploymentId,
                  config,
                  displayUi: false
              })
            : await hre.ignition.deploy(modules.remote, {
                  parameters: { CreditRegistry: { ...moduleParameters, token: parameters.token! } },
                  deploymentId,
                  config,
                  displayUi: false
              });
        // `npx hardhat ignition verify <deploymentId>` verifies verifiers deployed from artifacts too.
        if (!local) recordVerifierSources(ignitionDir, useTestToken ? "LocalCreditRegistry" : "CreditRegistry", setup);
    } finally {
        if (local) rmSync(ignitionDir, { recursive: true, force: true });
    }
    const address = async (name: string): Promise<string> => deployed[name]!.getAddress();
    const registryAddress = await address("registry");
    const registry = await hre.ethers.getContractAt("CreditRegistry", registryAddress);
    const token = useTestToken ? await address("token") : parameters.token!;

    const binding = {
        scope: registryScope(chainId, registryAddress),
        providerKey: [options.providerKey[0], options.providerKey[1]] as [bigint, bigint],
        terms: { maxCost: parameters.maxCost, policyPenalty: parameters.policyPenalty, reserveBps: parameters.reserveBps }
    };
    const [scope, context] = [await registry.scope(), await registry.context()];
    if (scope !== binding.scope || context !== registryContext(binding)) {
        throw new Error("the deployed registry's scope or context differs from the TypeScript reference");
    }
    const shape = [await registry.treeDepth(), await registry.ticketWindow(), await registry.foldSize()];
    if (shape[0] !== BigInt(TREE_DEPTH) || shape[1] !== BigInt(TICKET_WINDOW) || shape[2] !== BigInt(FOLD_SIZE)) {
        throw new Error(`the deployed registry's circuit shape (depth, window, fold) = (${shape.join(", ")}) differs from the TypeScript reference`);
    }
    const deploymentBlock = await findDeploymentBlock(hre, registryAddress);
    const deployment: RegistryDeployment = {
        network: hre.network.name,
        chainId,
        deploymentBlock,
        contracts: {
            registry: registryAddress,
            token,
            spendVerifier: await address("spendVerifier"),
            foldVerifier: await address("foldVerifier"),
            withdrawVerifier: await address("withdrawVerifier"),
            slashVerifier: await address("slashVerifier")
        },
        parameters: {
            treasury: moduleParameters.treasury,
            owner: moduleParameters.owner,
            providerKey: binding.providerKey,
            ...binding.terms,
            challengeWindow: parameters.challengeWindow,
            depositTerm: parameters.depositTerm,
            epochBlocks: Number(await registry.epochBlocks()),
            treeDepth: Number(await registry.treeDepth()),
            ticketWindow: Number(await registry.ticketWindow()),
            foldSize: Number(await registry.foldSize()),
            minimumDeposit: await registry.minimumDeposit(),
            scope,
            context
        },
        insecureDevelopmentSetup: setup.insecureDevelopmentSetup
    };
    // The file also records whether the development keys were let onto this chain by the flag.
    const record = { ...deployment, allowInsecureSetup: setup.allowInsecureSetup };
    if (options.out !== undefined) {
        mkdirSync(path.dirname(options.out), { recursive: true });
        writeFileSync(options.out, serializeDeployment(record));
        log(`deploy: registry ${registryAddress}, token ${token}; wrote ${path.relative(process.cwd(), options.out)}`);
    }
    if (deployment.insecureDevelopmentSetup && setup.warning === undefined) {
        log("deploy: WARNING the verifiers use the INSECURE development setup: never hold real money with them");
    }
    return deployment;
}

/** The block that holds the registry's creation (binary search on code presence). */
async function findDeploymentBlock(hre: HardhatRuntimeEnvironment, address: string): Promise<number> {
    let high = await hre.ethers.provider.getBlockNumber();
    let low = 0;
    while (low < high) {
        const middle = Math.floor((low + high) / 2);
        const code = await hre.ethers.provider.getCode(address, middle);
        if (code === "0x") low = middle + 1;
        else high = middle;
    }
    return low;
}
