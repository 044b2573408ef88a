pragma circom 2.1.5;

include "bitify.circom";
include "poseidon.circom";
include "rln-share.circom";

// The disclosure of a withdrawal's ticket window: for each of the W tickets
// firstIndex + j (j < W), its nullifier if the slot is not declared, 0 if it is:
//     disclosed[j] = (1 - declared[j]) * nullifier(firstIndex + j)
//     hash = Poseidon(Poseidon(disclosed[0..3]), Poseidon(disclosed[4..7]), ...)
//     mask = sum declared[j] * 2^j
// Proves exactly that, with every declared[j] boolean. A declared slot is charged maxCost
// by the registry; an undeclared one can be shown used (a Spend proof with its nullifier)
// and forfeits the deposit. The caller binds `scope` and range-checks `firstIndex`.
// W is a multiple of 4 and at most 64 (Poseidon takes at most 16 inputs).
template SlotDisclosure(W) {
    assert(W % 4 == 0 && W >= 4 && W <= 64);

    signal input secret, scope, firstIndex, declared[W];
    signal output disclosed[W], hash, mask;

    signal nullifiers[W];
    var weighted = 0;
    for (var j = 0; j < W; j++) {
        declared[j] * (1 - declared[j]) === 0;
        (_, nullifiers[j]) <== TicketNullifier()(secret, scope, firstIndex + j);
        disclosed[j] <== (1 - declared[j]) * nullifiers[j];
        weighted += declared[j] * (1 << j);
    }
    mask <== weighted;

    signal groups[W \ 4];
    for (var g = 0; g < W \ 4; g++) {
        groups[g] <== Poseidon(4)([disclosed[4 * g], disclosed[4 * g + 1], disclosed[4 * g + 2], disclosed[4 * g + 3]]);
    }
    hash <== Poseidon(W \ 4)(groups);
}
