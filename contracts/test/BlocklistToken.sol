// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlocklistToken
/// @notice Test-only hostile ERC-20 that reverts every transfer to or from a blocked address, like
/// stablecoins with a blocklist, or tokens that refuse the 0x…dEaD burn address. Shows which registry
/// payouts one refused address can hold up, and which it cannot.
contract BlocklistToken is ERC20 {
    /// @notice A transfer touched a blocked address.
    /// @param account The blocked address.
    error Blocked(address account);

    /// @notice True for addresses the token refuses to send to or from.
    mapping(address account => bool) public blocked;

    constructor() ERC20("Blocklist Token", "BLOCK") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    /// @param to Receives the tokens.
    /// @param amount Token units to mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Blocks or unblocks `account`.
    /// @param account The address.
    /// @param isBlocked Whether transfers to and from it revert.
    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
