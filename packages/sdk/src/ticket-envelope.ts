import { decodeTicket, encodeTicket, GATEWAY_PATHS, requestHash } from "@zk-api-credits/protocol";
import type { TicketEnvelope } from "@zk-api-credits/protocol";
import type { PreparedTicket, StoredRequest } from "./account-record";
import type { TicketKeys } from "./ticket-keys";

/** The ticket a proved index shows for one request: the Spend proof, epk_i and epk_i's signature of H(request). */
export function ticketEnvelope(prepared: PreparedTicket, keys: TicketKeys, context: bigint, request: StoredRequest): TicketEnvelope {
    const hash = requestHash(request.method, request.path, Buffer.from(request.body, "base64"));
    return {
        version: 2,
        root: prepared.root,
        context,
        ticketCommitment: prepared.ticketCommitment,
        nullifier: prepared.nullifier,
        y: prepared.y,
        x: prepared.x,
        proof: prepared.proof,
        ephemeralKey: keys.ephemeralKey,
        requestSignature: keys.signer.signMessage(hash)
    };
}

/** The request a void sends: POST /zkapi/v2/void with an empty body (docs/http-api.md). */
export const VOID_REQUEST: StoredRequest = { method: "POST", path: GATEWAY_PATHS.void, headers: {}, body: "" };

/** The `zkapi-ticket` value of a ticket for `request`. */
export function ticketHeader(prepared: PreparedTicket, keys: TicketKeys, context: bigint, request: StoredRequest): string {
    return encodeTicket(ticketEnvelope(prepared, keys, context, request));
}

/** The same ticket as `header` (same proof), signed for a void instead of its request. */
export function voidHeaderFrom(header: string, keys: TicketKeys): string {
    const ticket = decodeTicket(header);
    const hash = requestHash(VOID_REQUEST.method, VOID_REQUEST.path, new Uint8Array());
    return encodeTicket({ ...ticket, requestSignature: keys.signer.signMessage(hash) });
}

/** The proved ticket a header carries (a ticket refused before it was recorded is used again for another request, same x). */
export function preparedFromHeader(header: string): PreparedTicket {
    const ticket = decodeTicket(header);
    return { root: ticket.root, x: ticket.x, y: ticket.y, nullifier: ticket.nullifier, ticketCommitment: ticket.ticketCommitment, proof: ticket.proof };
}
