import { createHash } from "node:crypto";
import { ethers, ignition } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { AbiCoder, getAddress, keccak256 } from "ethers";
import {
    baseBlinding,
    ephemeralKeyBinding,
    flattenFoldSignals,
    flattenSpendSignals,
    flattenWithdrawSignals,
    foldInputs,
    foldPublicSignals,
    Identity,
    registryScope,
    RegistryTree,
    requestSigner,
    slashInputs,
    slashReceiverBinding,
    spendInputs,
    spendPublicSignals,
    ticketBlinding,
    TICKET_WINDOW,
    toSolidityProof,
    TREE_DEPTH,
    withdrawalClaim,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type {
    BaseState,
    ChargeAmounts,
    CircuitInputs,
    FoldWitness,
    MerkleProofInput,
    RegistryBinding,
    RegistryTerms,
    SignedBase,
    SignedCharge,
    SpendWitness,
    WithdrawWitness
} from "@zk-api-credits/protocol";
import type { Groth16Proof as SnarkProof } from "snarkjs";
import CreditRegistryModule from "../../deploy/modules/CreditRegistry";
import LocalCreditRegistry from "../../deploy/modules/LocalCreditRegistry";
import type { CreditRegistry, TestToken } from "../../typechain-types";
import { prover } from "./provers";
import type { ArtifactName } from "./provers";
import { TestProvider } from "./scenario";

export const TEST_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
export const CHALLENGE_WINDOW = 3_600n;
export const DEPOSIT_TERM = 90n * 86_400n;
export const EPOCH_BLOCKS = 1n;
export const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";
export const MAX_AMOUNT = (1n << 96n) - 1n;

/** ICreditRegistry.DepositStatus, as the contract returns it. */
export const Status = { None: 0n, Active: 1n, Withdrawing: 2n, Withdrawn: 3n, Slashed: 4n, Expired: 5n } as const;

/** ICreditRegistry.ChallengeKind, as the contract returns it. */
export const ChallengeKind = { StaleBase: 0n, UndeclaredTicket: 1n, Disclosure: 2n } as const;

/** ICreditRegistry.WithdrawalRequest with the types the contract returns. */
export interface WithdrawalRequest {
    recipient: string;
    spent: bigint;
    burned: bigint;
    declaredSlots: bigint;
    foldNullifier: bigint;
    slotNullifiersHash: bigint;
    slotNullifiers: bigint[];
}

/** A Groth16 proof in the registry's argument shape. */
export interface Groth16Proof {
    a: [bigint, bigint];
    b: [[bigint, bigint], [bigint, bigint]];
    c: [bigint, bigint];
}

/** ICreditRegistry.SpendSignals. */
export interface SpendSignals {
    root: bigint;
    ticketX: bigint;
    ticketY: bigint;
    y: bigint;
    x: bigint;
}

export interface RegistryParameters {
    treasury: string;
    providerKeyX: bigint;
    providerKeyY: bigint;
    maxCost: bigint;
    policyPenalty: bigint;
    reserveBps: bigint;
    challengeWindow: bigint;
    depositTerm: bigint;
    epochBlocks: bigint;
    owner: string;
}

/** What every registry test starts from: the deploy module run on Hardhat's network. */
export interface RegistryFixture {
    registry: CreditRegistry;
    token: TestToken;
    registryAddress: string;
    libraries: { PoseidonT3: string; PoseidonT5: string };
    verifiers: { spend: string; fold: string; withdraw: string; slash: string };
    provider: TestProvider;
    binding: RegistryBinding;
    parameters: RegistryParameters;
    chainId: bigint;
    deployer: HardhatEthersSigner;
    owner: HardhatEthersSigner;
    treasury: HardhatEthersSigner;
    users: HardhatEthersSigner[];
}

/** Deploys the LocalCreditRegistry Ignition module (TestToken, Poseidon libraries, four verifiers, registry). */
export async function deployRegistry(overrides: Partial<RegistryParameters> = {}, provider = new TestProvider()): Promise<RegistryFixture> {
    const [deployer, owner, treasury, ...users] = await ethers.getSigners();
    const parameters: RegistryParameters = {
        treasury: treasury!.address,
        providerKeyX: provider.publicKey[0],
        providerKeyY: provider.publicKey[1],
        maxCost: TEST_TERMS.maxCost,
        policyPenalty: TEST_TERMS.policyPenalty,
        reserveBps: TEST_TERMS.reserveBps,
        challengeWindow: CHALLENGE_WINDOW,
        depositTerm: DEPOSIT_TERM,
        epochBlocks: EPOCH_BLOCKS,
        owner: owner!.address,
        ...overrides
    };
    const deployed = await ignition.deploy(LocalCreditRegistry, { parameters: { LocalCreditRegistry: { ...parameters } } });
    const registry = deployed.registry as unknown as CreditRegistry;
    const token = deployed.token as unknown as TestToken;
    const registryAddress = await registry.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const terms = { maxCost: parameters.maxCost, policyPenalty: parameters.policyPenalty, reserveBps: parameters.reserveBps };
    return {
        registry,
        token,
        registryAddress,
        libraries: { PoseidonT3: await deployed.poseidonT3.getAddress(), PoseidonT5: await deployed.poseidonT5.getAddress() },
        verifiers: {
            spend: await deployed.spendVerifier.getAddress(),
            fold: await deployed.foldVerifier.getAddress(),
            withdraw: await deployed.withdrawVerifier.getAddress(),
            slash: await deployed.slashVerifier.getAddress()
        },
        provider,
        binding: { scope: registryScope(chainId, registryAddress), providerKey: provider.publicKey, terms },
        parameters,
        chainId,
        deployer: deployer!,
        owner: owner!,
        treasury: treasury!,
        users
    };
}

/**
 * A registry of the CreditRegistry deploy module (Ignition) for another token (hostile tokens,
 * blocklists), bound like `base` (same provider, accounts and parameters unless overridden).
 */
export async function registryFor(
    base: RegistryFixture,
    token: { getAddress(): Promise<string> },
    overrides: Partial<RegistryParameters> = {}
): Promise<RegistryFixture> {
    const parameters = { ...base.parameters, ...overrides };
    const { registry } = (await ignition.deploy(CreditRegistryModule, {
        parameters: { CreditRegistry: { ...parameters, token: await token.getAddress() } }
    })) as unknown as { registry: CreditRegistry };
    const registryAddress = await registry.getAddress();
    const terms = { maxCost: parameters.maxCost, policyPenalty: parameters.policyPenalty, reserveBps: parameters.reserveBps };
    const binding = { scope: registryScope(base.chainId, registryAddress), providerKey: base.provider.publicKey, terms };
    return { ...base, registry, registryAddress, token: token as unknown as TestToken, parameters, binding };
}

/** A registered user: identity, deposit, the account that paid it and its leaf. */
export interface Member {
    identity: Identity;
    amount: bigint;
    signer: HardhatEthersSigner;
    leafIndex: number;
}

/** A deterministic identity for `label` (fixtures that make the same identities share cached proofs). */
export function fixedIdentity(label: string): Identity {
    const digest = BigInt(`0x${createHash("sha256").update(`zk-api-credits/test identity/${label}`).digest("hex")}`);
    return new Identity((digest >> 8n) + 1n);
}

/** Mints, approves exactly `amount` and registers `identity` (fresh by default). */
export async function register(fx: RegistryFixture, signer: HardhatEthersSigner, amount: bigint, identity = new Identity()): Promise<Member> {
    await (await fx.token.mint(signer.address, amount)).wait();
    await (await fx.token.connect(signer).approve(fx.registryAddress, amount)).wait();
    const receipt = await (await fx.registry.connect(signer).register(identity.commitment, amount)).wait();
    const event = receipt!.logs.map((log) => fx.registry.interface.parseLog(log)).find((parsed) => parsed?.name === "Registered");
    return { identity, amount, signer, leafIndex: Number(event!.args.leafIndex) };
}

/** The Poseidon tree rebuilt from the registry's Registered events (leaves that left stay in: any root may challenge). */
export async function treeFromEvents(registry: CreditRegistry): Promise<RegistryTree> {
    const events = await registry.queryFilter(registry.filters.Registered());
    const tree = new RegistryTree();
    tree.insertMany(events.map((e) => ({ identityCommitment: e.args.identityCommitment, deposit: e.args.amount })));
    return tree;
}

/** The block timestamp of a mined transaction (never assume the next block's time). */
export async function minedAt(tx: Promise<{ wait(): Promise<{ blockNumber: number } | null> }>): Promise<bigint> {
    const receipt = await (await tx).wait();
    const block = await ethers.provider.getBlock(receipt!.blockNumber);
    return BigInt(block!.timestamp);
}

// ---------------------------------------------------------------- proofs

const proofCache = new Map<string, Promise<{ proof: Groth16Proof; publicSignals: bigint[] }>>();

/**
 * A real Groth16 proof of `inputs`, made once per process: tests that share a fixture (hence
 * its registry address, identities and provider key) share their proofs.
 */
export function prove(name: ArtifactName, inputs: CircuitInputs): Promise<{ proof: Groth16Proof; publicSignals: bigint[] }> {
    const key = createHash("sha256")
        .update(name)
        .update(JSON.stringify(inputs, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)))
        .digest("hex");
    let found = proofCache.get(key);
    if (found === undefined) {
        found = prover(name)
            .prove(inputs)
            .then(({ proof, publicSignals }) => ({ proof: solidity(proof), publicSignals }));
        found.catch(() => proofCache.delete(key));
        proofCache.set(key, found);
    }
    return found;
}

