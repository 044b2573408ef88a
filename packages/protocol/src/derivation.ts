import { TAGS } from "./constants";
import { assertFieldElement, BABYJUB_SUBORDER } from "./field";
import { poseidon } from "./hash";
import { RequestKey } from "./request-key";

/**
 * Everything a client derives from its secret `k` for one ticket index or one base is a
 * deterministic pseudo-random function of `k` (Poseidon keyed by the secret, with a domain
 * tag): any device or process holding the identity proves ticket `i` with the same request
 * key (so the same x and RLN share) and the same ticket commitment, and folds base `f` into
 * the same new commitment. An honest reuse of an index therefore never reveals `k`, and a
 * lost answer can always be matched to its ticket.
 */

function keyed(tag: bigint, secret: bigint, scope: bigint, counter: bigint): bigint {
    assertFieldElement(secret, "secret");
    assertFieldElement(scope, "scope");
    assertFieldElement(counter, "counter");
    return poseidon([tag, secret, scope, counter]);
}

/** ρ_i: the blinding of ticket i's commitment, Poseidon(TAG_TICKET_BLINDING, k, scope, i) mod l. */
export function ticketBlinding(secret: bigint, scope: bigint, index: bigint): bigint {
    return keyed(TAGS.ticketBlinding, secret, scope, index) % BABYJUB_SUBORDER;
}

/** r_f: the blinding of base f's commitment, Poseidon(TAG_BASE_BLINDING, k, scope, f) mod l. */
export function baseBlinding(secret: bigint, scope: bigint, folded: bigint): bigint {
    return keyed(TAGS.baseBlinding, secret, scope, folded) % BABYJUB_SUBORDER;
}

/**
 * The seed of ticket i's request key epk_i (an Ed25519 key): the 32-byte big-endian encoding
 * of Poseidon(TAG_REQUEST_KEY, k, scope, i). Its public key hashes to x_i (ephemeralKeyBinding).
 */
export function requestKeyBytes(secret: bigint, scope: bigint, index: bigint): Uint8Array {
    const value = keyed(TAGS.requestKey, secret, scope, index);
    return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

/** Ticket i's request key: it signs the ticket's request, retries, void and look-ups. */
export function requestSigner(secret: bigint, scope: bigint, index: bigint): RequestKey {
    return new RequestKey(requestKeyBytes(secret, scope, index));
}
