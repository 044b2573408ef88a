import {
    decodeCharge,
    ephemeralKeyBinding,
    EnvelopeError,
    lookupAnswerBody,
    lookupMessage,
    parseLookupRequest
} from "@zk-api-credits/protocol";
import type { LookupRequest, RegistryDeployment } from "@zk-api-credits/protocol";
import { GatewayError } from "./errors";
import { requestSignatureValid } from "./request-signature";
import type { GatewayMetrics } from "./metrics";
import { admissionRefusal, errorReply } from "./paid-request";
import type { GatewayReply, ProofAdmission } from "./paid-request";
import type { NullifierStore } from "./store/types";

export interface TicketLookupOptions {
    readonly deployment: RegistryDeployment;
    readonly store: NullifierStore;
    readonly metrics: GatewayMetrics;
    /** Refuses clients whose look-ups keep failing their signature check. */
    readonly admission?: ProofAdmission;
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;

/**
 * Look-up of a ticket's charge and stored response (docs/http-api.md). The request must be
 * signed by the ticket's own ephemeral key: nullifiers become public in withdrawals, and a
 * nullifier alone opens nothing. An unknown nullifier answers TICKET_UNKNOWN, which tells a
 * client the index is unused (it learns the gateway nothing it will not see anyway when the
 * ticket is sent). Nothing here is logged.
 */
export class TicketLookup {
    constructor(private readonly options: TicketLookupOptions) {}

    async handle(body: Buffer, client = ""): Promise<GatewayReply> {
        try {
            return await this.process(body, client);
        } catch (error) {
            if (error instanceof GatewayError) {
                this.options.metrics.lookups.inc({ outcome: error.code });
                return errorReply(error);
            }
            throw error;
        }
    }

    private async process(body: Buffer, client: string): Promise<GatewayReply> {
        const admission = this.options.admission;
        const admitted = admission?.admit(client, "signature");
        if (typeof admitted === "string") throw admissionRefusal(admitted, "look-ups");
        // The admitted check ends in exactly one of failed() or released().
        let lookup: LookupRequest;
        let failed = false;
        try {
            try {
                lookup = parseLookupRequest(body);
            } catch (error) {
                if (error instanceof EnvelopeError) throw new GatewayError(400, error.code === "UNSUPPORTED_VERSION" ? "UNSUPPORTED_VERSION" : "MALFORMED_BODY", error.message);
                throw error;
            }
            const message = lookupMessage(this.options.deployment.parameters.context, lookup.nullifier);
            if (!requestSignatureValid(message, lookup.signature, lookup.ephemeralKey)) {
                failed = true;
                admitted?.failed();
                throw new GatewayError(403, "LOOKUP_FORBIDDEN", "the look-up is not signed by this key");
            }
        } finally {
            if (!failed) admitted?.released();
        }
        const record = await this.options.store.get(hex(lookup.nullifier));
        if (record === undefined) throw new GatewayError(404, "TICKET_UNKNOWN", "no ticket with this nullifier was recorded");
        if (record.status === "withdrawn") throw new GatewayError(403, "TICKET_WITHDRAWN", "this ticket was disclosed by a withdrawal: it is closed");
        if (BigInt(record.x) !== ephemeralKeyBinding(lookup.ephemeralKey)) {
            throw new GatewayError(403, "LOOKUP_FORBIDDEN", "this key is not the ticket's request key");
        }
        this.options.metrics.lookups.inc({ outcome: record.status });
        const answer =
            record.status === "complete" && record.charge !== undefined
                ? lookupAnswerBody({ version: 2, status: "complete", charge: decodeCharge(record.charge), response: record.response })
                : lookupAnswerBody({ version: 2, status: "pending" });
        return { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: Buffer.from(answer) };
    }
}
