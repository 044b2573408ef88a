import { readFileSync } from "node:fs";
import { groth16 } from "snarkjs";
import { unpackProof } from "@zk-api-credits/protocol";
import type { TicketEnvelope, VerificationKey } from "@zk-api-credits/protocol";

/** Verifies Spend proofs off-chain with the verification key kept in memory. */
export interface TicketVerifier {
    verify(ticket: TicketEnvelope): Promise<boolean>;
}

/** The public signals of a ticket in the Spend circuit's order. */
export function spendSignals(ticket: TicketEnvelope): bigint[] {
    const [cx, cy] = ticket.rerandomisedState;
    return [ticket.root, ticket.context, cx, cy, ticket.nullifier, ticket.y, ticket.x];
}

/** One snarkjs verification per ticket. */
export class SnarkjsTicketVerifier implements TicketVerifier {
    private readonly key: VerificationKey;

    constructor(verificationKey: string | VerificationKey) {
        this.key = typeof verificationKey === "string" ? (JSON.parse(readFileSync(verificationKey, "utf8")) as VerificationKey) : verificationKey;
    }

    async verify(ticket: TicketEnvelope): Promise<boolean> {
        return groth16.verify(this.key, spendSignals(ticket).map(String), unpackProof(ticket.proof));
    }
}
