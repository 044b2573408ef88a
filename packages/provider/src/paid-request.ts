import { randomBytes } from "node:crypto";
import { keccak256 } from "ethers";
import {
    CHARGE_EVENT,
    CHARGE_HEADER,
    decodeTicket,
    encodeCharge,
    EnvelopeError,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    GATEWAY_PATHS,
    recoverSecret,
    requestHash
} from "@zk-api-credits/protocol";
import type { ChargeReceipt, RegistryDeployment, TicketEnvelope } from "@zk-api-credits/protocol";
import { GatewayError } from "./errors";
import type { GatewayMetrics } from "./metrics";
import type { PolicyCheck } from "./policy";
import type { EpochRoots } from "./roots";
import type { KnownAnswer, NullifierStore, StoredResponse, TicketRecord } from "./store/types";
import type { UpstreamHeadStarts } from "./head-start";
import { InThreadProviderSigner } from "./provider-signer";
import type { ProviderSigner } from "./provider-signer";
import type { TicketChecker } from "./ticket-checker";
import { spendSignals } from "./ticket-verifier";

/** A request as the gateway received it. */
export interface IncomingRequest {
    readonly method: string;
    /** Path with query, exactly as received (bound into the request signature). */
    readonly path: string;
    readonly body: Buffer;
    readonly headers: Readonly<Record<string, string>>;
    readonly ticketHeader?: string;
    /** Who sent it, for admission control only (the remote address; never logged or stored). */
    readonly client?: string;
}

/** What a check is about to cost: a proof (a pairing), or a request signature alone (a look-up). */
export type CheckKind = "proof" | "signature";

/**
 * Admission's refusals: this client's checks keep failing (429 RATE_LIMITED); or clients the
 * gateway does not know keep failing theirs (or hold every unit of their budget) and this one
 * is not known (503 NEW_CLIENTS_THROTTLED, retry shortly).
 */
export type AdmissionRefusal = "rate-limited" | "new-clients-throttled";

/** One check admission control admitted: it ends in exactly one of `failed` or `released`. */
export interface AdmittedCheck {
    /**
     * The check's pairing is due (its cheap checks passed): may hold budget until the check
     * ends, or refuse it; `alone`: verify the proof on its own, never combined with others'.
     */
    holdForProof(): { readonly alone: boolean } | AdmissionRefusal;
    /** The check failed: what it holds is spent, or one failure is counted. */
    failed(): void;
    /** The check passed, or never ran (refused before it, or an error): what it holds is given back. */
    released(): void;
}

/**
 * Admission control of proof verification: a client whose proofs keep failing is refused
 * before its next proof costs a pairing, so junk tickets cannot crowd out honest ones.
 * `admit` is asked before checking; `recorded` is told when a proof recorded something new
 * (a ticket, a fold).
 */
export interface ProofAdmission {
    admit(client: string, kind?: CheckKind): AdmittedCheck | AdmissionRefusal;
    recorded?(client: string): void;
    /** True if the client's proofs are to be verified on their own (it failed a check recently, say). */
    suspect?(client: string): boolean;
}

/** The answer to a refused check. */
export function admissionRefusal(refusal: AdmissionRefusal, what: string): GatewayError {
    if (refusal === "new-clients-throttled") {
        return new GatewayError(503, "NEW_CLIENTS_THROTTLED", "many invalid tickets are arriving from clients this gateway does not know yet: retry in a second");
    }
    return new GatewayError(429, "RATE_LIMITED", `too many invalid ${what} from this client: slow down`);
}

/** What the gateway answers: a buffered body, or a stream relayed as it comes. */
export interface GatewayReply {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: Buffer | AsyncIterable<Buffer>;
}

/**
 * What serving a paid request produced. A buffered answer has `body`; a streamed one has
 * `stream` (server-sent events, relayed chunk by chunk). `cost()` is asked once the body or
 * the stream has ended, or broke (then it prices what was generated). It must be pure: for a
 * call started ahead of the ticket's checks, a buffered answer is priced as soon as it is in,
 * possibly before the ticket is recorded (and then maybe refused), and priced again if its
 * charge could not be signed then.
 */
export interface ServedResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body?: Buffer;
    readonly stream?: AsyncIterable<Uint8Array>;
    cost(): bigint | Promise<bigint>;
}

