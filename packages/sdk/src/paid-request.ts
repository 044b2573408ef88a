import { CHARGE_HEADER, decodeCharge } from "@zk-api-credits/protocol";
import type { RegistryTerms } from "@zk-api-credits/protocol";
import { Mutex } from "./account-lock";
import type { AccountBook } from "./account-book";
import { key } from "./account-record";
import type { AccountRecord, HeldCharge, PreparedTicket, StoredRequest, TicketOwner } from "./account-record";
import { callerStreamMeter, readPaidCall } from "./charge-audit";
import type { SeenAnswer } from "./charge-audit";
import { verifyCharge } from "./charges";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import type { Folder } from "./folder";
import { GatewayUnreachable, pause, refusalCode } from "./gateway-client";
import type { GatewayClient } from "./gateway-client";
import { ChargeEventFilter, streamFramingOf } from "./stream-charge";
import type { StreamFraming } from "./stream-charge";
import { preparedFromHeader, ticketHeader } from "./ticket-envelope";
import type { TicketKeyring, TicketKeys } from "./ticket-keys";
import type { TicketPool } from "./ticket-pool";
import type { TicketProver, WaitNotice } from "./ticket-prover";
import { storedResponse } from "./ticket-resolver";
import type { TicketResolver } from "./ticket-resolver";
import type { OwnerLiveness } from "./ticket-window";

/** A charge the client stored, with what it paid for. */
export interface ChargeEvent {
    readonly index: bigint;
    readonly cost: bigint;
    readonly penalty: bigint;
    /** "request": the answer's own charge; "recovered": found by look-up after a lost answer; "adopted": another copy used the index; "voided": closed by a void. */
    readonly how: "request" | "recovered" | "adopted" | "voided";
}

/** What a charge paid for, as the client saw it: the request, the answer's status and, when the client saw it whole, the answer. */
export interface ChargedExchange {
    readonly request: StoredRequest;
    readonly status: number;
    /** The answer's body, or what a completed stream said; undefined when it was not seen whole (a broken stream, a look-up). */
    readonly answer?: SeenAnswer;
}

/**
 * An extra check of a charge against what the client saw (issue 11: prices, usage). It runs
 * after the protocol checks; if it throws, the charge is still kept (it is needed to fold: a
 * charge not held is declared at maxCost on withdrawal) and the client reports the dispute.
 */
export type ChargeCheck = (charge: HeldCharge & { readonly index: bigint }, exchange: ChargedExchange) => void | Promise<void>;

export interface PaidRequestsOptions {
    readonly book: AccountBook;
    readonly keyring: TicketKeyring;
    readonly gateway: GatewayClient;
    readonly prover: TicketProver;
    readonly resolver: TicketResolver;
    readonly pool: TicketPool;
    readonly folder: Folder;
    readonly owner: TicketOwner;
    readonly alive: OwnerLiveness;
    readonly terms: RegistryTerms;
    readonly provider: ProviderTerms;
    readonly pollIntervalMs: number;
    /** How long a request may wait for a free index of the window (0: no limit). */
    readonly windowTimeoutMs: number;
    readonly chargeCheck?: ChargeCheck;
    readonly onWait: (notice: WaitNotice) => void;
    readonly onCharged: (event: ChargeEvent) => void;
    readonly onDispute: (index: bigint, error: unknown) => void;
    readonly onBackgroundError: (error: unknown) => void;
    readonly onDoubleSpend: (message: string) => Promise<void>;
}

/** Gateway refusals that mean "not recorded, because of the request itself": the caller gets the answer, the index is given back. */
const REQUEST_REFUSALS = new Set([
    "MISSING_TICKET",
    "BODY_TOO_LARGE",
    "WORST_CASE_EXCEEDS_MAX_COST",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "UNSUPPORTED_MEDIA_TYPE",
    "BAD_REQUEST",
    "MALFORMED_BODY"
]);

/** Refusals before the record that mean the client is set up for another registry, key or version. */
const CONFIGURATION_REFUSALS = new Set(["WRONG_CONTEXT", "UNSUPPORTED_VERSION", "MALFORMED_TICKET", "REQUEST_BINDING_MISMATCH", "INVALID_REQUEST_SIGNATURE"]);

/** How many times one request re-proves, retries or moves to another index before it gives up. */
const ATTEMPTS = 6;

