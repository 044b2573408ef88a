import { Base8 } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { AMOUNT_BITS, FOLD_SIZE, TICKET_WINDOW } from "./constants";
import { assertBaseState, commitAccount, commitTicket, foldBase } from "./commitment";
import type { BaseState, ChargeAmounts } from "./commitment";
import { ProtocolError } from "./errors";
import { assertFieldElement } from "./field";
import { poseidon } from "./hash";
import { identityCommitment } from "./identity";
import { registryContext } from "./registry";
import type { RegistryBinding } from "./registry";
import { foldNullifier, rlnShare, ticketNullifier } from "./rln";
import type { Signature } from "./signature";
import { canSpend } from "./solvency";
import type { MerkleProofInput } from "./tree";

/** Input signals of a circuit, as snarkjs takes them. */
export type CircuitInputs = Record<string, bigint | bigint[] | bigint[][]>;

/**
 * Every input must be a canonical field element: circom's witness calculator silently
 * reduces anything else mod p, which would prove a statement about another value.
 */
function canonical(inputs: CircuitInputs): CircuitInputs {
    const check = (value: bigint | bigint[] | bigint[][], name: string): void => {
        if (Array.isArray(value)) value.forEach((v, i) => check(v, `${name}[${i}]`));
        else assertFieldElement(value, name);
    };
    for (const [name, value] of Object.entries(inputs)) check(value, name);
    return inputs;
}

/**
 * A stand-in signature for an input the circuit does not check (the genesis base, or an
 * unused charge slot of Withdraw); any well-formed point and scalar do.
 */
const UNCHECKED_SIGNATURE: Signature = { R8: Base8, S: 0n };

/** A base state with the opening and the signature the circuits need. */
export interface SignedBase {
    readonly base: BaseState;
    readonly blinding: bigint;
    /** The provider's base signature; none for genesis. */
    readonly signature?: Signature;
}

function baseSignatureFor(signed: SignedBase): Signature {
    if (signed.signature !== undefined) return signed.signature;
    if (signed.base.folded === 0n && signed.base.spent === 0n && signed.base.burned === 0n) return UNCHECKED_SIGNATURE;
    throw new ProtocolError("MISSING_SIGNATURE", `base ${signed.base.folded} is not genesis and needs the provider's signature`);
}

function baseInputs(signed: SignedBase): CircuitInputs {
    assertBaseState(signed.base);
    const signature = baseSignatureFor(signed);
    return {
        spent: signed.base.spent,
        burned: signed.base.burned,
        folded: signed.base.folded,
        baseBlinding: signed.blinding,
        baseSignatureR8: [...signature.R8],
        baseSignatureS: signature.S
    };
}

function registryInputs(registry: RegistryBinding): CircuitInputs {
    return {
        scope: registry.scope,
        providerKey: [...registry.providerKey],
        maxCost: registry.terms.maxCost,
        policyPenalty: registry.terms.policyPenalty,
        reserveBps: registry.terms.reserveBps
    };
}

/** A charge the client holds for a ticket: the amounts, the ticket's blinding and the signature. */
export interface SignedCharge extends ChargeAmounts {
    readonly blinding: bigint;
    readonly signature: Signature;
}

/** Throws CHARGE_OUT_OF_TERMS for a charge no circuit folds (cost above maxCost, penalty not 0 or policyPenalty). */
function assertChargesInTerms(charges: readonly ChargeAmounts[], registry: RegistryBinding): void {
    for (const charge of charges) {
        if (charge.cost < 0n || charge.cost > registry.terms.maxCost || (charge.penalty !== 0n && charge.penalty !== registry.terms.policyPenalty)) {
            throw new ProtocolError("CHARGE_OUT_OF_TERMS", `a charge of ${charge.cost} (penalty ${charge.penalty}) is outside the registry's terms`);
        }
    }
}