/** A paid route: how to serve it, and an optional check before the ticket is recorded. */
export interface PaidRoute {
    /** Refuses (throws a GatewayError) or rewrites the body forwarded upstream, before the ticket is recorded. */
    prepare?(request: IncomingRequest): Promise<IncomingRequest> | IncomingRequest;
    serve(request: IncomingRequest, signal: AbortSignal): Promise<ServedResponse>;
}

export interface PaidRequestOptions {
    readonly deployment: RegistryDeployment;
    /** The provider's EdDSA signing key (its public key is the registry's providerKey). */
    readonly signingKey: string | Uint8Array;
    /** Signs charges with that key (default: on the event loop; the gateway's default: on a verification pool's workers). */
    readonly signer?: ProviderSigner;
    /**
     * Signs the charge of a request that is the only one in flight (no other paid request or
     * stream being served), when `signer` runs elsewhere: a worker round trip then costs more
     * than the signature itself (2.06 against 0.96 ms one at a time, timed inside the gateway). Default: none, every charge
     * goes to `signer`. The gateway passes an in-thread signer.
     */
    readonly loneSigner?: ProviderSigner;
    readonly store: NullifierStore;
    /** Checks each ticket's request signature and Spend proof (ticketCheckerFor(anyProofVerifier) checks the signature in-thread). */
    readonly tickets: TicketChecker;
    readonly roots: EpochRoots;
    readonly policy: PolicyCheck;
    readonly metrics: GatewayMetrics;
    /** Refuses clients whose proofs keep failing (default: everyone admitted). */
    readonly admission?: ProofAdmission;
    /** Starts the upstream call while the ticket is checked, for clients that earned it (default: never). */
    readonly headStarts?: UpstreamHeadStarts;
    /** How long a replica owns a ticket it serves without renewing (renewed every third of it). */
    readonly leaseMs?: number;
    /** This replica's name in leases (random by default). */
    readonly replicaId?: string;
    readonly now?: () => number;
}

const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** Longest an upstream call may take. */
const UPSTREAM_TIMEOUT_MS = 10 * 60_000;

/** An upstream call started ahead of the ticket's checks (see UpstreamHeadStarts). */
interface HeadStart {
    /** The request as the route prepared it (prepared and policy-checked once, before the call). */
    readonly request: IncomingRequest;
    readonly served: Promise<ServedResponse>;
    readonly cancel: AbortController;
}

/** A reply whose body is in memory. */
export type BufferedReply = GatewayReply & { readonly body: Buffer };

export function errorReply(error: GatewayError): BufferedReply {
    // A throttled new client may retry at once the budget refills (one failure forgiven every 1/16 s by default).
    const retry: Record<string, string> = error.code === "NEW_CLIENTS_THROTTLED" ? { "retry-after": "1" } : {};
    return {
        status: error.status,
        headers: { "content-type": "application/json", [ERROR_CODE_HEADER]: error.code, ...retry },
        body: Buffer.from(JSON.stringify({ error: { code: error.code, message: error.message } }))
    };
}

/** A buffered reply as the store keeps it (replayed for the same request again, or a look-up). */
function storedResponse(reply: BufferedReply): StoredResponse {
    return { status: reply.status, headers: reply.headers, body: reply.body.toString("base64") };
}

function storedReply(response: StoredResponse | undefined, charge: string): BufferedReply {
    if (response === undefined) {
        return { status: 200, headers: { "content-type": "application/json", [CHARGE_HEADER]: charge }, body: Buffer.from(JSON.stringify({ charged: true })) };
    }
    const type = response.headers["content-type"] ?? "";
    const streamed = type.startsWith("text/event-stream") || type.startsWith("application/x-ndjson");
    return { status: response.status, headers: streamed ? response.headers : { ...response.headers, [CHARGE_HEADER]: charge }, body: Buffer.from(response.body, "base64") };
}

/**
 * The end of a streamed answer: the signed charge. A server-sent event stream gets an SSE
 * comment line `: zkapi-charge <charge>` (every SSE parser ignores comments, so a stock client
 * that reads the stream directly is not disturbed, wherever the upstream put its [DONE]);
 * newline-delimited JSON (Ollama) gets a last line {"zkapi-charge": "<charge>"}.
 */
