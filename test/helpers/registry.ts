import { ethers, ignition } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
    commitState,
    Identity,
    randomScalar,
    registryScope,
    RegistryTree,
    signState,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    toSolidityProof,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { AccountState, RegistryBinding, RegistryTerms, StateSignature } from "@zk-api-credits/protocol";
import LocalCreditRegistry from "../../deploy/modules/LocalCreditRegistry";
import type { CreditRegistry, TestToken } from "../../typechain-types";
import type { ICreditRegistry } from "../../typechain-types/contracts/CreditRegistry";
import { prover } from "./provers";
import { TestProvider } from "./scenario";

export type WithdrawalRequest = ICreditRegistry.WithdrawalRequestStruct & { recipient: string; spent: bigint; burned: bigint; nullifier: bigint };
export type Groth16Proof = ICreditRegistry.Groth16ProofStruct;
export type SpendSignals = ICreditRegistry.SpendSignalsStruct;

export const TEST_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
export const CHALLENGE_WINDOW = 3_600n;
export const DEPOSIT_TERM = 90n * 86_400n;
export const TREE_DEPTH = 20n;

export interface RegistryParameters {
    treasury: string;
    providerKeyX: bigint;
    providerKeyY: bigint;
    maxCost: bigint;
    policyPenalty: bigint;
    reserveBps: bigint;
    challengeWindow: bigint;
    depositTerm: bigint;
    treeDepth: bigint;
    owner: string;
}

/** What every registry test starts from: the deploy module run on Hardhat's network. */
export interface RegistryFixture {
    registry: CreditRegistry;
    token: TestToken;
    libraries: { PoseidonT3: string; PoseidonT5: string };
    verifiers: { spend: string; withdraw: string; slash: string };
    provider: TestProvider;
    binding: RegistryBinding;
    parameters: RegistryParameters;
    chainId: bigint;
    deployer: HardhatEthersSigner;
    owner: HardhatEthersSigner;
    treasury: HardhatEthersSigner;
    users: HardhatEthersSigner[];
}

export async function deployRegistry(overrides: Partial<RegistryParameters> = {}): Promise<RegistryFixture> {
    const [deployer, owner, treasury, ...users] = await ethers.getSigners();
    const provider = new TestProvider();
    const parameters: RegistryParameters = {
        treasury: treasury!.address,
        providerKeyX: provider.publicKey[0],
        providerKeyY: provider.publicKey[1],
        maxCost: TEST_TERMS.maxCost,
        policyPenalty: TEST_TERMS.policyPenalty,
        reserveBps: TEST_TERMS.reserveBps,
        challengeWindow: CHALLENGE_WINDOW,
        depositTerm: DEPOSIT_TERM,
        treeDepth: TREE_DEPTH,
        owner: owner!.address,
        ...overrides
    };
    const deployed = await ignition.deploy(LocalCreditRegistry, {
        parameters: { LocalCreditRegistry: { ...parameters } }
    });
    const registry = deployed.registry as unknown as CreditRegistry;
    const token = deployed.token as unknown as TestToken;
    const libraries = {
        PoseidonT3: await deployed.poseidonT3.getAddress(),
        PoseidonT5: await deployed.poseidonT5.getAddress()
    };
    const verifiers = {
        spend: await deployed.spendVerifier.getAddress(),
        withdraw: await deployed.withdrawVerifier.getAddress(),
        slash: await deployed.slashVerifier.getAddress()
    };
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const terms = { maxCost: parameters.maxCost, policyPenalty: parameters.policyPenalty, reserveBps: parameters.reserveBps };
    const binding: RegistryBinding = { scope: registryScope(chainId, await registry.getAddress()), providerKey: provider.publicKey, terms };
    return {
        registry,
        token,
        libraries,
        verifiers,
        provider,
        binding,
        parameters,
        chainId,
        deployer: deployer!,
        owner: owner!,
        treasury: treasury!,
        users
    };
}

/** A registered user: identity, deposit, and their signed state as the test moves it. */
export interface Member {
    identity: Identity;
    amount: bigint;
    signer: HardhatEthersSigner;
    leafIndex: number;
}

