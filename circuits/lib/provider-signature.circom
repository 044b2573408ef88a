pragma circom 2.1.5;

include "comparators.circom";
include "poseidon.circom";
include "eddsaposeidon.circom";
include "constants.circom";

// A provider signature on a commitment, domain-separated and bound to the registry:
// EdDSA-Poseidon by providerKey over message = Poseidon(TAG, context, point.x, point.y).
// Proves exactly that when `enabled` is 1 (nothing when 0; enabled must be boolean, which
// the caller guarantees). The caller binds providerKey and context to the registry (both
// come from RegistryContext) and passes a commitment it opened.
template ProviderSignature(TAG) {
    signal input enabled, context, point[2], providerKey[2], signatureR8[2], signatureS;

    signal message <== Poseidon(4)([TAG, context, point[0], point[1]]);

    EdDSAPoseidonVerifier()(
        enabled,
        providerKey[0], providerKey[1],
        signatureS, signatureR8[0], signatureR8[1],
        message
    );
}

// Authorisation of a base state (spent, burned, f): the genesis state (f = 0, spent = 0,
// burned = 0: no signature needed) or a base the provider signed with the base tag.
// Proves exactly that; a base with f = 0 and a non-zero total is rejected, so the signature
// check is skipped for nothing but genesis. The caller passes the commitment it opened and
// the registry's context and key.
template BaseAuthorisation() {
    signal input spent, burned, folded;
    signal input commitment[2], context, providerKey[2];
    signal input signatureR8[2], signatureS;

    signal isGenesis <== IsZero()(folded);
    isGenesis * spent === 0;
    isGenesis * burned === 0;

    ProviderSignature(BASE_SIGNATURE_TAG())(1 - isGenesis, context, commitment, providerKey, signatureR8, signatureS);
}
