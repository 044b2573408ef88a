pragma circom 2.1.5;

include "poseidon.circom";
include "registry-context.circom";
include "account-state.circom";
include "state-authorisation.circom";
include "rln-share.circom";

// Withdraw: the closing statement of an account (docs/protocol.md, section 3).
// Proves, without revealing secret, seq or the signature:
//  1. ownership: identityCommitment = Poseidon(secret);
//  2. state: the prover opens a state commitment of its identity to (spent, burned, seq),
//     genesis or signed by the provider key;
//  3. `nullifier` is the nullifier of ticket `seq`: if that ticket was ever spent, the
//     state was not the latest and the withdrawal can be challenged;
//  4. `recipient` is bound to the proof (a public input that nothing else constrains).
// The verifier must check identityCommitment (registered), context (its own) and pay
// recipient. `terms` is only hashed here, so it is not decomposed.
template Withdraw() {
    signal input secret;
    signal input seq, blinding;
    signal input signatureR8[2], signatureS;
    signal input scope, providerKey[2], terms;
    signal input spent, burned, recipient;

    signal output identityCommitment, nullifier, context;

    context <== RegistryContext()(scope, providerKey, terms);
    identityCommitment <== Poseidon(1)([secret]);

    signal state[2] <== AccountStateCommitment()(spent, burned, seq, identityCommitment, blinding);
    StateAuthorisation()(spent, burned, seq, state, providerKey, signatureR8, signatureS);

    (_, nullifier) <== TicketNullifier()(secret, scope, seq);

    signal recipientSquare <== recipient * recipient;
}
