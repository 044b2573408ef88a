import { AbiCoder, getAddress, keccak256 } from "ethers";
import { assertFieldElement } from "./field";

const abi = AbiCoder.defaultAbiCoder();

/**
 * The Slash proof's `receiverBinding`:
 *     keccak256(abi.encode(chainId, registry, receiver)) >> 8
 * The registry recomputes it, so a slash copied from the mempool pays the original
 * receiver of the original registry only.
 */
export function slashReceiverBinding(chainId: bigint, registry: string, receiver: string): bigint {
    assertFieldElement(chainId, "chainId");
    const encoded = abi.encode(["uint256", "address", "address"], [chainId, getAddress(registry), getAddress(receiver)]);
    return BigInt(keccak256(encoded)) >> 8n;
}