export function chargeEvent(charge: string, contentType = "text/event-stream"): Buffer {
    if (contentType.startsWith("application/x-ndjson")) return Buffer.from(`${JSON.stringify({ [CHARGE_EVENT]: charge })}\n`);
    return Buffer.from(`: ${CHARGE_EVENT} ${charge}\n\n`);
}

/** Where the charges were signed (see PaidRequestOptions.loneSigner). */
export interface ChargeSigningStats {
    /** By `loneSigner`: the request was the only one in flight. */
    readonly lone: number;
    /** By `signer`. */
    readonly signer: number;
    /**
     * Charges stored that were signed as soon as a call started ahead had answered, before the
     * ticket was recorded or while it was. (`lone` and `signer` also count such signatures made
     * for a ticket then refused: dropped, never sent.)
     */
    readonly ahead: number;
}

/**
 * The paid-request pipeline (docs/protocol.md, "A request"; docs/http-api.md): check the
 * ticket cheapest first (shape, context, request key, epoch root, then request signature and
 * proof together, on a verification worker by default),
 * record its nullifier atomically, serve (relaying a stream as it comes), price, sign the
 * charge, store it (the first stored charge of a ticket wins, across replicas), answer with
 * it. The same request again is answered from the store; the same ticket with another
 * request key reveals the user's secret, and a slash is queued.
 */
export class PaidRequestHandler {
    private readonly now: () => number;
    private readonly signer: ProviderSigner;
    /** Paid requests and voids being handled, and streams being relayed. */
    private inFlight = 0;
    private readonly signed = { lone: 0, signer: 0, ahead: 0 };
    private readonly leaseMs: number;
    private readonly replicaId: string;

    constructor(private readonly options: PaidRequestOptions) {
        this.now = options.now ?? Date.now;
        this.signer = options.signer ?? new InThreadProviderSigner(options.signingKey);
        this.leaseMs = options.leaseMs ?? 10_000;
        this.replicaId = options.replicaId ?? randomBytes(8).toString("hex");
        const [x, y] = options.deployment.parameters.providerKey;
        if (this.signer.publicKey[0] !== x || this.signer.publicKey[1] !== y) {
            throw new Error("the signing key is not the provider key the registry was deployed with");
        }
    }

    /** Serves a paid route. */
    handle(request: IncomingRequest, route: PaidRoute): Promise<GatewayReply> {
        return this.guard(() => this.process(request, route));
    }

    /** Closes a ticket that never reached the provider: records it at cost 0 (or answers with its stored charge). */
    handleVoid(request: IncomingRequest): Promise<GatewayReply> {
        return this.guard(() => this.processVoid(request));
    }

    /** Where the charges were signed so far. */
    get signingStats(): ChargeSigningStats {
        return { ...this.signed };
    }

    private async guard(work: () => Promise<GatewayReply>): Promise<GatewayReply> {
        const started = this.now();
        this.inFlight++;
        try {
            return await work();
        } catch (error) {
            if (error instanceof GatewayError) {
                this.options.metrics.rejected.inc({ reason: error.code });
                return errorReply(error);
            }
            throw error;
        } finally {
            this.inFlight--;
            this.options.metrics.latency.observe((this.now() - started) / 1000);
        }
    }

    /**
     * Every check that needs no store: shape, context, request key, root, signature, proof.
     * `upstreamPending`: a call was started ahead and has not answered yet, so this thread
     * stays free to send it and take its answer (asked when the proof check starts).
     */
    private async checkTicket(
        request: IncomingRequest,
        upstreamPending: () => boolean = () => false,
        beforeProof?: (ticket: TicketEnvelope) => void
    ): Promise<{ ticket: TicketEnvelope; hash: bigint }> {
        if (request.ticketHeader === undefined || request.ticketHeader.length === 0) {
            throw new GatewayError(402, "MISSING_TICKET", "this endpoint is paid: send a ticket in the zkapi-ticket header");
        }
        // A client whose checks keep failing is refused before it costs a signature check or a pairing.
        const admission = this.options.admission;
        const client = request.client ?? "";
        const admitted = admission?.admit(client, "proof");
        if (typeof admitted === "string") throw admissionRefusal(admitted, "tickets");
        // The admitted check ends in exactly one of failed() or released().
        let failed = false;
        try {
            return await this.checkAdmitted(request, request.ticketHeader, admitted, upstreamPending, beforeProof, () => (failed = true));
        } finally {
            if (!failed) admitted?.released();
        }
    }

