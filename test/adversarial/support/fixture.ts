import { ethers, ignition, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { keccak256, toQuantity, toUtf8Bytes } from "ethers";
import { EdDSAPoseidonSigner, registryContext, registryScope } from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import CreditRegistryModule from "../../../deploy/modules/CreditRegistry";
import type { BlocklistToken, CreditRegistry, FoldVerifier, RegistryProbe, SpendVerifier } from "../../../typechain-types";
import { CHALLENGE_WINDOW, DEPOSIT_TERM, EPOCH_BLOCKS, TEST_TERMS } from "../../helpers/registry";
import type { RegistryParameters } from "../../helpers/registry";

/** The provider's signing key of the property tests: fixed, so pooled proofs stay valid across runs. */
export const PROVIDER_PRIVATE_KEY = keccak256(toUtf8Bytes("zk-api-credits/property-tests/provider key v2"));

/**
 * The deployer's nonce when the property fixture deploys: fixed, so the registry's address
 * (hence its scope, its context and every pooled proof) is the same whichever tests ran
 * before in the same Hardhat process. Far above any nonce the other suites reach.
 */
export const DEPLOYER_NONCE = 1n << 32n;

export const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";

/** Actors who register and pay deposits (the first four): never blocked by the token. */
export const PAYERS = 4;

export interface PropertyFixture {
    registry: CreditRegistry;
    /** The deposit token: an ERC-20 with a blocklist, so that recipients, the treasury and the burn address can be refused. */
    token: BlocklistToken;
    probe: RegistryProbe;
    spendVerifier: SpendVerifier;
    foldVerifier: FoldVerifier;
    registryAddress: string;
    tokenAddress: string;
    parameters: RegistryParameters;
    binding: RegistryBinding;
    context: bigint;
    chainId: bigint;
    minimumDeposit: bigint;
    owner: HardhatEthersSigner;
    treasury: HardhatEthersSigner;
    /** The users who register, pay, receive and call (eight of Hardhat's accounts; the first PAYERS pay deposits). */
    actors: HardhatEthersSigner[];
    /** Addresses the token may be told to refuse: actors 4 to 7, the treasury and the burn address. */
    blockable: string[];
    deploymentBlock: number;
}

/** The registry of the deploy module (Ignition, as every other suite), for a BlocklistToken, at a fixed address, with a fixed provider key. */
export async function propertyFixture(): Promise<PropertyFixture> {
    const [deployer, owner, treasury, ...users] = await ethers.getSigners();
    const nonce = BigInt(await ethers.provider.getTransactionCount(deployer!.address));
    if (nonce > DEPLOYER_NONCE) throw new Error(`the deployer's nonce ${nonce} is past the property fixture's ${DEPLOYER_NONCE}`);
    await network.provider.send("hardhat_setNonce", [deployer!.address, toQuantity(DEPLOYER_NONCE)]);

    const providerKey = new EdDSAPoseidonSigner(PROVIDER_PRIVATE_KEY).publicKey;
    const token = (await ethers.deployContract("BlocklistToken")) as unknown as BlocklistToken;
    const parameters: RegistryParameters = {
        treasury: treasury!.address,
        providerKeyX: providerKey[0],
        providerKeyY: providerKey[1],
        maxCost: TEST_TERMS.maxCost,
        policyPenalty: TEST_TERMS.policyPenalty,
        reserveBps: TEST_TERMS.reserveBps,
        challengeWindow: CHALLENGE_WINDOW,
        depositTerm: DEPOSIT_TERM,
        epochBlocks: EPOCH_BLOCKS,
        owner: owner!.address
    };
    const deployed = await ignition.deploy(CreditRegistryModule, { parameters: { CreditRegistry: { ...parameters, token: await token.getAddress() } } });
    const registry = deployed.registry as unknown as CreditRegistry;
    const probe = (await ethers.deployContract("RegistryProbe")) as unknown as RegistryProbe;
    const registryAddress = await registry.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const binding: RegistryBinding = { scope: registryScope(chainId, registryAddress), providerKey, terms: TEST_TERMS };
    const context = registryContext(binding);
    if ((await registry.context()) !== context) throw new Error("the registry's context is not the binding's");
    const actors = users.slice(0, 8);
    return {
        registry,
        token,
        probe,
        spendVerifier: deployed.spendVerifier as unknown as SpendVerifier,
        foldVerifier: deployed.foldVerifier as unknown as FoldVerifier,
        registryAddress,
        tokenAddress: await token.getAddress(),
        parameters,
        binding,
        context,
        chainId,
        minimumDeposit: await registry.minimumDeposit(),
        owner: owner!,
        treasury: treasury!,
        actors,
        blockable: [...actors.slice(PAYERS).map((a) => a.address), treasury!.address, BURN_ADDRESS],
        deploymentBlock: await ethers.provider.getBlockNumber()
    };
}
