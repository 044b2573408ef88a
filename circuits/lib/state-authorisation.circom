pragma circom 2.1.5;

include "comparators.circom";
include "poseidon.circom";
include "eddsaposeidon.circom";

// Authorisation of an account state: it is either the genesis state
// (seq = 0, spent = 0, burned = 0: no signature needed) or the provider signed it with
// EdDSA-Poseidon over message = Poseidon(commitment.x, commitment.y).
// Proves exactly that; the caller must bind providerKey to the registry (context) and
// supply a commitment it opened. A state with seq = 0 and a non-zero total is rejected,
// so the signature check cannot be skipped for anything but the genesis state.
template StateAuthorisation() {
    signal input spent, burned, seq;
    signal input commitment[2];
    signal input providerKey[2];
    signal input signatureR8[2], signatureS;

    signal isGenesis <== IsZero()(seq);
    isGenesis * spent === 0;
    isGenesis * burned === 0;

    signal message <== Poseidon(2)(commitment);

    EdDSAPoseidonVerifier()(
        1 - isGenesis,
        providerKey[0], providerKey[1],
        signatureS, signatureR8[0], signatureR8[1],
        message
    );
}