type Outcome = { readonly kind: "response"; readonly response: Response; readonly streaming: boolean } | { readonly kind: "used" };

/**
 * The paid fetch (docs/protocol.md, "A request"): takes the lowest free index of the window
 * (locked, shared by every process of the account), uses its pre-proved ticket or proves it
 * (looking the index up first if this account file never used it), writes the ticket down
 * with the request BEFORE it leaves, signs H(request) with epk_i, sends, checks and stores the
 * charge (from the header, or from the final event of a stream). Up to W requests are in
 * flight at once; more wait for a charge and a fold to free the window. No refusal leaves an
 * index stuck: a ticket refused before it was recorded is re-proved (same x) or given back, a
 * ticket used elsewhere is adopted with its charge, a lost answer is looked up, and a ticket
 * that never arrived is voided.
 */
export class PaidRequests {
    /** Indices a request of this instance is working on (the resolver leaves them alone). */
    private readonly active = new Set<bigint>();
    private readonly claims = new Mutex();
    private readonly settlements = new Set<Promise<void>>();
    private wake?: () => void;

    constructor(private readonly options: PaidRequestsOptions) {}

    isActive(index: bigint): boolean {
        return this.active.has(index);
    }

    /** The window may have changed (a charge, a fold): wake a request waiting for an index. */
    windowChanged(): void {
        this.wake?.();
    }

    /** Waits until no request of this instance is open and every background settlement ended. */
    async idle(): Promise<void> {
        while (this.active.size > 0 || this.settlements.size > 0) {
            await Promise.allSettled([...this.settlements]);
            if (this.active.size > 0) await pause(this.options.pollIntervalMs);
        }
    }

    /** Pays for `request` with a ticket and sends it; the answer, its charge stored (or, streamed, stored when the stream ends). */
    async pay(request: StoredRequest, signal?: AbortSignal): Promise<Response> {
        const skip = new Set<bigint>();
        await this.options.prover.ensureSynced();
        for (let round = 0; round < ATTEMPTS * 4; round++) {
            const { index, sent } = await this.claim(skip, request);
            let streaming = false;
            try {
                const outcome = sent === undefined ? await this.payWith(index, request, signal) : await this.exchange(this.options.keyring.keys(index), request, sent.header, sent.prepared, signal);
                if (outcome.kind === "response") {
                    streaming = outcome.streaming;
                    return outcome.response;
                }
                skip.add(index); // used by another copy of the account: adopted; take another index
            } finally {
                if (!streaming) this.finished(index);
            }
        }
        throw new SdkError("UNRESOLVED", "every index tried was already used by another copy of this account");
    }

    /**
     * A request of this instance is done with its index. Pre-proving and folding are CPU-heavy:
     * they run when no request of this instance is in flight (or when the window runs short), so a
     * burst of concurrent requests is not slowed by them.
     */
    private finished(index: bigint): void {
        this.active.delete(index);
        if (this.active.size === 0) {
            this.options.pool.kick();
            this.options.folder.kick();
        }
    }

    /** A ticket proved ahead for `index`, still usable, as the header it sends with `request` (built under the account lock). */
    private sendAtOnce(index: bigint, record: AccountRecord, request: StoredRequest): { prepared: PreparedTicket; header: string } | undefined {
        const { prover, keyring, provider, pool } = this.options;
        if (pool.isProving(index)) return undefined;
        const keys = keyring.keys(index);
        const prepared = record.prepared[key(index)];
        if (!prover.isUsable(prepared) || prepared.x !== keys.x) return undefined;
        return { prepared, header: ticketHeader(prepared, keys, provider.context, request) };
    }

