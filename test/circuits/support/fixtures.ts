import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { Base8, inCurve, mulPointEscalar, unpackPoint } from "@zk-kit/baby-jubjub";
import { BABYJUB_SUBORDER, Identity, poseidon, RegistryTree, SNARK_SCALAR_FIELD, TREE_DEPTH } from "@zk-api-credits/protocol";
import type {
    BaseState,
    ChargeAmounts,
    MerkleProofInput,
    Point,
    RegistryBinding,
    RegistryTerms,
    Signature,
    SignedCharge
} from "@zk-api-credits/protocol";
import { packageDir, ROOT } from "../../../scripts/circuits/config";
import type { CircuitUnderTest } from "../../helpers/circuits";
import type { TestAccount, TestProvider } from "../../helpers/scenario";

/** A uniformly random bigint in [0, bound): exact below 2^47, with a negligible bias above. */
export function randomBelow(bound: bigint): bigint {
    if (bound <= 0n) return 0n;
    if (bound <= 1n << 47n) return BigInt(randomInt(0, Number(bound)));
    // Larger bounds: concatenate 47-bit draws and reduce (a negligible bias is fine in tests).
    let value = 0n;
    for (let bits = 0; bits < bound.toString(2).length + 32; bits += 47) value = (value << 47n) | BigInt(randomInt(0, 2 ** 47));
    return value % bound;
}

/** Random registry terms: maxCost in [1, 10^6), policyPenalty in [0, 10^5), reserve in [0, 50 %]. */
export function randomTerms(): RegistryTerms {
    return { maxCost: 1n + randomBelow(999_999n), policyPenalty: randomBelow(100_000n), reserveBps: randomBelow(5_001n) };
}

/** Charges of tickets from, from + 1, … with the given amounts, signed by `provider`. */
export function chargesFrom(
    provider: TestProvider,
    registry: RegistryBinding,
    account: TestAccount,
    from: bigint,
    amounts: readonly ChargeAmounts[]
): SignedCharge[] {
    return amounts.map((a, s) => provider.charge(registry, account.identity, from + BigInt(s), a));
}

/** A member of a registry tree with a known identity. */
export interface Member {
    readonly identity: Identity;
    readonly deposit: bigint;
    readonly leafIndex: number;
}

/**
 * A tree of `size` registrations in which `members` (fresh identities with the given deposits)
 * sit at the given positions; the other leaves are random registrations. Registered in bulk
 * (insertMany), so large trees are cheap.
 */
export function populatedTree(size: number, members: readonly { position: number; deposit: bigint; identity?: Identity }[]): { tree: RegistryTree; members: Member[] } {
    const registrations = Array.from({ length: size }, (_, i) => ({ identityCommitment: BigInt(i + 1) * 0x9e3779b97f4a7c15n, deposit: 1_000n + BigInt(i) }));
    const placed = members.map((m) => {
        const identity = m.identity ?? new Identity();
        registrations[m.position] = { identityCommitment: identity.commitment, deposit: m.deposit };
        return { identity, deposit: m.deposit, leafIndex: m.position };
    });
    const tree = new RegistryTree();
    tree.insertMany(registrations);
    return { tree, members: placed };
}

/** A member as a TestAccount (for the scenario's witness builders). */
export function accountOf(tree: RegistryTree, member: Member): TestAccount {
    return { identity: member.identity, deposit: member.deposit, tree, leafIndex: member.leafIndex };
}

/**
 * A Merkle path of the full circuit depth (32): a registry of 2^32 deposits cannot be built in
 * a test, but a path of 32 random siblings with its root is exactly what such a tree gives.
 */
export function fullDepthPath(identityCommitment: bigint, deposit: bigint, index: bigint): MerkleProofInput {
    const siblings = Array.from({ length: TREE_DEPTH }, () => randomBelow(SNARK_SCALAR_FIELD));
    let node = poseidon([identityCommitment, deposit]);
    for (let level = 0; level < TREE_DEPTH; level++) {
        const right = (index >> BigInt(level)) & 1n;
        node = right === 1n ? poseidon([siblings[level]!, node]) : poseidon([node, siblings[level]!]);
    }
    return { root: node, depth: TREE_DEPTH, index, siblings };
}

// ---------------------------------------------------------------- small-order points

const IDENTITY_POINT: Point<bigint> = [0n, 1n];
const same = (p: Point<bigint>, q: Point<bigint>): boolean => p[0] === q[0] && p[1] === q[1];

/**
 * Points of Baby Jubjub of order 2, 4 and 8 (the curve's group is Z/8 × Z/l): l·P of a point P
 * outside the prime-order subgroup. A key among them has 8·A = O.
 */
export function smallOrderPoints(): { order2: Point<bigint>; order4: Point<bigint>; order8: Point<bigint> } {
    for (let y = 2n; ; y++) {
        const point = unpackPoint(y) as Point<bigint> | null;
        if (point === null || !inCurve(point)) continue;
        const torsion = mulPointEscalar(point, BABYJUB_SUBORDER);
        const order4 = mulPointEscalar(torsion, 2n);
        const order2 = mulPointEscalar(torsion, 4n);
        if (same(order2, IDENTITY_POINT)) continue;
        expect(same(mulPointEscalar(torsion, 8n), IDENTITY_POINT)).to.equal(true);
        return { order2, order4, order8: torsion };
    }
}

/**
 * The "signature" anyone can make under a small-order key A: with 8·A = O, circomlib's
 * equation S·B8 = R8 + h·8·A reduces to S·B8 = R8, whatever the message.
 */
export function forgedSignature(S = 1234567n): Signature {
    return { R8: mulPointEscalar(Base8, S), S };
}

