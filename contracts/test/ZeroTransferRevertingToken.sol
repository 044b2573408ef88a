// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ZeroTransferRevertingToken
/// @notice Test-only hostile ERC-20 that reverts on any transfer of zero tokens (some tokens do). The
/// registry skips zero payouts (a zero refund, a zero bounty, an empty sweep leg), so such a token
/// cannot block a withdrawal, a slash or a sweep.
contract ZeroTransferRevertingToken is ERC20 {
    /// @notice A transfer of zero tokens was attempted.
    error ZeroTransfer();

    constructor() ERC20("Zero Transfer Reverting Token", "NOZERO") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    /// @param to Receives the tokens.
    /// @param amount Token units to mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (value == 0 && from != address(0) && to != address(0)) revert ZeroTransfer();
        super._update(from, to, value);
    }
}