/** The charge commitment Com(cost, penalty, index; blinding) of one of `secret`'s tickets. */
export function chargeCommitment(secret: bigint, index: bigint, charge: ChargeAmounts & { readonly blinding: bigint }): Point<bigint> {
    return commitAccount(charge.cost, charge.penalty, index, identityCommitment(secret), charge.blinding);
}

// ---------------------------------------------------------------------------------------
// Spend

/** Everything the Spend circuit needs for ticket `index`. */
export interface SpendWitness {
    readonly secret: bigint;
    readonly deposit: bigint;
    readonly merkleProof: MerkleProofInput;
    /** A signed base (or genesis) whose window holds `index`. */
    readonly base: SignedBase;
    readonly index: bigint;
    /** ρ_i (derivation.ts: ticketBlinding). */
    readonly ticketBlinding: bigint;
    readonly registry: RegistryBinding;
    /** The request binding x = Poseidon(epk_i). */
    readonly x: bigint;
}

/** The Spend proof's public signals, in the circuit's order. */
export interface SpendPublicSignals {
    readonly root: bigint;
    readonly context: bigint;
    readonly ticketCommitment: Point<bigint>;
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
}

export function spendInputs(witness: SpendWitness): CircuitInputs {
    return canonical({
        secret: witness.secret,
        deposit: witness.deposit,
        merkleDepth: BigInt(witness.merkleProof.depth),
        merkleIndex: witness.merkleProof.index,
        merkleSiblings: witness.merkleProof.siblings,
        ...baseInputs(witness.base),
        index: witness.index,
        ticketBlinding: witness.ticketBlinding,
        ...registryInputs(witness.registry),
        x: witness.x
    });
}

/**
 * The public signals a valid Spend witness yields, computed in TypeScript: what the client
 * expects and what the differential tests compare with the circuit.
 */
export function spendPublicSignals(witness: SpendWitness): SpendPublicSignals {
    if (!canSpend(witness.base.base, witness.index, witness.deposit, witness.registry.terms)) {
        throw new ProtocolError("INSOLVENT", `ticket ${witness.index} is outside the window of base ${witness.base.base.folded} or cannot be reserved`);
    }
    const share = rlnShare(witness.secret, witness.registry.scope, witness.index, witness.x);
    return {
        root: witness.merkleProof.root,
        context: registryContext(witness.registry),
        ticketCommitment: commitTicket(witness.index, identityCommitment(witness.secret), witness.ticketBlinding),
        nullifier: share.nullifier,
        y: share.y,
        x: witness.x
    };
}

/** The Spend public signals as the flat list the verifier takes. */
export function flattenSpendSignals(signals: SpendPublicSignals): bigint[] {
    return [signals.root, signals.context, signals.ticketCommitment[0], signals.ticketCommitment[1], signals.nullifier, signals.y, signals.x];
}

/** Inverse of {@link flattenSpendSignals}. */
export function parseSpendSignals(values: readonly bigint[]): SpendPublicSignals {
    if (values.length !== 7) throw new RangeError(`a Spend proof has 7 public signals, not ${values.length}`);
    values.forEach((v, i) => assertFieldElement(v, `spend public signal ${i}`));
    const [root, context, tx, ty, nullifier, y, x] = values as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return { root, context, ticketCommitment: [tx, ty], nullifier, y, x };
}

// ---------------------------------------------------------------------------------------
// Fold

/** Everything the Fold(K) circuit needs: a base and exactly K charges beyond it. */
export interface FoldWitness {
    readonly secret: bigint;
    readonly base: SignedBase;
    /** The charges of tickets base.folded … base.folded + K − 1, in order. */
    readonly charges: readonly SignedCharge[];
    /** r_{f+K} (derivation.ts: baseBlinding). */
    readonly newBlinding: bigint;
    readonly registry: RegistryBinding;
}

/** The Fold proof's public signals, in the circuit's order. */
export interface FoldPublicSignals {
    readonly context: bigint;
    readonly foldNullifier: bigint;
    readonly newBase: Point<bigint>;
}

