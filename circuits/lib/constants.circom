pragma circom 2.1.5;

// Constants of the zk-api-credits protocol v2 (docs/protocol.md, "Objects and encodings").
// The TypeScript reference (packages/protocol/src/constants.ts) holds the same values;
// a test checks that the two agree.

// Deposits, costs, penalties and the running totals `spent` and `burned` are < 2^96.
function AMOUNT_BITS() { return 96; }

// Ticket indices and the folded count `f` of a base state are < 2^48.
function INDEX_BITS() { return 48; }

// Blinding factors of Pedersen commitments are < 2^251 (the client samples them < l).
function BLINDING_BITS() { return 251; }

// The committed value v = high * 2^144 + mid * 2^48 + low fits in 240 bits.
function COMMITTED_VALUE_BITS() { return 240; }

// 10000 basis points = 100 %.
function BPS_DENOMINATOR() { return 10000; }

// Domain tags: the UTF-8 bytes of a label read as a big-endian integer. Every provider
// signature covers Poseidon(tag, context, point.x, point.y); the tags keep a signed charge
// from passing as a signed base state, and `context` keeps either from passing in another
// registry. The fold nullifier's tag keeps it apart from ticket nullifiers.
// "zk-api-credits/v2/base"
function BASE_SIGNATURE_TAG() { return 45802258889862503888335587487400857510941099949126501; }
// "zk-api-credits/v2/charge"
function CHARGE_SIGNATURE_TAG() { return 3001696838606029054825961061574302597837035927395229656933; }
// "zk-api-credits/v2/fold"
function FOLD_NULLIFIER_TAG() { return 45802258889862503888335587487400857510941100017151076; }

// Generators of the commitments C = v*G + idc*J + r*H on Baby Jubjub.
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