    /**
     * The lowest free index of the window, waiting (first come, first served) while it is full;
     * written down as sent at once when its ticket is proved ahead, else as claimed.
     */
    private claim(skip: ReadonlySet<bigint>, request: StoredRequest): Promise<{ index: bigint; sent?: { prepared: PreparedTicket; header: string } }> {
        return this.claims.run(async () => {
            const { book, owner, terms, alive, windowTimeoutMs, pollIntervalMs } = this.options;
            const started = Date.now();
            let told = false;
            for (let polls = 0; ; polls++) {
                // The index is marked active before it is written down, so the resolver never takes it for abandoned.
                let sent: { prepared: PreparedTicket; header: string } | undefined;
                const slot = await book.claim(
                    owner,
                    terms,
                    alive,
                    skip,
                    (index) => this.active.add(index),
                    (index, record) => {
                        sent = this.sendAtOnce(index, record, request);
                        return sent === undefined ? undefined : { nullifier: sent.prepared.nullifier, request, ticketHeader: sent.header };
                    }
                );
                if (slot.kind === "free") return { index: slot.index, sent: slot.sent === undefined ? undefined : sent };
                if (slot.kind === "closed") throw new SdkError("ACCOUNT_CLOSED", "the account is being withdrawn: no new request is paid");
                if (slot.kind === "insolvent") throw new SdkError("INSOLVENT", "the deposit cannot reserve one more request (maxCost + policyPenalty) above its reserve");
                const record = book.snapshot;
                if (record?.providerFault !== undefined) throw new SdkError("PROVIDER_FAULT", `the window is full and cannot be folded: ${record.providerFault}`);
                if (!told) {
                    this.options.onWait({ reason: "window", message: "every ticket of the window is open: waiting for a charge and a fold" });
                    told = true;
                }
                this.options.folder.kick();
                if (polls % 20 === 19) void this.resolveAbandoned();
                if (windowTimeoutMs > 0 && Date.now() - started > windowTimeoutMs) {
                    throw new SdkError("UNRESOLVED", `no index of the window became free within ${windowTimeoutMs} ms (open tickets are still unanswered)`);
                }
                await new Promise<void>((resolve) => {
                    const timer = setTimeout(resolve, pollIntervalMs);
                    this.wake = () => {
                        clearTimeout(timer);
                        resolve();
                    };
                });
                this.wake = undefined;
            }
        });
    }

    /** Resolves tickets left behind by crashed processes or abandoned by this one (background). */
    async resolveAbandoned(): Promise<bigint[]> {
        try {
            const unresolved = await this.options.resolver.resolveAbandoned(
                (index) => this.active.has(index),
                (owner) => owner?.id === this.options.owner.id,
                false
            );
            this.afterCharge();
            return unresolved;
        } catch (error) {
            this.options.onBackgroundError(error);
            return [];
        }
    }

    private async payWith(index: bigint, request: StoredRequest, signal: AbortSignal | undefined): Promise<Outcome> {
        const { book, keyring, owner, provider } = this.options;
        const keys = keyring.keys(index);
        let prepared: PreparedTicket | undefined;
        try {
            prepared = await this.provedTicket(index);
        } catch (error) {
            await book.abandon(index, owner);
            throw error;
        }
        if (prepared === undefined) return { kind: "used" };
        const header = ticketHeader(prepared, keys, provider.context, request);
        if (!(await book.markSent(index, owner, { nullifier: keys.nullifier, request, ticketHeader: header }))) {
            await book.abandon(index, owner);
            throw new SdkError("ACCOUNT_CLOSED", "the account is being withdrawn: the request was not sent");
        }
        return this.exchange(keys, request, header, prepared, signal);
    }

    /** A proved ticket for `index`: the prepared one if its root is still accepted, else proved now; undefined if the index was used elsewhere. */
    private async provedTicket(index: bigint): Promise<PreparedTicket | undefined> {
        const { book, prover, pool } = this.options;
        await pool.proofInProgress(index);
        await prover.ensureSynced();
        const record = await book.require();
        const prepared = record.prepared[key(index)];
        if (prover.isUsable(prepared)) return prepared;
        const header = record.tickets[key(index)]?.ticketHeader;
        const shownBefore = header === undefined ? undefined : preparedFromHeader(header);
        if (prover.isUsable(shownBefore) && shownBefore.x === this.options.keyring.keys(index).x) return shownBefore;
        const shown = prepared !== undefined || header !== undefined;
        if (!shown && (await prover.checkUnused(index)) === "used") return undefined;
        const fresh = await prover.prove(index, await book.require(), "request");
        await book.storePrepared(index, fresh);
        return fresh;
    }

