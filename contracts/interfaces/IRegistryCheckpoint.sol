// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRegistryCheckpoint
/// @notice The registry's commitment to its list of registrations. The Poseidon tree of the
/// deposits is rebuilt off-chain from the `Registered` events; the contract keeps only the
/// leaf count and a keccak hash chain over the registrations, so that anyone can prove an
/// event list complete and in order (docs/protocol.md, section 1a).
interface IRegistryCheckpoint {
    error RegistryFull(uint256 capacity);
    error UnknownCheckpoint(uint256 count, uint256 leafCount);

    /// @notice Number of registrations so far (the tree's leaf count).
    function leafCount() external view returns (uint256);

    /// @notice Most registrations the registry accepts: 2^treeDepth.
    function capacity() external view returns (uint256);

    /// @notice The checkpoint after the first `count` registrations (zero for `count` = 0):
    /// checkpoint_i = keccak256(checkpoint_{i-1} || idc_i || amount_i).
    /// @dev Reverts with UnknownCheckpoint if `count` exceeds the leaf count.
    function checkpointAt(uint256 count) external view returns (bytes32);
}
