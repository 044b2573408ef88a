import {
    baseBlinding,
    commitTicket,
    ephemeralKeyBinding,
    foldNullifier,
    requestSigner,
    ticketBlinding,
    ticketNullifier
} from "@zk-api-credits/protocol";
import type { Identity, Point, RequestKey } from "@zk-api-credits/protocol";

/** Everything derived from the identity for ticket `index` (deterministic: every process and device gets the same). */
export interface TicketKeys {
    readonly index: bigint;
    /** epk_i (an Ed25519 key): signs H(request), voids and look-ups of this ticket. */
    readonly signer: RequestKey;
    readonly ephemeralKey: Uint8Array;
    /** x_i = ephemeralKeyBinding(epk_i). */
    readonly x: bigint;
    /** ρ_i. */
    readonly blinding: bigint;
    /** T_i = Com(0, 0, i; ρ_i). */
    readonly ticketCommitment: Point<bigint>;
    readonly nullifier: bigint;
}

/**
 * The identity's per-index and per-base values for one registry (docs/protocol.md, "Objects"):
 * epk_i, x_i, ρ_i, T_i, N_i, r_f, F_f. Cached: deriving a key costs a few scalar multiplications.
 */
export class TicketKeyring {
    private readonly cache = new Map<bigint, TicketKeys>();

    constructor(
        private readonly identity: Identity,
        readonly scope: bigint
    ) {}

    get secret(): bigint {
        return this.identity.secret;
    }

    get identityCommitment(): bigint {
        return this.identity.commitment;
    }

    keys(index: bigint): TicketKeys {
        let keys = this.cache.get(index);
        if (keys === undefined) {
            const signer = requestSigner(this.identity.secret, this.scope, index);
            const blinding = ticketBlinding(this.identity.secret, this.scope, index);
            keys = {
                index,
                signer,
                ephemeralKey: signer.publicKey,
                x: ephemeralKeyBinding(signer.publicKey),
                blinding,
                ticketCommitment: commitTicket(index, this.identity.commitment, blinding),
                nullifier: ticketNullifier(this.identity.secret, this.scope, index).nullifier
            };
            if (this.cache.size > 256) this.cache.delete(this.cache.keys().next().value as bigint);
            this.cache.set(index, keys);
        }
        return keys;
    }

    /** r_f: the blinding of base f. */
    baseBlinding(folded: bigint): bigint {
        return baseBlinding(this.identity.secret, this.scope, folded);
    }

    /** F_f: the fold nullifier of base f. */
    foldNullifier(folded: bigint): bigint {
        return foldNullifier(this.identity.secret, this.scope, folded);
    }
}
