import { timingSafeEqual } from "node:crypto";
import { Readable } from "node:stream";
import Fastify, { LogController } from "fastify";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from "fastify";
import type { Provider, Signer } from "ethers";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { loadTokenizer } from "@zk-api-credits/metering";
import {
    assertSetupAllowed,
    CircuitProver,
    ERROR_CODE_HEADER,
    FOLD_SIZE,
    GATEWAY_PATHS,
    TICKET_HEADER,
    TICKET_WINDOW,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { ChainWorker } from "./chain/chain-worker";
import { WithdrawalWatcher } from "./chain/withdrawal-watcher";
import { GatewayError } from "./errors";
import { FoldHandler } from "./fold-request";
import { GatewayMetrics } from "./metrics";
import { errorReply, PaidRequestHandler } from "./paid-request";
import type { GatewayReply, IncomingRequest, PaidRoute, ProofAdmission } from "./paid-request";
import { allowEverything } from "./policy";
import type { PolicyCheck } from "./policy";
import { EpochRoots } from "./roots";
import type { NullifierStore } from "./store/types";
import { BatchProofVerifier } from "./batch-verifier";
import { TicketLookup } from "./ticket-lookup";
import type { ProofVerifier } from "./ticket-verifier";
import { defaultApi } from "./default-api";
import { ClientAdmission } from "./admission";
import { UpstreamHeadStarts } from "./head-start";
import { VerificationPool } from "./verification/pool";
import { useWasmPoseidon } from "./poseidon-wasm";
import { InThreadProviderSigner } from "./provider-signer";
import type { ProviderSigner } from "./provider-signer";
import { ticketCheckerFor } from "./ticket-checker";

/** A free route (no ticket): models lists, pricing. */
export interface FreeRoute {
    readonly method: "GET" | "POST";
    readonly url: string;
    handle(request: IncomingRequest): Promise<GatewayReply>;
}

/** The API a gateway sells: its paid routes (declared in one place) and free ones. */
export interface GatewayApi {
    readonly paid: readonly { readonly method: "GET" | "POST" | "PUT" | "DELETE"; readonly url: string; readonly route: PaidRoute }[];
    readonly free: readonly FreeRoute[];
    /** Extra fields for GET /zkapi/v2/pricing. */
    pricing?(): Record<string, unknown>;
}

export interface GatewayOptions {
    readonly deployment: RegistryDeployment;
    /** The provider's EdDSA signing key (its public key is the registry's providerKey). */
    readonly signingKey: string | Uint8Array;
    /** Reads the chain: epoch roots and withdrawal requests. */
    readonly provider: Provider;
    /** Sends slash, challenge and violation transactions; without it challenges are queued but not sent. */
    readonly operator?: Signer;
    readonly store: NullifierStore;
    /** The routes sold; defaults to the deterministic local model behind the OpenAI, Anthropic and Ollama routes. */
    readonly api?: GatewayApi;
    readonly policy?: PolicyCheck;
    /**
     * Refuses clients whose tickets, folds or look-ups keep failing their checks before their
     * next one costs a signature check or a pairing (default: a ClientAdmission with its
     * default budget of 8 failures, one forgiven every 5 s; `false`: none).
     */
    readonly admission?: ProofAdmission | false;
    /**
     * Starts the upstream call while the ticket is still checked, for clients whose earlier
     * tickets passed (default: an UpstreamHeadStarts, at most 4 per client; `false`: every call
     * waits for the checks). See UpstreamHeadStarts for what it costs at most.
     */
    readonly headStarts?: UpstreamHeadStarts | false;
    /** Threads of the default Spend verifier (default: one per CPU but one, at most 4); 0 verifies on the event loop. */
    readonly verificationThreads?: number;
    /**
     * Spend proof verifier; defaults to a pool of verification threads (concurrent tickets checked
     * together). A VerificationPool also checks each ticket's request signature on its workers;
     * any other verifier has it checked on the event loop.
     */
    readonly verifier?: ProofVerifier;
    /** Fold proof verifier; defaults to one verification thread for the fold-2 key. */
    readonly foldVerifier?: ProofVerifier;
    /** How long the default verifiers gather concurrent proofs when they verify on the event loop (verificationThreads 0). */
    readonly batchWindowMs?: number;
    readonly slashProver?: CircuitProver;
    /** Largest request body accepted (413 BODY_TOO_LARGE above). */
    readonly bodyLimit?: number;
    /**
     * Longest time a client may take to send its request's headers and body (a connection that
     * trickles them is cut; default 10 s) and to send its headers alone (default 5 s).
     */
    readonly requestTimeoutMs?: number;
    readonly headersTimeoutMs?: number;
    /** How long an idle keep-alive connection is kept (default 5 s). */
    readonly keepAliveTimeoutMs?: number;
    readonly leaseMs?: number;
    /** Start the withdrawal watcher (default true) and, with an operator, the chain worker. */
    readonly workers?: boolean;
    readonly workerPollMs?: number;
    /** Bearer token for /metrics and /zkapi/v2/stats (they reveal per-request charges); without it they answer 401. */
    readonly metricsToken?: string;
    /** Accept a deployment with the development setup on a non-local chain (refused on mainnets regardless). */
    readonly allowInsecureSetup?: boolean;
    readonly logger?: FastifyServerOptions["logger"];
    /** The clock of leases and latencies (tests drive it). */
    readonly now?: () => number;
}

/** A running gateway's parts. */
export interface Gateway {
    readonly app: FastifyInstance;
    readonly handler: PaidRequestHandler;
    readonly roots: EpochRoots;
    readonly metrics: GatewayMetrics;
    readonly worker?: ChainWorker;
    readonly watcher?: WithdrawalWatcher;
    /** Adds a paid route: every request must carry a ticket. */
    paid(method: "GET" | "POST" | "PUT" | "DELETE", url: string, route: PaidRoute): void;
    close(): Promise<void>;
}

async function send(reply: FastifyReply, result: GatewayReply): Promise<FastifyReply> {
    reply.code(result.status);
    for (const [name, value] of Object.entries(result.headers)) {
        if (name.toLowerCase() !== "content-length" && name.toLowerCase() !== "transfer-encoding") reply.header(name, value);
    }
    if (Buffer.isBuffer(result.body)) return reply.send(result.body);
    return reply.send(Readable.from(result.body, { objectMode: false }));
}

function sameToken(given: string | undefined, expected: string): boolean {
    if (given === undefined) return false;
    const a = Buffer.from(given);
    const b = Buffer.from(`Bearer ${expected}`);
    return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Builds the provider gateway: a Fastify server selling the paid routes of `api` for
 * tickets, the free fold, void and look-up routes, registry info, pricing, health and
 * (behind a token) metrics, plus the withdrawal watcher (closes disclosed nullifiers and
 * queues challenges; needs no key) and, with an operator key, the chain worker (slashes,
 * challenges, violation reports).
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
    const { deployment } = options;
    const decision = assertSetupAllowed({
        chainId: deployment.chainId,
        insecureDevelopmentSetup: deployment.insecureDevelopmentSetup,
        allowInsecureSetup: options.allowInsecureSetup ?? false
    });
    // Poseidon in WebAssembly on the event loop (each request key's binding is hashed here).
    await useWasmPoseidon();
    // The tokenizer (worst-case prices, usage a stream did not report) before the first request needs it: about 0.3 s.
    loadTokenizer();
    const metrics = new GatewayMetrics();
    const roots = new EpochRoots({ deployment, provider: options.provider, pollMs: options.workerPollMs });
    await roots.refresh();
    roots.start();
    const windowMs = options.batchWindowMs ?? 2;
    const threads = options.verificationThreads;
    // The default pools hold the signing key (it stays in this process): their workers sign charges and bases.
    const defaultVerifier = (key: string, poolThreads: number | undefined): BatchProofVerifier | VerificationPool =>
        threads === 0 ? new BatchProofVerifier(key, { windowMs }) : new VerificationPool(key, { threads: poolThreads, signingKey: options.signingKey });
    const spendVerifier = options.verifier === undefined ? defaultVerifier(circuitArtifacts("spend-32").verificationKey, threads) : undefined;
    const foldVerifier = options.foldVerifier === undefined ? defaultVerifier(circuitArtifacts("fold-2").verificationKey, 1) : undefined;
    await Promise.all([spendVerifier?.ready(), foldVerifier?.ready()]);
    const admission = options.admission === false ? undefined : (options.admission ?? new ClientAdmission());
    // Signing goes to the Fold pool's worker first: it is idle while the Spend pool verifies tickets.
    const poolSigner = (verifier: BatchProofVerifier | VerificationPool | undefined): ProviderSigner | undefined => (verifier instanceof VerificationPool ? verifier.providerSigner() : undefined);
    const workerSigner = poolSigner(foldVerifier) ?? poolSigner(spendVerifier);
    const inThreadSigner = new InThreadProviderSigner(options.signingKey);
    const signer = workerSigner ?? inThreadSigner;
    const handler = new PaidRequestHandler({
        deployment,
        signingKey: options.signingKey,
        signer,
        // A lone request's charge is signed here: faster than a round trip to a worker.
        loneSigner: workerSigner === undefined ? undefined : inThreadSigner,
        store: options.store,
        tickets: ticketCheckerFor(options.verifier ?? spendVerifier!),
        roots,
        policy: options.policy ?? allowEverything,
        metrics,
        admission,
        headStarts: options.headStarts === false ? undefined : (options.headStarts ?? new UpstreamHeadStarts()),
        leaseMs: options.leaseMs,
        now: options.now
    });
    const folds = new FoldHandler({ deployment, signingKey: options.signingKey, signer, store: options.store, verifier: options.foldVerifier ?? foldVerifier!, metrics, admission, now: options.now });
    const lookups = new TicketLookup({ deployment, store: options.store, metrics, admission });
    const bodyLimit = options.bodyLimit ?? 1 << 20;
    // No request logging: URLs, nullifiers and client addresses are never written down.
    const requestTimeout = options.requestTimeoutMs ?? 10_000;
    const headersTimeout = Math.min(options.headersTimeoutMs ?? 5_000, requestTimeout);
    const app = Fastify({
        logger: options.logger ?? false,
        logController: new LogController({ disableRequestLogging: true }),
        bodyLimit,
        requestTimeout,
        connectionTimeout: 0,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
        // Node cuts a request whose headers or body are late only when it checks its connections,
        // every `connectionsCheckingInterval` (30 s by default): check at least every second.
        http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersTimeout / 4))) }
    });
    if (decision.warning !== undefined) app.log.warn(decision.warning);
    const api = options.api ?? defaultApi(deployment);

    // Paid requests are bound to their exact bytes: keep every body raw.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

    app.setNotFoundHandler((_request, reply) => send(reply, errorReply(new GatewayError(404, "NOT_FOUND", "no such route"))));
    app.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, reply) => {
        if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
            metrics.rejected.inc({ reason: "BODY_TOO_LARGE" });
            return send(reply, errorReply(new GatewayError(413, "BODY_TOO_LARGE", `the body exceeds ${bodyLimit} bytes`)));
        }
        if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
            metrics.rejected.inc({ reason: "BAD_REQUEST" });
            return send(reply, errorReply(new GatewayError(error.statusCode, "BAD_REQUEST", error.message)));
        }
        request.log.error({ err: { message: error.message } }, "unexpected gateway error");
        return reply.code(500).header(ERROR_CODE_HEADER, "INTERNAL").send({ error: { code: "INTERNAL", message: "internal error" } });
    });

    const incoming = (request: FastifyRequest): IncomingRequest => {
        const header = request.headers[TICKET_HEADER];
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) if (typeof value === "string") headers[name] = value;
        return {
            method: request.method,
            path: request.url,
            body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
            headers,
            ticketHeader: typeof header === "string" ? header : undefined,
            client: request.ip
        };
    };

    const paid: Gateway["paid"] = (method, url, route) => {
        app.route({ method, url, handler: async (request, reply) => send(reply, await handler.handle(incoming(request), route)) });
    };
    for (const { method, url, route } of api.paid) paid(method, url, route);
    for (const route of api.free) app.route({ method: route.method, url: route.url, handler: async (request, reply) => send(reply, await route.handle(incoming(request))) });

    app.post(GATEWAY_PATHS.fold, async (request, reply) => send(reply, await folds.handle(incoming(request).body, request.ip)));
    app.post(GATEWAY_PATHS.void, async (request, reply) => send(reply, await handler.handleVoid(incoming(request))));
    app.post(GATEWAY_PATHS.lookup, async (request, reply) => send(reply, await lookups.handle(incoming(request).body, request.ip)));

    const { parameters } = deployment;
    app.get(GATEWAY_PATHS.registry, async () => {
        const { current, previous } = roots.accepted;
        return {
            version: 2,
            chainId: deployment.chainId.toString(),
            registry: deployment.contracts.registry,
            token: deployment.contracts.token,
            deploymentBlock: deployment.deploymentBlock,
            context: parameters.context.toString(),
            providerKey: parameters.providerKey.map(String),
            maxCost: parameters.maxCost.toString(),
            policyPenalty: parameters.policyPenalty.toString(),
            reserveBps: parameters.reserveBps.toString(),
            ticketWindow: TICKET_WINDOW,
            foldSize: FOLD_SIZE,
            treeDepth: TREE_DEPTH,
            epochBlocks: Number(parameters.epochBlocks),
            epochs: [current, previous].filter((r) => r !== undefined).map((r) => ({ epoch: r!.epoch, boundary: r!.boundary, root: `0x${r!.root.toString(16)}` })),
            acceptedRoots: [current, previous].filter((r) => r !== undefined).map((r) => `0x${r!.root.toString(16)}`),
            paidRoutes: api.paid.map((p) => ({ method: p.method, path: p.url })),
            freeRoutes: api.free.map((f) => ({ method: f.method, path: f.url })),
            bodyLimit
        };
    });
    app.get(GATEWAY_PATHS.pricing, async () => ({
        maxCost: parameters.maxCost.toString(),
        policyPenalty: parameters.policyPenalty.toString(),
        ...(api.pricing?.() ?? {})
    }));
    app.get("/health", async () => ({ status: "ok" }));
    const operatorOnly = (request: FastifyRequest, reply: FastifyReply): boolean => {
        if (options.metricsToken !== undefined && sameToken(request.headers.authorization, options.metricsToken)) return true;
        void send(reply, errorReply(new GatewayError(401, "UNAUTHORIZED", "metrics and stats reveal per-request charges: send the operator's bearer token")));
        return false;
    };
    app.get("/metrics", async (request, reply) => {
        if (!operatorOnly(request, reply)) return reply;
        return reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics());
    });
    app.get(GATEWAY_PATHS.stats, async (request, reply) => {
        if (!operatorOnly(request, reply)) return reply;
        return reply.send(await options.store.stats());
    });

    const log = (message: string, fields?: Record<string, unknown>): void => app.log.info(fields ?? {}, message);
    const startWorkers = options.workers ?? true;
    let worker: ChainWorker | undefined;
    let watcher: WithdrawalWatcher | undefined;
    if (startWorkers) {
        // Watching withdrawals needs no key: disclosed nullifiers are closed in the store either way.
        watcher = new WithdrawalWatcher({ deployment, provider: options.provider, store: options.store, pollMs: options.workerPollMs, log });
        watcher.start();
        if (options.operator !== undefined) {
            worker = new ChainWorker({
                deployment,
                store: options.store,
                operator: options.operator,
                slashProver: options.slashProver ?? new CircuitProver(circuitArtifacts("slash")),
                metrics,
                pollMs: options.workerPollMs,
                log
            });
            worker.start();
        }
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
            await roots.stop();
            await app.close();
            await spendVerifier?.close();
            await foldVerifier?.close();
        }
    };
}
