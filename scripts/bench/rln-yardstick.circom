pragma circom 2.1.5;

// The benchmark's yardstick (scripts/bench/circuits.ts), not part of the protocol: the plain
// RLN v2 statement (as in Rate-Limiting-Nullifier/circom-rln, RLN(20, 16)) with zk-kit's
// BinaryMerkleRoot for depth-20 membership, so Spend's proving time can be compared with
// that of an ordinary RLN proof built and timed the same way.

include "poseidon.circom";
include "comparators.circom";
include "binary-merkle-root.circom";

template RLN(MAX_DEPTH, LIMIT_BIT_SIZE) {
    signal input identitySecret;
    signal input userMessageLimit;
    signal input messageId;
    signal input merkleProofLength, merkleProofIndex, merkleProofSiblings[MAX_DEPTH];

    signal input x;
    signal input externalNullifier;

    signal output y;
    signal output root;
    signal output nullifier;

    signal identityCommitment <== Poseidon(1)([identitySecret]);
    signal rateCommitment <== Poseidon(2)([identityCommitment, userMessageLimit]);
    root <== BinaryMerkleRoot(MAX_DEPTH)(rateCommitment, merkleProofLength, merkleProofIndex, merkleProofSiblings);

    // 0 <= messageId < userMessageLimit
    signal messageIdBits[LIMIT_BIT_SIZE] <== Num2Bits(LIMIT_BIT_SIZE)(messageId);
    signal inRange <== LessThan(LIMIT_BIT_SIZE)([messageId, userMessageLimit]);
    inRange === 1;

    // Shamir share of the secret on the line of this (epoch, message) and its nullifier.
    signal a1 <== Poseidon(3)([identitySecret, externalNullifier, messageId]);
    y <== identitySecret + a1 * x;
    nullifier <== Poseidon(1)([a1]);
}

component main {public [x, externalNullifier]} = RLN(20, 16);
