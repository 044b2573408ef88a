pragma circom 2.1.5;

include "poseidon.circom";
include "constants.circom";

// The nullifier of ticket `index` of a registry:
//     slope = Poseidon(secret, scope, index),  nullifier = Poseidon(slope)
// The caller binds `scope` to the registry (context) and range-checks `index`.
template TicketNullifier() {
    signal input secret, scope, index;
    signal output slope, nullifier;

    slope <== Poseidon(3)([secret, scope, index]);
    nullifier <== Poseidon(1)([slope]);
}

// A Rate-Limiting Nullifier share of ticket `index`: the point (x, y) of the line
//     y = secret + slope*x
// Two shares of one ticket for different x give the secret as the line's intercept.
// Proves exactly that; the caller binds `x` to the request (a public input).
template RlnShare() {
    signal input secret, scope, index, x;
    signal output y, nullifier;

    signal slope;
    (slope, nullifier) <== TicketNullifier()(secret, scope, index);

    y <== secret + slope * x;
}

// The fold nullifier of the base with `folded` tickets:
//     F = Poseidon(FOLD_NULLIFIER_TAG, secret, scope, folded)
// A 4-input Poseidon with its own tag: never equal to a ticket's slope or nullifier.
// The gateway records F when it signs the next base, so each base is folded forward once.
// The caller binds `scope` to the registry and range-checks `folded`.
template FoldNullifier() {
    signal input secret, scope, folded;
    signal output nullifier;

    nullifier <== Poseidon(4)([FOLD_NULLIFIER_TAG(), secret, scope, folded]);
}
