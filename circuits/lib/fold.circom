pragma circom 2.1.5;

include "poseidon.circom";
include "constants.circom";
include "registry-terms.circom";
include "registry-context.circom";
include "account-state.circom";
include "provider-signature.circom";
include "charge.circom";
include "rln-share.circom";

// Fold: compacts the next K charges of an account into a new base (docs/protocol.md, "Fold").
// Proves, without revealing the secret, the identity, the bases or the charges:
//  1. base: the prover opens a base commitment to (spent, burned, folded) for its own
//     identity, genesis or signed by the provider (base tag, this context);
//  2. charges: for s < K, the prover opens a charge of ticket folded + s for its identity,
//     signed by the provider (charge tag, this context), with cost_s <= maxCost and
//     penalty_s in {0, policyPenalty};
//  3. `newBase` commits to (spent + sum cost_s, burned + sum penalty_s, folded + K) for the
//     same identity, with a fresh blinding (both totals stay < 2^96);
//  4. `foldNullifier` is the fold nullifier of base `folded`.
// The verifier (the gateway) must check context (its own), record foldNullifier so the base
// is folded once, and only then sign newBase with the base tag.
template Fold(K) {
    assert(K >= 1);

    signal input secret;
    signal input spent, burned, folded, baseBlinding;
    signal input baseSignatureR8[2], baseSignatureS;
    signal input costs[K], penalties[K], chargeBlindings[K];
    signal input chargeSignatureR8[K][2], chargeSignatureS[K];
    signal input newBlinding;
    signal input scope, providerKey[2], maxCost, policyPenalty, reserveBps;

    signal output context, foldNullifier, newBase[2];

    signal terms <== RegistryTerms()(maxCost, policyPenalty, reserveBps);
    context <== RegistryContext()(scope, providerKey, terms);

    signal identityCommitment <== Poseidon(1)([secret]);
    signal identityPoint[2] <== IdentityPoint()(identityCommitment);
    signal base[2] <== AccountCommitment()(spent, burned, folded, identityPoint, baseBlinding);
    BaseAuthorisation()(spent, burned, folded, base, context, providerKey, baseSignatureR8, baseSignatureS);

    signal spentSums[K + 1];
    signal burnedSums[K + 1];
    spentSums[0] <== spent;
    burnedSums[0] <== burned;
    for (var s = 0; s < K; s++) {
        SignedCharge()(
            1, costs[s], penalties[s], folded + s, identityPoint, chargeBlindings[s],
            context, providerKey, maxCost, policyPenalty,
            chargeSignatureR8[s], chargeSignatureS[s]
        );
        // Each summand is < 2^96 and K is small: no sum wraps before the range check below.
        spentSums[s + 1] <== spentSums[s] + costs[s];
        burnedSums[s + 1] <== burnedSums[s] + penalties[s];
    }

    newBase <== AccountCommitment()(spentSums[K], burnedSums[K], folded + K, identityPoint, newBlinding);
    foldNullifier <== FoldNullifier()(secret, scope, folded);
}
