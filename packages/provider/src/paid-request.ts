import { keccak256 } from "ethers";
import {
    chargeCommitment,
    decodeTicket,
    EdDSAPoseidonSigner,
    encodeHeaderValue,
    EnvelopeError,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    identityCommitment,
    RECEIPT_HEADER,
    recoverSecret,
    requestHash,
    verifySignature
} from "@zk-api-credits/protocol";
import type { Receipt, RegistryDeployment, TicketEnvelope } from "@zk-api-credits/protocol";
import { GatewayError } from "./errors";
import type { GatewayMetrics } from "./metrics";
import type { PolicyCheck } from "./policy";
import type { PriceFunction } from "./pricing";
import type { RecentRoots } from "./roots";
import type { NullifierStore, StoredResponse, TicketRecord } from "./store/types";
import type { TicketVerifier } from "./ticket-verifier";
import type { UpstreamResponse } from "./upstream";

/** A request as the gateway received it. */
export interface IncomingRequest {
    readonly method: string;
    /** Path with query, exactly as received. */
    readonly path: string;
    readonly body: Buffer;
    readonly ticketHeader?: string;
}

/** What the gateway answers. */
export interface GatewayReply {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: Buffer;
}

export interface PaidRequestOptions {
    readonly deployment: RegistryDeployment;
    /** The provider's EdDSA signing key (32 bytes, hex or bytes). */
    readonly signingKey: string | Uint8Array;
    readonly store: NullifierStore;
    readonly verifier: TicketVerifier;
    readonly roots: RecentRoots;
    readonly price: PriceFunction;
    readonly policy: PolicyCheck;
    readonly metrics: GatewayMetrics;
    /** How long a replica owns a ticket it is serving before another may take it over. */
    readonly leaseMs?: number;
    readonly now?: () => number;
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;

export function errorReply(error: GatewayError): GatewayReply {
    return {
        status: error.status,
        headers: { "content-type": "application/json", [ERROR_CODE_HEADER]: error.code },
        body: Buffer.from(JSON.stringify({ error: { code: error.code, message: error.message } }))
    };
}

function storedToReply(response: StoredResponse): GatewayReply {
    return { status: response.status, headers: response.headers, body: Buffer.from(response.body, "base64") };
}

/**
 * The paid-request pipeline of docs/http-api.md: check the ticket (context, root, request
 * binding, withdrawal, proof), record its nullifier atomically, serve, price, sign, store
 * the signed result, answer. A repeated request is answered from the store; a reused ticket
 * with another request reveals the user's secret, and a slash is queued.
 */
export class PaidRequestHandler {
    private readonly now: () => number;
    private readonly signer: EdDSAPoseidonSigner;

    constructor(private readonly options: PaidRequestOptions) {
        this.now = options.now ?? Date.now;
        this.signer = new EdDSAPoseidonSigner(options.signingKey);
        const [x, y] = options.deployment.parameters.providerKey;
        if (this.signer.publicKey[0] !== x || this.signer.publicKey[1] !== y) {
            throw new Error("the signing key is not the provider key the registry was deployed with");
        }
    }

    async handle(request: IncomingRequest, serve: (request: IncomingRequest) => Promise<UpstreamResponse>): Promise<GatewayReply> {
        const started = this.now();
        try {
            return await this.process(request, serve);
        } catch (error) {
            if (error instanceof GatewayError) {
                this.options.metrics.rejected.inc({ reason: error.code });
                return errorReply(error);
            }
            throw error;
        } finally {
            this.options.metrics.latency.observe((this.now() - started) / 1000);
        }
    }

    private async process(request: IncomingRequest, serve: (request: IncomingRequest) => Promise<UpstreamResponse>): Promise<GatewayReply> {
        const { deployment, store } = this.options;
        if (request.ticketHeader === undefined || request.ticketHeader.length === 0) {
            throw new GatewayError(402, "MISSING_TICKET", "this endpoint is paid: send a ticket in the zkapi-ticket header");
        }
        let ticket: TicketEnvelope;
        try {
            ticket = decodeTicket(request.ticketHeader);
        } catch (error) {
            if (error instanceof EnvelopeError) {
                throw new GatewayError(400, error.code === "UNSUPPORTED_VERSION" ? "UNSUPPORTED_VERSION" : "MALFORMED_TICKET", error.message);
            }
            throw error;
        }
        if (ticket.context !== deployment.parameters.context) {
            throw new GatewayError(422, "WRONG_CONTEXT", "the ticket is bound to another registry, provider key or terms");
        }
        const hash = requestHash(request.method, request.path, request.body);
        this.checkBinding(ticket, hash);
        if (!(await this.options.roots.accepts(ticket.root))) {
            throw new GatewayError(422, "UNKNOWN_ROOT", "the ticket's root is not a recent registry root: resync and prove again");
        }
        const verifyStarted = this.now();
        const valid = await this.options.verifier.verify(ticket);
        this.options.metrics.verification.observe((this.now() - verifyStarted) / 1000);
        if (!valid) throw new GatewayError(403, "INVALID_PROOF", "the Spend proof does not verify");

        const nullifier = hex(ticket.nullifier);
        const claim = await store.claim(
            { nullifier, x: hex(ticket.x), y: hex(ticket.y), requestHash: hex(hash), ticket: request.ticketHeader },
            this.now(),
            this.options.leaseMs ?? 120_000
        );
        if (claim.kind === "conflict") return this.conflict(ticket, claim.record);
        if (claim.kind === "replay") {
            if (claim.record.status === "complete" && claim.record.response !== undefined) {
                this.options.metrics.replays.inc();
                return storedToReply(claim.record.response);
            }
            throw new GatewayError(409, "TICKET_IN_PROGRESS", "this request is being served: retry shortly");
        }
        return this.serveClaimed(request, ticket, serve);
    }

