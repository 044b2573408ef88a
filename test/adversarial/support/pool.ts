import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import {
    addBlinding,
    BABYJUB_SUBORDER,
    canSpend,
    chargeCommitment,
    chargeState,
    commitState,
    flattenSpendSignals,
    flattenWithdrawSignals,
    GENESIS_STATE,
    identityCommitment,
    RegistryTree,
    signState,
    slashInputs,
    slashReceiverBinding,
    SNARK_SCALAR_FIELD,
    spendInputs,
    spendPublicSignals,
    toSolidityProof,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { AccountState, RegistryBinding, StateSignature } from "@zk-api-credits/protocol";
import type { Groth16Proof as SnarkProof } from "snarkjs";
import { prover } from "../../helpers/provers";

/**
 * The proof pool of the property tests. Real Groth16 proofs are slow (Spend ~1.8 s, Withdraw
 * ~0.9 s, Slash ~0.2 s), so every proof a random run may need is made once, from a fixed plan,
 * and cached on disk; fast-check then chooses among pooled operations.
 *
 * The plan: a few identities with fixed secrets and deposits, each with a fixed trajectory of
 * tickets (cost and penalty of request 0, 1, ...). For each identity the pool holds
 * - the Spend proof of every ticket, made against the state the provider signed after the
 *   previous ticket (the provider's homomorphic update C_new = C' + (cost, penalty, 1)·G, not a
 *   fresh commitment), so each proof's nullifier is the one a withdrawal of that state reveals;
 *   the contract checks a Spend proof only in challengeWithdrawal, where the root is not
 *   checked, so the tree is the plan's (all planned identities in plan order);
 * - a Withdraw proof of every state (genesis, after ticket 0, ...), each bound to a recipient;
 * - Slash proofs bound to two receivers.
 *
 * Proofs bind the registry's address and context, so the fixture deploys at a fixed address
 * with a fixed provider key; the cache key covers the circuit artifacts (manifest hashes), the
 * plan, the chain, the registry, its context and the actors.
 */

/** Bump when the pool's shape or the plan's derivation changes. */
const POOL_FORMAT = 1;
const ROOT = path.resolve(__dirname, "../../..");
const CACHE_DIR = path.join(ROOT, ".cache/property-pool");
const MANIFEST = path.join(ROOT, "circuits/artifacts/manifest.json");
const TREE_DEPTH = 20;

/** A proof in the registry's argument shape. */
export interface PooledProof {
    a: [bigint, bigint];
    b: [[bigint, bigint], [bigint, bigint]];
    c: [bigint, bigint];
}

export interface PooledTicket {
    seq: number;
    cost: bigint;
    penalty: bigint;
    x: bigint;
    y: bigint;
    nullifier: bigint;
    /** The Spend proof's public signals other than context and nullifier (the challenger supplies them). */
    signals: { root: bigint; rerandomisedStateX: bigint; rerandomisedStateY: bigint; y: bigint; x: bigint };
    proof: PooledProof;
}

export interface PooledWithdrawal {
    seq: number;
    request: { nullifier: bigint; recipient: string; spent: bigint; burned: bigint };
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
    /** tickets[i]: the Spend proof of request i (made from state i). */
    tickets: PooledTicket[];
    /** withdrawals[n]: a Withdraw proof of state n (after n requests); n = 0 is genesis. */
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

/** One planned identity: its deposit and the (cost, penalty) of each of its requests. */
export interface PlannedIdentity {
    deposit: bigint;
    requests: readonly (readonly [cost: bigint, penalty: bigint])[];
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
        circuits: Record<string, { wasm: { sha256: string }; zkey: { sha256: string }; verificationKey: { sha256: string }; verifier: { sha256: string } }>;
    };
    return Object.fromEntries(
        Object.entries(manifest.circuits).map(([name, c]) => [
            name,
            { wasm: c.wasm.sha256, zkey: c.zkey.sha256, verificationKey: c.verificationKey.sha256, verifier: c.verifier.sha256 }
        ])
    );
}

const replacer = (_: string, value: unknown): unknown => (typeof value === "bigint" ? `${value.toString()}n` : value);
const reviver = (_: string, value: unknown): unknown => (typeof value === "string" && /^-?\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value);

/** The recipient of a withdrawal of state `seq` of identity `index`. */
export function withdrawalRecipient(actors: readonly string[], index: number, seq: number): string {
    return actors[(index * 3 + seq) % actors.length]!;
}

/** The two slash receivers of identity `index`. */
export function slashReceivers(actors: readonly string[], index: number): [string, string] {
    return [actors[index % actors.length]!, actors[(index + 3) % actors.length]!];
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
    const pool = await makePool(setup, key);
    mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(pool, replacer));
    renameSync(partial, file);
    return { pool, cached: false, file };
}