    /** checkTicket's checks once admission admitted the client (`markFailed` is told before a failed check is reported to admission). */
    private async checkAdmitted(
        request: IncomingRequest,
        ticketHeader: string,
        admitted: AdmittedCheck | undefined,
        upstreamPending: () => boolean,
        beforeProof: ((ticket: TicketEnvelope) => void) | undefined,
        markFailed: () => void
    ): Promise<{ ticket: TicketEnvelope; hash: bigint }> {
        const fail = (): void => {
            markFailed();
            admitted?.failed();
        };
        let ticket: TicketEnvelope;
        try {
            ticket = decodeTicket(ticketHeader);
        } catch (error) {
            if (error instanceof EnvelopeError) {
                throw new GatewayError(400, error.code === "UNSUPPORTED_VERSION" ? "UNSUPPORTED_VERSION" : "MALFORMED_TICKET", error.message);
            }
            throw error;
        }
        if (ticket.context !== this.options.deployment.parameters.context) {
            throw new GatewayError(422, "WRONG_CONTEXT", "the ticket is bound to another registry, provider key or terms");
        }
        if (ticket.x !== ephemeralKeyBinding(ticket.ephemeralKey)) {
            fail();
            throw new GatewayError(400, "REQUEST_BINDING_MISMATCH", "x is not the hash of the ticket's ephemeral key");
        }
        // The root first: the request signature and the proof are then checked together, on a worker.
        if (!(await this.options.roots.accepts(ticket.root))) {
            throw new GatewayError(422, "UNKNOWN_ROOT", "the ticket's root is not the current or previous epoch root: prove the same ticket again");
        }
        const hash = requestHash(request.method, request.path, request.body);
        // The pairing is due: a client the gateway does not know may be throttled here (its cheap checks passed).
        const held = admitted?.holdForProof();
        if (typeof held === "string") throw admissionRefusal(held, "tickets");
        beforeProof?.(ticket);
        const verifyStarted = this.now();
        const verdict = await this.options.tickets.checkTicket({
            requestSignature: { message: hash, signature: ticket.requestSignature, publicKey: ticket.ephemeralKey },
            proof: ticket.proof,
            publicSignals: spendSignals(ticket),
            alone: held?.alone === true,
            keepThreadFree: upstreamPending()
        });
        this.options.metrics.verification.observe((this.now() - verifyStarted) / 1000);
        if (verdict === "invalid-signature") {
            fail();
            throw new GatewayError(400, "INVALID_REQUEST_SIGNATURE", "the ephemeral key did not sign this request");
        }
        if (verdict !== "valid") {
            fail();
            throw new GatewayError(403, "INVALID_PROOF", "the Spend proof does not verify");
        }
        return { ticket, hash };
    }

