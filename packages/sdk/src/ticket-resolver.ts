import { CHARGE_HEADER, decodeCharge } from "@zk-api-credits/protocol";
import type { StoredHttpResponse } from "@zk-api-credits/protocol";
import { indicesOf, key } from "./account-record";
import type { TicketRecord } from "./account-record";
import type { AccountBook } from "./account-book";
import { verifyCharge } from "./charges";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import type { GatewayClient } from "./gateway-client";
import { refusalCode } from "./gateway-client";
import { ticketHeader, VOID_REQUEST, voidHeaderFrom } from "./ticket-envelope";
import type { TicketKeyring } from "./ticket-keys";
import type { TicketProver } from "./ticket-prover";
import type { OwnerLiveness } from "./ticket-window";

/** What resolving one written-down ticket came to. */
export type Resolution =
    /** Its charge is held now (found by look-up, or by the void). */
    | { readonly kind: "settled"; readonly response?: StoredHttpResponse }
    /** The gateway is still serving it. */
    | { readonly kind: "pending" }
    /** The gateway never recorded it (and it was not voided). */
    | { readonly kind: "unknown" }
    /** Nothing was ever sent (a claim): given back. */
    | { readonly kind: "freed" };

export interface TicketResolverOptions {
    readonly book: AccountBook;
    readonly keyring: TicketKeyring;
    readonly gateway: GatewayClient;
    readonly prover: TicketProver;
    readonly provider: ProviderTerms;
    readonly alive: OwnerLiveness;
    readonly onCharged: (index: bigint, how: "adopted" | "voided" | "recovered") => void;
}

/** A stored answer from a look-up, as a Response. */
export function storedResponse(stored: StoredHttpResponse): Response {
    const body = Buffer.from(stored.body, "base64");
    const nullBody = stored.status === 204 || stored.status === 304 || (stored.status >= 100 && stored.status < 200);
    return new Response(nullBody ? null : body, { status: stored.status, headers: stored.headers });
}

/**
 * Resolves tickets whose answer is missing (docs/protocol.md, "A request"): looks each up by
 * nullifier (signed by its epk) and adopts the stored charge; a ticket the gateway never
 * recorded is closed with a free void (cost 0), re-proved for the same index and x if its root
 * aged out. Nothing is ever left "in flight" for good: a ticket is settled, voided, pending at
 * the gateway, or (the gateway unreachable) retried later.
 */
export class TicketResolver {
    constructor(private readonly options: TicketResolverOptions) {}

    /**
     * Looks ticket `index` up; adopts its charge if the gateway has one. `voidIfUnknown`: a
     * ticket the gateway never recorded is voided (its header is needed: a sent or released ticket).
     */
    async resolve(index: bigint, ticket: TicketRecord | undefined, voidIfUnknown: boolean): Promise<Resolution> {
        const { keyring, gateway, book, provider } = this.options;
        const keys = keyring.keys(index);
        const found = await gateway.lookup(keys);
        if (found.status === "pending") return { kind: "pending" };
        if (found.status === "complete") {
            const charge = verifyCharge(found.charge, keys, provider);
            const adopted = ticket === undefined || ticket.status === "released" || ticket.status === "claimed";
            await book.settle(index, charge, { nullifier: keys.nullifier, adopted });
            this.options.onCharged(index, adopted ? "adopted" : "recovered");
            return { kind: "settled", response: found.response };
        }
        if (!voidIfUnknown || ticket?.ticketHeader === undefined) return { kind: "unknown" };
        return this.voidTicket(index, ticket.ticketHeader);
    }

    /** Closes ticket `index` with a void (cost 0), or takes the stored charge if the original did arrive. */
    async voidTicket(index: bigint, header: string): Promise<Resolution> {
        const { keyring, gateway, book, provider } = this.options;
        const keys = keyring.keys(index);
        let voidHeader = voidHeaderFrom(header, keys);
        for (let attempt = 0; ; attempt++) {
            const response = await gateway.void(voidHeader);
            const value = response.headers.get(CHARGE_HEADER);
            await response.arrayBuffer().catch(() => undefined);
            if (value !== null) {
                const receipt = decodeCharge(value);
                const charge = verifyCharge(receipt, keys, provider);
                const voided = receipt.cost === 0n && receipt.penalty === 0n;
                await book.settle(index, charge, { nullifier: keys.nullifier, voided });
                this.options.onCharged(index, voided ? "voided" : "recovered");
                return { kind: "settled" };
            }
            const code = refusalCode(response);
            if (code === "TICKET_IN_PROGRESS") return { kind: "pending" };
            if (code === "UNKNOWN_ROOT" && attempt < 2) {
                // The root aged out: prove the same index again (same x) and void that.
                const record = await book.require();
                const prepared = await this.options.prover.prove(index, record, "request");
                voidHeader = ticketHeader(prepared, keys, provider.context, VOID_REQUEST);
                continue;
            }
            throw new SdkError("GATEWAY_REJECTED", `the gateway refused to void ticket ${index} (${code})`, code);
        }
    }

    /**
     * Resolves the tickets no request of this process is working on (`active`): claims of gone
     * processes are given back; sent tickets of gone processes (or of this one, abandoned) are
     * looked up and adopted or voided; with `releasedToo` (before a withdrawal) released tickets
     * are voided as well. Returns the indices still unresolved (pending, or the gateway down).
     */
    async resolveAbandoned(isActive: (index: bigint) => boolean, isMine: (owner: TicketRecord["owner"]) => boolean, releasedToo: boolean): Promise<bigint[]> {
        const { book, alive } = this.options;
        const record = await book.require();
        const unresolved: bigint[] = [];
        for (const index of indicesOf(record.tickets)) {
            const ticket = record.tickets[key(index)]!;
            if (isActive(index)) {
                if (ticket.status === "claimed" || ticket.status === "sent") unresolved.push(index);
                continue;
            }
            const abandoned = ticket.owner === undefined || isMine(ticket.owner) || !alive(ticket.owner);
            try {
                if (ticket.status === "claimed" && abandoned) {
                    await book.release(index, "ABANDONED");
                } else if (ticket.status === "sent" && abandoned) {
                    const result = await this.resolve(index, ticket, true);
                    if (result.kind === "pending" || result.kind === "unknown") unresolved.push(index);
                } else if (ticket.status === "released" && releasedToo) {
                    const result = await this.resolve(index, ticket, true);
                    if (result.kind === "pending" || result.kind === "unknown") unresolved.push(index);
                } else if (ticket.status === "claimed" || ticket.status === "sent") {
                    unresolved.push(index); // another live process is working on it
                }
            } catch (error) {
                if (error instanceof SdkError && (error.code === "GATEWAY_UNREACHABLE" || error.code === "GATEWAY_REJECTED")) unresolved.push(index);
                else throw error;
            }
        }
        return unresolved;
    }
}
