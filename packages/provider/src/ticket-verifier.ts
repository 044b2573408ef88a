import { readFileSync } from "node:fs";
import { groth16 } from "snarkjs";
import { unpackProof } from "@zk-api-credits/protocol";
import type { FoldRequest, TicketEnvelope, VerificationKey } from "@zk-api-credits/protocol";

/** How to verify one proof: `alone` keeps a suspect client's proof out of every batch with others' proofs. */
export interface VerificationHint {
    readonly alone?: boolean;
}

/** Verifies Groth16 proofs of one circuit off-chain (Spend tickets, Fold requests). */
export interface ProofVerifier {
    verify(proof: readonly bigint[], publicSignals: readonly bigint[], hint?: VerificationHint): Promise<boolean>;
}

/** The public signals of a ticket in the Spend circuit's order. */
export function spendSignals(ticket: TicketEnvelope): bigint[] {
    const [tx, ty] = ticket.ticketCommitment;
    return [ticket.root, ticket.context, tx, ty, ticket.nullifier, ticket.y, ticket.x];
}

/** The public signals of a fold in the Fold circuit's order. */
export function foldSignals(fold: FoldRequest): bigint[] {
    return [fold.context, fold.foldNullifier, fold.newBase[0], fold.newBase[1]];
}

/** One snarkjs verification per proof (the reference; the gateway batches by default). */
export class SnarkjsProofVerifier implements ProofVerifier {
    private readonly key: VerificationKey;

    constructor(verificationKey: string | VerificationKey) {
        this.key = typeof verificationKey === "string" ? (JSON.parse(readFileSync(verificationKey, "utf8")) as VerificationKey) : verificationKey;
    }

    async verify(proof: readonly bigint[], publicSignals: readonly bigint[]): Promise<boolean> {
        return groth16.verify(this.key, publicSignals.map(String), unpackProof(proof));
    }
}
