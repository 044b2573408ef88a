pragma circom 2.1.5;

include "poseidon.circom";
include "bitify.circom";
include "comparators.circom";
include "binary-merkle-root.circom";

// Membership of a deposit in the registry tree.
// Proves: leaf = Poseidon(identityCommitment, deposit) is a leaf of the Lean incremental
// Merkle tree whose root is `root`, with a proof of `depth` siblings (zk-kit's
// BinaryMerkleRoot, which gives root 0 for depth > MAX_DEPTH; here depth <= MAX_DEPTH
// is enforced, so the output is always the real root).
// The caller must check `root` against the roots it accepts.
template RegistryMembership(MAX_DEPTH) {
    assert(MAX_DEPTH >= 1 && MAX_DEPTH <= 32);

    signal input identityCommitment, deposit;
    signal input depth, index, siblings[MAX_DEPTH];
    signal output root;

    _ = Num2Bits(6)(depth);
    signal depthInRange <== LessEqThan(6)([depth, MAX_DEPTH]);
    depthInRange === 1;

    signal leaf <== Poseidon(2)([identityCommitment, deposit]);

    root <== BinaryMerkleRoot(MAX_DEPTH)(leaf, depth, index, siblings);
}