    /** Sends the written-down ticket and turns the gateway's answer into a settled charge. */
    private async exchange(keys: TicketKeys, request: StoredRequest, firstHeader: string, firstPrepared: PreparedTicket, signal: AbortSignal | undefined): Promise<Outcome> {
        const { book, owner, gateway, prover, provider } = this.options;
        const index = keys.index;
        let header = firstHeader;
        let prepared = firstPrepared;
        for (let attempt = 0; ; attempt++) {
            let response: Response;
            try {
                response = await gateway.send(request, header, signal);
            } catch (error) {
                if (signal?.aborted) {
                    this.settleLater(keys, true);
                    throw error;
                }
                if (!(error instanceof GatewayUnreachable)) throw error;
                const recovered = await this.recoverLost(keys, request, header);
                if (recovered === undefined) continue; // never arrived: send it again
                return recovered;
            }
            const chargeValue = response.headers.get(CHARGE_HEADER);
            const framing = streamFramingOf(response.headers.get("content-type"));
            if (chargeValue !== null) {
                // A buffered answer is complete when its charge is: read it for the charge audit, hand the caller its copy.
                const seen = this.options.chargeCheck === undefined ? undefined : await response.clone().arrayBuffer().catch(() => undefined);
                const answer: SeenAnswer | undefined = seen === undefined ? undefined : { kind: "body", body: new Uint8Array(seen) };
                await this.settleFrom(keys, chargeValue, "request", { request, status: response.status, answer });
                return { kind: "response", response: withoutChargeHeader(response, adopt(response.body)), streaming: false };
            }
            if (framing !== undefined && response.ok && response.body !== null) {
                return { kind: "response", response: this.streamed(keys, request, response, framing), streaming: true };
            }
            const code = refusalCode(response);
            if (attempt >= ATTEMPTS) {
                await book.release(index, code);
                throw new SdkError("GATEWAY_REJECTED", `the gateway kept refusing ticket ${index} (${code})`, code);
            }
            if (code === "UNKNOWN_ROOT" || code === "INVALID_PROOF") {
                await response.arrayBuffer().catch(() => undefined);
                // Refused before the record: prove the same index again (same x), against the current root.
                await prover.sync();
                if (code === "UNKNOWN_ROOT" && prover.currentRoot() === prepared.root) {
                    this.options.onWait({ reason: "gateway-root", message: `the gateway does not accept the current epoch root yet: waiting for it to sync` });
                    await pause(this.options.pollIntervalMs * 2 ** Math.min(attempt, 4));
                    continue;
                }
                prepared = await prover.prove(index, await book.require(), "request");
                header = ticketHeader(prepared, keys, provider.context, request);
                if (!(await book.markSent(index, owner, { nullifier: keys.nullifier, request, ticketHeader: header }))) {
                    throw new SdkError("ACCOUNT_CLOSED", "the account is being withdrawn: the request was not sent again");
                }
                continue;
            }
            if (code === "TICKET_IN_PROGRESS" || code === "RATE_LIMITED" || code === "NEW_CLIENTS_THROTTLED") {
                await response.arrayBuffer().catch(() => undefined);
                await pause(this.options.pollIntervalMs * 2 ** Math.min(attempt, 4));
                continue;
            }
            if (code === "TICKET_ALREADY_USED") {
                // Another copy of the account used this index (same x: nothing revealed): adopt its charge.
                await response.arrayBuffer().catch(() => undefined);
                await this.awaitCharge(keys, "adopted");
                return { kind: "used" };
            }
            if (code === "DOUBLE_SPEND") {
                const message = `ticket ${index} was used with another request key: the deposit is being slashed`;
                await this.options.onDoubleSpend(message);
                throw new SdkError("DOUBLE_SPEND", message, code);
            }
            if (code === "TICKET_WITHDRAWN") {
                await book.release(index, code);
                throw new SdkError("ACCOUNT_CLOSED", "the gateway closed this account's tickets: it was withdrawn", code);
            }
            if (REQUEST_REFUSALS.has(code)) {
                await book.release(index, code);
                return { kind: "response", response, streaming: false };
            }
            if (CONFIGURATION_REFUSALS.has(code)) {
                await book.release(index, code);
                throw new SdkError("GATEWAY_REJECTED", `the gateway refused the ticket (${code}): ${await messageOf(response)}; is the client set up for this gateway's registry?`, code);
            }
            // An answer without a charge and without a known code (a proxy's 502, say): was it recorded? Ask.
            const resolution = await this.options.resolver.resolve(index, { status: "sent", ticketHeader: header }, false);
            if (resolution.kind === "settled") {
                this.afterCharge();
                return { kind: "response", response: resolution.response ? storedResponse(resolution.response) : response, streaming: false };
            }
            if (resolution.kind === "pending") {
                await response.arrayBuffer().catch(() => undefined);
                await this.awaitCharge(keys, "recovered");
                continue; // resend: a replay is answered from the gateway's store
            }
            await book.release(index, code);
            return { kind: "response", response, streaming: false };
        }
    }

