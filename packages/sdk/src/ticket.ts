import {
    addBlinding,
    canSpend,
    chargeCommitment,
    chargeState,
    packProof,
    randomScalar,
    spendInputs,
    verifyStateSignature
} from "@zk-api-credits/protocol";
import type { CircuitProver, Identity, Point, Receipt, RegistryBinding, RegistryTree } from "@zk-api-credits/protocol";
import type { AccountRecord } from "./account-store";
import { SdkError } from "./errors";

/** A proved ticket: the Spend proof's public values and the secret the client keeps. */
export interface ProvedTicket {
    readonly seq: bigint;
    readonly root: bigint;
    readonly rerandomisedState: Point<bigint>;
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
    readonly proof: bigint[];
    readonly rerandomiser: bigint;
}

/** Proves the account's next ticket (seq = state.seq) for request binding `x`. */
export async function proveTicket(
    prover: CircuitProver,
    identity: Identity,
    account: AccountRecord,
    tree: RegistryTree,
    binding: RegistryBinding,
    treeDepth: number,
    x: bigint
): Promise<ProvedTicket> {
    if (!canSpend(account.state, account.deposit, binding.terms)) {
        throw new SdkError("INSOLVENT", "the deposit cannot pay for one more request above its reserve");
    }
    const rerandomiser = randomScalar();
    const inputs = spendInputs({
        secret: identity.secret,
        deposit: account.deposit,
        merkleProof: tree.merkleProof(account.leafIndex, treeDepth),
        state: account.state,
        blinding: account.blinding,
        signature: account.signature,
        rerandomiser,
        registry: binding,
        x
    });
    const { proof, publicSignals } = await prover.prove(inputs);
    const [root, , stateX, stateY, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
    return { seq: account.state.seq, root, rerandomisedState: [stateX, stateY], nullifier, y, x, proof: packProof(proof), rerandomiser };
}

/**
 * Checks a receipt against what the client showed and applies it: the provider's signature
 * on the new state, the arithmetic C_new = C' + (cost * 2^144 + penalty * 2^48 + 1) * G,
 * cost <= maxCost and a penalty of 0 or exactly policyPenalty. Anything else is refused.
 */
export function applyReceipt(
    account: AccountRecord,
    shown: { readonly nullifier: bigint; readonly rerandomiser: bigint; readonly rerandomisedState: Point<bigint> },
    receipt: Receipt,
    binding: RegistryBinding
): AccountRecord {
    if (receipt.nullifier !== shown.nullifier) throw new SdkError("INVALID_RECEIPT", "the receipt is for another ticket");
    if (receipt.cost > binding.terms.maxCost) throw new SdkError("INVALID_RECEIPT", `cost ${receipt.cost} exceeds maxCost ${binding.terms.maxCost}`);
    if (receipt.penalty !== 0n && receipt.penalty !== binding.terms.policyPenalty) {
        throw new SdkError("INVALID_RECEIPT", `penalty ${receipt.penalty} is neither 0 nor the registry's policyPenalty`);
    }
    const expected = chargeCommitment(shown.rerandomisedState, receipt.cost, receipt.penalty);
    if (expected[0] !== receipt.state[0] || expected[1] !== receipt.state[1]) {
        throw new SdkError("INVALID_RECEIPT", "the new state is not the shown state plus the charge");
    }
    if (!verifyStateSignature(receipt.state, receipt.signature, binding.providerKey)) {
        throw new SdkError("INVALID_RECEIPT", "the provider's signature on the new state does not verify");
    }
    return {
        ...account,
        state: chargeState(account.state, receipt.cost, receipt.penalty),
        blinding: addBlinding(account.blinding, shown.rerandomiser),
        signature: receipt.signature,
        inFlight: undefined,
        prepared: account.prepared?.seq === account.state.seq ? undefined : account.prepared
    };
}
