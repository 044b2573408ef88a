pragma circom 2.1.5;

include "bitify.circom";
include "comparators.circom";
include "constants.circom";

// Solvency with reserve: whatever the next request costs (at most maxCost, plus
// policyPenalty if it breaks the terms), the reserve stays untouched:
//     spent + burned + maxCost + policyPenalty <= deposit - floor(deposit * reserveBps / 10000)
// Proves that, without wrapping: deposit < 2^96 is checked here and the floor division is
// exact (deposit * reserveBps = reserve * 10000 + remainder, remainder < 10000).
// The caller must range-check spent, burned < 2^96 (AccountStateCommitment) and
// maxCost, policyPenalty < 2^96, reserveBps <= 10000 (RegistryTerms).
template Solvency() {
    signal input deposit, spent, burned, maxCost, policyPenalty, reserveBps;

    var AMOUNT = AMOUNT_BITS();

    _ = Num2Bits(AMOUNT)(deposit);

    signal reserve <-- (deposit * reserveBps) \ BPS_DENOMINATOR();
    signal remainder <-- (deposit * reserveBps) % BPS_DENOMINATOR();
    deposit * reserveBps === reserve * BPS_DENOMINATOR() + remainder;
    _ = Num2Bits(AMOUNT)(reserve);
    _ = Num2Bits(14)(remainder);
    signal remainderInRange <== LessThan(14)([remainder, BPS_DENOMINATOR()]);
    remainderInRange === 1;

    // With reserveBps <= 10000, reserve <= deposit, so spendable is in [0, 2^96).
    signal spendable <== deposit - reserve;
    _ = Num2Bits(AMOUNT)(spendable);

    // Each of the four summands is < 2^96, so the total is < 2^98.
    signal total <== spent + burned + maxCost + policyPenalty;
    signal solvent <== LessEqThan(AMOUNT + 2)([total, spendable]);
    solvent === 1;
}
