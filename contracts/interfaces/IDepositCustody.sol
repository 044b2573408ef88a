// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IDepositCustody
/// @notice Custody of the deposits in one ERC-20 token. The provider's revenue and the burned
/// penalties accrue inside the registry and are paid out by a permissionless sweep; a refund the
/// token refuses to pay is owed to its recipient and claimed later. So no address the token
/// refuses (a treasury, the burn address, a withdrawal's recipient) can block anyone else's payout.
interface IDepositCustody {
    /// @notice The token moved a different amount than the deposit (fee-on-transfer tokens are refused).
    /// @param expected The deposit.
    /// @param received What reached the registry.
    error DepositTransferMismatch(uint256 expected, uint256 received);

    /// @notice Neither revenue nor burned funds are pending.
    error NothingToSweep();

    /// @notice The token refused both legs of a sweep; both stay pending.
    /// @param toTreasury The revenue it refused to pay.
    /// @param toBurn The burned funds it refused to pay.
    error SweepRefused(uint256 toTreasury, uint256 toBurn);

    /// @notice No refund is owed to `recipient`.
    /// @param recipient The address.
    error NothingOwed(address recipient);

    /// @notice The token still refuses to pay `recipient`; the refund stays owed.
    /// @param recipient The address.
    /// @param amount The refund owed.
    error RefundRefused(address recipient, uint256 amount);

    /// @notice Accrued provider revenue and burned funds were paid out.
    /// @param treasury The treasury.
    /// @param toTreasury Revenue paid (0 if the token refused the treasury; it stays pending).
    /// @param burned Burned funds paid to the burn address (0 if refused; they stay pending).
    event Swept(address indexed treasury, uint256 toTreasury, uint256 burned);

    /// @notice A refund the token had refused was paid.
    /// @param recipient Who received it.
    /// @param amount Token units paid.
    event RefundClaimed(address indexed recipient, uint256 amount);

    /// @notice Pays the accrued revenue to the treasury and the accrued penalties to the burn
    /// address. Anyone may call it. Each leg is paid on its own: one the token refuses stays
    /// pending (reverts with SweepRefused only if the token refuses both).
    function sweep() external;

    /// @notice Pays `recipient` every refund owed to it (refunds the token refused at finalization).
    /// Anyone may call it; the tokens go to `recipient` only.
    /// @dev Reverts with NothingOwed if nothing is owed, RefundRefused if the token still refuses.
    /// @param recipient The withdrawal recipient the refund is owed to.
    function claimRefund(address recipient) external;

    /// @notice The ERC-20 token of the deposits.
    function token() external view returns (address);

    /// @notice Receives what users spent, challenged and slashed deposits and expired deposits.
    function treasury() external view returns (address);

    /// @notice Provider revenue accrued and not yet swept to the treasury.
    function pendingTreasury() external view returns (uint256);

    /// @notice Policy penalties accrued and not yet sent to the burn address.
    function pendingBurn() external view returns (uint256);

    /// @notice Refunds owed to `recipient` because the token refused to pay them at finalization.
    /// @param recipient The address.
    function refundsOwed(address recipient) external view returns (uint256);

    /// @notice Sum of every refund owed (so that balance = live deposits + pending revenue +
    /// pending burn + refunds owed).
    function totalRefundsOwed() external view returns (uint256);
}
