import { inCurve } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { addPoints, mulPublic, mulSecret, precomputeFixedBase } from "./babyjub";
import { AMOUNT_BITS, BLINDING_BITS, HIGH_SHIFT, INDEX_BITS, MID_SHIFT, STATE_GENERATORS } from "./constants";
import { ProtocolError } from "./errors";
import { assertBits, assertFieldElement } from "./field";

/**
 * A base state of an account: the totals of every ticket folded in so far, and their
 * number `folded` (tickets 0 … folded − 1). The provider signs it as a commitment.
 */
export interface BaseState {
    readonly spent: bigint;
    readonly burned: bigint;
    readonly folded: bigint;
}

/** The state every deposit starts from; it needs no provider signature. */
export const GENESIS_BASE: BaseState = Object.freeze({ spent: 0n, burned: 0n, folded: 0n });

/** Checks the ranges the circuits enforce (spent, burned < 2^96, folded < 2^48). */
export function assertBaseState(base: BaseState): BaseState {
    assertBits(base.spent, AMOUNT_BITS, "spent");
    assertBits(base.burned, AMOUNT_BITS, "burned");
    assertBits(base.folded, INDEX_BITS, "folded");
    return base;
}

/** v = high * 2^144 + mid * 2^48 + low (high, mid < 2^96; low < 2^48). */
export function committedValue(high: bigint, mid: bigint, low: bigint): bigint {
    assertBits(high, AMOUNT_BITS, "high");
    assertBits(mid, AMOUNT_BITS, "mid");
    assertBits(low, INDEX_BITS, "low");
    return (high << HIGH_SHIFT) + (mid << MID_SHIFT) + low;
}

/** Com(high, mid, low; blinding) = v*G + idc*J + blinding*H: the circuits' AccountCommitment. */
export function commitAccount(high: bigint, mid: bigint, low: bigint, identityCommitment: bigint, blinding: bigint): Point<bigint> {
    assertFieldElement(identityCommitment, "identityCommitment");
    assertBits(blinding, BLINDING_BITS, "blinding");
    const { G, H, J } = STATE_GENERATORS;
    const value = mulSecret(G, committedValue(high, mid, low));
    return addPoints(addPoints(value, mulSecret(J, identityCommitment)), mulSecret(H, blinding));
}

/** The commitment of a base state: Com(spent, burned, folded; blinding). */
export function commitBase(base: BaseState, identityCommitment: bigint, blinding: bigint): Point<bigint> {
    assertBaseState(base);
    return commitAccount(base.spent, base.burned, base.folded, identityCommitment, blinding);
}

/** The ticket commitment T_i = Com(0, 0, index; blinding) = index*G + idc*J + blinding*H. */
export function commitTicket(index: bigint, identityCommitment: bigint, blinding: bigint): Point<bigint> {
    return commitAccount(0n, 0n, index, identityCommitment, blinding);
}

/** Builds the table chargePoint multiplies with (G's) now rather than in the first charge (for signers that serve). */
export function precomputeChargeTables(): void {
    precomputeFixedBase(STATE_GENERATORS.G);
}

/**
 * The provider's charge of a ticket: Δ = T + (cost * 2^144 + penalty * 2^48) * G, i.e.
 * Com(cost, penalty, index; blinding) without learning index, identity or blinding.
 */
export function chargePoint(ticketCommitment: Point<bigint>, cost: bigint, penalty: bigint): Point<bigint> {
    assertPoint(ticketCommitment, "ticket commitment");
    // The charge is public (the provider chooses it): variable-time arithmetic is fine here.
    const delta = committedValue(cost, penalty, 0n);
    return delta === 0n ? ticketCommitment : addPoints(ticketCommitment, mulPublic(STATE_GENERATORS.G, delta));
}

/** One settled ticket, as the client knows it: what the provider charged for it. */
export interface ChargeAmounts {
    readonly cost: bigint;
    readonly penalty: bigint;
}

/** The base after folding `charges` (tickets base.folded, base.folded + 1, …) into it. */
export function foldBase(base: BaseState, charges: readonly ChargeAmounts[]): BaseState {
    assertBaseState(base);
    const spent = charges.reduce((sum, c) => sum + c.cost, base.spent);
    const burned = charges.reduce((sum, c) => sum + c.penalty, base.burned);
    return assertBaseState({ spent, burned, folded: base.folded + BigInt(charges.length) });
}

/** Throws INVALID_POINT unless `point` is a canonical point of Baby Jubjub. */
export function assertPoint(point: Point<bigint>, name: string): Point<bigint> {
    assertFieldElement(point[0], `${name}.x`);
    assertFieldElement(point[1], `${name}.y`);
    if (!inCurve(point)) throw new ProtocolError("INVALID_POINT", `${name} is not on Baby Jubjub`);
    return point;
}