async function makePool(setup: PoolSetup, key: string): Promise<ProofPool> {
    const log = setup.log ?? (() => undefined);
    const { binding, plan, actors } = setup;
    const secrets = plan.map((_, i) => derive(`identity ${i} secret`, SNARK_SCALAR_FIELD));
    const commitments = secrets.map((s) => identityCommitment(s));
    // The plan's tree: the root of a Spend proof is not checked on-chain (challenges only).
    const tree = new RegistryTree();
    tree.insertMany(plan.map((p, i) => ({ identityCommitment: commitments[i]!, deposit: p.deposit })));

    const started = Date.now();
    const identities: PooledIdentity[] = [];
    for (const [index, planned] of plan.entries()) {
        const secret = secrets[index]!;
        const commitment = commitments[index]!;
        const tickets: PooledTicket[] = [];
        const withdrawals: PooledWithdrawal[] = [];

        let state: AccountState = GENESIS_STATE;
        let blinding = derive(`identity ${index} blinding 0`, BABYJUB_SUBORDER);
        let signature: StateSignature | undefined;
        const signedStates: { state: AccountState; blinding: bigint; signature?: StateSignature }[] = [{ state, blinding }];

        for (const [seq, [cost, penalty]] of planned.requests.entries()) {
            if (!canSpend(state, planned.deposit, binding.terms)) throw new Error(`plan: identity ${index} cannot afford request ${seq}`);
            const witness = {
                secret,
                deposit: planned.deposit,
                merkleProof: tree.merkleProof(index, TREE_DEPTH),
                state,
                blinding,
                signature,
                rerandomiser: derive(`identity ${index} rerandomiser ${seq}`, BABYJUB_SUBORDER),
                registry: binding,
                x: derive(`identity ${index} request ${seq}`, SNARK_SCALAR_FIELD)
            };
            const { proof, publicSignals } = await prover("spend-20").prove(spendInputs(witness));
            const expected = spendPublicSignals(witness);
            if (flattenSpendSignals(expected).some((v, i) => v !== publicSignals[i])) {
                throw new Error(`pool: the Spend circuit and the reference library disagree on identity ${index}, ticket ${seq}`);
            }
            tickets.push({
                seq,
                cost,
                penalty,
                x: expected.x,
                y: expected.y,
                nullifier: expected.nullifier,
                signals: {
                    root: expected.root,
                    rerandomisedStateX: expected.rerandomisedState[0],
                    rerandomisedStateY: expected.rerandomisedState[1],
                    y: expected.y,
                    x: expected.x
                },
                proof: solidity(proof)
            });
            // The provider charges the shown commitment and signs the result.
            const charged = chargeCommitment(expected.rerandomisedState, cost, penalty);
            state = chargeState(state, cost, penalty);
            blinding = addBlinding(blinding, witness.rerandomiser);
            const reopened = commitState(state, commitment, blinding);
            if (reopened[0] !== charged[0] || reopened[1] !== charged[1]) throw new Error("pool: the homomorphic update does not open");
            signature = signState(setup.providerPrivateKey, charged);
            signedStates.push({ state, blinding, signature });
        }

        for (const [seq, signed] of signedStates.entries()) {
            const recipient = withdrawalRecipient(actors, index, seq);
            const witness = { secret, ...signed, registry: binding, recipient: BigInt(recipient) };
            const { proof, publicSignals } = await prover("withdraw").prove(withdrawInputs(witness));
            const expected = withdrawPublicSignals(witness);
            if (flattenWithdrawSignals(expected).some((v, i) => v !== publicSignals[i])) {
                throw new Error(`pool: the Withdraw circuit and the reference library disagree on identity ${index}, state ${seq}`);
            }
            withdrawals.push({
                seq,
                request: { nullifier: expected.nullifier, recipient, spent: signed.state.spent, burned: signed.state.burned },
                proof: solidity(proof)
            });
        }

        const slashes: PooledSlash[] = [];
        for (const receiver of slashReceivers(actors, index)) {
            const receiverBinding = slashReceiverBinding(setup.chainId, setup.registry, receiver);
            const { proof } = await prover("slash").prove(slashInputs({ secret, receiverBinding }));
            slashes.push({ receiver, proof: solidity(proof) });
        }

        identities.push({ index, secret, commitment, deposit: planned.deposit, tickets, withdrawals, slashes });
        log(`pool: identity ${index}: ${tickets.length} Spend, ${withdrawals.length} Withdraw, ${slashes.length} Slash proofs (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    }
    return { key, chainId: setup.chainId, registry: setup.registry, context: setup.context, identities };
}