export function solidity(proof: SnarkProof): Groth16Proof {
    const { pA, pB, pC } = toSolidityProof(proof);
    return { a: pA, b: pB, c: pC };
}

/** The provider's signed base `base` of `member` under `binding` (genesis unsigned). */
export function signedBase(fx: RegistryFixture, member: Member, base: BaseState, binding: RegistryBinding = fx.binding): SignedBase {
    return fx.provider.signBase(binding, member.identity, base);
}

/** The provider's signed charges of tickets first, first + 1, … with `amounts`. */
export function signedCharges(
    fx: RegistryFixture,
    member: Member,
    first: bigint,
    amounts: readonly ChargeAmounts[],
    binding: RegistryBinding = fx.binding
): SignedCharge[] {
    return amounts.map((a, i) => fx.provider.charge(binding, member.identity, first + BigInt(i), a));
}

/** A withdrawal: the request as the registry takes it, its proof, and what the client computed. */
export interface Withdrawal {
    request: WithdrawalRequest;
    proof: Groth16Proof;
    /** The effective base's folded count e (private to the client). */
    effectiveFolded: bigint;
}

export interface WithdrawalOptions {
    base: SignedBase;
    /** Charges beyond the base the client holds (at most K). */
    charges?: readonly SignedCharge[];
    /** Declared slots j (tickets e + j sent but unsettled). */
    declared?: readonly number[];
    recipient: string;
    binding?: RegistryBinding;
}

