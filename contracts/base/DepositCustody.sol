// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDepositCustody} from "../interfaces/IDepositCustody.sol";
import {BURN_ADDRESS} from "../libraries/RegistryConstants.sol";

/// @title DepositCustody
/// @notice Moves the deposit token in and out of the registry. Deposits must arrive in full
/// (fee-on-transfer tokens are refused); the provider's share and burned penalties accrue and
/// leave through {sweep}; a refund the token refuses is owed to its recipient ({claimRefund}).
abstract contract DepositCustody is IDepositCustody, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    IERC20 internal immutable _token;

    /// @inheritdoc IDepositCustody
    address public immutable treasury;

    /// @dev Both accruals share one slot and each holds its amount plus 1: the slot never
    /// returns to zero, so an accrual costs a warm-to-dirty write (5k gas) instead of a fresh
    /// one (22k) after every sweep. Each stays below 2^128 (deposits are below 2^96).
    uint128 private _pendingTreasuryPlusOne = 1;
    uint128 private _pendingBurnPlusOne = 1;

    /// @inheritdoc IDepositCustody
    mapping(address recipient => uint256 amount) public refundsOwed;

    /// @inheritdoc IDepositCustody
    uint256 public totalRefundsOwed;

    constructor(IERC20 depositToken, address providerTreasury) {
        _token = depositToken;
        treasury = providerTreasury;
    }

    /// @inheritdoc IDepositCustody
    function sweep() external nonReentrant {
        uint256 toTreasury = _pendingTreasuryPlusOne - 1;
        uint256 toBurn = _pendingBurnPlusOne - 1;
        if (toTreasury == 0 && toBurn == 0) revert NothingToSweep();
        _pendingTreasuryPlusOne = 1;
        _pendingBurnPlusOne = 1;
        // Each leg on its own: a token that refuses one recipient must not freeze the other's funds.
        bool treasuryPaid = toTreasury != 0 && _token.trySafeTransfer(treasury, toTreasury);
        bool burnPaid = toBurn != 0 && _token.trySafeTransfer(BURN_ADDRESS, toBurn);
        if (!treasuryPaid && !burnPaid) revert SweepRefused(toTreasury, toBurn);
        if (!treasuryPaid) _pendingTreasuryPlusOne += uint128(toTreasury);
        if (!burnPaid) _pendingBurnPlusOne += uint128(toBurn);
        emit Swept(treasury, treasuryPaid ? toTreasury : 0, burnPaid ? toBurn : 0);
    }

    /// @inheritdoc IDepositCustody
    function claimRefund(address recipient) external nonReentrant {
        uint256 owed = refundsOwed[recipient];
        if (owed == 0) revert NothingOwed(recipient);
        delete refundsOwed[recipient];
        totalRefundsOwed -= owed;
        if (!_token.trySafeTransfer(recipient, owed)) revert RefundRefused(recipient, owed);
        emit RefundClaimed(recipient, owed);
    }

    /// @inheritdoc IDepositCustody
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IDepositCustody
    function pendingTreasury() external view returns (uint256) {
        return _pendingTreasuryPlusOne - 1;
    }

    /// @inheritdoc IDepositCustody
    function pendingBurn() external view returns (uint256) {
        return _pendingBurnPlusOne - 1;
    }

    /// @dev Takes `amount` from `from` and checks that exactly `amount` arrived.
    function _collect(address from, uint256 amount) internal {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert DepositTransferMismatch(amount, received);
    }

    /// @dev Pays `amount` to `to`, skipping zero amounts; reverts if the token refuses.
    function _pay(address to, uint256 amount) internal {
        if (amount != 0) _token.safeTransfer(to, amount);
    }

    /// @dev Pays `amount` to `to` (nothing for zero), or owes it to `to` if the token refuses: a
    /// refused recipient delays only its own payout. Returns false if the payment was deferred.
    /// A caller that starves the token call of gas only defers the refund to {claimRefund}.
    function _payOrOwe(address to, uint256 amount) internal returns (bool paid) {
        if (amount == 0 || _token.trySafeTransfer(to, amount)) return true;
        refundsOwed[to] += amount;
        totalRefundsOwed += amount;
        return false;
    }

    /// @dev Credits the treasury and the burn address; amounts come from deposits (< 2^96 each).
    function _accrue(uint256 toTreasury, uint256 toBurn) internal {
        _pendingTreasuryPlusOne += uint128(toTreasury);
        _pendingBurnPlusOne += uint128(toBurn);
    }
}
