import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getAddress, keccak256, toUtf8Bytes } from "ethers";
import {
    baseBlinding,
    canSpend,
    chargePoint,
    commitBase,
    commitTicket,
    EdDSAPoseidonSigner,
    ephemeralKeyBinding,
    flattenFoldSignals,
    flattenSpendSignals,
    flattenWithdrawSignals,
    FOLD_SIZE,
    foldBase,
    foldInputs,
    foldPublicSignals,
    GENESIS_BASE,
    identityCommitment,
    registryContext,
    RegistryTree,
    requestSigner,
    slashInputs,
    slashReceiverBinding,
    SNARK_SCALAR_FIELD,
    spendInputs,
    spendPublicSignals,
    TICKET_WINDOW,
    ticketBlinding,
    toSolidityProof,
    TREE_DEPTH,
    withdrawalClaim,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { BaseState, ChargeAmounts, RegistryBinding, SignedBase, SignedCharge } from "@zk-api-credits/protocol";
import type { Groth16Proof as SnarkProof } from "snarkjs";
import { prover } from "../../helpers/provers";

/**
 * The proof pool of the property tests. Real Groth16 proofs are slow (several seconds each on
 * a busy machine), so every proof a random run may need is made once, from a fixed plan, and
 * cached on disk; fast-check then chooses among pooled operations.
 *
 * The plan: a few identities with fixed secrets and deposits, each with a fixed list of tickets
 * (cost and penalty of ticket 0, 1, …, and whether the provider withholds its charge). For each
 * identity the pool holds
 * - the Spend proof of every ticket, on the newest base the identity can have folded before it
 *   (the registry checks Spend proofs only in challengeUndeclaredTicket, where any root goes, so
 *   the tree is the plan's: all planned identities in plan order);
 * - the Fold proof of every fold the identity can make (K = 2 charges at a time, never past a
 *   withheld charge): the proofs whose fold nullifier a stale withdrawal shows;
 * - a Withdraw proof of every state (t tickets used, newest base f): base f, the held charges
 *   beyond it (at most K, a prefix), every later used ticket declared; each bound to a recipient;
 * - Slash proofs bound to two receivers.
 *
 * Proofs bind the registry's address and context, so the fixture deploys at a fixed address
 * with a fixed provider key; the cache key covers the circuit artifacts (manifest hashes), the
 * plan, the chain, the registry, its context and the actors.
 */

/** Bump when the pool's shape or the plan's derivation changes. */
const POOL_FORMAT = 2;
const ROOT = path.resolve(__dirname, "../../..");
const CACHE_DIR = path.join(ROOT, ".cache/property-pool");
const MANIFEST = path.join(ROOT, "circuits/artifacts/manifest.json");
const K = FOLD_SIZE;

/** A proof in the registry's argument shape. */
export interface PooledProof {
    a: [bigint, bigint];
    b: [[bigint, bigint], [bigint, bigint]];
    c: [bigint, bigint];
}

export interface PooledTicket {
    index: number;
    cost: bigint;
    penalty: bigint;
    /** The provider withholds this ticket's charge: the user never holds it and must declare the ticket. */
    withheld: boolean;
    x: bigint;
    y: bigint;
    nullifier: bigint;
    /** The Spend proof's public signals other than context and nullifier (the challenger supplies them). */
    signals: { root: bigint; ticketX: bigint; ticketY: bigint; y: bigint; x: bigint };
    proof: PooledProof;
}

export interface PooledFold {
    /** The base folded: base `from` and the charges of tickets from, from + 1 give base from + K. */
    from: number;
    foldNullifier: bigint;
    newBase: [bigint, bigint];
    proof: PooledProof;
}

/** ICreditRegistry.WithdrawalRequest. */
export interface PooledRequest {
    recipient: string;
    spent: bigint;
    burned: bigint;
    declaredSlots: bigint;
    foldNullifier: bigint;
    slotNullifiersHash: bigint;
    slotNullifiers: bigint[];
}

export interface PooledWithdrawal {
    /** Tickets used when the withdrawal was proved. */
    used: number;
    /** The newest signed base it opens. */
    folded: number;
    /** Charges folded in beyond the base (m). */
    charges: number;
    /** The effective base e = folded + charges. */
    effective: number;
    /** e* (the base whose fold nullifier the request shows). */
    staleCheckBase: number;
    request: PooledRequest;
    proof: PooledProof;
}

export interface PooledSlash {
    receiver: string;
    proof: PooledProof;
}

export interface PooledIdentity {
    index: number;
    secret: bigint;
    commitment: bigint;
    deposit: bigint;
    /** tickets[i]: ticket i's Spend proof. */
    tickets: PooledTicket[];
    /** folds[n]: the fold of base n·K. */
    folds: PooledFold[];
    /** The newest base this identity can reach by folding (a multiple of K, never past a withheld charge). */
    foldLimit: number;
    withdrawals: PooledWithdrawal[];
    slashes: PooledSlash[];
}

export interface ProofPool {
    key: string;
    chainId: bigint;
    registry: string;
    context: bigint;
    identities: PooledIdentity[];
}

/** One planned ticket: its charge, and whether the provider withholds it. */
export interface PlannedTicket {
    cost: bigint;
    penalty: bigint;
    withheld?: boolean;
}

/** One planned identity: its deposit and its tickets. */
export interface PlannedIdentity {
    deposit: bigint;
    tickets: readonly PlannedTicket[];
}

export interface PoolSetup {
    chainId: bigint;
    registry: string;
    context: bigint;
    binding: RegistryBinding;
    providerPrivateKey: string;
    plan: readonly PlannedIdentity[];
    /** Withdrawal recipients and slash receivers are drawn from these (fixed) addresses. */
    actors: readonly string[];
    log?: (line: string) => void;
}

/** A deterministic value for `label`, below `modulus` and non-zero. */
function derive(label: string, modulus: bigint): bigint {
    const value = BigInt(keccak256(toUtf8Bytes(`zk-api-credits/property-pool/v${POOL_FORMAT}/${label}`))) % modulus;
    return value === 0n ? 1n : value;
}

function solidity(proof: SnarkProof): PooledProof {
    const { pA, pB, pC } = toSolidityProof(proof);
    return { a: pA, b: pB, c: pC };
}

function artifactHashes(): Record<string, unknown> {
    const manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as {
        circuits: Record<string, { wasm: { sha256: string }; zkey: { sha256: string }; verificationKey: { sha256: string } }>;
    };
    return Object.fromEntries(
        Object.entries(manifest.circuits).map(([name, c]) => [name, { wasm: c.wasm.sha256, zkey: c.zkey.sha256, verificationKey: c.verificationKey.sha256 }])
    );
}

const replacer = (_: string, value: unknown): unknown => (typeof value === "bigint" ? `${value.toString()}n` : value);
const reviver = (_: string, value: unknown): unknown => (typeof value === "string" && /^-?\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value);

/** The recipient of the withdrawal of identity `index` in state (used, folded). */
export function withdrawalRecipient(actors: readonly string[], index: number, used: number, folded: number): string {
    return actors[(index * 3 + used * 5 + folded) % actors.length]!;
}

/** The two slash receivers of identity `index`. */
export function slashReceivers(actors: readonly string[], index: number): [string, string] {
    return [actors[index % actors.length]!, actors[(index + 3) % actors.length]!];
}

/** The newest base reachable by folding K at a time, never past a withheld charge, within `used` tickets. */
export function foldLimit(tickets: readonly PlannedTicket[], used: number): number {
    let folded = 0;
    while (folded + K <= used && tickets.slice(folded, folded + K).every((t) => !t.withheld)) folded += K;
    return folded;
}

export function poolKey(setup: PoolSetup): string {
    const material = {
        format: POOL_FORMAT,
        artifacts: artifactHashes(),
        chainId: setup.chainId,
        registry: setup.registry,
        context: setup.context,
        providerKey: setup.binding.providerKey,
        terms: setup.binding.terms,
        plan: setup.plan,
        actors: setup.actors
    };
    return createHash("sha256").update(JSON.stringify(material, replacer)).digest("hex").slice(0, 32);
}

/** The cached pool for `setup`, or a freshly made one (then cached). */
export async function loadOrMakePool(setup: PoolSetup): Promise<{ pool: ProofPool; cached: boolean; file: string }> {
    const key = poolKey(setup);
    const file = path.join(CACHE_DIR, `${key}.json`);
    if (existsSync(file)) {
        const pool = JSON.parse(readFileSync(file, "utf8"), reviver) as ProofPool;
        if (pool.key === key && pool.registry === setup.registry && pool.context === setup.context) return { pool, cached: true, file };
    }
    mkdirSync(CACHE_DIR, { recursive: true });
    const pool = await makePool(setup, key);
    writeAtomically(file, JSON.stringify(pool, replacer));
    for (const index of setup.plan.keys()) rmSync(path.join(CACHE_DIR, `${key}.identity-${index}.json`), { force: true });
    return { pool, cached: false, file };
}

function writeAtomically(file: string, text: string): void {
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, text);
    renameSync(partial, file);
}

