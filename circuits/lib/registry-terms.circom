pragma circom 2.1.5;

include "bitify.circom";
include "comparators.circom";
include "constants.circom";

// The economic terms of a registry, range-checked and packed into one field element:
//     terms = maxCost + policyPenalty * 2^96 + reserveBps * 2^192
// Proves: maxCost < 2^96, policyPenalty < 2^96, reserveBps <= 10000, so the packing is
// injective and the parts can be used in arithmetic without wrapping.
template RegistryTerms() {
    signal input maxCost, policyPenalty, reserveBps;
    signal output terms;

    var AMOUNT = AMOUNT_BITS();

    _ = Num2Bits(AMOUNT)(maxCost);
    _ = Num2Bits(AMOUNT)(policyPenalty);

    _ = Num2Bits(14)(reserveBps);
    signal reserveInRange <== LessEqThan(14)([reserveBps, BPS_DENOMINATOR()]);
    reserveInRange === 1;

    terms <== maxCost + policyPenalty * (1 << AMOUNT) + reserveBps * (1 << (2 * AMOUNT));
}
