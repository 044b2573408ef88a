import {
    ERROR_CODE_HEADER,
    foldRequestBody,
    GATEWAY_PATHS,
    lookupMessage,
    lookupRequestBody,
    parseFoldAnswer,
    parseLookupAnswer,
    TICKET_HEADER
} from "@zk-api-credits/protocol";
import type { ChargeReceipt, FoldAnswer, FoldRequest, StoredHttpResponse } from "@zk-api-credits/protocol";
import type { StoredRequest } from "./account-record";
import { SdkError } from "./errors";
import type { TicketKeys } from "./ticket-keys";

/** What a look-up of a ticket found. */
export type LookupResult =
    | { readonly status: "unknown" }
    | { readonly status: "pending" }
    | { readonly status: "complete"; readonly charge: ChargeReceipt; readonly response?: StoredHttpResponse };

/** The gateway's answer to a fold: its base signature, or a refusal code. */
export type FoldOutcome = { readonly kind: "answer"; readonly answer: FoldAnswer } | { readonly kind: "refused"; readonly status: number; readonly code: string; readonly message: string };

/** A route (method and path) the gateway serves. */
export interface RouteSpec {
    readonly method: string;
    /** Exact pathname, or a prefix ending in `/*`. */
    readonly path: string;
}

/** What the SDK reads from GET /zkapi/v2/registry (fields it does not find are undefined). */
export interface GatewayRegistryInfo {
    readonly context?: bigint;
    readonly acceptedRoots?: readonly bigint[];
    readonly paidRoutes?: readonly RouteSpec[];
    readonly freeRoutes?: readonly RouteSpec[];
}

/** The gateway could not be reached, or the connection broke before an answer. */
export class GatewayUnreachable extends SdkError {
    constructor(message: string) {
        super("GATEWAY_UNREACHABLE", message);
    }
}

/** The stable reason code of a gateway answer: the `zkapi-error` header, else `HTTP <status>`. */
export function refusalCode(response: Response): string {
    return response.headers.get(ERROR_CODE_HEADER) ?? `HTTP_${response.status}`;
}

async function errorMessage(response: Response): Promise<string> {
    try {
        const json = (await response.json()) as { error?: { message?: unknown } };
        return typeof json.error?.message === "string" ? json.error.message : `HTTP ${response.status}`;
    } catch {
        return `HTTP ${response.status}`;
    }
}

/** Network failures a free route's call survives (retried, backing off from 200 ms). */
const NETWORK_RETRIES = 3;

/** Waits `ms` (back-off between retries of a network operation). */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * HTTP to the provider's gateway (docs/http-api.md): paid requests with their ticket, and the
 * free routes (look-up, void, fold, registry). Free routes answered 429 are retried after the
 * gateway's Retry-After (folds, voids and look-ups are rate-limited), as are folds answered 503
 * NEW_CLIENTS_THROTTLED (a flood of junk from new clients).
 */
export class GatewayClient {
    constructor(
        readonly url: string,
        private readonly fetchImpl: typeof fetch,
        private readonly context: bigint
    ) {}

    /**
     * A free route's call (all of them are idempotent: look-ups, voids and folds of deterministic
     * tickets and bases), retried after a network failure (a few times, backing off), after 429
     * and after 503 NEW_CLIENTS_THROTTLED.
     */
    private async call(path: string, init: RequestInit): Promise<Response> {
        for (let attempt = 0, failures = 0; ; attempt++) {
            let response: Response;
            try {
                response = await this.fetchImpl(new URL(path, this.url), init);
            } catch (error) {
                if (++failures > NETWORK_RETRIES) throw new GatewayUnreachable(`cannot reach the gateway at ${this.url}: ${String(error)}`);
                await pause(100 * 2 ** failures);
                continue;
            }
            const throttled = response.status === 429 || response.headers.get(ERROR_CODE_HEADER) === "NEW_CLIENTS_THROTTLED";
            if (!throttled || attempt >= 8) return response;
            await response.arrayBuffer().catch(() => undefined);
            const after = Number(response.headers.get("retry-after"));
            await pause(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1_000 : 100 * 2 ** attempt);
        }
    }

