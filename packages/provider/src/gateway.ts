import Fastify from "fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import type { Provider, Signer } from "ethers";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { CircuitProver, ERROR_CODE_HEADER, RECEIPTS_PATH, REGISTRY_PATH, TICKET_HEADER } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { ChainWorker } from "./chain/chain-worker";
import { WithdrawalWatcher } from "./chain/withdrawal-watcher";
import { GatewayError } from "./errors";
import { GatewayMetrics } from "./metrics";
import { errorReply, PaidRequestHandler } from "./paid-request";
import type { GatewayReply, IncomingRequest } from "./paid-request";
import { allowEverything } from "./policy";
import type { PolicyCheck } from "./policy";
import { perTokenPrice } from "./pricing";
import type { PriceFunction } from "./pricing";
import { RecentRoots } from "./roots";
import type { NullifierStore } from "./store/types";
import { BatchTicketVerifier } from "./batch-verifier";
import type { TicketVerifier } from "./ticket-verifier";
import { LocalEchoModel } from "./upstream";
import type { ChatUpstream, UpstreamResponse } from "./upstream";

export interface GatewayOptions {
    readonly deployment: RegistryDeployment;
    /** The provider's EdDSA signing key (its public key is the registry's providerKey). */
    readonly signingKey: string | Uint8Array;
    /** Reads the chain: registrations (roots) and withdrawal requests. */
    readonly provider: Provider;
    /** Sends slash, challenge and violation transactions; without it no chain worker runs. */
    readonly operator?: Signer;
    readonly store: NullifierStore;
    /** Serves /v1/chat/completions; defaults to the deterministic local model. */
    readonly upstream?: ChatUpstream;
    readonly price?: PriceFunction;
    readonly policy?: PolicyCheck;
    /** Proof verifier; defaults to the batch verifier (concurrent tickets checked together). */
    readonly verifier?: TicketVerifier;
    /** How long the default batch verifier waits to gather concurrent tickets. */
    readonly batchWindowMs?: number;
    readonly slashProver?: CircuitProver;
    /** Largest request body accepted (413 BODY_TOO_LARGE above). */
    readonly bodyLimit?: number;
    readonly leaseMs?: number;
    /** Start the chain worker and the withdrawal watcher (default: when an operator is given). */
    readonly workers?: boolean;
    readonly workerPollMs?: number;
    readonly logger?: FastifyServerOptions["logger"];
}

/** A running gateway's parts. */
export interface Gateway {
    readonly app: FastifyInstance;
    readonly handler: PaidRequestHandler;
    readonly roots: RecentRoots;
    readonly metrics: GatewayMetrics;
    readonly worker?: ChainWorker;
    readonly watcher?: WithdrawalWatcher;
    /** Adds a paid route: every request must carry a ticket; `serve` answers it. */
    paid(method: "GET" | "POST" | "PUT" | "DELETE", url: string, serve: (request: IncomingRequest) => Promise<UpstreamResponse>): void;
    close(): Promise<void>;
}

/** Default chat pricing in token units: per request, per prompt token, per completion token. */
export const DEFAULT_CHAT_PRICE = { perRequest: 10n ** 14n, perPromptToken: 10n ** 13n, perCompletionToken: 2n * 10n ** 13n };

function send(reply: FastifyReply, result: GatewayReply): FastifyReply {
    reply.code(result.status);
    for (const [name, value] of Object.entries(result.headers)) reply.header(name, value);
    return reply.send(result.body);
}