    private async process(received: IncomingRequest, route: PaidRoute): Promise<GatewayReply> {
        const ahead = await this.startAhead(received, route);
        // A call that answered already (an in-process model, a cache) leaves this thread free to compute.
        let answered = false;
        ahead?.served.then(
            () => (answered = true),
            () => (answered = true)
        );
        // One turn of the event loop first: a call that needs no I/O has answered by then.
        if (ahead !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
        // The charge of a call started ahead is signed as soon as its answer is in, on a signing
        // worker while the request signature and the proof are checked here and on the
        // verification worker; it is used only once they hold and the ticket is recorded as new.
        let signedAhead: ReturnType<PaidRequestHandler["signAhead"]> | undefined;
        let checking = true;
        let checked: { ticket: TicketEnvelope; hash: bigint };
        try {
            checked = await this.checkTicket(
                received,
                () => ahead !== undefined && !answered,
                ahead === undefined ? undefined : (decoded) => (signedAhead = this.signAhead(decoded, ahead, () => checking))
            );
        } catch (error) {
            this.refusedAhead(received, ahead);
            throw error;
        } finally {
            checking = false;
        }
        const { ticket, hash } = checked;
        if (ahead !== undefined) signedAhead ??= this.signAhead(ticket, ahead, () => false);
        const request = ahead?.request ?? (route.prepare === undefined ? received : await route.prepare(received));
        // One that had answered before the checks ended (an in-process model, a quick upstream) is
        // signed first and recorded with the ticket, in one write: one round trip to the store, not two.
        const answer = ahead !== undefined && answered ? await this.answerAhead(ahead, signedAhead!) : undefined;
        let claim: Awaited<ReturnType<NullifierStore["claim"]>>;
        try {
            claim = await this.options.store.claim(
                { nullifier: hex(ticket.nullifier), kind: "request", x: hex(ticket.x), y: hex(ticket.y), requestHash: hex(hash), ticket: received.ticketHeader! },
                this.replicaId,
                this.now(),
                this.leaseMs,
                answer?.stored
            );
        } catch (error) {
            // The store failed: nothing is recorded, so nothing may be served (not the client's fault: its other head starts stay).
            this.cancelAhead(ahead);
            throw error;
        }
        if (claim.kind === "conflict" || claim.kind === "known") this.refusedAhead(received, ahead);
        if (claim.kind === "conflict") return this.conflict(ticket, claim.record);
        if (claim.kind === "known") return this.known(claim.record, hex(hash));
        if (claim.takeover) this.options.metrics.takeovers.inc();
        if (received.client !== undefined) {
            this.options.admission?.recorded?.(received.client);
            this.options.headStarts?.earned(received.client, ahead !== undefined);
        }
        if (ahead !== undefined) this.options.metrics.headStarts.inc({ outcome: "served" });
        if (claim.completed && answer !== undefined) {
            this.signed.ahead++;
            this.count(true, answer.cost);
            return { status: answer.reply.status, headers: { ...answer.reply.headers, [CHARGE_HEADER]: answer.stored.charge }, body: answer.reply.body };
        }
        return this.serveClaimed(request, ticket, route, ahead === undefined ? undefined : { served: ahead.served, signed: signedAhead! });
    }

    /**
     * The charge of a buffered answer from a call started ahead, signed as soon as the answer is
     * in, even while the ticket's request signature and proof are still being checked (every
     * cheaper check has passed; `checking()`: signed then on `signer`, never on this thread,
     * which computes its share of a lone proof's check). Undefined (never a rejection) for a
     * stream, a failed call, a call cancelled (the ticket was refused or could not be
     * recorded), or if pricing or signing failed: the answer is then priced and signed as usual. Used only if the ticket's checks then pass and it is recorded
     * as new; otherwise the signature is dropped, never sent nor stored.
     */
    private async signAhead(ticket: TicketEnvelope, ahead: HeadStart, checking: () => boolean): Promise<{ cost: bigint; receipt: ChargeReceipt } | undefined> {
        const refused = (): boolean => ahead.cancel.signal.aborted;
        try {
            const response = await ahead.served;
            if (response.stream !== undefined || refused()) return undefined;
            const cost = this.clamp(await response.cost(), response.status);
            if (refused()) return undefined;
            return { cost, receipt: await this.sign(ticket, cost, 0n, !checking()) };
        } catch {
            return undefined;
        }
    }

    /**
     * The buffered answer of a call started ahead that has answered, with its charge signed
     * ahead, ready to be recorded with the ticket; undefined (never a rejection) if there is
     * none (a stream, a failed call, a failed signature): the ticket is then recorded alone.
     */
    private async answerAhead(
        ahead: HeadStart,
        signedAhead: Promise<{ cost: bigint; receipt: ChargeReceipt } | undefined>
    ): Promise<{ cost: bigint; reply: BufferedReply; stored: KnownAnswer } | undefined> {
        const signed = await signedAhead;
        if (signed === undefined) return undefined;
        try {
            const served = await ahead.served;
            const reply = { status: served.status, headers: served.headers, body: served.body ?? Buffer.alloc(0) };
            const stored = { charge: encodeCharge(signed.receipt), response: storedResponse(reply) };
            return { cost: signed.cost, reply, stored };
        } catch {
            return undefined;
        }
    }

    /**
     * Starts the upstream call now, before the ticket's checks, if the client holds a head start
     * (see UpstreamHeadStarts) and the request passes the route's preparation and the policy;
     * otherwise (undefined) the call waits for the checks, as every call of a new client does.
     */
    private async startAhead(received: IncomingRequest, route: PaidRoute): Promise<HeadStart | undefined> {
        const headStarts = this.options.headStarts;
        const client = received.client;
        if (headStarts === undefined || client === undefined || received.ticketHeader === undefined || received.ticketHeader.length === 0) return undefined;
        if (this.options.admission?.suspect?.(client) === true || !headStarts.take(client)) return undefined;
        let request: IncomingRequest;
        try {
            request = route.prepare === undefined ? received : await route.prepare(received);
            const verdict = await this.options.policy({ method: request.method, path: request.path, body: request.body });
            if (verdict.violation) throw new Error("a policy violation is answered after the checks");
        } catch {
            // Refused before the upstream: the checks run in their usual order and answer it.
            headStarts.unused(client);
            return undefined;
        }
        const cancel = new AbortController();
        const served = route.serve(request, AbortSignal.any([cancel.signal, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)]));
        // Awaited once the ticket is recorded; a cancelled or failed call is handled there or dropped.
        served.catch(() => undefined);
        return { request, served, cancel };
    }

