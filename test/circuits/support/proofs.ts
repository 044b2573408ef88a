import { expect } from "chai";
import {
    flattenFoldSignals,
    flattenSlashSignals,
    flattenSpendSignals,
    flattenWithdrawSignals,
    foldInputs,
    foldPublicSignals,
    GENESIS_BASE,
    Identity,
    slashInputs,
    slashPublicSignals,
    slashReceiverBinding,
    spendInputs,
    spendPublicSignals,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { CircuitInputs, ProofWithSignals } from "@zk-api-credits/protocol";
import { prover } from "../../helpers/provers";
import type { ArtifactName } from "../../helpers/provers";
import { foldWitness, spendWitness, TEST_CHAIN_ID, TEST_REGISTRY, testAccount, TestProvider, withdrawWitness } from "../../helpers/scenario";
import { baseState, chargesFrom } from "./fixtures";

/**
 * The real proofs of the circuit suites, made once per test run (a Spend or Withdraw proof
 * takes seconds on a busy 2-core machine) and shared by the circuit suites and the Solidity
 * verifier suite. Each comes with the public signals the TypeScript reference expects.
 */
export interface PooledProof extends ProofWithSignals {
    readonly circuit: ArtifactName;
    readonly expected: readonly bigint[];
}

/** One account of one registry, with a signed history, from which every pooled proof is made. */
const provider = new TestProvider();
const registry = provider.binding();
const account = testAccount({ deposit: 1_000_000n, others: 12 });
/** Base 4 (two folds of two charges): spent 2,345, burned 500. */
const base = provider.signBase(registry, account.identity, baseState(2_345n, 500n, 4n));
const charges = chargesFrom(provider, registry, account, 4n, [
    { cost: 1_000n, penalty: 0n },
    { cost: 17n, penalty: registry.terms.policyPenalty }
]);
export const RECIPIENT = 0x70997970c51812dc3a010c7d01b50e0d17dc79c8n;
export const SLASH_RECEIVER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

export const POOL = { provider, registry, account, base, charges } as const;

export type PooledProofName = "spend" | "fold" | "withdraw" | "withdraw-genesis" | "slash";

const builders: Record<PooledProofName, () => { circuit: ArtifactName; inputs: CircuitInputs; expected: bigint[] }> = {
    /** The last ticket of the signed base's window (f + W − 1). */
    spend: () => {
        const witness = spendWitness(account, registry, base, 11n);
        return { circuit: "spend-32", inputs: spendInputs(witness), expected: flattenSpendSignals(spendPublicSignals(witness)) };
    },
    /** Base 4 and its two charges (one penalised) into base 6. */
    fold: () => {
        const witness = foldWitness(account, registry, base, charges);
        return { circuit: "fold-2", inputs: foldInputs(witness), expected: flattenFoldSignals(foldPublicSignals(witness)) };
    },
    /** Base 4 plus both charges (m = K, e* = 6), slots 1 and 6 declared. */
    withdraw: () => {
        const declared = [false, true, false, false, false, false, true, false];
        const witness = withdrawWitness(account, registry, base, charges, RECIPIENT, declared);
        return { circuit: "withdraw-2-8", inputs: withdrawInputs(witness), expected: flattenWithdrawSignals(withdrawPublicSignals(witness)) };
    },
    /** A genesis withdrawal with no charge and nothing declared. */
    "withdraw-genesis": () => {
        const genesis = provider.signBase(registry, account.identity, GENESIS_BASE);
        const witness = withdrawWitness(account, registry, genesis, [], RECIPIENT);
        return { circuit: "withdraw-2-8", inputs: withdrawInputs(witness), expected: flattenWithdrawSignals(withdrawPublicSignals(witness)) };
    },
    slash: () => {
        const witness = { secret: new Identity().secret, receiverBinding: slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, SLASH_RECEIVER) };
        return { circuit: "slash", inputs: slashInputs(witness), expected: flattenSlashSignals(slashPublicSignals(witness)) };
    }
};

const pool = new Map<PooledProofName, Promise<PooledProof>>();

/** The pooled proof `name` (proved on first use, then shared). */
export function pooledProof(name: PooledProofName): Promise<PooledProof> {
    let found = pool.get(name);
    if (found === undefined) {
        const { circuit, inputs, expected } = builders[name]();
        found = prover(circuit)
            .prove(inputs)
            .then((proof) => {
                expect(proof.publicSignals, `${name}: public signals of the pooled proof`).to.deep.equal(expected);
                return { ...proof, circuit, expected };
            });
        pool.set(name, found);
    }
    return found;
}
