import { findRoute, readAnswerBody, resolveUsage, StreamMeter } from "@zk-api-credits/metering";
import type { ApiRequest, BodyReading, MeteredUsage, PaidApiRoute, PriceTable } from "@zk-api-credits/metering";
import type { StoredRequest } from "./account-record";

/**
 * The charge audit (docs/protocol.md, "Charges that cannot tag"): the client recomputes every
 * charge of a paid API route from what it saw, with the gateway's own metering code
 * (`@zk-api-credits/metering`) and the price table the gateway published, and refuses any
 * other amount. A provider that adds a unique amount to a charge, or shades it by a grid step,
 * must then show a usage in the answer that gives that amount.
 */

/** What the client saw of an answer: a whole body, or what the events of a completed stream said. */
export type SeenAnswer = { readonly kind: "body"; readonly body: Uint8Array } | { readonly kind: "stream"; readonly reading: BodyReading };

/** A request to one of the API's paid routes, read as the gateway reads it. */
export interface PaidCall {
    readonly route: PaidApiRoute;
    readonly request: ApiRequest;
}

/** The paid route a request calls and its parsed body; undefined for any other path or a body the route cannot read. */
export function readPaidCall(request: StoredRequest): PaidCall | undefined {
    const route = findRoute(request.method, request.path);
    if (route === undefined || !route.paid) return undefined;
    try {
        return { route, request: route.parse(Buffer.from(request.body, "base64")) };
    } catch {
        return undefined;
    }
}

/**
 * Meters a streamed answer as the caller receives it: `push` what the gateway sent (its charge
 * event already taken out) and forward what it returns. The gateway relays every event, the
 * usage chunk it asked the upstream for included; this meter removes that chunk for a caller
 * that did not ask for it, exactly as the gateway's own meter would.
 */
export function callerStreamMeter(call: PaidCall | undefined): StreamMeter | undefined {
    return call === undefined || call.route.framing === undefined ? undefined : new StreamMeter(call.route, call.request);
}

/** The charge the published prices give for what the client saw, and the usage it comes from. */
export interface ExpectedCharge {
    readonly cost: bigint;
    readonly usage: MeteredUsage;
}

/**
 * The cost the gateway must have charged: nothing for an answer with status ≥ 400; otherwise
 * the published formula on the usage of the answer (the upstream's where it reported it, else
 * counted with the published tokenizer), with the output limited as the gateway limits it
 * (the request capped to what `maxCost` pays, {@link PriceTable.fit}). Undefined: the table has
 * no price for the model (the gateway would have refused the request).
 */
export function expectedCharge(table: PriceTable, call: PaidCall, status: number, answer: SeenAnswer): ExpectedCharge | undefined {
    let request = call.request;
    const fit = table.fit(request);
    if (fit.kind === "refuse") return undefined;
    if (fit.kind === "cap") request = call.route.withMaxOutputTokens(request, fit.maxOutputTokens);
    const reading = answer.kind === "body" ? readAnswerBody(call.route, answer.body) : answer.reading;
    const usage = resolveUsage(request, reading);
    if (status >= 400) return { cost: 0n, usage };
    const cost = table.charge(request.model, usage);
    return cost === undefined ? undefined : { cost, usage };
}