    /** The ticket was refused or is not new: the client's head starts are withdrawn, and a call started ahead is cancelled. */
    private refusedAhead(received: IncomingRequest, ahead: HeadStart | undefined): void {
        if (received.client !== undefined) this.options.headStarts?.withdrawn(received.client, ahead !== undefined);
        this.cancelAhead(ahead);
    }

    /** Cancels a call started ahead (if any): its answer will never be relayed. */
    private cancelAhead(ahead: HeadStart | undefined): void {
        if (ahead === undefined) return;
        this.options.metrics.headStarts.inc({ outcome: "cancelled" });
        ahead.cancel.abort();
    }

    private async processVoid(request: IncomingRequest): Promise<GatewayReply> {
        if (request.method !== "POST" || request.path !== GATEWAY_PATHS.void || request.body.length !== 0) {
            throw new GatewayError(400, "MALFORMED_BODY", `a void is an empty POST ${GATEWAY_PATHS.void}`);
        }
        const { ticket, hash } = await this.checkTicket(request);
        const claim = await this.options.store.claim(
            { nullifier: hex(ticket.nullifier), kind: "void", x: hex(ticket.x), y: hex(ticket.y), requestHash: hex(hash), ticket: request.ticketHeader! },
            this.replicaId,
            this.now(),
            this.leaseMs
        );
        if (claim.kind === "conflict") return this.conflict(ticket, claim.record);
        if (claim.kind === "known") {
            // The original request did arrive (or the void is repeated): its charge stands.
            const record = claim.record;
            if (record.status === "complete" && record.charge !== undefined) {
                this.options.metrics.replays.inc();
                return { status: 200, headers: { "content-type": "application/json", [CHARGE_HEADER]: record.charge }, body: Buffer.from(JSON.stringify({ voided: record.kind === "void" })) };
            }
            throw new GatewayError(409, "TICKET_IN_PROGRESS", "this ticket is being served: look it up shortly");
        }
        if (request.client !== undefined) this.options.admission?.recorded?.(request.client);
        const charge = encodeCharge(await this.sign(ticket, 0n, 0n));
        const stored = await this.options.store.complete(hex(ticket.nullifier), charge, undefined, this.now());
        this.options.metrics.voided.inc();
        return { status: 200, headers: { "content-type": "application/json", [CHARGE_HEADER]: stored.charge }, body: Buffer.from(JSON.stringify({ voided: stored.won })) };
    }

    /** The nullifier is known with this x: the same request again (replay), or another request (refused). */
    private known(record: TicketRecord, hash: string): GatewayReply {
        if (record.requestHash !== hash) {
            throw new GatewayError(409, "TICKET_ALREADY_USED", "this ticket was used for another request: look it up and use another ticket");
        }
        if (record.status === "complete" && record.charge !== undefined) {
            this.options.metrics.replays.inc();
            return storedReply(record.response, record.charge);
        }
        throw new GatewayError(409, "TICKET_IN_PROGRESS", "this request is being served: retry or look it up shortly");
    }