function chargeSlots(charges: readonly SignedCharge[], slots: number): CircuitInputs {
    const padded = [...charges];
    while (padded.length < slots) padded.push({ cost: 0n, penalty: 0n, blinding: 0n, signature: UNCHECKED_SIGNATURE });
    return {
        costs: padded.map((c) => c.cost),
        penalties: padded.map((c) => c.penalty),
        chargeBlindings: padded.map((c) => c.blinding),
        chargeSignatureR8: padded.map((c) => [...c.signature.R8]),
        chargeSignatureS: padded.map((c) => c.signature.S)
    };
}

export function foldInputs(witness: FoldWitness, foldSize: number = FOLD_SIZE): CircuitInputs {
    if (witness.charges.length !== foldSize) throw new RangeError(`a fold takes exactly ${foldSize} charges, not ${witness.charges.length}`);
    return canonical({
        secret: witness.secret,
        ...baseInputs(witness.base),
        ...chargeSlots(witness.charges, foldSize),
        newBlinding: witness.newBlinding,
        ...registryInputs(witness.registry)
    });
}

/** The base a fold produces (what the gateway will sign). */
export function foldedBase(witness: FoldWitness): BaseState {
    assertChargesInTerms(witness.charges, witness.registry);
    return foldBase(witness.base.base, witness.charges);
}

export function foldPublicSignals(witness: FoldWitness): FoldPublicSignals {
    const next = foldedBase(witness);
    return {
        context: registryContext(witness.registry),
        foldNullifier: foldNullifier(witness.secret, witness.registry.scope, witness.base.base.folded),
        newBase: commitAccount(next.spent, next.burned, next.folded, identityCommitment(witness.secret), witness.newBlinding)
    };
}

export function flattenFoldSignals(signals: FoldPublicSignals): bigint[] {
    return [signals.context, signals.foldNullifier, signals.newBase[0], signals.newBase[1]];
}

export function parseFoldSignals(values: readonly bigint[]): FoldPublicSignals {
    if (values.length !== 4) throw new RangeError(`a Fold proof has 4 public signals, not ${values.length}`);
    values.forEach((v, i) => assertFieldElement(v, `fold public signal ${i}`));
    const [context, nullifier, bx, by] = values as [bigint, bigint, bigint, bigint];
    return { context, foldNullifier: nullifier, newBase: [bx, by] };
}

// ---------------------------------------------------------------------------------------
// Withdraw

/** Everything the Withdraw(K, W) circuit needs. */
export interface WithdrawWitness {
    readonly secret: bigint;
    /** The newest signed base (or genesis). */
    readonly base: SignedBase;
    /** The charges of tickets base.folded, base.folded + 1, … the client holds (at most K). */
    readonly charges: readonly SignedCharge[];
    /** W flags: the slots e + j whose ticket was written down but whose charge is not folded. */
    readonly declared: readonly boolean[];
    readonly registry: RegistryBinding;
    /** The address that receives the refund (as a 160-bit integer). */
    readonly recipient: bigint;
}

/** The Withdraw proof's public signals, in the circuit's order, and what they encode. */
export interface WithdrawPublicSignals {
    readonly identityCommitment: bigint;
    readonly context: bigint;
    /** spent + burned * 2^96 + declaredSlots * 2^192. */
    readonly accounting: bigint;
    readonly foldNullifier: bigint;
    readonly slotNullifiersHash: bigint;
    readonly recipient: bigint;
}

/** What a withdrawal claims, decoded (the registry's WithdrawalRequest). */
export interface WithdrawalClaim {
    /** Totals of the effective base e = f + m. */
    readonly spent: bigint;
    readonly burned: bigint;
    /** Bit j set: slot e + j is declared (charged maxCost). */
    readonly declaredSlots: number;
    readonly foldNullifier: bigint;
    /** N_{e+j} for undeclared slots, 0 for declared ones. */
    readonly slotNullifiers: readonly bigint[];
    readonly slotNullifiersHash: bigint;
    /** The effective base's folded count (private to the client; not revealed). */
    readonly effectiveFolded: bigint;
}

