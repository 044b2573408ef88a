pragma circom 2.1.5;

include "bitify.circom";
include "comparators.circom";
include "poseidon.circom";
include "constants.circom";
include "registry-terms.circom";
include "registry-context.circom";
include "account-state.circom";
include "provider-signature.circom";
include "charge.circom";
include "rln-share.circom";
include "slot-disclosure.circom";

// Withdraw: the closing statement of an account (docs/protocol.md, "Withdrawal").
// Proves, without revealing the secret, the bases, the charges or the ticket indices:
//  1. ownership: identityCommitment = Poseidon(secret);
//  2. base: the prover opens a base commitment to (spent, burned, folded) for its identity,
//     genesis or signed by the provider (base tag, this context);
//  3. charges: the first m <= K of the K charge slots (used[] is 1...1 0...0) are signed
//     charges of tickets folded, ..., folded + m - 1 (as in Fold); the effective base is
//     e = folded + m with totals spentE = spent + sum cost, burnedE = burned + sum penalty,
//     both < 2^96;
//  4. `foldNullifier` is the fold nullifier of base e* = folded + K if m = K, else folded:
//     if it was ever recorded, the prover held a newer base (the stale-base challenge);
//  5. the window [e, e + W): SlotDisclosure's hash of the undeclared slots' nullifiers
//     (an undeclared slot shown spent is the undeclared-ticket challenge);
//  6. accounting = spentE + burnedE * 2^96 + mask * 2^192 (mask: the declared slots);
//  7. `recipient` is bound to the proof (a public input nothing else constrains).
// The verifier (the registry) must check identityCommitment (its deposit), context (its
// own), pay `recipient`, charge maxCost per declared slot, and keep foldNullifier and the
// disclosed nullifiers open to challenge for its window.
template Withdraw(K, W) {
    assert(K >= 1 && K < W);

    signal input secret;
    signal input spent, burned, folded, baseBlinding;
    signal input baseSignatureR8[2], baseSignatureS;
    signal input used[K], costs[K], penalties[K], chargeBlindings[K];
    signal input chargeSignatureR8[K][2], chargeSignatureS[K];
    signal input declared[W];
    signal input scope, providerKey[2], maxCost, policyPenalty, reserveBps;
    signal input recipient;

    signal output identityCommitment, context, accounting, foldNullifier, slotNullifiersHash;

    var AMOUNT = AMOUNT_BITS();

    signal terms <== RegistryTerms()(maxCost, policyPenalty, reserveBps);
    context <== RegistryContext()(scope, providerKey, terms);

    identityCommitment <== Poseidon(1)([secret]);
    signal identityPoint[2] <== IdentityPoint()(identityCommitment);
    signal base[2] <== AccountCommitment()(spent, burned, folded, identityPoint, baseBlinding);
    BaseAuthorisation()(spent, burned, folded, base, context, providerKey, baseSignatureR8, baseSignatureS);

    // used[] is boolean and a prefix: used[s + 1] = 1 only if used[s] = 1.
    for (var s = 0; s < K; s++) {
        used[s] * (1 - used[s]) === 0;
        if (s > 0) {
            used[s] * (1 - used[s - 1]) === 0;
        }
    }

    signal spentSums[K + 1];
    signal burnedSums[K + 1];
    spentSums[0] <== spent;
    burnedSums[0] <== burned;
    var count = 0;
    for (var s = 0; s < K; s++) {
        // A disabled slot proves cost = penalty = 0, so it adds nothing.
        SignedCharge()(
            used[s], costs[s], penalties[s], folded + s, identityPoint, chargeBlindings[s],
            context, providerKey, maxCost, policyPenalty,
            chargeSignatureR8[s], chargeSignatureS[s]
        );
        spentSums[s + 1] <== spentSums[s] + costs[s];
        burnedSums[s + 1] <== burnedSums[s] + penalties[s];
        count += used[s];
    }
    signal chargeCount <== count;
    _ = Num2Bits(AMOUNT)(spentSums[K]);
    _ = Num2Bits(AMOUNT)(burnedSums[K]);

    signal effective <== folded + chargeCount;
    signal allCharges <== IsEqual()([chargeCount, K]);
    signal staleCheckBase <== folded + K * allCharges;
    foldNullifier <== FoldNullifier()(secret, scope, staleCheckBase);

    signal mask;
    (_, slotNullifiersHash, mask) <== SlotDisclosure(W)(secret, scope, effective, declared);

    accounting <== spentSums[K] + burnedSums[K] * (1 << AMOUNT) + mask * (1 << (2 * AMOUNT));

    signal recipientSquare <== recipient * recipient;
}
