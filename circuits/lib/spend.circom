pragma circom 2.1.5;

include "bitify.circom";
include "poseidon.circom";
include "constants.circom";
include "registry-terms.circom";
include "registry-context.circom";
include "registry-membership.circom";
include "account-state.circom";
include "state-authorisation.circom";
include "solvency.circom";
include "rln-share.circom";

// Spend: one ticket of an anonymous, metered account (docs/protocol.md, section 2).
// Proves, without revealing secret, deposit, the state or its signature:
//  1. membership: Poseidon(Poseidon(secret), deposit) is a leaf of the tree with `root`;
//  2. state: the prover opens a state commitment C to (spent, burned, seq) for its own
//     identity, C is the genesis state or signed by the provider key, and
//     `rerandomisedState` is C with a fresh blinding;
//  3. solvency: spent + burned + maxCost + policyPenalty <= deposit - reserve, and
//     seq + 1 < 2^48, so the provider's next state cannot overflow;
//  4. RLN: `nullifier` names ticket `seq` and (x, y) is a share of its line.
// The verifier must check root (recent), context (its own) and x (its request).
template Spend(MAX_DEPTH) {
    // Identity and deposit.
    signal input secret, deposit;
    signal input merkleDepth, merkleIndex, merkleSiblings[MAX_DEPTH];
    // Latest signed state, its opening and the provider's signature on it.
    signal input spent, burned, seq, blinding;
    signal input signatureR8[2], signatureS;
    // Fresh blinding added to the shown state.
    signal input rerandomiser;
    // Registry constants (bound through `context`).
    signal input scope, providerKey[2], maxCost, policyPenalty, reserveBps;
    // The request binding (public).
    signal input x;

    signal output root, context, rerandomisedState[2], nullifier, y;

    signal terms <== RegistryTerms()(maxCost, policyPenalty, reserveBps);
    context <== RegistryContext()(scope, providerKey, terms);

    signal identityCommitment <== Poseidon(1)([secret]);
    root <== RegistryMembership(MAX_DEPTH)(identityCommitment, deposit, merkleDepth, merkleIndex, merkleSiblings);

    signal state[2] <== AccountStateCommitment()(spent, burned, seq, identityCommitment, blinding);
    StateAuthorisation()(spent, burned, seq, state, providerKey, signatureR8, signatureS);
    rerandomisedState <== AccountStateRerandomise()(state, rerandomiser);

    Solvency()(deposit, spent, burned, maxCost, policyPenalty, reserveBps);
    _ = Num2Bits(SEQ_BITS())(seq + 1);

    (y, nullifier) <== RlnShare()(secret, scope, seq, x);
}
