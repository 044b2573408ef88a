pragma circom 2.1.5;

include "comparators.circom";
include "constants.circom";
include "account-state.circom";
include "provider-signature.circom";

// A signed charge of ticket `index`: C = (cost*2^144 + penalty*2^48 + index)*G + idc*J + r*H,
// signed with the charge tag, with cost <= maxCost and penalty in {0, policyPenalty}.
// Proves exactly that when `enabled` is 1. When `enabled` is 0 it proves cost = penalty = 0
// and nothing else, so a disabled charge adds nothing to a total.
// The caller passes identityPoint = idc*J of the prover, context, providerKey, maxCost and
// policyPenalty from the registry (maxCost range-checked by RegistryTerms), and the index
// the charge must have; `enabled` must be boolean.
template SignedCharge() {
    signal input enabled, cost, penalty, index, identityPoint[2], blinding;
    signal input context, providerKey[2], maxCost, policyPenalty;
    signal input signatureR8[2], signatureS;

    signal commitment[2] <== AccountCommitment()(cost, penalty, index, identityPoint, blinding);
    ProviderSignature(CHARGE_SIGNATURE_TAG())(enabled, context, commitment, providerKey, signatureR8, signatureS);

    // AccountCommitment range-checked cost < 2^96; maxCost < 2^96 by RegistryTerms.
    signal withinMax <== LessEqThan(AMOUNT_BITS())([cost, maxCost]);
    withinMax === 1;
    penalty * (penalty - policyPenalty) === 0;

    (1 - enabled) * cost === 0;
    (1 - enabled) * penalty === 0;
}