/** A Withdraw proof of `member` from `base` plus `charges`, declaring `declared`, for `recipient`. */
export async function withdrawal(fx: RegistryFixture, member: Member, options: WithdrawalOptions): Promise<Withdrawal> {
    const declared = Array.from({ length: TICKET_WINDOW }, (_, j) => (options.declared ?? []).includes(j));
    const witness: WithdrawWitness = {
        secret: member.identity.secret,
        base: options.base,
        charges: options.charges ?? [],
        declared,
        registry: options.binding ?? fx.binding,
        recipient: BigInt(options.recipient)
    };
    const { proof, publicSignals } = await prove("withdraw-2-8", withdrawInputs(witness));
    const expected = flattenWithdrawSignals(withdrawPublicSignals(witness));
    if (expected.some((v, i) => v !== publicSignals[i])) throw new Error("the Withdraw circuit and the reference library disagree");
    const claim = withdrawalClaim(witness);
    return {
        request: {
            recipient: getAddress(options.recipient),
            spent: claim.spent,
            burned: claim.burned,
            declaredSlots: BigInt(claim.declaredSlots),
            foldNullifier: claim.foldNullifier,
            slotNullifiersHash: claim.slotNullifiersHash,
            slotNullifiers: [...claim.slotNullifiers]
        },
        proof,
        effectiveFolded: claim.effectiveFolded
    };
}

/** A Fold proof folding `charges` into the base after `base`. */
export async function folding(
    fx: RegistryFixture,
    member: Member,
    base: SignedBase,
    charges: readonly SignedCharge[],
    binding: RegistryBinding = fx.binding
): Promise<{ newBase: [bigint, bigint]; foldNullifier: bigint; proof: Groth16Proof; witness: FoldWitness }> {
    const witness: FoldWitness = {
        secret: member.identity.secret,
        base,
        charges,
        newBlinding: baseBlinding(member.identity.secret, binding.scope, base.base.folded + BigInt(charges.length)),
        registry: binding
    };
    const { proof, publicSignals } = await prove("fold-2", foldInputs(witness));
    const expected = foldPublicSignals(witness);
    if (flattenFoldSignals(expected).some((v, i) => v !== publicSignals[i])) throw new Error("the Fold circuit and the reference library disagree");
    return { newBase: [expected.newBase[0], expected.newBase[1]], foldNullifier: expected.foldNullifier, proof, witness };
}

/** x of ticket `index`: Poseidon of the ticket's deterministic request key. */
export function ticketX(member: Member, binding: RegistryBinding, index: bigint): bigint {
    return ephemeralKeyBinding(requestSigner(member.identity.secret, binding.scope, index).publicKey);
}

