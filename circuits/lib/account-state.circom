pragma circom 2.1.5;

include "bitify.circom";
include "babyjub.circom";
include "escalarmulfix.circom";
include "constants.circom";

// The identity term of every commitment of an account: idc*J.
// Proves: `point` = identityCommitment * J, with identityCommitment decomposed strictly
// (Num2Bits_strict: its bits are the canonical ones, < p).
// The caller supplies the identity commitment it computed from the secret.
template IdentityPoint() {
    signal input identityCommitment;
    signal output point[2];

    signal bits[254] <== Num2Bits_strict()(identityCommitment);
    point <== EscalarMulFix(254, STATE_GENERATOR_J())(bits);
}

// A Pedersen commitment of an account value, bound to an identity:
//     C = v*G + idc*J + blinding*H,  v = high*2^144 + mid*2^48 + low
// used for a base state (high, mid, low) = (spent, burned, f) and for a charge
// (cost, penalty, i): a charge is the ticket commitment plus (cost*2^144 + penalty*2^48)*G.
// Proves: high < 2^96, mid < 2^96, low < 2^48, blinding < 2^251, so v < 2^240 < l and
// the opening is unique. The caller must pass identityPoint = idc*J of the prover's own
// identity (IdentityPoint), and may use high, mid and low as range-checked values.
template AccountCommitment() {
    signal input high, mid, low, identityPoint[2], blinding;
    signal output commitment[2];

    var AMOUNT = AMOUNT_BITS();
    var INDEX = INDEX_BITS();

    signal lowBits[INDEX] <== Num2Bits(INDEX)(low);
    signal midBits[AMOUNT] <== Num2Bits(AMOUNT)(mid);
    signal highBits[AMOUNT] <== Num2Bits(AMOUNT)(high);

    // The bits of v, least significant first: low | mid | high.
    signal valueBits[COMMITTED_VALUE_BITS()];
    for (var i = 0; i < INDEX; i++) {
        valueBits[i] <== lowBits[i];
    }
    for (var i = 0; i < AMOUNT; i++) {
        valueBits[INDEX + i] <== midBits[i];
        valueBits[INDEX + AMOUNT + i] <== highBits[i];
    }
    signal blindingBits[BLINDING_BITS()] <== Num2Bits(BLINDING_BITS())(blinding);

    signal valuePoint[2] <== EscalarMulFix(COMMITTED_VALUE_BITS(), STATE_GENERATOR_G())(valueBits);
    signal blindingPoint[2] <== EscalarMulFix(BLINDING_BITS(), STATE_GENERATOR_H())(blindingBits);

    signal bound[2];
    (bound[0], bound[1]) <== BabyAdd()(valuePoint[0], valuePoint[1], identityPoint[0], identityPoint[1]);
    (commitment[0], commitment[1]) <== BabyAdd()(bound[0], bound[1], blindingPoint[0], blindingPoint[1]);
}

// The commitment of ticket `index`: T = index*G + idc*J + blinding*H, a charge with
// cost = penalty = 0. It hides the index and the identity (blinding is the client's secret).
// Proves: index < 2^48, blinding < 2^251 and T as above. The caller passes identityPoint
// = idc*J of the prover's own identity and binds `index` to the ticket's nullifier.
template TicketCommitment() {
    signal input index, identityPoint[2], blinding;
    signal output commitment[2];

    signal indexBits[INDEX_BITS()] <== Num2Bits(INDEX_BITS())(index);
    signal blindingBits[BLINDING_BITS()] <== Num2Bits(BLINDING_BITS())(blinding);

    signal indexPoint[2] <== EscalarMulFix(INDEX_BITS(), STATE_GENERATOR_G())(indexBits);
    signal blindingPoint[2] <== EscalarMulFix(BLINDING_BITS(), STATE_GENERATOR_H())(blindingBits);

    signal bound[2];
    (bound[0], bound[1]) <== BabyAdd()(indexPoint[0], indexPoint[1], identityPoint[0], identityPoint[1]);
    (commitment[0], commitment[1]) <== BabyAdd()(bound[0], bound[1], blindingPoint[0], blindingPoint[1]);
}
