pragma circom 2.1.5;

include "bitify.circom";
include "comparators.circom";
include "constants.circom";

// Solvency with reserve: every ticket not yet folded into the base is reserved at its worst
// case (maxCost, plus policyPenalty if it breaks the terms), so however the open tickets
// are charged, the reserve stays untouched:
//     spent + burned + openTickets * (maxCost + policyPenalty) <= deposit - floor(deposit * reserveBps / 10000)
// Proves that, without wrapping: deposit < 2^96 is checked here, the floor division is exact
// (deposit * reserveBps = reserve * 10000 + remainder, remainder < 10000) and
// openTickets < 2^OPEN_BITS is checked here.
// The caller must range-check spent, burned < 2^96 (AccountCommitment) and maxCost,
// policyPenalty < 2^96, reserveBps <= 10000 (RegistryTerms).
template Solvency(OPEN_BITS) {
    signal input deposit, spent, burned, openTickets, maxCost, policyPenalty, reserveBps;

    var AMOUNT = AMOUNT_BITS();

    _ = Num2Bits(AMOUNT)(deposit);
    _ = Num2Bits(OPEN_BITS)(openTickets);

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

    // spent + burned < 2^97 and openTickets * (maxCost + policyPenalty) < 2^(OPEN_BITS + 97),
    // so the total is < 2^(OPEN_BITS + 98).
    signal reserved <== openTickets * (maxCost + policyPenalty);
    signal total <== spent + burned + reserved;
    signal solvent <== LessEqThan(AMOUNT + 2 + OPEN_BITS)([total, spendable]);
    solvent === 1;
}