    /**
     * The answer was lost (network failure): look the ticket up. Its charge (and stored answer)
     * if it was recorded; undefined if it never arrived (send it again); after repeated failures,
     * void it and give up (GATEWAY_UNREACHABLE), or leave it for the resolver if the gateway is down.
     */
    private async recoverLost(keys: TicketKeys, request: StoredRequest, header: string): Promise<Outcome | undefined> {
        const { gateway, pollIntervalMs } = this.options;
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
            await pause(pollIntervalMs * 2 ** Math.min(attempt, 5));
            try {
                const found = await gateway.lookup(keys);
                if (found.status === "unknown") {
                    if (attempt < ATTEMPTS / 2) return undefined;
                    break;
                }
                if (found.status === "pending") continue;
                await this.settleReceipt(keys, verifyCharge(found.charge, keys, this.options.provider), "recovered", { request, status: found.response?.status ?? 0 });
                if (found.response !== undefined) return { kind: "response", response: storedResponse(found.response), streaming: false };
                throw new SdkError("GATEWAY_UNREACHABLE", `the answer to ticket ${keys.index} was lost; its charge was recovered, the gateway kept no answer`);
            } catch (error) {
                if (!(error instanceof GatewayUnreachable)) throw error;
            }
        }
        try {
            const voided = await this.options.resolver.voidTicket(keys.index, header);
            if (voided.kind === "settled") this.afterCharge();
        } catch {
            // The gateway is down: the ticket stays sent; the resolver settles it later.
        }
        throw new SdkError("GATEWAY_UNREACHABLE", `the request with ticket ${keys.index} could not be completed (the gateway did not answer)`);
    }

    /**
     * A streamed answer relayed as it arrives, the charge event taken out and settled when the
     * stream ends. A paid API route's stream also goes through the caller's stream meter, which
     * removes the usage chunk the caller did not ask for and says what the stream reported, for
     * the charge audit.
     */
    private streamed(keys: TicketKeys, request: StoredRequest, response: Response, framing: StreamFraming): Response {
        const filter = new ChargeEventFilter(framing);
        const meter = callerStreamMeter(readPaidCall(request));
        const reader = response.body!.getReader();
        const index = keys.index;
        let ended = false;
        const finish = (): void => {
            ended = true;
            this.finished(index);
        };
        const body = new ReadableStream<Uint8Array>({
            pull: async (controller) => {
                // Read until something can be enqueued or the stream ends: a pull that returns
                // without enqueueing is not called again, and the reader would wait forever (a
                // network chunk that ends inside an event, or the charge comment arriving alone).
                for (;;) {
                    let chunk: Awaited<ReturnType<typeof reader.read>>;
                    try {
                        chunk = await reader.read();
                    } catch (error) {
                        // The stream broke: the gateway charges what was generated; fetch that charge by look-up.
                        finish();
                        this.settleLater(keys, false);
                        controller.error(error);
                        return;
                    }
                    if (!chunk.done) {
                        const relayed = filter.push(chunk.value);
                        const out = meter === undefined || relayed.length === 0 ? relayed : meter.push(relayed);
                        if (out.length === 0) continue;
                        controller.enqueue(out);
                        return;
                    }
                    let rest = filter.end();
                    let answer: SeenAnswer | undefined;
                    if (meter !== undefined) {
                        const last = meter.push(rest);
                        const { tail, outcome } = meter.end();
                        rest = Buffer.concat([last, tail]);
                        answer = { kind: "stream", reading: outcome.reading };
                    }
                    if (rest.length > 0) controller.enqueue(rest);
                    try {
                        if (filter.charge !== undefined) await this.settleFrom(keys, filter.charge, "request", { request, status: response.status, answer });
                        else await this.awaitCharge(keys, "recovered");
                        controller.close();
                    } catch (error) {
                        controller.error(error);
                    } finally {
                        finish();
                    }
                    return;
                }
            },
            cancel: async (reason) => {
                await reader.cancel(reason).catch(() => undefined);
                if (!ended) {
                    finish();
                    this.settleLater(keys, false);
                }
            }
        });
        return withoutChargeHeader(response, body);
    }

    /** Settles a ticket by look-up in the background (a broken or cancelled stream, an aborted request). */
    private settleLater(keys: TicketKeys, voidIfUnknown: boolean): void {
        const work = (async () => {
            for (let attempt = 0; attempt < 60; attempt++) {
                try {
                    const record = await this.options.book.require();
                    const ticket = record.tickets[key(keys.index)];
                    if (ticket === undefined || ticket.status === "settled" || ticket.status === "voided") return;
                    const resolution = await this.options.resolver.resolve(keys.index, ticket, voidIfUnknown && attempt > 2);
                    if (resolution.kind === "settled") {
                        this.afterCharge();
                        return;
                    }
                } catch (error) {
                    if (!(error instanceof GatewayUnreachable)) {
                        this.options.onBackgroundError(error);
                        return;
                    }
                }
                await pause(this.options.pollIntervalMs * 2 ** Math.min(attempt, 5));
            }
        })();
        this.settlements.add(work);
        void work.finally(() => this.settlements.delete(work));
    }

    /** Waits for the gateway's charge of a ticket it is serving or served (look-ups), and settles it. */
    private async awaitCharge(keys: TicketKeys, how: "adopted" | "recovered"): Promise<void> {
        for (let attempt = 0; attempt < 120; attempt++) {
            const found = await this.options.gateway.lookup(keys);
            if (found.status === "complete") {
                await this.settleReceipt(keys, verifyCharge(found.charge, keys, this.options.provider), how);
                return;
            }
            if (found.status === "unknown" && attempt > 3) break;
            await pause(this.options.pollIntervalMs * 2 ** Math.min(attempt, 3));
        }
        throw new SdkError("UNRESOLVED", `the gateway has no charge for ticket ${keys.index} yet`);
    }

    private async settleFrom(keys: TicketKeys, value: string, how: ChargeEvent["how"], exchange: ChargedExchange): Promise<void> {
        let receipt;
        try {
            receipt = decodeCharge(value);
        } catch (error) {
            throw new SdkError("INVALID_CHARGE", `the charge of ticket ${keys.index} does not parse: ${String(error)}`);
        }
        await this.settleReceipt(keys, verifyCharge(receipt, keys, this.options.provider), how, exchange);
    }

    private async settleReceipt(keys: TicketKeys, charge: HeldCharge, how: ChargeEvent["how"], exchange?: ChargedExchange): Promise<void> {
        await this.options.book.settle(keys.index, charge, { nullifier: keys.nullifier, adopted: how === "adopted" });
        this.options.onCharged({ index: keys.index, cost: charge.cost, penalty: charge.penalty, how });
        this.afterCharge();
        if (this.options.chargeCheck !== undefined && exchange !== undefined) {
            try {
                await this.options.chargeCheck({ ...charge, index: keys.index }, exchange);
            } catch (error) {
                this.options.onDispute(keys.index, error);
            }
        }
    }

    /** A charge was stored: wake a request waiting for the window (which folds); fold now if nothing is in flight. */
    private afterCharge(): void {
        if (this.active.size === 0) this.options.folder.kick();
        this.windowChanged();
    }
}

async function messageOf(response: Response): Promise<string> {
    try {
        const json = (await response.json()) as { error?: { message?: unknown } };
        return typeof json.error?.message === "string" ? json.error.message : `HTTP ${response.status}`;
    } catch {
        return `HTTP ${response.status}`;
    }
}

/**
 * Takes over the body stream of a fetch answer that is handed on in another Response: fetch
 * cancels the stream of a Response it sees garbage-collected unread, so the stream is piped
 * (and so locked) at once.
 */
function adopt(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
    return body === null ? null : body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>());
}

/** The answer as the caller sees it: the charge header (consumed) and a stale content length removed. */
function withoutChargeHeader(response: Response, body: ReadableStream<Uint8Array> | null): Response {
    const headers = new Headers(response.headers);
    headers.delete(CHARGE_HEADER);
    // fetch already decoded the body: its encoding and length headers no longer describe it.
    headers.delete("content-length");
    headers.delete("content-encoding");
    return new Response(body, { status: response.status, statusText: response.statusText, headers });
}
