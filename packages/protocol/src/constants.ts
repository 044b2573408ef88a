import type { Point } from "@zk-kit/baby-jubjub";

/** Deposits, costs, penalties, `spent` and `burned` are below 2^AMOUNT_BITS. */
export const AMOUNT_BITS = 96;
/** The request counter `seq` is below 2^SEQ_BITS. */
export const SEQ_BITS = 48;
/** Blinding factors of state commitments are below 2^BLINDING_BITS. */
export const BLINDING_BITS = 251;
/** Bits of the state value v = spent * 2^144 + burned * 2^48 + seq. */
export const STATE_VALUE_BITS = 240;

/** The largest deposit, cost, penalty or total the protocol can express. */
export const MAX_AMOUNT = (1n << BigInt(AMOUNT_BITS)) - 1n;
/** The largest `seq` a Spend proof accepts (seq + 1 must still fit). */
export const MAX_SPENDABLE_SEQ = (1n << BigInt(SEQ_BITS)) - 2n;

/** Position of `burned` and `spent` in the state value. */
export const BURNED_SHIFT = BigInt(SEQ_BITS);
export const SPENT_SHIFT = BigInt(SEQ_BITS + AMOUNT_BITS);

/** 10000 basis points = 100 %. */
export const BPS_DENOMINATOR = 10_000n;

/** Largest supported registry tree depth (the circuits accept up to 32). */
export const MAX_TREE_DEPTH = 32;
/** Tree depth of the default Spend instance. */
export const DEFAULT_TREE_DEPTH = 20;

/**
 * Generators of the state commitment C = v*G + idc*J + r*H: circomlib's Pedersen-hash
 * bases 0, 1, 2 (nothing-up-my-sleeve points of prime order l). Same values as
 * circuits/lib/constants.circom.
 */
export const STATE_GENERATORS: { readonly G: Point<bigint>; readonly H: Point<bigint>; readonly J: Point<bigint> } = {
    G: [
        10457101036533406547632367118273992217979173478358440826365724437999023779287n,
        19824078218392094440610104313265183977899662750282163392862422243483260492317n
    ],
    H: [
        2671756056509184035029146175565761955751135805354291559563293617232983272177n,
        2663205510731142763556352975002641716101654201788071096152948830924149045094n
    ],
    J: [
        5802099305472655231388284418920769829666717045250560929368476121199858275951n,
        5980429700218124965372158798884772646841287887664001482443826541541529227896n
    ]
};