    /** The nullifier is taken by another x (a double-spend), or was disclosed by a withdrawal. */
    private async conflict(ticket: TicketEnvelope, record: TicketRecord): Promise<GatewayReply> {
        if (record.status === "withdrawn") throw new GatewayError(403, "TICKET_WITHDRAWN", "this ticket was disclosed by a withdrawal: it is closed");
        const now = this.now();
        if (await this.options.store.recordDoubleSpend(record.nullifier, hex(ticket.x), hex(ticket.y), now)) this.options.metrics.doubleSpends.inc();
        // The secret is recomputed from the two shares when the slash is sent; it is never stored.
        await this.options.store.enqueueJob(`slash:${record.nullifier}`, "slash", JSON.stringify({ nullifier: record.nullifier }), now);
        throw new GatewayError(409, "DOUBLE_SPEND", "this ticket was already spent with another request key; the deposit will be slashed");
    }

    /** Signs a charge: on `loneSigner` if this is the only request in flight and `loneAllowed`, otherwise on `signer`. */
    private async sign(ticket: TicketEnvelope, cost: bigint, penalty: bigint, loneAllowed = true): Promise<ChargeReceipt> {
        const context = this.options.deployment.parameters.context;
        const lone = loneAllowed && this.options.loneSigner !== undefined && this.inFlight <= 1;
        const signer = lone ? this.options.loneSigner! : this.signer;
        const { charge, signature } = await signer.signCharge({ context, ticketCommitment: ticket.ticketCommitment, cost, penalty });
        if (lone) this.signed.lone++;
        else this.signed.signer++;
        return { version: 2, nullifier: ticket.nullifier, cost, penalty, charge, signature };
    }

    /** A cost within the terms: never negative, never above maxCost, nothing for a failed request. */
    private clamp(cost: bigint, status: number): bigint {
        const maxCost = this.options.deployment.parameters.maxCost;
        if (status >= 400 || cost < 0n) return 0n;
        return cost > maxCost ? maxCost : cost;
    }

    /** Keeps this replica's lease on a ticket while it is served. */
    private holdLease(nullifier: string): () => void {
        const timer = setInterval(() => {
            void this.options.store.renewLease(nullifier, this.replicaId, this.now(), this.leaseMs).catch(() => undefined);
        }, Math.max(100, Math.floor(this.leaseMs / 3)));
        timer.unref();
        return () => clearInterval(timer);
    }

