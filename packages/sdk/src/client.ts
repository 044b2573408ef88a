import { randomBytes } from "node:crypto";
import { NonceManager } from "ethers";
import type { ContractRunner, Provider, Signer } from "ethers";
import { ICreditRegistry__factory, IERC20__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import {
    CircuitProver,
    decodeReceipt,
    EdDSAPoseidonSigner,
    encodeHeaderValue,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    GENESIS_STATE,
    RECEIPT_HEADER,
    RECEIPTS_PATH,
    randomScalar,
    registryContext,
    requestHash,
    reserveOf,
    spendableOf,
    TICKET_HEADER,
    withdrawInputs,
    toSolidityProof
} from "@zk-api-credits/protocol";
import type { Identity, RegistryBinding, RegistryDeployment, RequestBinding, TicketEnvelope } from "@zk-api-credits/protocol";
import type { AccountRecord, AccountStore, InFlightTicket, PreparedTicket, StoredRequest, WithdrawalRecord } from "./account-store";
import { SdkError } from "./errors";
import { RegistrySync } from "./registry-sync";
import type { SyncCache } from "./registry-sync";
import { applyReceipt, proveTicket } from "./ticket";
import type { ProvedTicket } from "./ticket";

export interface ZkApiClientOptions {
    readonly deployment: RegistryDeployment;
    readonly identity: Identity;
    readonly store: AccountStore;
    /** Reads the chain (events, checkpoints). */
    readonly provider: Provider;
    /** Sends the on-chain transactions (register, withdraw); optional for request-only use. */
    readonly signer?: Signer;
    /** The provider's gateway, e.g. http://127.0.0.1:8787 */
    readonly gatewayUrl: string;
    readonly syncCache?: SyncCache;
    /** Proves Spend tickets; defaults to the committed artifacts of @zk-api-credits/circuits. */
    readonly prover?: CircuitProver;
    /** Withdraw prover; same default. */
    readonly withdrawProver?: CircuitProver;
    /**
     * "request" (default): x = H(request), proved when the request is made.
     * "ephemeral-key": x = Poseidon(one-time key), the next ticket is proved in the background
     * as soon as the previous receipt arrives, so a request waits for no proving.
     */
    readonly binding?: RequestBinding;
    /** Largest request body the client will ticket (the gateway refuses larger ones). */
    readonly maxBodyBytes?: number;
    readonly fetch?: typeof fetch;
}

/** What the deposit can still pay for. */
export interface Balance {
    readonly deposit: bigint;
    readonly spent: bigint;
    readonly burned: bigint;
    readonly reserve: bigint;
    /** deposit - reserve - spent - burned: what requests may still consume. */
    readonly available: bigint;
    /** Requests made so far (the next ticket's seq). */
    readonly requests: bigint;
}

const RETRIES = 5;

/**
 * A client of one registry and its provider's gateway: registers a deposit, pays each HTTP
 * request with an anonymous ticket, keeps its account durably (the in-flight ticket is
 * written before the request leaves), recovers lost responses by nullifier, and withdraws.
 */
export class ZkApiClient {
    private accountRecord?: AccountRecord;
    private readonly registry: ICreditRegistry;
    private readonly sync: RegistrySync;
    private readonly binding: RegistryBinding;
    private readonly fetchImpl: typeof fetch;
    private proverInstance?: CircuitProver;
    private preparing?: Promise<void>;
    /** Requests of one account are sequential: each needs the previous signed state. */
    private queue: Promise<unknown> = Promise.resolve();

    private constructor(private readonly options: ZkApiClientOptions) {
        const runner: ContractRunner = options.signer ?? options.provider;
        this.registry = ICreditRegistry__factory.connect(options.deployment.contracts.registry, runner);
        this.sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(options.deployment.contracts.registry, options.provider),
            fromBlock: options.deployment.deploymentBlock,
            cache: options.syncCache
        });
        const { parameters } = options.deployment;
        this.binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        if (registryContext(this.binding) !== parameters.context) {
            throw new SdkError("WRONG_DEPLOYMENT", "the deployment's context does not match its parameters");
        }
        this.fetchImpl = options.fetch ?? fetch;
    }

    /** Opens the client and loads the stored account, if any. */
    static async create(options: ZkApiClientOptions): Promise<ZkApiClient> {
        const client = new ZkApiClient(options);
        client.accountRecord = await options.store.load();
        const account = client.accountRecord;
        if (account !== undefined && account.identityCommitment !== options.identity.commitment) {
            throw new SdkError("WRONG_DEPLOYMENT", "the stored account belongs to another identity");
        }
        if (account !== undefined && account.registry !== options.deployment.contracts.registry) {
            throw new SdkError("WRONG_DEPLOYMENT", "the stored account belongs to another registry");
        }
        return client;
    }

    get account(): AccountRecord | undefined {
        return this.accountRecord;
    }

    private get prover(): CircuitProver {
        this.proverInstance ??= this.options.prover ?? new CircuitProver(circuitArtifacts("spend-20"));
        return this.proverInstance;
    }

    private requireAccount(): AccountRecord {
        if (this.accountRecord === undefined) throw new SdkError("NOT_REGISTERED", "register a deposit first");
        if (this.accountRecord.withdrawal !== undefined) throw new SdkError("ACCOUNT_CLOSED", "this account is being withdrawn");
        return this.accountRecord;
    }

    private async save(record: AccountRecord): Promise<void> {
        await this.options.store.save(record);
        this.accountRecord = record;
    }

    private requireSigner(): Signer {
        if (this.options.signer === undefined) throw new Error("this operation sends a transaction: give the client a signer");
        return this.options.signer;
    }

    /**
     * Deposits `amount` under this identity (approves exactly what is missing, then
     * registers). If the identity is already registered on-chain (e.g. the process died
     * after the transaction), the registration is adopted from its event instead.
     */
    async register(amount: bigint): Promise<AccountRecord> {
        if (this.accountRecord !== undefined) throw new SdkError("ALREADY_REGISTERED", "this client already has an account");
        const idc = this.options.identity.commitment;
        const existing = await this.registry.deposits(idc);
        if (existing.status === 0n) {
            // approve + register back to back: count nonces locally, not from a cached RPC read.
            const signer = new NonceManager(this.requireSigner());
            const owner = await signer.getAddress();
            const token = IERC20__factory.connect(this.options.deployment.contracts.token, signer);
            const registryAddress = this.options.deployment.contracts.registry;
            if ((await token.allowance(owner, registryAddress)) < amount) await (await token.approve(registryAddress, amount)).wait();
            await (await this.registry.connect(signer).register(idc, amount)).wait();
        }
        const record = await this.registry.deposits(idc);
        const account: AccountRecord = {
            chainId: this.options.deployment.chainId,
            registry: this.options.deployment.contracts.registry,
            identityCommitment: idc,
            deposit: record.amount,
            leafIndex: Number(record.leafIndex),
            state: GENESIS_STATE,
            blinding: randomScalar()
        };
        await this.save(account);
        return account;
    }

    /** What the deposit can still pay for, from the latest signed state. */
    balance(): Balance {
        const account = this.accountRecord;
        if (account === undefined) throw new SdkError("NOT_REGISTERED", "register a deposit first");
        const { spent, burned, seq } = account.state;
        const reserve = reserveOf(account.deposit, this.binding.terms.reserveBps);
        const available = spendableOf(account.deposit, this.binding.terms.reserveBps) - spent - burned;
        return { deposit: account.deposit, spent, burned, reserve, available, requests: seq };
    }

    /**
     * fetch() that pays: proves (or takes the prepared) ticket, writes it down, sends the
     * request with it, checks the receipt and advances the account. Returns the gateway's
     * response (a receipt also comes with 4xx/5xx answers that consumed the ticket).
     */
    fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
        return this.exclusive(() => this.paidFetch(input, init));
    }

    private exclusive<T>(work: () => Promise<T>): Promise<T> {
        const result = this.queue.then(work, work);
        this.queue = result.catch(() => undefined);
        return result;
    }

    private async paidFetch(input: string | URL, init: RequestInit): Promise<Response> {
        let account = this.requireAccount();
        const request = await this.storedRequest(input, init);
        if (account.inFlight !== undefined) {
            if (sameRequest(account.inFlight.request, request)) return this.send(account.inFlight);
            await this.recoverInFlight();
            account = this.requireAccount();
        }
        const inFlight = await this.ticketFor(account, request);
        await this.save({ ...account, inFlight, prepared: this.options.binding === "ephemeral-key" ? undefined : account.prepared });
        return this.send(inFlight);
    }

    /**
     * Resolves an in-flight ticket after a crash or a lost response: fetches the signed
     * result by nullifier, or re-sends the very same request if the gateway never got it.
     * The ticket's seq is never used for another request.
     */
    recover(): Promise<Response | undefined> {
        return this.exclusive(() => this.recoverInFlight());
    }

    private async recoverInFlight(): Promise<Response | undefined> {
        const account = this.requireAccount();
        const inFlight = account.inFlight;
        if (inFlight === undefined) return undefined;
        const url = new URL(`${RECEIPTS_PATH}/0x${inFlight.nullifier.toString(16)}`, this.options.gatewayUrl);
        let response: Response;
        try {
            response = await this.fetchImpl(url);
        } catch (error) {
            throw new SdkError("GATEWAY_UNREACHABLE", `cannot reach the gateway to recover ticket ${inFlight.seq}: ${String(error)}`);
        }
        // Unknown (never received) or still pending (perhaps on a replica that died): send the
        // very same request again; the gateway serves it once, or takes the abandoned lease over.
        if (response.status === 404 || response.status === 202) return this.send(inFlight);
        return this.settle(inFlight, response);
    }

    /** Proves the next ticket in the background (ephemeral-key binding). Safe to call any time. */
    prepareNextTicket(): Promise<void> {
        this.preparing ??= this.prepare().finally(() => (this.preparing = undefined));
        return this.preparing;
    }

    private async prepare(): Promise<void> {
        const account = this.accountRecord;
        if (account === undefined || account.withdrawal !== undefined || account.inFlight !== undefined) return;
        if (account.prepared?.seq === account.state.seq) return;
        const privateKey = randomBytes(32);
        const ephemeralKey = new EdDSAPoseidonSigner(privateKey).publicKey;
        const tree = await this.sync.syncUntil(account.leafIndex + 1);
        const ticket = await proveTicket(this.prover, this.options.identity, account, tree, this.binding, this.options.deployment.parameters.treeDepth, ephemeralKeyBinding(ephemeralKey));
        const current = this.accountRecord;
        if (current === undefined || current.state.seq !== ticket.seq || current.inFlight !== undefined) return;
        const prepared: PreparedTicket = { ...ticket, ephemeralPrivateKey: privateKey.toString("hex"), ephemeralKey: [ephemeralKey[0], ephemeralKey[1]] };
        await this.save({ ...current, prepared });
    }

    private async ticketFor(account: AccountRecord, request: StoredRequest): Promise<InFlightTicket> {
        const body = Buffer.from(request.body, "base64");
        const hash = requestHash(request.method, request.path, body);
        if (this.options.binding === "ephemeral-key") {
            let prepared = account.prepared;
            if (prepared?.seq !== account.state.seq) {
                await this.prepareNextTicket();
                prepared = this.requireAccount().prepared;
                if (prepared?.seq !== account.state.seq) throw new SdkError("TICKET_IN_FLIGHT", "could not prepare the next ticket");
            }
            const signature = new EdDSAPoseidonSigner(Buffer.from(prepared.ephemeralPrivateKey, "hex")).signMessage(hash);
            const envelope = this.envelope(prepared, "ephemeral-key", { ephemeralKey: prepared.ephemeralKey, requestSignature: { R8: [signature.R8[0], signature.R8[1]], S: signature.S } });
            return this.inFlight(prepared, envelope, request);
        }
        const tree = await this.sync.syncUntil(account.leafIndex + 1);
        const ticket = await proveTicket(this.prover, this.options.identity, account, tree, this.binding, this.options.deployment.parameters.treeDepth, hash);
        return this.inFlight(ticket, this.envelope(ticket, "request"), request);
    }

    private envelope(ticket: ProvedTicket | PreparedTicket, binding: RequestBinding, extra: Partial<TicketEnvelope> = {}): TicketEnvelope {
        return {
            version: 1,
            binding,
            root: ticket.root,
            context: this.options.deployment.parameters.context,
            rerandomisedState: ticket.rerandomisedState,
            nullifier: ticket.nullifier,
            y: ticket.y,
            x: ticket.x,
            proof: ticket.proof,
            ...extra
        };
    }

    private inFlight(ticket: ProvedTicket | PreparedTicket, envelope: TicketEnvelope, request: StoredRequest): InFlightTicket {
        return {
            seq: ticket.seq,
            nullifier: ticket.nullifier,
            rerandomiser: ticket.rerandomiser,
            rerandomisedState: ticket.rerandomisedState,
            ticketHeader: encodeHeaderValue(envelope),
            request,
            createdAt: Date.now()
        };
    }

    private async send(inFlight: InFlightTicket): Promise<Response> {
        for (let attempt = 0; ; attempt++) {
            const url = new URL(inFlight.request.path, this.options.gatewayUrl);
            let response: Response;
            try {
                response = await this.fetchImpl(url, {
                    method: inFlight.request.method,
                    headers: { ...inFlight.request.headers, [TICKET_HEADER]: inFlight.ticketHeader },
                    body: inFlight.request.method === "GET" || inFlight.request.method === "HEAD" ? undefined : Buffer.from(inFlight.request.body, "base64")
                });
            } catch (error) {
                throw new SdkError("GATEWAY_UNREACHABLE", `the request did not complete; ticket ${inFlight.seq} stays in flight: ${String(error)}`);
            }
            const reason = response.headers.get(ERROR_CODE_HEADER);
            if (reason === "TICKET_IN_PROGRESS" && attempt < RETRIES) {
                await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
                continue;
            }
            return this.settle(inFlight, response);
        }
    }

    /** Applies the receipt a response carries; a response without one leaves the ticket in flight. */
    private async settle(inFlight: InFlightTicket, response: Response): Promise<Response> {
        const header = response.headers.get(RECEIPT_HEADER);
        if (header === null) {
            const reason = response.headers.get(ERROR_CODE_HEADER) ?? `HTTP ${response.status}`;
            throw new SdkError("GATEWAY_REJECTED", `the gateway refused ticket ${inFlight.seq} (${reason}); it stays in flight`, reason);
        }
        const account = this.requireAccount();
        const next = applyReceipt(account, inFlight, decodeReceipt(header), this.binding);
        await this.save(next);
        if (this.options.binding === "ephemeral-key") void this.prepareNextTicket().catch(() => undefined);
        return response;
    }

    private async storedRequest(input: string | URL, init: RequestInit): Promise<StoredRequest> {
        const url = new URL(input, this.options.gatewayUrl);
        const method = (init.method ?? "GET").toUpperCase();
        const headers: Record<string, string> = {};
        new Headers(init.headers).forEach((value, key) => {
            if (key !== TICKET_HEADER) headers[key] = value;
        });
        const body = await bodyBytes(init.body);
        if (body.length > (this.options.maxBodyBytes ?? 1 << 20)) throw new RangeError(`the request body exceeds ${this.options.maxBodyBytes ?? 1 << 20} bytes`);
        return { method, path: `${url.pathname}${url.search}`, headers, body: body.toString("base64") };
    }

    /** Starts the withdrawal of the latest state (resolving an in-flight ticket first). */
    async requestWithdrawal(recipient: string): Promise<WithdrawalRecord> {
        let account = this.requireAccount();
        if (account.inFlight !== undefined) {
            await this.recover();
            account = this.requireAccount();
        }
        await this.queue;
        const prover = this.options.withdrawProver ?? new CircuitProver(circuitArtifacts("withdraw"));
        const { proof, publicSignals } = await prover.prove(
            withdrawInputs({
                secret: this.options.identity.secret,
                state: account.state,
                blinding: account.blinding,
                signature: account.signature,
                registry: this.binding,
                recipient: BigInt(recipient)
            })
        );
        const request = { nullifier: publicSignals[1]!, recipient, spent: account.state.spent, burned: account.state.burned };
        const { pA, pB, pC } = toSolidityProof(proof);
        const registry = this.registry.connect(this.requireSigner());
        const receipt = await (await registry.requestWithdrawal(account.identityCommitment, request, { a: pA, b: pB, c: pC })).wait();
        const block = await this.options.provider.getBlock(receipt!.blockNumber);
        const withdrawal: WithdrawalRecord = {
            ...request,
            transactionHash: receipt!.hash,
            finalizableAt: BigInt(block!.timestamp) + this.options.deployment.parameters.challengeWindow,
            finalized: false
        };
        await this.save({ ...account, prepared: undefined, withdrawal });
        return withdrawal;
    }

    /** Pays out the withdrawal once its window has passed; returns the refund. */
    async finalizeWithdrawal(): Promise<bigint> {
        const account = this.accountRecord;
        const withdrawal = account?.withdrawal;
        if (account === undefined || withdrawal === undefined) throw new SdkError("NOT_REGISTERED", "no withdrawal was requested");
        const registry = this.registry.connect(this.requireSigner());
        const { nullifier, recipient, spent, burned } = withdrawal;
        await (await registry.finalizeWithdrawal(account.identityCommitment, { nullifier, recipient, spent, burned })).wait();
        await this.save({ ...account, withdrawal: { ...withdrawal, finalized: true } });
        return account.deposit - spent - burned;
    }
}

function sameRequest(a: StoredRequest, b: StoredRequest): boolean {
    return a.method === b.method && a.path === b.path && a.body === b.body;
}

async function bodyBytes(body: RequestInit["body"]): Promise<Buffer> {
    if (body === undefined || body === null) return Buffer.alloc(0);
    if (typeof body === "string") return Buffer.from(body, "utf8");
    if (body instanceof ArrayBuffer) return Buffer.from(body);
    if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    if (body instanceof URLSearchParams) return Buffer.from(body.toString(), "utf8");
    if (body instanceof Blob) return Buffer.from(await body.arrayBuffer());
    throw new TypeError("the paid fetch takes a string, bytes, Blob or URLSearchParams body");
}
