import { EventEmitter } from "node:events";
import { NonceManager } from "ethers";
import type { Provider, Signer } from "ethers";
import { ICreditRegistry__factory, IERC20__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { assertSetupAllowed, CircuitProver, GATEWAY_PATHS, registryContext, RegistrySync, TICKET_WINDOW } from "@zk-api-credits/protocol";
import type { Identity, RegistryBinding, RegistryDeployment, SyncCache } from "@zk-api-credits/protocol";
import { AccountBook } from "./account-book";
import { newAccountRecord } from "./account-record";
import type { AccountRecord, StoredRequest, WithdrawalRecord } from "./account-record";
import type { AccountStore } from "./account-store";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import { Folder } from "./folder";
import { GatewayClient } from "./gateway-client";
import type { RouteSpec } from "./gateway-client";
import { PaidRequests } from "./paid-request";
import type { ChargeCheck, ChargeEvent } from "./paid-request";
import { parsePublishedPricing, publishedPriceCheck } from "./pricing";
import type { PublishedPricing } from "./pricing";
import { ProvingQueue } from "./proving-queue";
import { DEFAULT_PAID_ROUTES, isPaidRoute } from "./routes";
import { TicketKeyring } from "./ticket-keys";
import { isTicketOwnerAlive, newTicketOwner, retireTicketOwner } from "./ticket-owner";
import { TicketPool } from "./ticket-pool";
import type { ProvingProgress } from "./ticket-pool";
import { TicketProver } from "./ticket-prover";
import type { WaitNotice } from "./ticket-prover";
import { TicketResolver } from "./ticket-resolver";
import { balanceOf, estimateRequests } from "./ticket-window";
import type { Balance } from "./ticket-window";
import { WithdrawalFlow } from "./withdrawal";
import type { WithdrawalRequestOptions } from "./withdrawal";

export interface ZkApiClientOptions {
    readonly deployment: RegistryDeployment;
    readonly identity: Identity;
    /** The account file (FileAccountStore), shared by every process using the account. */
    readonly store: AccountStore;
    /** Reads the chain (events, checkpoints, deposits). */
    readonly provider: Provider;
    /** Sends the on-chain transactions (register, withdraw); optional for request-only use. */
    readonly signer?: Signer;
    /** The provider's gateway, e.g. http://127.0.0.1:8787 */
    readonly gatewayUrl: string;
    /** Where the registry sync keeps its progress (FileSyncCache). */
    readonly syncCache?: SyncCache;
    /** Provers of Spend, Fold and Withdraw; default: the committed artifacts of @zk-api-credits/circuits. */
    readonly provers?: { readonly spend?: CircuitProver; readonly fold?: CircuitProver; readonly withdraw?: CircuitProver };
    /**
     * Talk to a deployment made with the INSECURE development keys on a public test network
     * (anyone can forge its proofs). Refused on mainnets whatever this says; local chains need nothing.
     */
    readonly allowInsecureSetup?: boolean;
    /** Tickets kept proved ahead in the background (default W = 8; 0 proves each ticket when it is needed). */
    readonly prepareAhead?: number;
    /** Largest request body the client will pay for (the gateway refuses larger ones). Default 1 MiB. */
    readonly maxBodyBytes?: number;
    /** Routes that take a ticket (default: the gateway's six paid routes); anything else is sent free. */
    readonly paidRoutes?: readonly RouteSpec[];
    /** Interval of polls (window, look-ups, epoch). Default 250 ms. */
    readonly pollIntervalMs?: number;
    /** How long a request waits for a free index when the window is full (0: no limit). Default 5 min. */
    readonly windowTimeoutMs?: number;
    /** An extra check of each charge (prices, usage); a failure is reported as "charge-disputed". */
    readonly chargeCheck?: ChargeCheck;
    /** Blocks the registry sync stays behind the head (public chains). */
    readonly confirmations?: number;
    readonly fetch?: typeof fetch;
}

/** Events of a client (`client.on(name, listener)`). */
export interface ZkApiClientEvents {
    /** A proof started or finished: "proving ticket 3/8", a fold, the withdrawal. */
    proving: [ProvingProgress];
    /** The client waits for something (the epoch boundary, a full window, a ticket another copy is using). */
    waiting: [WaitNotice];
    /** A charge was stored. */
    charged: [ChargeEvent];
    /** The base advanced: tickets below `to` are folded in. */
    folded: [{ readonly from: bigint; readonly to: bigint }];
    /** The gateway misbehaved (a fold answered with another base): no more folds; withdraw. */
    "provider-fault": [string];
    /** A charge passed the protocol checks but not the client's chargeCheck. */
    "charge-disputed": [{ readonly index: bigint; readonly error: unknown }];
    /** A background task (pre-proving, folding, settling) failed; it is retried. */
    "background-error": [unknown];
}

const DEFAULT_POLL_MS = 250;

/**
 * A client of one registry and its provider's gateway, protocol v2: registers a deposit, pays
 * each HTTP request with an anonymous ticket (up to W in flight, pre-proved in the background),
 * keeps its account in a file shared by every process using it, folds charges in the
 * background, recovers what a crash or a lost answer left open, and withdraws.
 *
 * The work is done by modules of their own: the ticket window (ticket-window.ts), the account
 * file and its lock (account-book.ts, account-store.ts), proving (ticket-prover.ts,
 * ticket-pool.ts), paying (paid-request.ts), folding (folder.ts), resolving (ticket-resolver.ts)
 * and withdrawing (withdrawal.ts). This class wires them and is the API.
 */
export class ZkApiClient extends EventEmitter<ZkApiClientEvents> {
    private readonly book: AccountBook;
    private readonly registry: ICreditRegistry;
    private readonly gateway: GatewayClient;
    private readonly pool: TicketPool;
    private readonly folder: Folder;
    private readonly paid: PaidRequests;
    private readonly resolver: TicketResolver;
    private readonly withdrawal: WithdrawalFlow;
    private readonly owner = newTicketOwner();
    private readonly binding: RegistryBinding;
    private readonly providerTerms: ProviderTerms;
    private readonly fetchImpl: typeof fetch;
    private paidRoutes: readonly RouteSpec[];
    private closed = false;
    private started = false;
    private pricing?: PublishedPricing;
    private pricingRead?: Promise<PublishedPricing | undefined>;

    private constructor(private readonly options: ZkApiClientOptions) {
        super();
        const { deployment } = options;
        const { parameters } = deployment;
        this.binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        if (registryContext(this.binding) !== parameters.context) {
            throw new SdkError("WRONG_DEPLOYMENT", "the deployment's context does not match its parameters");
        }
        const terms = { maxCost: parameters.maxCost, policyPenalty: parameters.policyPenalty, reserveBps: parameters.reserveBps };
        this.providerTerms = { context: parameters.context, providerKey: parameters.providerKey, terms };
        this.fetchImpl = options.fetch ?? fetch;
        this.paidRoutes = options.paidRoutes ?? DEFAULT_PAID_ROUTES;
        const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;

        this.book = new AccountBook(options.store);
        this.registry = ICreditRegistry__factory.connect(deployment.contracts.registry, options.provider);
        this.gateway = new GatewayClient(options.gatewayUrl, this.fetchImpl, parameters.context);
        const keyring = new TicketKeyring(options.identity, parameters.scope);
        const queue = new ProvingQueue();
        const provers = lazyProvers(options.provers);
        const sync = new RegistrySync({
            registry: this.registry,
            fromBlock: deployment.deploymentBlock,
            epochBlocks: parameters.epochBlocks,
            cache: options.syncCache,
            confirmations: options.confirmations
        });
        const background = (error: unknown): void => void this.emit("background-error", error);
        const progress = (p: ProvingProgress): void => void this.emit("proving", p);
        const wait = (notice: WaitNotice): void => void this.emit("waiting", notice);
        const charged = (index: bigint, how: ChargeEvent["how"]): void => {
            const charge = this.book.snapshot?.charges[index.toString()];
            this.emit("charged", { index, cost: charge?.cost ?? 0n, penalty: charge?.penalty ?? 0n, how });
        };

        const prover = new TicketProver({
            keyring,
            book: this.book,
            sync,
            gateway: this.gateway,
            queue,
            spendProver: provers.spend,
            binding: this.binding,
            provider: this.providerTerms,
            epochBlocks: parameters.epochBlocks,
            pollIntervalMs,
            onWait: wait,
            onProgress: progress,
            onAdopted: (index) => charged(index, "adopted")
        });
        this.pool = new TicketPool({
            book: this.book,
            prover,
            terms,
            alive: isTicketOwnerAlive,
            target: options.prepareAhead ?? TICKET_WINDOW,
            onError: background,
            retryMs: Math.max(pollIntervalMs, 1_000)
        });
        this.folder = new Folder({
            book: this.book,
            keyring,
            gateway: this.gateway,
            queue,
            foldProver: provers.fold,
            binding: this.binding,
            provider: this.providerTerms,
            onProgress: progress,
            onFolded: (from, to) => {
                this.emit("folded", { from, to });
                this.paid.windowChanged();
                this.pool.kick();
            },
            onProviderFault: (message) => void this.emit("provider-fault", message),
            onError: background,
            retryMs: Math.max(pollIntervalMs, 500)
        });
        this.resolver = new TicketResolver({
            book: this.book,
            keyring,
            gateway: this.gateway,
            prover,
            provider: this.providerTerms,
            alive: isTicketOwnerAlive,
            onCharged: charged
        });
        this.paid = new PaidRequests({
            book: this.book,
            keyring,
            gateway: this.gateway,
            prover,
            resolver: this.resolver,
            pool: this.pool,
            folder: this.folder,
            owner: this.owner,
            alive: isTicketOwnerAlive,
            terms,
            provider: this.providerTerms,
            pollIntervalMs,
            windowTimeoutMs: options.windowTimeoutMs ?? 300_000,
            chargeCheck: async (charge, exchange) => {
                // The first request may settle before start()'s background read of the prices: read them now.
                const pricing = this.pricing ?? (await this.loadPricing().catch(() => undefined));
                if (pricing !== undefined) await publishedPriceCheck(pricing)(charge, exchange);
                await options.chargeCheck?.(charge, exchange);
            },
            onWait: wait,
            onCharged: (event) => void this.emit("charged", event),
            onDispute: (index, error) => void this.emit("charge-disputed", { index, error }),
            onBackgroundError: background,
            onDoubleSpend: async (message) => void this.emit("background-error", new SdkError("DOUBLE_SPEND", message))
        });
        this.withdrawal = new WithdrawalFlow({
            book: this.book,
            keyring,
            gateway: this.gateway,
            resolver: this.resolver,
            folder: this.folder,
            paid: this.paid,
            owner: this.owner,
            queue,
            withdrawProver: provers.withdraw,
            binding: this.binding,
            provider: this.providerTerms,
            registry: this.registry,
            signer: () => this.requireSigner(),
            pollIntervalMs,
            onProgress: progress,
            onCharged: (index) => charged(index, "adopted")
        });
    }

    /** Opens the client on its store; WRONG_DEPLOYMENT if the store holds another identity's or registry's account. */
    static async create(options: ZkApiClientOptions): Promise<ZkApiClient> {
        // Development keys make every proof forgeable: never deposit under them on a public chain.
        assertSetupAllowed({
            chainId: options.deployment.chainId,
            insecureDevelopmentSetup: options.deployment.insecureDevelopmentSetup,
            allowInsecureSetup: options.allowInsecureSetup ?? false
        });
        const client = new ZkApiClient(options);
        const account = await client.book.read();
        if (account !== undefined) {
            if (account.identityCommitment !== options.identity.commitment) throw new SdkError("WRONG_DEPLOYMENT", "the stored account belongs to another identity");
            if (account.registry !== options.deployment.contracts.registry || account.chainId !== options.deployment.chainId) {
                throw new SdkError("WRONG_DEPLOYMENT", "the stored account belongs to another registry or chain");
            }
        }
        return client;
    }

    /** The account as of the last read or change (other processes may have moved it on). */
    get account(): AccountRecord | undefined {
        return this.book.snapshot;
    }

    /** Reads the account file again. */
    refresh(): Promise<AccountRecord | undefined> {
        return this.book.read();
    }

    private requireSigner(): Signer {
        if (this.options.signer === undefined) throw new Error("this operation sends a transaction: give the client a signer");
        return this.options.signer;
    }

    private requireOpen(): void {
        if (this.closed) throw new SdkError("CLOSED", "the client was closed");
    }

    /**
     * Deposits `amount` under this identity (approves exactly what is missing, then registers).
     * If the identity is already registered on-chain (a crash after the transaction, or an
     * identity imported on another device), the registration is adopted instead.
     */
    async register(amount: bigint): Promise<AccountRecord> {
        this.requireOpen();
        const idc = this.options.identity.commitment;
        if ((await this.registry.deposits(idc)).status === 0n) {
            // approve + register back to back: count nonces locally, not from a cached RPC read.
            const signer = new NonceManager(this.requireSigner());
            const owner = await signer.getAddress();
            const { registry, token } = this.options.deployment.contracts;
            const erc20 = IERC20__factory.connect(token, signer);
            if ((await erc20.allowance(owner, registry)) < amount) await (await erc20.approve(registry, amount)).wait();
            await (await this.registry.connect(signer).register(idc, amount)).wait();
        }
        return this.restoreAccount();
    }

    /**
     * Creates the account file of an identity registered on-chain (an identity imported on a new
     * device): the client then catches up by looking up each index before using it.
     */
    async restoreAccount(): Promise<AccountRecord> {
        const idc = this.options.identity.commitment;
        const events = await this.registry.queryFilter(this.registry.filters.Registered(idc), this.options.deployment.deploymentBlock);
        const event = events[0];
        if (event === undefined) throw new SdkError("NOT_REGISTERED", "this identity has no deposit in the registry");
        return this.book.create(
            newAccountRecord({
                chainId: this.options.deployment.chainId,
                registry: this.options.deployment.contracts.registry,
                identityCommitment: idc,
                deposit: event.args.amount,
                leafIndex: Number(event.args.leafIndex),
                registrationBlock: event.blockNumber
            })
        );
    }

    /**
     * Starts the background work: resolves what crashed processes left open, folds what can be
     * folded, and keeps `prepareAhead` tickets proved ahead.
     */
    async start(): Promise<void> {
        this.requireOpen();
        await this.book.require();
        this.started = true;
        this.folder.kick();
        this.pool.kick();
        void this.paid.resolveAbandoned();
        void this.loadPricing().catch((error: unknown) => void this.emit("background-error", error));
    }

    /**
     * Reads the gateway's published prices (GET /zkapi/v2/pricing), once: from then on every
     * charge off the grid, or (for a paid API route answered whole) other than the published
     * price of the usage the client saw, is reported as "charge-disputed". start() reads them;
     * the first charge does if start() has not yet. The table first read is kept: a gateway that
     * changes its prices later is checked against the old ones. A gateway without prices (404)
     * is not asked again; a failed read is retried at the next charge.
     */
    loadPricing(): Promise<PublishedPricing | undefined> {
        this.pricingRead ??= (async () => {
            const response = await this.gateway.free(GATEWAY_PATHS.pricing);
            if (!response.ok) return undefined;
            const { maxCost, policyPenalty } = this.options.deployment.parameters;
            this.pricing = parsePublishedPricing(await response.json(), { maxCost, policyPenalty });
            return this.pricing;
        })();
        const read = this.pricingRead;
        read.catch(() => {
            if (this.pricingRead === read) this.pricingRead = undefined;
        });
        return read;
    }

    /** Resolves once `count` tickets (default: prepareAhead) are proved ahead, or the window allows no more. */
    prepareTickets(count?: number): Promise<void> {
        this.requireOpen();
        return this.pool.ready(count);
    }

    /** What the deposit can still pay (reads the account file). */
    async balance(): Promise<Balance> {
        const record = await this.book.require();
        return balanceOf(record, this.providerTerms.terms);
    }

    /** About how many more requests costing `cost` each the deposit pays for. */
    async estimateRequests(cost: bigint): Promise<bigint> {
        return estimateRequests(await this.balance(), this.providerTerms.terms, cost);
    }

    /**
     * fetch() that pays: a paid route (POST /v1/chat/completions, …) takes a ticket; any other
     * route is sent free. Concurrent calls run at once up to the window; more wait. The answer's
     * charge is checked and stored before this resolves (a streamed answer's when its stream
     * ends; the stream's final charge event is taken out).
     */
    async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
        this.requireOpen();
        const url = new URL(input, this.options.gatewayUrl);
        const method = (init.method ?? "GET").toUpperCase();
        if (!isPaidRoute(this.paidRoutes, method, url.pathname)) return this.fetchFree(input, init);
        const request = await this.storedRequest(url, method, init);
        if (!this.started) await this.start();
        return this.paid.pay(request, init.signal ?? undefined);
    }

    /** A request without a ticket (GET /v1/models, GET /api/tags, the gateway's own routes). */
    fetchFree(input: string | URL, init: RequestInit = {}): Promise<Response> {
        this.requireOpen();
        const url = new URL(input, this.options.gatewayUrl);
        return this.gateway.free(`${url.pathname}${url.search}`, init);
    }

    /** Takes the gateway's own list of paid routes, if it publishes one (GET /zkapi/v2/registry). */
    async loadGatewayRoutes(): Promise<readonly RouteSpec[]> {
        const info = await this.gateway.registryInfo();
        if (info.context !== undefined && info.context !== this.providerTerms.context) {
            throw new SdkError("WRONG_DEPLOYMENT", "the gateway serves another registry context than the deployment's");
        }
        if (info.paidRoutes !== undefined && this.options.paidRoutes === undefined) this.paidRoutes = info.paidRoutes;
        return this.paidRoutes;
    }

    /**
     * Resolves what is left open: tickets of crashed processes (looked up, adopted or voided),
     * then folds. Returns the indices still unresolved (pending at the gateway, or it is down).
     */
    async recover(): Promise<bigint[]> {
        this.requireOpen();
        const unresolved = await this.paid.resolveAbandoned();
        await this.folder.foldAll().catch((error: unknown) => void this.emit("background-error", error));
        return unresolved;
    }

    /** Waits until every request of this client has its charge stored and the background folds are done. */
    async settled(): Promise<void> {
        await this.paid.idle();
        this.folder.kick();
        await this.folder.idle();
    }

    /** Resolves everything, then proves and sends the withdrawal of the newest state (see withdrawal.ts). */
    requestWithdrawal(recipient: string, options?: WithdrawalRequestOptions): Promise<WithdrawalRecord> {
        this.requireOpen();
        return this.withdrawal.request(recipient, options);
    }

    /** Gives up a withdrawal that is still resolving (nothing sent on-chain yet): requests can be paid again. */
    cancelWithdrawal(): Promise<boolean> {
        return this.withdrawal.cancel();
    }

    /** Pays out the withdrawal once its challenge window has passed. */
    finalizeWithdrawal(): Promise<WithdrawalRecord> {
        return this.withdrawal.finalize();
    }

    /** Claims a refund the token refused at finalization. */
    claimRefund(): Promise<bigint> {
        return this.withdrawal.claimRefund();
    }

    /** Stops the background work; tickets this client left open are resolved by the next one. */
    async close(): Promise<void> {
        if (this.closed) return;
        this.closed = true;
        await this.pool.stop();
        await this.folder.stop();
        retireTicketOwner(this.owner);
    }

    private async storedRequest(url: URL, method: string, init: RequestInit): Promise<StoredRequest> {
        const headers: Record<string, string> = {};
        new Headers(init.headers).forEach((value, name) => {
            if (!name.startsWith("zkapi-")) headers[name] = value;
        });
        const body = await bodyBytes(init.body);
        const limit = this.options.maxBodyBytes ?? 1 << 20;
        if (body.length > limit) throw new SdkError("BAD_REQUEST", `the request body exceeds ${limit} bytes`);
        return { method, path: `${url.pathname}${url.search}`, headers, body: body.toString("base64") };
    }
}

function lazyProvers(given: ZkApiClientOptions["provers"]): { spend: () => CircuitProver; fold: () => CircuitProver; withdraw: () => CircuitProver } {
    let spend = given?.spend;
    let fold = given?.fold;
    let withdraw = given?.withdraw;
    return {
        spend: () => (spend ??= new CircuitProver(circuitArtifacts("spend-32"))),
        fold: () => (fold ??= new CircuitProver(circuitArtifacts("fold-2"))),
        withdraw: () => (withdraw ??= new CircuitProver(circuitArtifacts("withdraw-2-8")))
    };
}

async function bodyBytes(body: RequestInit["body"]): Promise<Buffer> {
    if (body === undefined || body === null) return Buffer.alloc(0);
    if (typeof body === "string") return Buffer.from(body, "utf8");
    if (body instanceof ArrayBuffer) return Buffer.from(body);
    if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (body instanceof URLSearchParams) return Buffer.from(body.toString(), "utf8");
    if (body instanceof Blob) return Buffer.from(await body.arrayBuffer());
    throw new SdkError("BAD_REQUEST", "the paid fetch takes a string, bytes, Blob or URLSearchParams body (a stream cannot be bound into the ticket)");
}
