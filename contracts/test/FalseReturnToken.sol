// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FalseReturnToken
/// @notice Test-only hostile ERC-20 whose `transfer` and `transferFrom` can be switched to return false
/// without moving anything (as some pre-standard tokens do instead of reverting). The registry must not
/// take a false for a payment: SafeERC20 turns it into a revert, and the registry's state is unchanged.
contract FalseReturnToken is ERC20 {
    /// @notice While true, `transfer` returns false and moves nothing.
    bool public failTransfers;
    /// @notice While true, `transferFrom` returns false and moves nothing.
    bool public failTransferFroms;

    constructor() ERC20("False Return Token", "FALSE") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    /// @param to Receives the tokens.
    /// @param amount Token units to mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Switches the failure modes.
    /// @param transfers Whether `transfer` fails.
    /// @param transferFroms Whether `transferFrom` fails.
    function setFailures(bool transfers, bool transferFroms) external {
        failTransfers = transfers;
        failTransferFroms = transferFroms;
    }

    /// @notice ERC-20 transfer, or false and nothing moved while transfers fail.
    /// @param to Receives the tokens.
    /// @param value Token units.
    /// @return success False while transfers fail.
    function transfer(address to, uint256 value) public override returns (bool success) {
        if (failTransfers) return false;
        return super.transfer(to, value);
    }

    /// @notice ERC-20 transferFrom, or false and nothing moved while transferFroms fail.
    /// @param from Pays the tokens.
    /// @param to Receives the tokens.
    /// @param value Token units.
    /// @return success False while transferFroms fail.
    function transferFrom(address from, address to, uint256 value) public override returns (bool success) {
        if (failTransferFroms) return false;
        return super.transferFrom(from, to, value);
    }
}
