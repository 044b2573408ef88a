// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantToken
/// @notice Test-only hostile ERC-20 that calls back into a target (the registry) from inside `transfer` or
/// `transferFrom`, after moving the tokens, as an ERC-777-style hook or a malicious token would. Armed
/// with any calldata, it fires once; it records the inner call's outcome, and either swallows a failed
/// inner call (so the outer call can complete and the test can inspect why the inner one failed) or
/// bubbles it up wrapped in {ReentryFailed}. The registry's reentrancy guard must stop every inner call.
contract ReentrantToken is ERC20 {
    /// @notice Which token function fires the armed call.
    enum Hook {
        None,
        Transfer,
        TransferFrom
    }

    /// @notice The inner call failed and the token was told to bubble failures up.
    /// @param reason The inner call's revert data.
    error ReentryFailed(bytes reason);

    /// @notice The armed call was made.
    /// @param success Whether the inner call succeeded.
    /// @param result The inner call's return or revert data.
    event Reentered(bool success, bytes result);

    /// @notice The function that fires the armed call next (None: disarmed).
    Hook public armedHook;
    /// @notice The contract the armed call goes to.
    address public reentryTarget;
    /// @notice The armed call's calldata.
    bytes public reentryPayload;
    /// @notice True: a failed inner call makes the outer token call revert with {ReentryFailed}.
    bool public bubbleFailure;
    /// @notice Number of inner calls made so far.
    uint256 public reentries;
    /// @notice Whether the last inner call succeeded.
    bool public lastReentrySucceeded;
    /// @notice The last inner call's return or revert data.
    bytes public lastReentryResult;

    constructor() ERC20("Reentrant Token", "REENTER") {}

    /// @notice Mints `amount` to `to`; anyone may call it.
    /// @param to Receives the tokens.
    /// @param amount Token units to mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Lets the token itself approve `spender`, so that an armed call can deposit the token's own balance.
    /// @param spender The spender (the registry).
    /// @param amount The allowance.
    function approveAsToken(address spender, uint256 amount) external {
        _approve(address(this), spender, amount);
    }

    /// @notice Arms one call of `payload` to `target`, made by the next `hook` call.
    /// @param hook The token function that fires it.
    /// @param target The contract to call.
    /// @param payload The calldata.
    /// @param bubble Whether a failed inner call reverts the outer token call.
    function arm(Hook hook, address target, bytes calldata payload, bool bubble) external {
        armedHook = hook;
        reentryTarget = target;
        reentryPayload = payload;
        bubbleFailure = bubble;
    }

    /// @notice ERC-20 transfer, then the armed call if it is armed on transfers.
    /// @param to Receives the tokens.
    /// @param value Token units.
    /// @return success Always true (or the call reverts).
    function transfer(address to, uint256 value) public override returns (bool success) {
        success = super.transfer(to, value);
        _reenter(Hook.Transfer);
    }

    /// @notice ERC-20 transferFrom, then the armed call if it is armed on transferFrom.
    /// @param from Pays the tokens.
    /// @param to Receives the tokens.
    /// @param value Token units.
    /// @return success Always true (or the call reverts).
    function transferFrom(address from, address to, uint256 value) public override returns (bool success) {
        success = super.transferFrom(from, to, value);
        _reenter(Hook.TransferFrom);
    }

    function _reenter(Hook hook) private {
        if (armedHook != hook) return;
        armedHook = Hook.None;
        // The point of this token: an arbitrary call back into the target.
        // solhint-disable-next-line avoid-low-level-calls
        (bool success, bytes memory result) = reentryTarget.call(reentryPayload);
        ++reentries;
        lastReentrySucceeded = success;
        lastReentryResult = result;
        emit Reentered(success, result);
        if (!success && bubbleFailure) revert ReentryFailed(result);
    }
}
