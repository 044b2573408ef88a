import { Base8 } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { ProtocolError } from "./errors";
import { assertFieldElement } from "./field";
import { identityCommitment } from "./identity";
import { packRegistryTerms, registryContext } from "./registry";
import type { RegistryBinding } from "./registry";
import { rlnShare, ticketNullifier } from "./rln";
import type { StateSignature } from "./signature";
import { assertAccountState, canSpend, commitState, rerandomiseCommitment } from "./state";
import type { AccountState } from "./state";
import type { MerkleProofInput } from "./tree";

/** Input signals of a circuit, as snarkjs takes them. */
export type CircuitInputs = Record<string, bigint | bigint[]>;

/**
 * Every input must be a canonical field element: circom's witness calculator silently
 * reduces anything else mod p, which would prove a statement about another value.
 */
function canonical(inputs: CircuitInputs): CircuitInputs {
    for (const [name, value] of Object.entries(inputs)) {
        (Array.isArray(value) ? value : [value]).forEach((v, i) =>
            assertFieldElement(v, Array.isArray(value) ? `${name}[${i}]` : name)
        );
    }
    return inputs;
}

/**
 * A stand-in signature for the genesis state, which the circuits do not check
 * (the verifier is disabled for seq = 0); any well-formed point and scalar do.
 */
const GENESIS_SIGNATURE: StateSignature = { R8: Base8, S: 0n };

function signatureFor(state: AccountState, signature: StateSignature | undefined): StateSignature {
    if (signature !== undefined) return signature;
    if (state.seq === 0n) return GENESIS_SIGNATURE;
    throw new ProtocolError("MISSING_SIGNATURE", `state ${state.seq} is not genesis and needs the provider's signature`);
}

/** Everything the Spend circuit needs for one ticket. */
export interface SpendWitness {
    readonly secret: bigint;
    readonly deposit: bigint;
    readonly merkleProof: MerkleProofInput;
    /** The latest signed state, its blinding and signature (none for genesis). */
    readonly state: AccountState;
    readonly blinding: bigint;
    readonly signature?: StateSignature;
    /** Fresh randomness added to the shown state. */
    readonly rerandomiser: bigint;
    readonly registry: RegistryBinding;
    /** The request binding. */
    readonly x: bigint;
}

/** The Spend proof's public signals, in the circuit's order. */
export interface SpendPublicSignals {
    readonly root: bigint;
    readonly context: bigint;
    readonly rerandomisedState: Point<bigint>;
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
}

export function spendInputs(witness: SpendWitness): CircuitInputs {
    const { state, registry } = witness;
    assertAccountState(state);
    const signature = signatureFor(state, witness.signature);
    return canonical({
        secret: witness.secret,
        deposit: witness.deposit,
        merkleDepth: BigInt(witness.merkleProof.depth),
        merkleIndex: witness.merkleProof.index,
        merkleSiblings: witness.merkleProof.siblings,
        spent: state.spent,
        burned: state.burned,
        seq: state.seq,
        blinding: witness.blinding,
        signatureR8: [...signature.R8],
        signatureS: signature.S,
        rerandomiser: witness.rerandomiser,
        scope: registry.scope,
        providerKey: [...registry.providerKey],
        maxCost: registry.terms.maxCost,
        policyPenalty: registry.terms.policyPenalty,
        reserveBps: registry.terms.reserveBps,
        x: witness.x
    });
}

/**
 * The public signals a valid Spend witness yields, computed in TypeScript: what the
 * client expects and what the differential tests compare with the circuit.
 */
