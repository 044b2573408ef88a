import { inCurve } from "@zk-kit/baby-jubjub";
import { addPoints, mulPublic, mulSecret } from "./babyjub";
import type { Point } from "@zk-kit/baby-jubjub";
import {
    AMOUNT_BITS,
    BLINDING_BITS,
    BURNED_SHIFT,
    MAX_SPENDABLE_SEQ,
    SEQ_BITS,
    SPENT_SHIFT,
    STATE_GENERATORS
} from "./constants";
import { ProtocolError } from "./errors";
import { assertBits, assertFieldElement, BABYJUB_SUBORDER } from "./field";
import { poseidon } from "./hash";
import { spendableOf } from "./registry";
import type { RegistryTerms } from "./registry";

/** A user's account with one registry: totals and the number of requests made. */
export interface AccountState {
    readonly spent: bigint;
    readonly burned: bigint;
    readonly seq: bigint;
}

/** The state every deposit starts from; it needs no provider signature. */
export const GENESIS_STATE: AccountState = Object.freeze({ spent: 0n, burned: 0n, seq: 0n });

/** Checks the ranges the circuits enforce (spent, burned < 2^96, seq < 2^48). */
export function assertAccountState(state: AccountState): AccountState {
    assertBits(state.spent, AMOUNT_BITS, "spent");
    assertBits(state.burned, AMOUNT_BITS, "burned");
    assertBits(state.seq, SEQ_BITS, "seq");
    return state;
}

/** v = spent * 2^144 + burned * 2^48 + seq. */
export function stateValue(state: AccountState): bigint {
    assertAccountState(state);
    return (state.spent << SPENT_SHIFT) + (state.burned << BURNED_SHIFT) + state.seq;
}

/** C = v*G + idc*J + blinding*H. */
export function commitState(state: AccountState, identityCommitment: bigint, blinding: bigint): Point<bigint> {
    assertFieldElement(identityCommitment, "identityCommitment");
    assertBits(blinding, BLINDING_BITS, "blinding");
    const { G, H, J } = STATE_GENERATORS;
    return addPoints(addPoints(mulSecret(G, stateValue(state)), mulSecret(J, identityCommitment)), mulSecret(H, blinding));
}

/** C' = C + rerandomiser*H: the same state under a fresh blinding. */
export function rerandomiseCommitment(commitment: Point<bigint>, rerandomiser: bigint): Point<bigint> {
    assertPoint(commitment, "commitment");
    assertBits(rerandomiser, BLINDING_BITS, "rerandomiser");
    return addPoints(commitment, mulSecret(STATE_GENERATORS.H, rerandomiser));
}

/** The blinding of a re-randomised commitment, reduced mod l so it stays below 2^251. */
export function addBlinding(blinding: bigint, rerandomiser: bigint): bigint {
    return (blinding + rerandomiser) % BABYJUB_SUBORDER;
}

/** The message the provider signs for a state commitment: Poseidon(C.x, C.y). */
export function stateMessage(commitment: Point<bigint>): bigint {
    return poseidon(commitment);
}

/**
 * The provider's homomorphic update of a shown state C' after serving a request:
 *     C_new = C' + (cost * 2^144 + penalty * 2^48 + 1) * G
 * i.e. spent += cost, burned += penalty, seq += 1, without learning the state.
 */
export function chargeCommitment(shown: Point<bigint>, cost: bigint, penalty: bigint): Point<bigint> {
    assertPoint(shown, "shown state");
    // The charge is public (the provider chooses it): variable-time arithmetic is fine here.
    return addPoints(shown, mulPublic(STATE_GENERATORS.G, stateValue({ spent: cost, burned: penalty, seq: 1n })));
}

/** The client's view of the same update. */
export function chargeState(state: AccountState, cost: bigint, penalty: bigint): AccountState {
    return assertAccountState({ spent: state.spent + cost, burned: state.burned + penalty, seq: state.seq + 1n });
}

/**
 * True if the next request is allowed: spent + burned + maxCost + policyPenalty <=
 * deposit - reserve, and seq + 1 still fits. Exactly what the Spend circuit checks.
 */
export function canSpend(state: AccountState, deposit: bigint, terms: RegistryTerms): boolean {
    assertAccountState(state);
    if (state.seq > MAX_SPENDABLE_SEQ) return false;
    const total = state.spent + state.burned + terms.maxCost + terms.policyPenalty;
    return total <= spendableOf(deposit, terms.reserveBps);
}

/** Throws INVALID_POINT unless `point` is a canonical point of Baby Jubjub. */
export function assertPoint(point: Point<bigint>, name: string): Point<bigint> {
    assertFieldElement(point[0], `${name}.x`);
    assertFieldElement(point[1], `${name}.y`);
    if (!inCurve(point)) throw new ProtocolError("INVALID_POINT", `${name} is not on Baby Jubjub`);
    return point;
}
