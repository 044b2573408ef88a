// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev The BN254 scalar field modulus `p`: every public signal is a canonical element below it.
uint256 constant SNARK_SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

/// @dev Deposits, costs, penalties and account totals are below 2^96 (circuits/lib/constants.circom).
uint256 constant AMOUNT_BITS = 96;
uint256 constant MAX_AMOUNT = (1 << AMOUNT_BITS) - 1;

/// @dev 10000 basis points = 100 %.
uint256 constant BPS_DENOMINATOR = 10_000;

/// @dev Depth of the registry tree the Spend circuit is built for: Spend(TREE_DEPTH, TICKET_WINDOW) = Spend(32, 8).
/// The registry holds at most 2^TREE_DEPTH deposits. Bound to the circuit, never a deployment parameter.
uint256 constant TREE_DEPTH = 32;

/// @dev W: tickets of one base that may be open at once, and slots a withdrawal declares or discloses
/// (Spend(32, 8), Withdraw(2, 8)).
uint256 constant TICKET_WINDOW = 8;

/// @dev K: charges folded into the next base at a time (Fold(2), Withdraw(2, 8)).
uint256 constant FOLD_SIZE = 2;

/// @dev Position of `burned` in the Withdraw proof's `accounting` signal: spent + burned·2^96 + mask·2^192.
uint256 constant ACCOUNTING_BURNED_SHIFT = AMOUNT_BITS;

/// @dev Position of the declared-slots mask in the Withdraw proof's `accounting` signal.
uint256 constant ACCOUNTING_MASK_SHIFT = 2 * AMOUNT_BITS;

/// @dev Burned funds go here, never to the provider (many ERC-20s refuse address(0)).
address constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

/// @dev The longest challenge window a registry may set: a user's refund waits this long at most.
uint256 constant MAX_CHALLENGE_WINDOW = 30 days;