    /** Sends a paid request with its ticket (the same bytes on every retry). */
    async send(request: StoredRequest, ticketHeader: string, signal?: AbortSignal): Promise<Response> {
        const hasBody = request.method !== "GET" && request.method !== "HEAD";
        try {
            return await this.fetchImpl(new URL(request.path, this.url), {
                method: request.method,
                headers: { ...request.headers, [TICKET_HEADER]: ticketHeader },
                body: hasBody ? Buffer.from(request.body, "base64") : undefined,
                signal
            });
        } catch (error) {
            if (signal?.aborted) throw error;
            throw new GatewayUnreachable(`the request did not reach the gateway or its answer was lost: ${String(error)}`);
        }
    }

    /** A request the gateway serves without a ticket (GET /v1/models, …). */
    async free(path: string, init: RequestInit = {}): Promise<Response> {
        try {
            return await this.fetchImpl(new URL(path, this.url), init);
        } catch (error) {
            throw new GatewayUnreachable(`cannot reach the gateway at ${this.url}: ${String(error)}`);
        }
    }

    /**
     * Looks ticket `keys.index` up by nullifier, signed by its epk: TICKET_UNKNOWN (nothing recorded:
     * free to use), pending (being served), or complete with the stored charge and response.
     */
    async lookup(keys: TicketKeys): Promise<LookupResult> {
        const signature = keys.signer.signMessage(lookupMessage(this.context, keys.nullifier));
        const body = lookupRequestBody({ version: 2, nullifier: keys.nullifier, ephemeralKey: keys.ephemeralKey, signature });
        const response = await this.call(GATEWAY_PATHS.lookup, { method: "POST", headers: { "content-type": "application/json" }, body });
        if (response.status === 404 && refusalCode(response) === "TICKET_UNKNOWN") {
            await response.arrayBuffer().catch(() => undefined);
            return { status: "unknown" };
        }
        if (!response.ok) {
            const code = refusalCode(response);
            throw new SdkError("GATEWAY_REJECTED", `the look-up of ticket ${keys.index} was refused (${code}): ${await errorMessage(response)}`, code);
        }
        const answer = parseLookupAnswer(Buffer.from(await response.arrayBuffer()));
        return answer.status === "pending" ? { status: "pending" } : { status: "complete", charge: answer.charge, response: answer.response };
    }

    /** Closes a ticket that never reached the gateway (cost 0), or gets its stored charge. */
    void(ticketHeader: string): Promise<Response> {
        return this.call(GATEWAY_PATHS.void, { method: "POST", headers: { [TICKET_HEADER]: ticketHeader } });
    }

    async fold(request: FoldRequest): Promise<FoldOutcome> {
        const response = await this.call(GATEWAY_PATHS.fold, { method: "POST", headers: { "content-type": "application/json" }, body: foldRequestBody(request) });
        if (!response.ok) return { kind: "refused", status: response.status, code: refusalCode(response), message: await errorMessage(response) };
        return { kind: "answer", answer: parseFoldAnswer(Buffer.from(await response.arrayBuffer())) };
    }

    /** The gateway's registry description (accepted roots, routes); fields it lacks are undefined. */
    async registryInfo(): Promise<GatewayRegistryInfo> {
        const response = await this.call(GATEWAY_PATHS.registry, { method: "GET" });
        if (!response.ok) throw new SdkError("GATEWAY_REJECTED", `GET ${GATEWAY_PATHS.registry} answered ${response.status}`, refusalCode(response));
        const json = (await response.json()) as Record<string, unknown>;
        const big = (value: unknown): bigint | undefined => (typeof value === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value) ? BigInt(value) : undefined);
        const roots = Array.isArray(json.acceptedRoots) ? json.acceptedRoots.map(big).filter((r): r is bigint => r !== undefined) : undefined;
        const routes = (value: unknown): RouteSpec[] | undefined =>
            Array.isArray(value)
                ? value.filter((r): r is RouteSpec => typeof r === "object" && r !== null && typeof (r as RouteSpec).method === "string" && typeof (r as RouteSpec).path === "string")
                : undefined;
        return { context: big(json.context), acceptedRoots: roots, paidRoutes: routes(json.paidRoutes), freeRoutes: routes(json.freeRoutes) };
    }
}
