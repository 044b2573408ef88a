import { babyjubjub } from "@noble/curves/misc";
import type { Point } from "@zk-kit/baby-jubjub";
import { BABYJUB_SUBORDER } from "./field";

/**
 * Baby Jubjub arithmetic on @noble/curves (extended twisted-Edwards coordinates, windowed
 * precomputation for fixed bases): about 25 times faster than the affine arithmetic of
 * @zk-kit/baby-jubjub, which the tests keep as the reference. Points in and out are affine
 * [x, y] pairs, as everywhere else in this package. Scalars are taken mod l: every point
 * used here is in the prime-order subgroup.
 */
type EdwardsPoint = InstanceType<typeof babyjubjub.Point>;

const IDENTITY: Point<bigint> = [0n, 1n];
const precomputed = new Map<string, EdwardsPoint>();

function toEdwards(point: Point<bigint>): EdwardsPoint {
    return babyjubjub.Point.fromAffine({ x: point[0], y: point[1] });
}

function toAffine(point: EdwardsPoint): Point<bigint> {
    const { x, y } = point.toAffine();
    return [x, y];
}

/** A base point with a precomputed window table (for the generators used again and again), built on first use. */
function fixedBase(point: Point<bigint>): EdwardsPoint {
    const key = `${point[0]}:${point[1]}`;
    let found = precomputed.get(key);
    if (found === undefined) {
        // Not lazy: the table (4,224 points, tens of ms) is built here, not inside a later multiplication.
        found = toEdwards(point).precompute(8, false);
        precomputed.set(key, found);
    }
    return found;
}

/**
 * Builds the window table of a fixed base now, so that a long-running signer does not pay
 * for it inside its first request (a gateway's signing worker first signs under load).
 */
export function precomputeFixedBase(base: Point<bigint>): void {
    fixedBase(base);
}

/** scalar * base in constant time, for secret scalars; `fixed` bases are precomputed once. */
export function mulSecret(base: Point<bigint>, scalar: bigint, fixed = true): Point<bigint> {
    const k = ((scalar % BABYJUB_SUBORDER) + BABYJUB_SUBORDER) % BABYJUB_SUBORDER;
    if (k === 0n) return IDENTITY;
    return toAffine((fixed ? fixedBase(base) : toEdwards(base)).multiply(k));
}

/** scalar * base in variable time, for public scalars (charges, signature checks). */
export function mulPublic(base: Point<bigint>, scalar: bigint, fixed = true): Point<bigint> {
    const k = ((scalar % BABYJUB_SUBORDER) + BABYJUB_SUBORDER) % BABYJUB_SUBORDER;
    if (k === 0n) return IDENTITY;
    return toAffine((fixed ? fixedBase(base) : toEdwards(base)).multiplyUnsafe(k));
}

/** p + q. */
export function addPoints(p: Point<bigint>, q: Point<bigint>): Point<bigint> {
    return toAffine(toEdwards(p).add(toEdwards(q)));
}

/** True if p == q (affine coordinates). */
export function samePoint(p: Point<bigint>, q: Point<bigint>): boolean {
    return p[0] === q[0] && p[1] === q[1];
}

const cofactorKeys = new Map<string, EdwardsPoint>();

/** 8·A in extended coordinates (cached and precomputed for long-lived keys such as the provider's). */
function cofactorKey(publicKey: Point<bigint>, longLived: boolean): EdwardsPoint {
    const key = `${publicKey[0]}:${publicKey[1]}`;
    const cached = cofactorKeys.get(key);
    if (cached !== undefined) return cached;
    const eight = toEdwards(publicKey).double().double().double();
    if (longLived && !eight.equals(babyjubjub.Point.ZERO)) {
        const table = eight.precompute(8);
        cofactorKeys.set(key, table);
        return table;
    }
    return eight;
}

/** True if 8·A is the neutral element (a small-order key). Points must be on the curve. */
export function isSmallOrder(point: Point<bigint>): boolean {
    return toEdwards(point).double().double().double().equals(babyjubjub.Point.ZERO);
}

/**
 * The EdDSA-Poseidon equation S·B8 = R8 + h·(8·A), evaluated in extended coordinates (no field
 * inversion): every input point must already be checked on the curve, `S` below l and 8·A not
 * the neutral element. Public values only (variable time).
 */
export function eddsaEquationHolds(base8: Point<bigint>, S: bigint, R8: Point<bigint>, publicKey: Point<bigint>, h: bigint, longLivedKey: boolean): boolean {
    const hm = ((h % BABYJUB_SUBORDER) + BABYJUB_SUBORDER) % BABYJUB_SUBORDER;
    const left = S === 0n ? babyjubjub.Point.ZERO : fixedBase(base8).multiplyUnsafe(S);
    const eightA = cofactorKey(publicKey, longLivedKey);
    const right = hm === 0n ? toEdwards(R8) : toEdwards(R8).add(eightA.multiplyUnsafe(hm));
    return left.equals(right);
}
