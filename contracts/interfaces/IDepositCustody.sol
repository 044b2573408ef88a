// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IDepositCustody
/// @notice Custody of the deposits in one ERC-20 token. The provider's revenue and the burned
/// penalties accrue inside the registry and are paid out by a permissionless sweep, so that a
/// treasury the token refuses to pay can never block a user's withdrawal.
interface IDepositCustody {
    error DepositTransferMismatch(uint256 expected, uint256 received);
    error NothingToSweep();
    error SweepRefused(uint256 toTreasury, uint256 toBurn);

    /// @notice Accrued provider revenue and burned funds were paid out.
    event Swept(address indexed treasury, uint256 toTreasury, uint256 burned);

    /// @notice The ERC-20 token of the deposits.
    function token() external view returns (address);

    /// @notice Receives what users spent, slashed remainders and expired deposits.
    function treasury() external view returns (address);

    /// @notice Provider revenue accrued and not yet swept to the treasury.
    function pendingTreasury() external view returns (uint256);

    /// @notice Policy penalties accrued and not yet sent to the burn address.
    function pendingBurn() external view returns (uint256);

    /// @notice Pays the accrued revenue to the treasury and the accrued penalties to the burn
    /// address. Anyone may call it. Each leg is paid on its own: one the token refuses stays
    /// pending (reverts with SweepRefused only if the token refuses both).
    function sweep() external;
}
