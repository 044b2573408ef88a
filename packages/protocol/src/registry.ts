import type { Point } from "@zk-kit/baby-jubjub";
import { getAddress, solidityPackedKeccak256, ZeroHash } from "ethers";
import { AMOUNT_BITS, BPS_DENOMINATOR } from "./constants";
import { assertBits, assertFieldElement } from "./field";
import { poseidon } from "./hash";
import { ProtocolError } from "./errors";

/** The economic terms of a registry, fixed at deployment. */
export interface RegistryTerms {
    /** The most one request may cost (token units). */
    readonly maxCost: bigint;
    /** Added to `burned` for a request that breaks the terms of service. */
    readonly policyPenalty: bigint;
    /** Basis points of each deposit that can never be spent (pays slashing bounties). */
    readonly reserveBps: bigint;
}

/** Everything a proof must be bound to: the registry's scope, the provider key, the terms. */
export interface RegistryBinding {
    readonly scope: bigint;
    readonly providerKey: Point<bigint>;
    readonly terms: RegistryTerms;
}

/** scope = Poseidon(chainId, registry address): the domain separator of one registry. */
export function registryScope(chainId: bigint, registry: string): bigint {
    return poseidon([assertFieldElement(chainId, "chainId"), BigInt(getAddress(registry))]);
}

/** Checks the terms' ranges (the circuits enforce the same). */
export function assertRegistryTerms(terms: RegistryTerms): RegistryTerms {
    assertBits(terms.maxCost, AMOUNT_BITS, "maxCost");
    assertBits(terms.policyPenalty, AMOUNT_BITS, "policyPenalty");
    if (terms.reserveBps < 0n || terms.reserveBps > BPS_DENOMINATOR) {
        throw new ProtocolError("VALUE_OUT_OF_RANGE", `reserveBps = ${terms.reserveBps} is not in [0, 10000]`);
    }
    return terms;
}

/** terms = maxCost + policyPenalty * 2^96 + reserveBps * 2^192 (injective for valid terms). */
export function packRegistryTerms(terms: RegistryTerms): bigint {
    assertRegistryTerms(terms);
    const shift = BigInt(AMOUNT_BITS);
    return terms.maxCost + (terms.policyPenalty << shift) + (terms.reserveBps << (2n * shift));
}

/** context = Poseidon(scope, pk.x, pk.y, packed terms): one public signal for all constants. */
export function registryContext(binding: RegistryBinding): bigint {
    const [x, y] = binding.providerKey;
    return poseidon([binding.scope, x, y, packRegistryTerms(binding.terms)]);
}

/** The reserve of a deposit: floor(deposit * reserveBps / 10000). */
export function reserveOf(deposit: bigint, reserveBps: bigint): bigint {
    return (deposit * reserveBps) / BPS_DENOMINATOR;
}

/** The part of a deposit that requests may consume: deposit - reserve. */
export function spendableOf(deposit: bigint, reserveBps: bigint): bigint {
    return deposit - reserveOf(deposit, reserveBps);
}

/** The registry's checkpoint before any registration. */
export const GENESIS_CHECKPOINT: string = ZeroHash;

/**
 * The checkpoint after one more registration:
 *     chain' = keccak256(chain || idc || deposit)
 * (the registry hashes the leaf's preimage, not the Poseidon leaf, which would cost a
 * Poseidon evaluation on-chain per registration).
 */
export function nextCheckpoint(chain: string, identityCommitment: bigint, deposit: bigint): string {
    return solidityPackedKeccak256(["bytes32", "uint256", "uint256"], [chain, identityCommitment, deposit]);
}