/**
 * Builds the provider gateway: a Fastify server with the paid OpenAI-compatible
 * /v1/chat/completions, receipts by nullifier, registry info, health and metrics, plus the
 * chain worker (slashes, challenges, violation reports) and the withdrawal watcher. Other
 * paid routes can be added with `paid()`, so it also serves as middleware for an existing API.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
    const metrics = new GatewayMetrics();
    const roots = new RecentRoots({ deployment: options.deployment, provider: options.provider });
    await roots.refresh();
    const batchVerifier =
        options.verifier === undefined
            ? new BatchTicketVerifier(circuitArtifacts("spend-20").verificationKey, { windowMs: options.batchWindowMs ?? 2 })
            : undefined;
    await batchVerifier?.ready();
    const handler = new PaidRequestHandler({
        deployment: options.deployment,
        signingKey: options.signingKey,
        store: options.store,
        verifier: options.verifier ?? batchVerifier!,
        roots,
        price: options.price ?? perTokenPrice(DEFAULT_CHAT_PRICE),
        policy: options.policy ?? allowEverything,
        metrics,
        leaseMs: options.leaseMs
    });
    const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? 1 << 20 });
    const upstream = options.upstream ?? new LocalEchoModel();

    // Paid requests are bound to their exact bytes: keep every body raw.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    app.setNotFoundHandler((_request, reply) => send(reply, errorReply(new GatewayError(404, "NOT_FOUND", "no such route"))));
    app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, reply) => {
        if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            metrics.rejected.inc({ reason: "BODY_TOO_LARGE" });
            return send(reply, errorReply(new GatewayError(413, "BODY_TOO_LARGE", error.message)));
        }
        if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
            metrics.rejected.inc({ reason: "BAD_REQUEST" });
            return send(reply, errorReply(new GatewayError(error.statusCode, "BAD_REQUEST", error.message)));
        }
        request.log.error({ err: error }, "unexpected gateway error");
        return reply.code(500).header(ERROR_CODE_HEADER, "INTERNAL").send({ error: { code: "INTERNAL", message: "internal error" } });
    });

    const incoming = (request: FastifyRequest): IncomingRequest => {
        const header = request.headers[TICKET_HEADER];
        return {
            method: request.method,
            path: request.url,
            body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
            ticketHeader: typeof header === "string" ? header : undefined
        };
    };

    const paid: Gateway["paid"] = (method, url, serve) => {
        app.route({ method, url, handler: async (request, reply) => send(reply, await handler.handle(incoming(request), serve)) });
    };
    paid("POST", "/v1/chat/completions", (request) => upstream.complete(request.body));

    app.get(`${RECEIPTS_PATH}/:nullifier`, async (request, reply) => {
        const { nullifier } = request.params as { nullifier: string };
        if (!/^0x[0-9a-f]{1,64}$/.test(nullifier)) return send(reply, errorReply(new GatewayError(400, "BAD_REQUEST", "the nullifier is 0x-prefixed lower-case hex")));
        const record = await options.store.get(nullifier);
        if (record === undefined || record.status === "withdrawn") return send(reply, errorReply(new GatewayError(404, "RECEIPT_NOT_FOUND", "no ticket with this nullifier")));
        if (record.status === "pending" || record.response === undefined) {
            return reply.code(202).header(ERROR_CODE_HEADER, "TICKET_IN_PROGRESS").send({ status: "pending" });
        }
        return send(reply, { status: record.response.status, headers: record.response.headers, body: Buffer.from(record.response.body, "base64") });
    });

    const { deployment } = options;
    app.get(REGISTRY_PATH, async () => ({
        version: 1,
        chainId: deployment.chainId.toString(),
        registry: deployment.contracts.registry,
        token: deployment.contracts.token,
        deploymentBlock: deployment.deploymentBlock,
        context: deployment.parameters.context.toString(),
        providerKey: deployment.parameters.providerKey.map(String),
        maxCost: deployment.parameters.maxCost.toString(),
        policyPenalty: deployment.parameters.policyPenalty.toString(),
        reserveBps: deployment.parameters.reserveBps.toString(),
        treeDepth: deployment.parameters.treeDepth,
        bodyLimit: options.bodyLimit ?? 1 << 20
    }));
    app.get("/health", async () => ({ status: "ok", registry: deployment.contracts.registry, leafCount: roots.leafCount }));
    app.get("/metrics", async (_request, reply) => reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics()));
    app.get("/zkapi/v1/stats", async () => options.store.stats());

    const log = (message: string, fields?: Record<string, unknown>): void => app.log.info(fields ?? {}, message);
    const startWorkers = options.workers ?? options.operator !== undefined;
    let worker: ChainWorker | undefined;
    let watcher: WithdrawalWatcher | undefined;
    if (startWorkers) {
        if (options.operator === undefined) throw new Error("the chain worker needs an operator signer");
        worker = new ChainWorker({
            deployment,
            store: options.store,
            operator: options.operator,
            slashProver: options.slashProver ?? new CircuitProver(circuitArtifacts("slash")),
            metrics,
            pollMs: options.workerPollMs,
            log
        });
        watcher = new WithdrawalWatcher({ deployment, provider: options.provider, store: options.store, pollMs: options.workerPollMs, log });
        worker.start();
        watcher.start();
    }

    return {
        app,
        handler,
        roots,
        metrics,
        worker,
        watcher,
        paid,
        async close() {
            await watcher?.stop();
            await worker?.stop();
            await app.close();
            await batchVerifier?.close();
        }
    };
}
