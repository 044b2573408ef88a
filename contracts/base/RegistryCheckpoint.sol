// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryCheckpoint} from "../interfaces/IRegistryCheckpoint.sol";
import {TREE_DEPTH} from "../libraries/RegistryConstants.sol";

/// @title RegistryCheckpoint
/// @notice Keeps the leaf count and the keccak hash chain over registrations, one checkpoint
/// per leaf count, instead of an on-chain Poseidon tree: registration costs the same at the
/// first and at the four-billionth member. The capacity is 2^TREE_DEPTH, the leaves of the Spend
/// circuit's tree.
abstract contract RegistryCheckpoint is IRegistryCheckpoint {
    /// @dev The leaf count plus one: the slot never holds zero, so the first registration pays
    /// a warm-to-dirty write like every later one (registration gas is flat from the first).
    uint256 private _leafCountPlusOne = 1;

    /// @dev checkpoint after `count` registrations; `_checkpoints[0]` is zero.
    mapping(uint256 count => bytes32 checkpoint) private _checkpoints;

    /// @inheritdoc IRegistryCheckpoint
    function checkpointAt(uint256 count) external view returns (bytes32) {
        uint256 leaves = _leafCountPlusOne - 1;
        if (count > leaves) revert UnknownCheckpoint(count, leaves);
        return _checkpoints[count];
    }

    /// @inheritdoc IRegistryCheckpoint
    function capacity() public pure returns (uint256) {
        return 1 << TREE_DEPTH;
    }

    /// @inheritdoc IRegistryCheckpoint
    function leafCount() public view returns (uint256) {
        return _leafCountPlusOne - 1;
    }

    /// @dev Appends one registration; returns its leaf index and the new checkpoint.
    function _appendLeaf(uint256 identityCommitment, uint256 amount) internal returns (uint256 leafIndex, bytes32 checkpoint) {
        leafIndex = _leafCountPlusOne - 1;
        if (leafIndex == capacity()) revert RegistryFull(capacity());
        checkpoint = keccak256(abi.encodePacked(_checkpoints[leafIndex], identityCommitment, amount));
        _checkpoints[leafIndex + 1] = checkpoint;
        _leafCountPlusOne = leafIndex + 2;
    }
}