    /**
     * Serves a recorded ticket: checks the policy and calls the upstream, unless both were done
     * ahead (`ahead`: the call, and its charge if it was signed ahead).
     */
    private async serveClaimed(
        request: IncomingRequest,
        ticket: TicketEnvelope,
        route: PaidRoute,
        ahead?: { readonly served: Promise<ServedResponse>; readonly signed: Promise<{ cost: bigint; receipt: ChargeReceipt } | undefined> }
    ): Promise<GatewayReply> {
        const nullifier = hex(ticket.nullifier);
        const release = this.holdLease(nullifier);
        let streaming = false;
        try {
            const verdict = ahead === undefined ? await this.options.policy({ method: request.method, path: request.path, body: request.body }) : { violation: false as const };
            if (verdict.violation) {
                await this.reportViolation(ticket, verdict.evidence);
                const refusal = errorReply(new GatewayError(403, "POLICY_VIOLATION", `the request breaks the terms of service (${verdict.evidence})`));
                return await this.finish(ticket, 0n, this.options.deployment.parameters.policyPenalty, refusal);
            }
            let served: ServedResponse;
            try {
                served = await (ahead?.served ?? route.serve(request, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS)));
            } catch (error) {
                // The ticket is recorded: a failed request still gets its (free) charge.
                const refusal = error instanceof GatewayError ? error : new GatewayError(502, "UPSTREAM_FAILED", `the upstream failed: ${String(error)}`);
                return await this.finish(ticket, 0n, 0n, errorReply(refusal));
            }
            if (served.stream !== undefined) {
                streaming = true;
                return this.relay(ticket, served, release);
            }
            const body = served.body ?? Buffer.alloc(0);
            const reply = { status: served.status, headers: served.headers, body };
            const signed = await ahead?.signed;
            if (signed !== undefined) {
                this.signed.ahead++;
                return await this.storeCharge(ticket, signed.cost, signed.receipt, reply);
            }
            return await this.finish(ticket, this.clamp(await served.cost(), served.status), 0n, reply);
        } finally {
            if (!streaming) release();
        }
    }

    /** Signs and stores the charge of a buffered answer; answers with the stored charge (the first one wins). */
    private async finish(ticket: TicketEnvelope, cost: bigint, penalty: bigint, reply: BufferedReply): Promise<GatewayReply> {
        return this.storeCharge(ticket, cost, await this.sign(ticket, cost, penalty), reply);
    }

    /** Stores a signed charge of a buffered answer; answers with the stored charge (the first one wins). */
    private async storeCharge(ticket: TicketEnvelope, cost: bigint, receipt: ChargeReceipt, reply: BufferedReply): Promise<GatewayReply> {
        const charge = encodeCharge(receipt);
        const stored = await this.options.store.complete(hex(ticket.nullifier), charge, storedResponse(reply), this.now());
        this.count(stored.won, cost);
        if (!stored.won) return storedReply(stored.response, stored.charge);
        return { status: reply.status, headers: { ...reply.headers, [CHARGE_HEADER]: stored.charge }, body: reply.body };
    }

    private count(won: boolean, cost: bigint): void {
        if (!won) {
            this.options.metrics.lostRaces.inc();
            return;
        }
        this.options.metrics.served.inc();
        this.options.metrics.charged.inc(Number(cost));
    }

    /**
     * Relays a stream as it comes, then prices what was generated, signs, stores and sends
     * the charge as the final event. If the client goes away or the upstream breaks, the
     * charge is still stored, so the client can fetch it by look-up.
     */
    private relay(ticket: TicketEnvelope, served: ServedResponse, release: () => void): GatewayReply {
        const contentType = served.headers["content-type"] ?? "text/event-stream";
        const headers = { ...served.headers, "content-type": contentType, "cache-control": "no-cache" };
        const chunks: Buffer[] = [];
        const settle = async (): Promise<string> => {
            let cost = 0n;
            try {
                cost = this.clamp(await served.cost(), served.status);
            } catch {
                cost = 0n;
            }
            const charge = encodeCharge(await this.sign(ticket, cost, 0n));
            const final = chargeEvent(charge, contentType);
            const body = Buffer.concat([...chunks, final]).toString("base64");
            const stored = await this.options.store.complete(hex(ticket.nullifier), charge, { status: served.status, headers, body }, this.now());
            this.count(stored.won, cost);
            return stored.charge;
        };
        const stream = served.stream!;
        // The stream is in flight until it settles (the request's own count ends when its reply is returned).
        this.inFlight++;
        const ended = (): void => {
            this.inFlight--;
            release();
        };
        async function* events(): AsyncGenerator<Buffer> {
            let settled = false;
            try {
                try {
                    for await (const chunk of stream) {
                        const buffer = Buffer.from(chunk);
                        chunks.push(buffer);
                        yield buffer;
                    }
                } catch {
                    // A broken upstream stream: what was generated is priced below.
                }
                const charge = await settle();
                settled = true;
                yield chargeEvent(charge, contentType);
            } finally {
                if (!settled) await settle().catch(() => undefined);
                ended();
            }
        }
        const iterator = events();
        let started = false;
        // A body destroyed before its first read (the client left first) never runs the generator,
        // nor its `finally`: the charge is then stored and the stream ended here, once.
        const closeUnread = async (): Promise<void> => {
            if (started) return;
            started = true;
            await stream[Symbol.asyncIterator]().return?.();
            await settle().catch(() => undefined);
            ended();
        };
        const body: AsyncIterableIterator<Buffer> = {
            [Symbol.asyncIterator]() {
                return this;
            },
            next: () => {
                started = true;
                return iterator.next();
            },
            return: async (value?: unknown) => {
                await closeUnread();
                return iterator.return(value);
            },
            throw: async (error?: unknown) => {
                await closeUnread();
                return iterator.throw(error);
            }
        };
        return { status: served.status, headers, body };
    }

    private async reportViolation(ticket: TicketEnvelope, evidence: string): Promise<void> {
        const nullifier = hex(ticket.nullifier);
        const evidenceHash = keccak256(Buffer.from(`${nullifier}\n${evidence}`));
        await this.options.store.enqueueJob(`violation:${nullifier}`, "violation", JSON.stringify({ nullifier, evidenceHash, evidence }), this.now());
    }
}

/** The secret behind a double-spent ticket, from the two shares the store holds (never stored itself). */
export function secretFromShares(first: { x: string; y: string }, second: { x: string; y: string }): bigint {
    return recoverSecret({ x: BigInt(first.x), y: BigInt(first.y) }, { x: BigInt(second.x), y: BigInt(second.y) });
}
