import type { Point } from "@zk-kit/baby-jubjub";

/** Deposits, costs, penalties, `spent` and `burned` are below 2^AMOUNT_BITS. */
export const AMOUNT_BITS = 96;
/** Ticket indices and a base's folded count `f` are below 2^INDEX_BITS. */
export const INDEX_BITS = 48;
/** Blinding factors of commitments are below 2^BLINDING_BITS. */
export const BLINDING_BITS = 251;
/** Bits of a committed value v = high * 2^144 + mid * 2^48 + low. */
export const COMMITTED_VALUE_BITS = 240;

/** The largest deposit, cost, penalty or total the protocol can express. */
export const MAX_AMOUNT = (1n << BigInt(AMOUNT_BITS)) - 1n;
/** The largest ticket index or folded count. */
export const MAX_INDEX = (1n << BigInt(INDEX_BITS)) - 1n;

/** Position of the middle (burned, penalty) and high (spent, cost) parts of a committed value. */
export const MID_SHIFT = BigInt(INDEX_BITS);
export const HIGH_SHIFT = BigInt(INDEX_BITS + AMOUNT_BITS);

/** 10000 basis points = 100 %. */
export const BPS_DENOMINATOR = 10_000n;

/** Tickets of one base that may be open at once (W): Spend(32, 8). */
export const TICKET_WINDOW = 8;
/** Charges folded into a new base at a time (K): Fold(2). */
export const FOLD_SIZE = 2;
/** Depth of the registry tree the Spend circuit is built for (capacity 2^32). */
export const TREE_DEPTH = 32;

/** A domain tag: the UTF-8 bytes of `label` read as a big-endian integer (below 2^248). */
export function domainTag(label: string): bigint {
    const bytes = Buffer.from(label, "utf8");
    if (bytes.length > 31) throw new RangeError(`a domain tag label has at most 31 bytes: ${label}`);
    return BigInt(`0x${bytes.toString("hex")}`);
}

/** Tags of provider signatures, fold nullifiers, per-index keys and look-ups (docs/protocol.md). */
export const TAGS = {
    base: domainTag("zk-api-credits/v2/base"),
    charge: domainTag("zk-api-credits/v2/charge"),
    fold: domainTag("zk-api-credits/v2/fold"),
    requestKey: domainTag("zk-api-credits/v2/request-key"),
    ticketBlinding: domainTag("zk-api-credits/v2/ticket-rand"),
    baseBlinding: domainTag("zk-api-credits/v2/base-rand"),
    lookup: domainTag("zk-api-credits/v2/lookup")
} as const;

/**
 * Generators of the commitments C = v*G + idc*J + r*H: circomlib's Pedersen-hash bases 0, 1,
 * 2 (nothing-up-my-sleeve points of prime order l). Same values as circuits/lib/constants.circom.
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