/** Mints, approves exactly `amount` and registers a fresh identity. */
export async function register(fx: RegistryFixture, signer: HardhatEthersSigner, amount: bigint, identity = new Identity()): Promise<Member> {
    await (await fx.token.mint(signer.address, amount)).wait();
    await (await fx.token.connect(signer).approve(await fx.registry.getAddress(), amount)).wait();
    const receipt = await (await fx.registry.connect(signer).register(identity.commitment, amount)).wait();
    const event = receipt!.logs.map((log) => fx.registry.interface.parseLog(log)).find((parsed) => parsed?.name === "Registered");
    return { identity, amount, signer, leafIndex: Number(event!.args.leafIndex) };
}

/** The Poseidon tree rebuilt from the registry's events (what every client does). */
export async function treeFromEvents(registry: CreditRegistry): Promise<RegistryTree> {
    const events = await registry.queryFilter(registry.filters.Registered());
    const tree = new RegistryTree();
    tree.insertMany(events.map((e) => ({ identityCommitment: e.args.identityCommitment, deposit: e.args.amount })));
    return tree;
}

/** A provider-signed state of `member` (or the genesis state), with its opening. */
export interface SignedState {
    state: AccountState;
    blinding: bigint;
    signature?: StateSignature;
}

export function signedState(fx: RegistryFixture, member: Member, state: AccountState): SignedState {
    const blinding = randomScalar();
    const signature = state.seq === 0n ? undefined : signState(fx.provider.privateKey, commitState(state, member.identity.commitment, blinding));
    return { state, blinding, signature };
}

export function solidity(proof: Parameters<typeof toSolidityProof>[0]): Groth16Proof {
    const { pA, pB, pC } = toSolidityProof(proof);
    return { a: pA, b: pB, c: pC };
}

/** A Withdraw proof of `signed` for `recipient`, and the request it proves. */
export async function withdrawal(
    fx: RegistryFixture,
    member: Member,
    signed: SignedState,
    recipient: string,
    binding: RegistryBinding = fx.binding
): Promise<{ request: WithdrawalRequest; proof: Groth16Proof }> {
    const { proof, publicSignals } = await prover("withdraw").prove(
        withdrawInputs({ secret: member.identity.secret, ...signed, registry: binding, recipient: BigInt(recipient) })
    );
    const request: WithdrawalRequest = {
        nullifier: publicSignals[1]!,
        recipient: ethers.getAddress(recipient),
        spent: signed.state.spent,
        burned: signed.state.burned
    };
    return { request, proof: solidity(proof) };
}

/** A Slash proof of knowledge of `secret`, bound to `receiver` on this registry. */
export async function slashing(fx: RegistryFixture, secret: bigint, receiver: string, registry?: string): Promise<Groth16Proof> {
    const binding = slashReceiverBinding(fx.chainId, registry ?? (await fx.registry.getAddress()), receiver);
    const { proof } = await prover("slash").prove(slashInputs({ secret, receiverBinding: binding }));
    return solidity(proof);
}

/** A Spend proof of ticket `signed.state.seq` of `member` against the tree of the registry's events. */
export async function spending(
    fx: RegistryFixture,
    member: Member,
    signed: SignedState,
    x: bigint,
    binding: RegistryBinding = fx.binding
): Promise<{ signals: SpendSignals; nullifier: bigint; proof: Groth16Proof; publicSignals: bigint[] }> {
    const tree = await treeFromEvents(fx.registry);
    const witness = {
        secret: member.identity.secret,
        deposit: member.amount,
        merkleProof: tree.merkleProof(member.leafIndex, Number(TREE_DEPTH)),
        ...signed,
        rerandomiser: randomScalar(),
        registry: binding,
        x
    };
    const { proof, publicSignals } = await prover("spend-20").prove(spendInputs(witness));
    const [root, , cx, cy, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return {
        signals: { root, rerandomisedStateX: cx, rerandomisedStateY: cy, y, x },
        nullifier,
        proof: solidity(proof),
        publicSignals
    };
}

