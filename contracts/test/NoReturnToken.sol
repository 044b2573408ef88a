// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title NoReturnToken
/// @notice Test-only ERC-20 whose `transfer`, `transferFrom` and `approve` return nothing (as USDT on
/// Ethereum mainnet does). Not ERC-20 compliant, so a plain `IERC20.transfer` call would revert decoding
/// the missing return value; the registry must still work with it, through SafeERC20.
contract NoReturnToken {
    /// @notice ERC-20 Transfer.
    /// @param from Payer (zero for a mint).
    /// @param to Receiver.
    /// @param value Token units.
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// @notice ERC-20 Approval.
    /// @param owner The owner.
    /// @param spender The spender.
    /// @param value The allowance.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice A transfer exceeded the payer's balance.
    /// @param account The payer.
    error InsufficientBalance(address account);
    /// @notice A transferFrom exceeded the allowance.
    /// @param owner The owner.
    /// @param spender The spender.
    error InsufficientAllowance(address owner, address spender);

    /// @notice ERC-20 balances.
    mapping(address account => uint256) public balanceOf;
    /// @notice ERC-20 allowances.
    mapping(address owner => mapping(address spender => uint256)) public allowance;
    /// @notice ERC-20 total supply.
    uint256 public totalSupply;

    /// @notice Mints `amount` to `to`; anyone may call it.
    /// @param to Receives the tokens.
    /// @param amount Token units to mint.
    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    /// @notice Sets the caller's allowance for `spender`; returns nothing.
    /// @param spender The spender.
    /// @param value The allowance.
    function approve(address spender, uint256 value) external {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
    }

    /// @notice Moves `value` from the caller to `to`; returns nothing.
    /// @param to Receives the tokens.
    /// @param value Token units.
    function transfer(address to, uint256 value) external {
        _move(msg.sender, to, value);
    }

    /// @notice Moves `value` from `from` to `to` against the caller's allowance; returns nothing.
    /// @param from Pays the tokens.
    /// @param to Receives the tokens.
    /// @param value Token units.
    function transferFrom(address from, address to, uint256 value) external {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed < value) revert InsufficientAllowance(from, msg.sender);
        allowance[from][msg.sender] = allowed - value;
        _move(from, to, value);
    }

    function _move(address from, address to, uint256 value) private {
        if (balanceOf[from] < value) revert InsufficientBalance(from);
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