export function spendPublicSignals(witness: SpendWitness): SpendPublicSignals {
    if (!canSpend(witness.state, witness.deposit, witness.registry.terms)) {
        throw new ProtocolError("INSOLVENT", "the state cannot pay for one more request");
    }
    const idc = identityCommitment(witness.secret);
    const commitment = commitState(witness.state, idc, witness.blinding);
    const share = rlnShare(witness.secret, witness.registry.scope, witness.state.seq, witness.x);
    return {
        root: witness.merkleProof.root,
        context: registryContext(witness.registry),
        rerandomisedState: rerandomiseCommitment(commitment, witness.rerandomiser),
        nullifier: share.nullifier,
        y: share.y,
        x: witness.x
    };
}

/** The Spend public signals as the flat list the verifier takes. */
export function flattenSpendSignals(signals: SpendPublicSignals): bigint[] {
    return [
        signals.root,
        signals.context,
        signals.rerandomisedState[0],
        signals.rerandomisedState[1],
        signals.nullifier,
        signals.y,
        signals.x
    ];
}

/** Inverse of {@link flattenSpendSignals}. */
export function parseSpendSignals(values: readonly bigint[]): SpendPublicSignals {
    if (values.length !== 7) throw new RangeError(`a Spend proof has 7 public signals, not ${values.length}`);
    values.forEach((v, i) => assertFieldElement(v, `spend public signal ${i}`));
    const [root, context, cx, cy, nullifier, y, x] = values as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return { root, context, rerandomisedState: [cx, cy], nullifier, y, x };
}

/** Everything the Withdraw circuit needs. */
export interface WithdrawWitness {
    readonly secret: bigint;
    readonly state: AccountState;
    readonly blinding: bigint;
    readonly signature?: StateSignature;
    readonly registry: RegistryBinding;
    /** The address that receives the refund (as a 160-bit integer). */
    readonly recipient: bigint;
}

/** The Withdraw proof's public signals, in the circuit's order. */
export interface WithdrawPublicSignals {
    readonly identityCommitment: bigint;
    readonly nullifier: bigint;
    readonly context: bigint;
    readonly spent: bigint;
    readonly burned: bigint;
    readonly recipient: bigint;
}

export function withdrawInputs(witness: WithdrawWitness): CircuitInputs {
    const { state, registry } = witness;
    assertAccountState(state);
    const signature = signatureFor(state, witness.signature);
    return canonical({
        secret: witness.secret,
        seq: state.seq,
        blinding: witness.blinding,
        signatureR8: [...signature.R8],
        signatureS: signature.S,
        scope: registry.scope,
        providerKey: [...registry.providerKey],
        terms: packRegistryTerms(registry.terms),
        spent: state.spent,
        burned: state.burned,
        recipient: witness.recipient
    });
}

export function withdrawPublicSignals(witness: WithdrawWitness): WithdrawPublicSignals {
    return {
        identityCommitment: identityCommitment(witness.secret),
        nullifier: ticketNullifier(witness.secret, witness.registry.scope, witness.state.seq).nullifier,
        context: registryContext(witness.registry),
        spent: witness.state.spent,
        burned: witness.state.burned,
        recipient: witness.recipient
    };
}

export function flattenWithdrawSignals(s: WithdrawPublicSignals): bigint[] {
    return [s.identityCommitment, s.nullifier, s.context, s.spent, s.burned, s.recipient];
}

/** Everything the Slash circuit needs. */
export interface SlashWitness {
    readonly secret: bigint;
    /** slashReceiverBinding(chainId, registry, receiver). */
    readonly receiverBinding: bigint;
}

export interface SlashPublicSignals {
    readonly identityCommitment: bigint;
    readonly receiverBinding: bigint;
}

export function slashInputs(witness: SlashWitness): CircuitInputs {
    return canonical({ secret: witness.secret, receiverBinding: witness.receiverBinding });
}

export function slashPublicSignals(witness: SlashWitness): SlashPublicSignals {
    return { identityCommitment: identityCommitment(witness.secret), receiverBinding: witness.receiverBinding };
}

export function flattenSlashSignals(s: SlashPublicSignals): bigint[] {
    return [s.identityCommitment, s.receiverBinding];
}
