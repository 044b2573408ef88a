pragma circom 2.1.5;

include "poseidon.circom";

// The registry context: every constant a proof must be bound to, in one public signal.
//     context = Poseidon(scope, providerKey.x, providerKey.y, terms)
// where scope = Poseidon(chainId, registry address) and terms packs the registry's
// maxCost, policyPenalty and reserveBps (RegistryTerms). The registry contract computes
// the same value once, at deployment, and passes it to the verifier.
// The caller must range-check whatever it derives from `terms` (RegistryTerms does).
template RegistryContext() {
    signal input scope, providerKey[2], terms;
    signal output context;

    context <== Poseidon(4)([scope, providerKey[0], providerKey[1], terms]);
}
