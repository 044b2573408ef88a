// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICreditRegistry} from "../interfaces/ICreditRegistry.sol";

/// @title RegistryProbe
/// @notice Test-only, read-only helper for the property tests (test/adversarial): reads in one call
/// everything the tests compare with their model after every step, instead of some thirty calls.
/// It only forwards view calls; it holds no state and never calls a state-changing function.
contract RegistryProbe {
    /// @notice What the registry and its token look like at one block.
    /// @param registryBalance The registry's balance of its deposit token.
    /// @param pendingTreasury {IDepositCustody-pendingTreasury}.
    /// @param pendingBurn {IDepositCustody-pendingBurn}.
    /// @param leafCount {IRegistryCheckpoint-leafCount}.
    /// @param checkpoint {IRegistryCheckpoint-checkpointAt} of `leafCount`.
    /// @param violationCount {ICreditRegistry-violationCount}.
    /// @param totalRefundsOwed {IDepositCustody-totalRefundsOwed}.
    /// @param records {ICreditRegistry-deposits} of each requested identity commitment.
    /// @param withdrawalCommitments {ICreditRegistry-withdrawalCommitments} of each requested identity commitment.
    /// @param balances Token balance of each requested holder.
    /// @param refundsOwed {IDepositCustody-refundsOwed} of each requested holder.
    struct Observation {
        uint256 registryBalance;
        uint256 pendingTreasury;
        uint256 pendingBurn;
        uint256 leafCount;
        bytes32 checkpoint;
        uint256 violationCount;
        uint256 totalRefundsOwed;
        ICreditRegistry.DepositRecord[] records;
        bytes32[] withdrawalCommitments;
        uint256[] balances;
        uint256[] refundsOwed;
    }

    /// @notice Reads the registry's accounting, checkpoint, the given deposits and the given holders' balances and refunds owed.
    /// @param registry The registry under test.
    /// @param identityCommitments Deposits to read.
    /// @param holders Addresses whose token balance to read.
    /// @return observation Everything read, at the current block.
    function observe(
        ICreditRegistry registry,
        uint256[] calldata identityCommitments,
        address[] calldata holders
    ) external view returns (Observation memory observation) {
        IERC20 token = IERC20(registry.token());
        observation.registryBalance = token.balanceOf(address(registry));
        observation.pendingTreasury = registry.pendingTreasury();
        observation.pendingBurn = registry.pendingBurn();
        observation.leafCount = registry.leafCount();
        observation.checkpoint = registry.checkpointAt(observation.leafCount);
        observation.violationCount = registry.violationCount();
        observation.totalRefundsOwed = registry.totalRefundsOwed();
        uint256 count = identityCommitments.length;
        observation.records = new ICreditRegistry.DepositRecord[](count);
        observation.withdrawalCommitments = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            observation.records[i] = registry.deposits(identityCommitments[i]);
            observation.withdrawalCommitments[i] = registry.withdrawalCommitments(identityCommitments[i]);
        }
        observation.balances = new uint256[](holders.length);
        observation.refundsOwed = new uint256[](holders.length);
        for (uint256 i = 0; i < holders.length; ++i) {
            observation.balances[i] = token.balanceOf(holders[i]);
            observation.refundsOwed[i] = registry.refundsOwed(holders[i]);
        }
    }
}