/** A Spend proof of ticket `index` of `member` on `base`, against the tree of the registry's events. */
export async function spending(
    fx: RegistryFixture,
    member: Member,
    base: SignedBase,
    index: bigint,
    options: { x?: bigint; binding?: RegistryBinding; tree?: RegistryTree; merkleProof?: MerkleProofInput } = {}
): Promise<{ signals: SpendSignals; nullifier: bigint; proof: Groth16Proof; publicSignals: bigint[] }> {
    const binding = options.binding ?? fx.binding;
    const merkleProof = options.merkleProof ?? (options.tree ?? (await treeFromEvents(fx.registry))).merkleProof(member.leafIndex, TREE_DEPTH);
    const witness: SpendWitness = {
        secret: member.identity.secret,
        deposit: member.amount,
        merkleProof,
        base,
        index,
        ticketBlinding: ticketBlinding(member.identity.secret, binding.scope, index),
        registry: binding,
        x: options.x ?? ticketX(member, binding, index)
    };
    const { proof, publicSignals } = await prove("spend-32", spendInputs(witness));
    const expected = flattenSpendSignals(spendPublicSignals(witness));
    if (expected.some((v, i) => v !== publicSignals[i])) throw new Error("the Spend circuit and the reference library disagree");
    const [root, , ticketXValue, ticketYValue, nullifier, y, x] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return { signals: { root, ticketX: ticketXValue, ticketY: ticketYValue, y, x }, nullifier, proof, publicSignals };
}

/** A Slash proof of knowledge of `secret`, bound to `receiver` on `registry` (this fixture's by default). */
export async function slashing(fx: RegistryFixture, secret: bigint, receiver: string, registry: string = fx.registryAddress): Promise<Groth16Proof> {
    const receiverBinding = slashReceiverBinding(fx.chainId, registry, receiver);
    return (await prove("slash", slashInputs({ secret, receiverBinding }))).proof;
}

/** keccak256(abi.encode(request)): what the registry stores for a pending withdrawal. */
export function requestHash(request: WithdrawalRequest): string {
    return keccak256(
        AbiCoder.defaultAbiCoder().encode(
            ["tuple(address,uint96,uint96,uint8,uint256,uint256,uint256[8])"],
            [
                [
                    request.recipient,
                    request.spent,
                    request.burned,
                    request.declaredSlots,
                    request.foldNullifier,
                    request.slotNullifiersHash,
                    request.slotNullifiers
                ]
            ]
        )
    );
}

/** Number of declared slots of a mask. */
export function popcount(mask: bigint): bigint {
    let count = 0n;
    for (let rest = mask; rest !== 0n; rest &= rest - 1n) count++;
    return count;
}

/**
 * What finalizeWithdrawal pays, from the specification: the burn first, then the charges
 * (spent + maxCost per declared slot), each capped by what is left; the rest is the refund.
 */
export function settlement(amount: bigint, request: WithdrawalRequest, maxCost: bigint): { refund: bigint; toTreasury: bigint; toBurn: bigint } {
    const toBurn = request.burned < amount ? request.burned : amount;
    const charged = request.spent + popcount(request.declaredSlots) * maxCost;
    const toTreasury = charged < amount - toBurn ? charged : amount - toBurn;
    return { refund: amount - toBurn - toTreasury, toTreasury, toBurn };
}

/**
 * Storage slot of RegistryCheckpoint's leaf count + 1 (the first state variable of the first
 * base with storage). setLeafCount checks it before writing, so a layout change fails loudly.
 */
const LEAF_COUNT_SLOT = 0n;

/**
 * Sets the registry's leaf count (Hardhat's hardhat_setStorageAt): reaching the 2^32 capacity by
 * registering is out of reach of a test. Only for capacity tests: the checkpoints in between stay zero.
 */
export async function setLeafCount(fx: RegistryFixture, count: bigint): Promise<void> {
    const read = async (): Promise<bigint> => BigInt(await ethers.provider.getStorage(fx.registryAddress, LEAF_COUNT_SLOT));
    const leafCount = await fx.registry.leafCount();
    if ((await read()) !== leafCount + 1n) throw new Error("the leaf count is not where setLeafCount expects it");
    await ethers.provider.send("hardhat_setStorageAt", [fx.registryAddress, ethers.toQuantity(LEAF_COUNT_SLOT), ethers.zeroPadValue(ethers.toBeHex(count + 1n), 32)]);
    if ((await fx.registry.leafCount()) !== count) throw new Error("setLeafCount did not take");
}
