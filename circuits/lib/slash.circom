pragma circom 2.1.5;

include "poseidon.circom";

// Slash: knowledge of the secret behind an identity commitment (docs/protocol.md, 4).
// Proves: identityCommitment = Poseidon(secret), bound to `receiverBinding`, the hash
// keccak256(chainId, registry, receiver) >> 8 that the registry recomputes, so a copied
// proof pays the original receiver of the original registry only.
template Slash() {
    signal input secret;
    signal input receiverBinding;

    signal output identityCommitment;

    identityCommitment <== Poseidon(1)([secret]);

    signal receiverBindingSquare <== receiverBinding * receiverBinding;
}
