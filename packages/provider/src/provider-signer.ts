import { chargePoint, EdDSAPoseidonSigner, precomputeChargeTables } from "@zk-api-credits/protocol";
import type { Point, ProviderPrivateKey, Signature } from "@zk-api-credits/protocol";

/** A charge to compute and sign: Δ = ticketCommitment + (cost, penalty)·G, signed with the charge tag. */
export interface ChargeToSign {
    readonly context: bigint;
    readonly ticketCommitment: Point<bigint>;
    readonly cost: bigint;
    readonly penalty: bigint;
}

/** A charge point and the provider's signature of it. */
export interface SignedCharge {
    readonly charge: Point<bigint>;
    readonly signature: Signature;
}

/** A base state commitment to sign (a fold's new base). */
export interface BaseToSign {
    readonly context: bigint;
    readonly base: Point<bigint>;
}

/** Signs with the provider key: charges and fold bases (in-thread, or on verification workers). */
export interface ProviderSigner {
    readonly publicKey: Point<bigint>;
    signCharge(request: ChargeToSign): Promise<SignedCharge>;
    signBase(request: BaseToSign): Promise<Signature>;
}

/**
 * The provider's EdDSA-Poseidon signer, ready to serve: the key's table (r·B8) and the charge
 * table (δ·G) are built now, not inside the first charges signed under load.
 */
export function servingSigner(signingKey: ProviderPrivateKey): EdDSAPoseidonSigner {
    precomputeChargeTables();
    return new EdDSAPoseidonSigner(signingKey);
}

/** Computes and signs a charge, the same in-thread and on a worker (EdDSA-Poseidon is deterministic). */
export function signChargeWith(signer: EdDSAPoseidonSigner, request: ChargeToSign): SignedCharge {
    const charge = chargePoint(request.ticketCommitment, request.cost, request.penalty);
    return { charge, signature: signer.signCharge(request.context, charge) };
}

/** Signs on the calling thread (the gateway's default without verification threads). */
export class InThreadProviderSigner implements ProviderSigner {
    private readonly signer: EdDSAPoseidonSigner;

    constructor(signingKey: ProviderPrivateKey) {
        this.signer = servingSigner(signingKey);
    }

    get publicKey(): Point<bigint> {
        return this.signer.publicKey;
    }

    async signCharge(request: ChargeToSign): Promise<SignedCharge> {
        return signChargeWith(this.signer, request);
    }

    async signBase(request: BaseToSign): Promise<Signature> {
        return this.signer.signBase(request.context, request.base);
    }
}
