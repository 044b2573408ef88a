// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice A freely mintable ERC-20 for local networks only (the deploy script refuses to
/// deploy it anywhere else).
contract TestToken is ERC20 {
    constructor() ERC20("zk-api-credits Test Token", "ZKAPI-TEST") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
