import { randomBytes } from "node:crypto";
import {
    baseBlinding,
    chargePoint,
    commitBase,
    commitTicket,
    EdDSAPoseidonSigner,
    ephemeralKeyBinding,
    FOLD_SIZE,
    foldBase,
    GENESIS_BASE,
    Identity,
    registryContext,
    registryScope,
    RegistryTree,
    requestSigner,
    ticketBlinding,
    TICKET_WINDOW,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import type {
    BaseState,
    ChargeAmounts,
    FoldWitness,
    RegistryBinding,
    RegistryTerms,
    SignedBase,
    SignedCharge,
    SpendWitness,
    WithdrawWitness
} from "@zk-api-credits/protocol";

export const TEST_CHAIN_ID = 31337n;
export const TEST_REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
export const DEFAULT_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };

/** A provider with its signing key and a registry binding; signs bases and charges as the gateway does. */
export class TestProvider {
    readonly privateKey = randomBytes(32);
    readonly signer = new EdDSAPoseidonSigner(this.privateKey);
    readonly publicKey = this.signer.publicKey;

    binding(terms: RegistryTerms = DEFAULT_TERMS, chainId = TEST_CHAIN_ID, registry = TEST_REGISTRY): RegistryBinding {
        return { scope: registryScope(chainId, registry), providerKey: this.publicKey, terms };
    }

    /** The provider's base signature of `base` for `identity` under `registry` (what a fold answer carries). */
    signBase(registry: RegistryBinding, identity: Identity, base: BaseState): SignedBase {
        const blinding = baseBlinding(identity.secret, registry.scope, base.folded);
        if (base.folded === 0n && base.spent === 0n && base.burned === 0n) return { base, blinding };
        const commitment = commitBase(base, identity.commitment, blinding);
        return { base, blinding, signature: this.signer.signBase(registryContext(registry), commitment) };
    }

    /** The provider's signed charge of ticket `index` (what the gateway answers a request with). */
    charge(registry: RegistryBinding, identity: Identity, index: bigint, amounts: ChargeAmounts): SignedCharge {
        const blinding = ticketBlinding(identity.secret, registry.scope, index);
        const ticket = commitTicket(index, identity.commitment, blinding);
        const signature = this.signer.signCharge(registryContext(registry), chargePoint(ticket, amounts.cost, amounts.penalty));
        return { ...amounts, blinding, signature };
    }
}

/** A user holding an identity and a deposit in a populated tree. */
export interface TestAccount {
    readonly identity: Identity;
    readonly deposit: bigint;
    readonly tree: RegistryTree;
    readonly leafIndex: number;
}

/** A tree of `others` random members with `identity` somewhere among them. */
export function testAccount(options: { deposit?: bigint; others?: number; identity?: Identity; position?: number } = {}): TestAccount {
    const identity = options.identity ?? new Identity();
    const deposit = options.deposit ?? 100_000n;
    const others = options.others ?? 5;
    const position = options.position ?? Math.floor(others / 2);
    const tree = new RegistryTree();
    let leafIndex = -1;
    for (let i = 0; i <= others; i++) {
        if (i === position) leafIndex = tree.insert(identity.commitment, deposit);
        else tree.insert(new Identity().commitment, 1_000n + BigInt(i));
    }
    return { identity, deposit, tree, leafIndex };
}

/** x of ticket `index`: Poseidon of the ticket's deterministic request key. */
export function ticketX(account: TestAccount, registry: RegistryBinding, index: bigint): bigint {
    return ephemeralKeyBinding(requestSigner(account.identity.secret, registry.scope, index).publicKey);
}

/** A Spend witness for ticket `index` on `base` (x defaults to the ticket's own request key). */
export function spendWitness(
    account: TestAccount,
    registry: RegistryBinding,
    base: SignedBase,
    index: bigint,
    x: bigint = ticketX(account, registry, index),
    maxDepth = TREE_DEPTH
): SpendWitness {
    return {
        secret: account.identity.secret,
        deposit: account.deposit,
        merkleProof: account.tree.merkleProof(account.leafIndex, maxDepth),
        base,
        index,
        ticketBlinding: ticketBlinding(account.identity.secret, registry.scope, index),
        registry,
        x
    };
}

/** A Fold witness folding `charges` (tickets base.folded …) into the next base. */
export function foldWitness(account: TestAccount, registry: RegistryBinding, base: SignedBase, charges: readonly SignedCharge[]): FoldWitness {
    const next = foldBase(base.base, charges);
    return {
        secret: account.identity.secret,
        base,
        charges,
        newBlinding: baseBlinding(account.identity.secret, registry.scope, next.folded),
        registry
    };
}

/** A Withdraw witness from `base` plus `charges`, declaring the slots flagged in `declared` (default none). */
export function withdrawWitness(
    account: TestAccount,
    registry: RegistryBinding,
    base: SignedBase,
    charges: readonly SignedCharge[],
    recipient: bigint,
    declared: readonly boolean[] = new Array<boolean>(TICKET_WINDOW).fill(false)
): WithdrawWitness {
    return { secret: account.identity.secret, base, charges, declared, registry, recipient };
}

/**
 * A provider-signed history: charges for tickets 0 … n−1 with the given amounts, folded K at a
 * time into the newest base; returns that base and the charges beyond it (fewer than K).
 */
export function signedHistory(
    provider: TestProvider,
    registry: RegistryBinding,
    account: TestAccount,
    amounts: readonly ChargeAmounts[]
): { base: SignedBase; pending: SignedCharge[]; charges: SignedCharge[] } {
    const charges = amounts.map((a, i) => provider.charge(registry, account.identity, BigInt(i), a));
    let base: BaseState = GENESIS_BASE;
    let folded = 0;
    while (charges.length - folded >= FOLD_SIZE) {
        base = foldBase(base, charges.slice(folded, folded + FOLD_SIZE));
        folded += FOLD_SIZE;
    }
    return { base: provider.signBase(registry, account.identity, base), pending: charges.slice(folded), charges };
}