    private checkBinding(ticket: TicketEnvelope, hash: bigint): void {
        if (ticket.binding === "request") {
            if (ticket.x !== hash) throw new GatewayError(400, "REQUEST_BINDING_MISMATCH", "x is not the hash of this request");
            return;
        }
        const key = ticket.ephemeralKey!;
        if (ticket.x !== ephemeralKeyBinding(key)) throw new GatewayError(400, "REQUEST_BINDING_MISMATCH", "x is not the hash of the ephemeral key");
        let valid = false;
        try {
            valid = verifySignature(hash, ticket.requestSignature!, key);
        } catch {
            valid = false;
        }
        if (!valid) throw new GatewayError(400, "INVALID_REQUEST_SIGNATURE", "the ephemeral key did not sign this request");
    }

    /** The nullifier is taken: a withdrawn ticket, the same x for another request, or a double-spend. */
    private async conflict(ticket: TicketEnvelope, record: TicketRecord): Promise<GatewayReply> {
        if (record.status === "withdrawn") throw new GatewayError(403, "TICKET_WITHDRAWN", "this ticket belongs to a withdrawn state");
        if (BigInt(record.x) === ticket.x) throw new GatewayError(409, "TICKET_ALREADY_USED", "this ticket was used for another request");
        const secret = recoverSecret({ x: BigInt(record.x), y: BigInt(record.y) }, { x: ticket.x, y: ticket.y });
        const idc = identityCommitment(secret);
        const now = this.now();
        if (await this.options.store.recordDoubleSpend(record.nullifier, hex(ticket.x), hex(ticket.y), now)) {
            this.options.metrics.doubleSpends.inc();
        }
        await this.options.store.enqueueJob(`slash:${hex(idc)}`, "slash", JSON.stringify({ identityCommitment: hex(idc), secret: hex(secret) }), now);
        throw new GatewayError(409, "DOUBLE_SPEND", "this ticket was already spent on another request; the deposit will be slashed");
    }

    private async serveClaimed(request: IncomingRequest, ticket: TicketEnvelope, serve: (request: IncomingRequest) => Promise<UpstreamResponse>): Promise<GatewayReply> {
        const terms = this.options.deployment.parameters;
        const verdict = await this.options.policy({ method: request.method, path: request.path, body: request.body });
        let response: { status: number; headers: Readonly<Record<string, string>>; body: Buffer };
        let cost = 0n;
        let penalty = 0n;
        if (verdict.violation) {
            penalty = terms.policyPenalty;
            const evidenceHash = keccak256(Buffer.from(`${hex(ticket.nullifier)}\n${verdict.evidence}`));
            await this.options.store.enqueueJob(
                `violation:${hex(ticket.nullifier)}`,
                "violation",
                JSON.stringify({ nullifier: hex(ticket.nullifier), evidenceHash, evidence: verdict.evidence }),
                this.now()
            );
            response = errorReply(new GatewayError(403, "POLICY_VIOLATION", `the request breaks the terms of service (${verdict.evidence})`));
        } else {
            try {
                const served = await serve(request);
                const price = this.options.price({ method: request.method, path: request.path, status: served.status, usage: served.usage });
                cost = served.status >= 500 ? 0n : price > terms.maxCost ? terms.maxCost : price < 0n ? 0n : price;
                response = served;
            } catch (error) {
                // The ticket is recorded: a failed request still gets a receipt (free of charge),
                // so the client's account moves on and nothing is paid twice.
                const refusal =
                    error instanceof GatewayError ? error : new GatewayError(502, "UPSTREAM_FAILED", `the upstream failed: ${String(error)}`);
                response = errorReply(refusal);
            }
        }
        const state = chargeCommitment(ticket.rerandomisedState, cost, penalty);
        const signature = this.signer.signState(state);
        const receipt: Receipt = { version: 1, nullifier: ticket.nullifier, cost, penalty, state, signature };
        const receiptHeader = encodeHeaderValue(receipt);
        const reply: GatewayReply = { status: response.status, headers: { ...response.headers, [RECEIPT_HEADER]: receiptHeader }, body: response.body };
        await this.options.store.complete(
            hex(ticket.nullifier),
            receiptHeader,
            { status: reply.status, headers: reply.headers, body: reply.body.toString("base64") },
            this.now()
        );
        this.options.metrics.served.inc();
        this.options.metrics.charged.inc(Number(cost));
        return reply;
    }
}
