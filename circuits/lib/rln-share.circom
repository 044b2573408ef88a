pragma circom 2.1.5;

include "poseidon.circom";

// The nullifier of ticket `seq` of a registry:
//     slope = Poseidon(secret, scope, seq),  nullifier = Poseidon(slope)
// The caller binds `scope` to the registry (context) and range-checks `seq`.
template TicketNullifier() {
    signal input secret, scope, seq;
    signal output slope, nullifier;

    slope <== Poseidon(3)([secret, scope, seq]);
    nullifier <== Poseidon(1)([slope]);
}

// A Rate-Limiting Nullifier share of ticket `seq`: the point (x, y) of the line
//     y = secret + slope*x
// Two shares of one ticket for different x give the secret as the line's intercept.
// Proves exactly that; the caller binds `x` to the request (a public input).
template RlnShare() {
    signal input secret, scope, seq, x;
    signal output y, nullifier;

    signal slope;
    (slope, nullifier) <== TicketNullifier()(secret, scope, seq);

    y <== secret + slope * x;
}
