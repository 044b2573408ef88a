pragma circom 2.1.5;

// Constants of the zk-api-credits protocol (docs/protocol.md, section "Encodings").
// The TypeScript reference (packages/protocol/src/constants.ts) holds the same values;
// a test checks that the two agree.

// Deposits, costs, penalties and the running totals `spent` and `burned` are < 2^96.
function AMOUNT_BITS() { return 96; }

// The request counter `seq` is < 2^48.
function SEQ_BITS() { return 48; }

// Blinding factors of the state commitment are < 2^251 (the client samples them < l).
function BLINDING_BITS() { return 251; }

// The state value v = spent * 2^144 + burned * 2^48 + seq fits in 240 bits.
function STATE_VALUE_BITS() { return 240; }

// 10000 basis points = 100 %.
function BPS_DENOMINATOR() { return 10000; }

// Generators of the state commitment C = v*G + idc*J + r*H on Baby Jubjub.
// They are circomlib's Pedersen-hash bases 0, 1 and 2: nothing-up-my-sleeve points
// derived by hashing "PedersenGenerator_i" (circomlibjs), each of prime order l, with
// no known discrete-log relation between them.
function STATE_GENERATOR_G() {
    return [
        10457101036533406547632367118273992217979173478358440826365724437999023779287,
        19824078218392094440610104313265183977899662750282163392862422243483260492317
    ];
}

function STATE_GENERATOR_H() {
    return [
        2671756056509184035029146175565761955751135805354291559563293617232983272177,
        2663205510731142763556352975002641716101654201788071096152948830924149045094
    ];
}

function STATE_GENERATOR_J() {
    return [
        5802099305472655231388284418920769829666717045250560929368476121199858275951,
        5980429700218124965372158798884772646841287887664001482443826541541529227896
    ];
}
