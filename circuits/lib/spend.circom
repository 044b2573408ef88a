pragma circom 2.1.5;

include "poseidon.circom";
include "constants.circom";
include "registry-terms.circom";
include "registry-context.circom";
include "registry-membership.circom";
include "account-state.circom";
include "provider-signature.circom";
include "ticket-window.circom";
include "solvency.circom";
include "rln-share.circom";

// Spend: ticket `index` of an anonymous, metered account (docs/protocol.md, "Spend").
// Proves, without revealing secret, deposit, index, the base state or its signature:
//  1. membership: Poseidon(Poseidon(secret), deposit) is a leaf of the tree with `root`;
//  2. base: the prover opens a base commitment to (spent, burned, folded) for its own
//     identity, and the base is genesis or signed by the provider (base tag, this context);
//  3. window: folded <= index < folded + W;
//  4. solvency: spent + burned + (index - folded + 1) * (maxCost + policyPenalty)
//     <= deposit - reserve: every ticket of the window up to this one is reserved at its
//     worst case, so however many of them are in flight, none can overdraw the deposit;
//  5. `ticketCommitment` = index*G + idc*J + ticketBlinding*H, the point the provider adds
//     its charge to;
//  6. RLN: `nullifier` names ticket `index` and (x, y) is a share of its line.
// The verifier must check root (a published epoch root), context (its own) and x (the
// request's ephemeral key).
template Spend(MAX_DEPTH, W) {
    // Identity and deposit.
    signal input secret, deposit;
    signal input merkleDepth, merkleIndex, merkleSiblings[MAX_DEPTH];
    // A signed base state (or genesis), its opening and the provider's signature on it.
    signal input spent, burned, folded, baseBlinding;
    signal input baseSignatureR8[2], baseSignatureS;
    // The ticket.
    signal input index, ticketBlinding;
    // Registry constants (bound through `context`).
    signal input scope, providerKey[2], maxCost, policyPenalty, reserveBps;
    // The request binding (public).
    signal input x;

    signal output root, context, ticketCommitment[2], nullifier, y;

    signal terms <== RegistryTerms()(maxCost, policyPenalty, reserveBps);
    context <== RegistryContext()(scope, providerKey, terms);

    signal identityCommitment <== Poseidon(1)([secret]);
    root <== RegistryMembership(MAX_DEPTH)(identityCommitment, deposit, merkleDepth, merkleIndex, merkleSiblings);

    signal identityPoint[2] <== IdentityPoint()(identityCommitment);
    signal base[2] <== AccountCommitment()(spent, burned, folded, identityPoint, baseBlinding);
    BaseAuthorisation()(spent, burned, folded, base, context, providerKey, baseSignatureR8, baseSignatureS);

    ticketCommitment <== TicketCommitment()(index, identityPoint, ticketBlinding);
    signal offset <== TicketWindow(W)(folded, index);

    // offset + 1 <= W tickets are open on this base; W + 1 fits in log2(W) + 1 bits.
    var OPEN_BITS = 1;
    while ((1 << (OPEN_BITS - 1)) < W) {
        OPEN_BITS++;
    }
    Solvency(OPEN_BITS)(deposit, spent, burned, offset + 1, maxCost, policyPenalty, reserveBps);

    (y, nullifier) <== RlnShare()(secret, scope, index, x);
}
