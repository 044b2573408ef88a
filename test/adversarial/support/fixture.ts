import { ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { keccak256, toQuantity, toUtf8Bytes } from "ethers";
import { providerPublicKey, registryContext, registryScope } from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import type { CreditRegistry, RegistryProbe, SpendVerifier, TestToken } from "../../../typechain-types";
import { deployRegistry } from "../../helpers/registry";
import type { RegistryParameters } from "../../helpers/registry";

/** The provider's signing key of the property tests: fixed, so pooled proofs stay valid across runs. */
export const PROVIDER_PRIVATE_KEY = keccak256(toUtf8Bytes("zk-api-credits/property-tests/provider key"));

/**
 * The deployer's nonce when the property fixture deploys: fixed, so the registry's address
 * (hence its scope, its context and every pooled proof) is the same whichever tests ran
 * before in the same Hardhat process. Far above any nonce the other suites reach.
 */
export const DEPLOYER_NONCE = 1n << 32n;

export const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";

export interface PropertyFixture {
    registry: CreditRegistry;
    token: TestToken;
    probe: RegistryProbe;
    spendVerifier: SpendVerifier;
    registryAddress: string;
    tokenAddress: string;
    parameters: RegistryParameters;
    binding: RegistryBinding;
    context: bigint;
    chainId: bigint;
    minimumDeposit: bigint;
    owner: HardhatEthersSigner;
    treasury: HardhatEthersSigner;
    /** The users who register, pay, receive and call (eight of Hardhat's accounts). */
    actors: HardhatEthersSigner[];
    deploymentBlock: number;
}

/** The registry of the deploy module (Ignition, as every other suite), at a fixed address, with a fixed provider key. */
export async function propertyFixture(): Promise<PropertyFixture> {
    const [deployer] = await ethers.getSigners();
    const nonce = BigInt(await ethers.provider.getTransactionCount(deployer!.address));
    if (nonce > DEPLOYER_NONCE) throw new Error(`the deployer's nonce ${nonce} is past the property fixture's ${DEPLOYER_NONCE}`);
    await network.provider.send("hardhat_setNonce", [deployer!.address, toQuantity(DEPLOYER_NONCE)]);

    const providerKey = providerPublicKey(PROVIDER_PRIVATE_KEY);
    const fx = await deployRegistry({ providerKeyX: providerKey[0], providerKeyY: providerKey[1] });
    const probe = (await ethers.deployContract("RegistryProbe")) as unknown as RegistryProbe;
    const registryAddress = await fx.registry.getAddress();
    const binding: RegistryBinding = {
        scope: registryScope(fx.chainId, registryAddress),
        providerKey,
        terms: { maxCost: fx.parameters.maxCost, policyPenalty: fx.parameters.policyPenalty, reserveBps: fx.parameters.reserveBps }
    };
    const context = registryContext(binding);
    if ((await fx.registry.context()) !== context) throw new Error("the registry's context is not the binding's");
    return {
        registry: fx.registry,
        token: fx.token,
        probe,
        spendVerifier: (await ethers.getContractAt("SpendVerifier", fx.verifiers.spend)) as unknown as SpendVerifier,
        registryAddress,
        tokenAddress: await fx.token.getAddress(),
        parameters: fx.parameters,
        binding,
        context,
        chainId: fx.chainId,
        minimumDeposit: await fx.registry.minimumDeposit(),
        owner: fx.owner,
        treasury: fx.treasury,
        actors: fx.users.slice(0, 8),
        deploymentBlock: await ethers.provider.getBlockNumber()
    };
}
