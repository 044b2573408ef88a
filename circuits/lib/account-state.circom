pragma circom 2.1.5;

include "bitify.circom";
include "babyjub.circom";
include "escalarmulfix.circom";
include "constants.circom";

// Opening of an account state commitment (a Pedersen commitment on Baby Jubjub):
//     C = v*G + identityCommitment*J + blinding*H,  v = spent*2^144 + burned*2^48 + seq
// Proves: spent < 2^96, burned < 2^96, seq < 2^48, blinding < 2^251, so v < 2^240 < l and
// the opening is unique; C is bound to the identity (J term), so a signed state of one
// identity is useless to another.
// The caller may use spent, burned and seq as range-checked values.
template AccountStateCommitment() {
    signal input spent, burned, seq, identityCommitment, blinding;
    signal output commitment[2];

    var AMOUNT = AMOUNT_BITS();
    var SEQ = SEQ_BITS();

    signal seqBits[SEQ] <== Num2Bits(SEQ)(seq);
    signal burnedBits[AMOUNT] <== Num2Bits(AMOUNT)(burned);
    signal spentBits[AMOUNT] <== Num2Bits(AMOUNT)(spent);

    // The bits of v, least significant first: seq | burned | spent.
    signal valueBits[STATE_VALUE_BITS()];
    for (var i = 0; i < SEQ; i++) {
        valueBits[i] <== seqBits[i];
    }
    for (var i = 0; i < AMOUNT; i++) {
        valueBits[SEQ + i] <== burnedBits[i];
        valueBits[SEQ + AMOUNT + i] <== spentBits[i];
    }

    signal identityBits[254] <== Num2Bits_strict()(identityCommitment);
    signal blindingBits[BLINDING_BITS()] <== Num2Bits(BLINDING_BITS())(blinding);

    signal valuePoint[2] <== EscalarMulFix(STATE_VALUE_BITS(), STATE_GENERATOR_G())(valueBits);
    signal identityPoint[2] <== EscalarMulFix(254, STATE_GENERATOR_J())(identityBits);
    signal blindingPoint[2] <== EscalarMulFix(BLINDING_BITS(), STATE_GENERATOR_H())(blindingBits);

    signal boundValue[2];
    (boundValue[0], boundValue[1]) <== BabyAdd()(valuePoint[0], valuePoint[1], identityPoint[0], identityPoint[1]);
    (commitment[0], commitment[1]) <== BabyAdd()(boundValue[0], boundValue[1], blindingPoint[0], blindingPoint[1]);
}

// Re-randomisation of a state commitment: out = commitment + rerandomiser*H.
// Proves: out commits to the same (v, identity) as `commitment`, with blinding
// increased by rerandomiser (< 2^251). The caller must supply a commitment it opened.
template AccountStateRerandomise() {
    signal input commitment[2], rerandomiser;
    signal output out[2];

    signal bits[BLINDING_BITS()] <== Num2Bits(BLINDING_BITS())(rerandomiser);
    signal offset[2] <== EscalarMulFix(BLINDING_BITS(), STATE_GENERATOR_H())(bits);

    (out[0], out[1]) <== BabyAdd()(commitment[0], commitment[1], offset[0], offset[1]);
}