/** Signs bases and charges with the fixed provider key, as the gateway does. */
class PoolProvider {
    private readonly signer: EdDSAPoseidonSigner;
    private readonly context: bigint;

    constructor(
        privateKey: string,
        readonly binding: RegistryBinding
    ) {
        this.signer = new EdDSAPoseidonSigner(privateKey);
        this.context = registryContext(binding);
    }

    base(secret: bigint, base: BaseState): SignedBase {
        const blinding = baseBlinding(secret, this.binding.scope, base.folded);
        if (base.folded === 0n) return { base, blinding };
        return { base, blinding, signature: this.signer.signBase(this.context, commitBase(base, identityCommitment(secret), blinding)) };
    }

    charge(secret: bigint, index: number, amounts: ChargeAmounts): SignedCharge {
        const blinding = ticketBlinding(secret, this.binding.scope, BigInt(index));
        const ticket = commitTicket(BigInt(index), identityCommitment(secret), blinding);
        return { ...amounts, blinding, signature: this.signer.signCharge(this.context, chargePoint(ticket, amounts.cost, amounts.penalty)) };
    }
}

async function makePool(setup: PoolSetup, key: string): Promise<ProofPool> {
    const log = setup.log ?? (() => undefined);
    const { binding, plan, actors } = setup;
    const provider = new PoolProvider(setup.providerPrivateKey, binding);
    const secrets = plan.map((_, i) => derive(`identity ${i} secret`, SNARK_SCALAR_FIELD));
    const commitments = secrets.map((s) => identityCommitment(s));
    const tree = new RegistryTree();
    tree.insertMany(plan.map((p, i) => ({ identityCommitment: commitments[i]!, deposit: p.deposit })));

    const started = Date.now();
    const identities: PooledIdentity[] = [];
    for (const [index, planned] of plan.entries()) {
        // Each identity is cached as soon as it is made, so an interrupted first run resumes.
        const partFile = path.join(CACHE_DIR, `${key}.identity-${index}.json`);
        if (existsSync(partFile)) {
            identities.push(JSON.parse(readFileSync(partFile, "utf8"), reviver) as PooledIdentity);
            log(`pool: identity ${index}: loaded from ${partFile}`);
            continue;
        }
        const secret = secrets[index]!;
        const n = planned.tickets.length;
        const limit = foldLimit(planned.tickets, n);
        const charges = planned.tickets.map((t, i) => provider.charge(secret, i, { cost: t.cost, penalty: t.penalty }));
        const baseAt = (folded: number): SignedBase => provider.base(secret, foldBase(GENESIS_BASE, planned.tickets.slice(0, folded)));

        const tickets: PooledTicket[] = [];
        for (const [i, planTicket] of planned.tickets.entries()) {
            const base = baseAt(Math.min(foldLimit(planned.tickets, i), limit));
            const witness = {
                secret,
                deposit: planned.deposit,
                merkleProof: tree.merkleProof(index, TREE_DEPTH),
                base,
                index: BigInt(i),
                ticketBlinding: ticketBlinding(secret, binding.scope, BigInt(i)),
                registry: binding,
                x: ephemeralKeyBinding(requestSigner(secret, binding.scope, BigInt(i)).publicKey)
            };
            if (!canSpend(base.base, witness.index, planned.deposit, binding.terms)) throw new Error(`plan: identity ${index} cannot afford ticket ${i}`);
            const { proof, publicSignals } = await prover("spend-32").prove(spendInputs(witness));
            const expected = spendPublicSignals(witness);
            if (flattenSpendSignals(expected).some((v, j) => v !== publicSignals[j])) {
                throw new Error(`pool: the Spend circuit and the reference library disagree on identity ${index}, ticket ${i}`);
            }
            tickets.push({
                index: i,
                cost: planTicket.cost,
                penalty: planTicket.penalty,
                withheld: planTicket.withheld === true,
                x: expected.x,
                y: expected.y,
                nullifier: expected.nullifier,
                signals: { root: expected.root, ticketX: expected.ticketCommitment[0], ticketY: expected.ticketCommitment[1], y: expected.y, x: expected.x },
                proof: solidity(proof)
            });
        }

        const folds: PooledFold[] = [];
        for (let from = 0; from + K <= limit; from += K) {
            const witness = {
                secret,
                base: baseAt(from),
                charges: charges.slice(from, from + K),
                newBlinding: baseBlinding(secret, binding.scope, BigInt(from + K)),
                registry: binding
            };
            const { proof, publicSignals } = await prover("fold-2").prove(foldInputs(witness));
            const expected = foldPublicSignals(witness);
            if (flattenFoldSignals(expected).some((v, j) => v !== publicSignals[j])) throw new Error(`pool: the Fold circuit and the reference library disagree on identity ${index}`);
            folds.push({ from, foldNullifier: expected.foldNullifier, newBase: [expected.newBase[0], expected.newBase[1]], proof: solidity(proof) });
        }

        const withdrawals: PooledWithdrawal[] = [];
        for (let used = 0; used <= n; used++) {
            for (let folded = 0; folded <= foldLimit(planned.tickets, used); folded += K) {
                // The held charges beyond the base: a prefix of non-withheld tickets, at most K.
                let m = 0;
                while (m < K && folded + m < used && !planned.tickets[folded + m]!.withheld) m++;
                const effective = folded + m;
                const declared = Array.from({ length: TICKET_WINDOW }, (_, j) => effective + j < used);
                const recipient = withdrawalRecipient(actors, index, used, folded);
                const witness = {
                    secret,
                    base: baseAt(folded),
                    charges: charges.slice(folded, effective),
                    declared,
                    registry: binding,
                    recipient: BigInt(recipient)
                };
                const { proof, publicSignals } = await prover("withdraw-2-8").prove(withdrawInputs(witness));
                if (flattenWithdrawSignals(withdrawPublicSignals(witness)).some((v, j) => v !== publicSignals[j])) {
                    throw new Error(`pool: the Withdraw circuit and the reference library disagree on identity ${index}, state (${used}, ${folded})`);
                }
                const claim = withdrawalClaim(witness);
                withdrawals.push({
                    used,
                    folded,
                    charges: m,
                    effective,
                    staleCheckBase: m === K ? folded + K : folded,
                    request: {
                        recipient: getAddress(recipient),
                        spent: claim.spent,
                        burned: claim.burned,
                        declaredSlots: BigInt(claim.declaredSlots),
                        foldNullifier: claim.foldNullifier,
                        slotNullifiersHash: claim.slotNullifiersHash,
                        slotNullifiers: [...claim.slotNullifiers]
                    },
                    proof: solidity(proof)
                });
            }
        }

        const slashes: PooledSlash[] = [];
        for (const receiver of slashReceivers(actors, index)) {
            const receiverBinding = slashReceiverBinding(setup.chainId, setup.registry, receiver);
            const { proof } = await prover("slash").prove(slashInputs({ secret, receiverBinding }));
            slashes.push({ receiver: getAddress(receiver), proof: solidity(proof) });
        }

        const made: PooledIdentity = { index, secret, commitment: commitments[index]!, deposit: planned.deposit, tickets, folds, foldLimit: limit, withdrawals, slashes };
        writeAtomically(partFile, JSON.stringify(made, replacer));
        identities.push(made);
        log(
            `pool: identity ${index}: ${tickets.length} Spend, ${folds.length} Fold, ${withdrawals.length} Withdraw, ${slashes.length} Slash proofs (${((Date.now() - started) / 1000).toFixed(1)} s)`
        );
    }
    return { key, chainId: setup.chainId, registry: setup.registry, context: setup.context, identities };
}
