// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistryCheckpoint} from "../interfaces/IRegistryCheckpoint.sol";

/// @title RegistryCheckpoint
/// @notice Keeps the leaf count and the keccak hash chain over registrations, one checkpoint
/// per leaf count, instead of an on-chain Poseidon tree: registration costs the same at the
/// first and at the millionth member.
abstract contract RegistryCheckpoint is IRegistryCheckpoint {
    /// @inheritdoc IRegistryCheckpoint
    uint256 public immutable capacity;

    uint256 private _leafCount;

    /// @dev checkpoint after `count` registrations; `_checkpoints[0]` is zero.
    mapping(uint256 count => bytes32 checkpoint) private _checkpoints;

    constructor(uint256 treeDepth) {
        capacity = 1 << treeDepth;
    }

    /// @inheritdoc IRegistryCheckpoint
    function leafCount() public view returns (uint256) {
        return _leafCount;
    }

    /// @inheritdoc IRegistryCheckpoint
    function checkpointAt(uint256 count) external view returns (bytes32) {
        uint256 leaves = _leafCount;
        if (count > leaves) revert UnknownCheckpoint(count, leaves);
        return _checkpoints[count];
    }

    /// @dev Appends one registration; returns its leaf index and the new checkpoint.
    function _appendLeaf(uint256 identityCommitment, uint256 amount) internal returns (uint256 leafIndex, bytes32 checkpoint) {
        leafIndex = _leafCount;
        if (leafIndex == capacity) revert RegistryFull(capacity);
        checkpoint = keccak256(abi.encodePacked(_checkpoints[leafIndex], identityCommitment, amount));
        _checkpoints[leafIndex + 1] = checkpoint;
        _leafCount = leafIndex + 1;
    }
}
