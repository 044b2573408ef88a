import { LeanIMT } from "@zk-kit/lean-imt";
import { poseidon } from "./hash";
import { ProtocolError } from "./errors";
import { TREE_DEPTH } from "./constants";

/** leaf = Poseidon(idc, deposit). */
export function registryLeaf(identityCommitment: bigint, deposit: bigint): bigint {
    return poseidon([identityCommitment, deposit]);
}

/** A Merkle proof in the shape of zk-kit's BinaryMerkleRoot circuit inputs. */
export interface MerkleProofInput {
    readonly root: bigint;
    readonly depth: number;
    readonly index: bigint;
    /** Exactly `maxDepth` siblings, zero-padded after the first `depth`. */
    readonly siblings: bigint[];
}

/**
 * The registry's Lean incremental Merkle tree (zk-kit LeanIMT with Poseidon), rebuilt
 * off-chain from the registry's events in registration order.
 */
export class RegistryTree {
    private readonly tree = new LeanIMT<bigint>((a, b) => poseidon([a, b]));

    get root(): bigint {
        return this.tree.root;
    }

    get size(): number {
        return this.tree.size;
    }

    get depth(): number {
        return this.tree.depth;
    }

    /** Appends the leaf of one registration. */
    insert(identityCommitment: bigint, deposit: bigint): number {
        this.tree.insert(registryLeaf(identityCommitment, deposit));
        return this.tree.size - 1;
    }

    /** Appends many registrations at once (faster than one by one). */
    insertMany(registrations: readonly { identityCommitment: bigint; deposit: bigint }[]): void {
        this.tree.insertMany(registrations.map((r) => registryLeaf(r.identityCommitment, r.deposit)));
    }

    /**
     * Empties the leaf at `index` (a deposit that was withdrawn, slashed or expired): a zero
     * leaf has no preimage Poseidon(idc, D), so no membership proof can use it any more.
     */
    remove(index: number): void {
        if (this.tree.leaves[index] !== 0n) this.tree.update(index, 0n);
    }

    /** The leaf at `index` (0 once removed). */
    leaf(index: number): bigint {
        const leaf = this.tree.leaves[index];
        if (leaf === undefined) throw new ProtocolError("LEAF_NOT_FOUND", `no leaf at index ${index}`);
        return leaf;
    }

    /** The index of a registration's leaf. */
    indexOf(identityCommitment: bigint, deposit: bigint): number {
        const index = this.tree.indexOf(registryLeaf(identityCommitment, deposit));
        if (index < 0) throw new ProtocolError("LEAF_NOT_FOUND", `no leaf for identity ${identityCommitment}`);
        return index;
    }

    /** A membership proof padded to `maxDepth` siblings for the Spend circuit. */
    merkleProof(index: number, maxDepth: number): MerkleProofInput {
        if (maxDepth < 1 || maxDepth > TREE_DEPTH) {
            throw new ProtocolError("TREE_TOO_DEEP", `maxDepth must be in [1, ${TREE_DEPTH}]`);
        }
        const proof = this.tree.generateProof(index);
        if (proof.siblings.length > maxDepth) {
            throw new ProtocolError("TREE_TOO_DEEP", `the tree is deeper than ${maxDepth}`);
        }
        const siblings = [...proof.siblings, ...new Array<bigint>(maxDepth - proof.siblings.length).fill(0n)];
        return { root: proof.root, depth: proof.siblings.length, index: BigInt(proof.index), siblings };
    }
}
