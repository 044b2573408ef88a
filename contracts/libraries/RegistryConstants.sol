// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev The BN254 scalar field modulus `p`: every public signal is a canonical element below it.
uint256 constant SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

/// @dev Deposits, costs, penalties and account totals are below 2^96 (circuits/lib/constants.circom).
uint256 constant AMOUNT_BITS = 96;
uint256 constant MAX_AMOUNT = (1 << AMOUNT_BITS) - 1;

/// @dev 10000 basis points = 100 %.
uint256 constant BPS_DENOMINATOR = 10_000;

/// @dev The registry tree is a Lean IMT of depth at most 32 (the circuits support up to 32).
uint256 constant MAX_TREE_DEPTH = 32;

/// @dev Burned funds go here at withdrawal, never to the provider (many ERC-20s refuse address(0)).
address constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

/// @dev The longest challenge window a registry may set: a user's refund waits this long at most.
uint256 constant MAX_CHALLENGE_WINDOW = 30 days;
