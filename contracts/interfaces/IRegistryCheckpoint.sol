// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IRegistryCheckpoint
/// @notice The registry's commitment to its list of registrations. The Poseidon tree of the
/// deposits is rebuilt off-chain from the `Registered` events; the contract keeps only the
/// leaf count and a keccak hash chain over the registrations, so that anyone can prove an
/// event list complete and in order (docs/protocol.md, "Objects and encodings": checkpoint).
interface IRegistryCheckpoint {
    /// @notice The tree is full: every one of its `capacity` leaves is taken.
    /// @param capacity 2^TREE_DEPTH.
    error RegistryFull(uint256 capacity);

    /// @notice No checkpoint exists yet for `count` registrations.
    /// @param count The requested registration count.
    /// @param leafCount The registrations so far.
    error UnknownCheckpoint(uint256 count, uint256 leafCount);

    /// @notice Number of registrations so far (the tree's leaf count).
    function leafCount() external view returns (uint256);

    /// @notice Most registrations the registry accepts: 2^32, the leaves of the Spend circuit's tree.
    function capacity() external view returns (uint256);

    /// @notice The checkpoint after the first `count` registrations (zero for `count` = 0):
    /// checkpoint_i = keccak256(checkpoint_{i-1} || idc_i || amount_i).
    /// @dev Reverts with UnknownCheckpoint if `count` exceeds the leaf count.
    /// @param count A registration count, at most the leaf count.
    function checkpointAt(uint256 count) external view returns (bytes32);
}