/** accounting = spent + burned * 2^96 + declaredSlots * 2^192. */
export function packAccounting(spent: bigint, burned: bigint, declaredSlots: number): bigint {
    const shift = BigInt(AMOUNT_BITS);
    return spent + (burned << shift) + (BigInt(declaredSlots) << (2n * shift));
}

/** Poseidon(Poseidon(n0..n3), Poseidon(n4..n7), …): the hash the Withdraw circuit discloses. */
export function slotNullifiersHash(disclosed: readonly bigint[]): bigint {
    if (disclosed.length % 4 !== 0 || disclosed.length === 0) throw new RangeError("the disclosed nullifiers come in groups of four");
    const groups: bigint[] = [];
    for (let g = 0; g < disclosed.length; g += 4) groups.push(poseidon(disclosed.slice(g, g + 4)));
    return poseidon(groups);
}

function declaredMask(declared: readonly boolean[]): number {
    return declared.reduce((mask, flag, j) => (flag ? mask | (1 << j) : mask), 0);
}

export function withdrawInputs(witness: WithdrawWitness, foldSize: number = FOLD_SIZE, window: number = TICKET_WINDOW): CircuitInputs {
    if (witness.charges.length > foldSize) throw new RangeError(`a withdrawal folds at most ${foldSize} charges, not ${witness.charges.length}`);
    if (witness.declared.length !== window) throw new RangeError(`a withdrawal declares ${window} slots, not ${witness.declared.length}`);
    return canonical({
        secret: witness.secret,
        ...baseInputs(witness.base),
        used: Array.from({ length: foldSize }, (_, s) => (s < witness.charges.length ? 1n : 0n)),
        ...chargeSlots(witness.charges, foldSize),
        declared: witness.declared.map((flag) => (flag ? 1n : 0n)),
        ...registryInputs(witness.registry),
        recipient: witness.recipient
    });
}

/** The claim a valid Withdraw witness makes (what goes into the registry's request). */
export function withdrawalClaim(witness: WithdrawWitness, foldSize: number = FOLD_SIZE, window: number = TICKET_WINDOW): WithdrawalClaim {
    const { secret, registry } = witness;
    assertChargesInTerms(witness.charges, registry);
    const effective = foldBase(witness.base.base, witness.charges);
    const staleCheckBase = witness.charges.length === foldSize ? witness.base.base.folded + BigInt(foldSize) : witness.base.base.folded;
    const slotNullifiers = Array.from({ length: window }, (_, j) =>
        witness.declared[j] ? 0n : ticketNullifier(secret, registry.scope, effective.folded + BigInt(j)).nullifier
    );
    return {
        spent: effective.spent,
        burned: effective.burned,
        declaredSlots: declaredMask(witness.declared),
        foldNullifier: foldNullifier(secret, registry.scope, staleCheckBase),
        slotNullifiers,
        slotNullifiersHash: slotNullifiersHash(slotNullifiers),
        effectiveFolded: effective.folded
    };
}

export function withdrawPublicSignals(witness: WithdrawWitness): WithdrawPublicSignals {
    const claim = withdrawalClaim(witness);
    return {
        identityCommitment: identityCommitment(witness.secret),
        context: registryContext(witness.registry),
        accounting: packAccounting(claim.spent, claim.burned, claim.declaredSlots),
        foldNullifier: claim.foldNullifier,
        slotNullifiersHash: claim.slotNullifiersHash,
        recipient: witness.recipient
    };
}

export function flattenWithdrawSignals(s: WithdrawPublicSignals): bigint[] {
    return [s.identityCommitment, s.context, s.accounting, s.foldNullifier, s.slotNullifiersHash, s.recipient];
}

// ---------------------------------------------------------------------------------------
// Slash

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