// ---------------------------------------------------------------- base states

/** A base state with the given totals and folded count. */
export const baseState = (spent: bigint, burned: bigint, folded: bigint): BaseState => ({ spent, burned, folded });

// ---------------------------------------------------------------- under-constraint sweep

/**
 * Signals a valid witness may change alone, and why that is harmless. Everything else that
 * ConstraintSystem.freeSignals finds is an under-constrained signal and fails the suites.
 */
export const EXPLAINED_FREE_SIGNALS: readonly { readonly pattern: RegExp; readonly why: string }[] = [
    {
        pattern: /(IsZero_\d+_\d+|\.isz)\.inv$/,
        why:
            "circomlib's IsZero: when its input is 0, out = 1 whatever the inverse hint `inv` " +
            "(out = 1 - in*inv, in*out = 0); `inv` feeds no other signal, so it changes nothing"
    },
    {
        pattern: /^main\.(recipient|receiverBinding)$/,
        why:
            "a public input bound by squaring (Tornado's recipient*recipient): p - r has the same square; " +
            "the prover chooses this input anyway, the verifier checks the value it is given, and p - r is no address or binding"
    }
];

/**
 * The signals of a valid witness that can change alone (ConstraintSystem.freeSignals), and those
 * of them no entry of EXPLAINED_FREE_SIGNALS explains (the suites expect none).
 */
export function freeSignalSweep(circuit: CircuitUnderTest, witness: readonly bigint[]): { free: string[]; unexplained: string[] } {
    const free = circuit.freeSignals(witness);
    return { free, unexplained: free.filter((name) => !EXPLAINED_FREE_SIGNALS.some((e) => e.pattern.test(name))) };
}

/** A copy of a 1-D input array with one entry replaced. */
export function replaced<T>(values: readonly T[], index: number, value: T): T[] {
    return values.map((v, i) => (i === index ? value : v));
}

// ---------------------------------------------------------------- where a witness fails

/**
 * The circom runtime's message for an assertion that failed in `templates[0]`, called from
 * `templates[1]`, … (innermost first): e.g. failedIn("ForceEqualIfEnabled", "EdDSAPoseidonVerifier",
 * "ProviderSignature", "BaseAuthorisation") is a base signature that does not verify. With
 * `line`, the innermost assertion's line in its file.
 */
export function failedIn(templates: readonly string[], line?: number): RegExp {
    const frames = templates.map((t, i) => `template ${t}_\\d+ line: ${i === 0 && line !== undefined ? line : "\\d+"}`);
    return new RegExp(`Assert Failed\\. Error in ${frames.join("\\nError in ")}(\\n|$)`);
}

/** Lines of circomlib's EdDSAPoseidonVerifier checks (circomlib/circuits/eddsaposeidon.circom). */
export const EDDSA_LINES = (() => {
    const source = readFileSync(path.join(packageDir("circomlib"), "circuits/eddsaposeidon.circom"), "utf8").split("\n");
    const line = (text: string): number => {
        const found = source.findIndex((l) => l.includes(text));
        if (found < 0) throw new Error(`circomlib's eddsaposeidon.circom has no "${text}"`);
        return found + 1;
    };
    return { sBelowOrder: line("compConstant.out*enabled === 0"), keyNotSmallOrder: line("isZero.out*enabled === 0") };
})();

/** A provider signature (base or charge) that does not verify: S·B8 ≠ R8 + h·8·A. */
export const signatureMismatch = (owner: "BaseAuthorisation" | "SignedCharge"): RegExp =>
    failedIn(owner === "BaseAuthorisation" ? ["ForceEqualIfEnabled", "EdDSAPoseidonVerifier", "ProviderSignature", "BaseAuthorisation"] : ["ForceEqualIfEnabled", "EdDSAPoseidonVerifier", "ProviderSignature", "SignedCharge"]);

/** The 1-based line of circuits/lib/<file> holding `text` (exactly one), for pinning which assertion failed. */
export function sourceLine(file: string, text: string): number {
    const lines = readFileSync(path.join(ROOT, "circuits/lib", file), "utf8").split("\n");
    const found = lines.flatMap((line, i) => (line.includes(text) ? [i + 1] : []));
    if (found.length !== 1) throw new Error(`circuits/lib/${file} has ${found.length} lines with "${text}"`);
    return found[0]!;
}

/** The assertions of our templates, by what they check (lines looked up in the sources). */
export const ASSERTIONS = {
    chargeWithinMax: sourceLine("charge.circom", "withinMax === 1;"),
    chargePenaltyInSet: sourceLine("charge.circom", "penalty * (penalty - policyPenalty) === 0;"),
    disabledCostZero: sourceLine("charge.circom", "(1 - enabled) * cost === 0;"),
    disabledPenaltyZero: sourceLine("charge.circom", "(1 - enabled) * penalty === 0;"),
    genesisSpentZero: sourceLine("provider-signature.circom", "isGenesis * spent === 0;"),
    genesisBurnedZero: sourceLine("provider-signature.circom", "isGenesis * burned === 0;"),
    depthInRange: sourceLine("registry-membership.circom", "depthInRange === 1;"),
    reserveBpsInRange: sourceLine("registry-terms.circom", "reserveInRange === 1;"),
    declaredBoolean: sourceLine("slot-disclosure.circom", "declared[j] * (1 - declared[j]) === 0;"),
    solvent: sourceLine("solvency.circom", "solvent === 1;"),
    usedBoolean: sourceLine("withdraw.circom", "used[s] * (1 - used[s]) === 0;"),
    usedPrefix: sourceLine("withdraw.circom", "used[s] * (1 - used[s - 1]) === 0;")
} as const;
