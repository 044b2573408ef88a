import { randomBytes } from "node:crypto";
import {
    commitState,
    Identity,
    providerPublicKey,
    randomScalar,
    registryScope,
    RegistryTree,
    signState
} from "@zk-api-credits/protocol";
import type {
    AccountState,
    RegistryBinding,
    RegistryTerms,
    SpendWitness,
    StateSignature,
    WithdrawWitness
} from "@zk-api-credits/protocol";

export const TEST_CHAIN_ID = 31337n;
export const TEST_REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const DEFAULT_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };

/** A provider with its signing key and a registry binding. */
export class TestProvider {
    readonly privateKey = randomBytes(32);
    readonly publicKey = providerPublicKey(this.privateKey);

    binding(terms: RegistryTerms = DEFAULT_TERMS, chainId = TEST_CHAIN_ID, registry = TEST_REGISTRY): RegistryBinding {
        return { scope: registryScope(chainId, registry), providerKey: this.publicKey, terms };
    }

    sign(state: AccountState, identityCommitment: bigint, blinding: bigint): StateSignature {
        return signState(this.privateKey, commitState(state, identityCommitment, blinding));
    }
}

/** A user holding an identity, a deposit and a (signed) state in a populated tree. */
export interface TestAccount {
    readonly identity: Identity;
    readonly deposit: bigint;
    readonly tree: RegistryTree;
    readonly index: number;
    readonly state: AccountState;
    readonly blinding: bigint;
    readonly signature?: StateSignature;
}

/** A tree of `others` random members with `identity` somewhere among them. */
export function testAccount(
    provider: TestProvider,
    state: AccountState,
    options: { deposit?: bigint; others?: number; identity?: Identity; position?: number } = {}
): TestAccount {
    const identity = options.identity ?? new Identity();
    const deposit = options.deposit ?? 100_000n;
    const others = options.others ?? 5;
    const position = options.position ?? Math.floor(others / 2);
    const tree = new RegistryTree();
    let index = -1;
    for (let i = 0; i <= others; i++) {
        if (i === position) index = tree.insert(identity.commitment, deposit);
        else tree.insert(new Identity().commitment, 1_000n + BigInt(i));
    }
    const blinding = randomScalar();
    const signature = state.seq === 0n ? undefined : provider.sign(state, identity.commitment, blinding);
    return { identity, deposit, tree, index, state, blinding, signature };
}

export function spendWitness(account: TestAccount, registry: RegistryBinding, x: bigint, maxDepth = 20): SpendWitness {
    return {
        secret: account.identity.secret,
        deposit: account.deposit,
        merkleProof: account.tree.merkleProof(account.index, maxDepth),
        state: account.state,
        blinding: account.blinding,
        signature: account.signature,
        rerandomiser: randomScalar(),
        registry,
        x
    };
}

export function withdrawWitness(account: TestAccount, registry: RegistryBinding, recipient: bigint): WithdrawWitness {
    return {
        secret: account.identity.secret,
        state: account.state,
        blinding: account.blinding,
        signature: account.signature,
        registry,
        recipient
    };
}
