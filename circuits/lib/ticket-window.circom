pragma circom 2.1.5;

include "bitify.circom";

// The ticket window of a base state: ticket `index` may be spent on base `folded` only if
//     folded <= index < folded + W
// Proves exactly that and outputs offset = index - folded in [0, W). W is a power of two.
// The caller must range-check `folded` and `index` (both < 2^48: AccountCommitment and
// TicketCommitment do), so the subtraction cannot wrap into the window.
template TicketWindow(W) {
    var BITS = 0;
    while ((1 << BITS) < W) {
        BITS++;
    }
    assert(W >= 1 && (1 << BITS) == W);

    signal input folded, index;
    signal output offset;

    offset <== index - folded;
    _ = Num2Bits(BITS)(offset);
}
