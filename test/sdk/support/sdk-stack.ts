import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { Identity } from "@zk-api-credits/protocol";
import { createGateway, EchoUpstream, PriceTable, SqliteNullifierStore, upstreamApi } from "@zk-api-credits/provider";
import type { Gateway, GatewayOptions, NullifierStore, PricingTerms } from "@zk-api-credits/provider";
import { FileAccountStore, FileSyncCache, ZkApiClient } from "@zk-api-credits/sdk";
import type { ChargeEvent, ProvingProgress, WaitNotice, ZkApiClientOptions } from "@zk-api-credits/sdk";
import { devWallet, startDeployedStack } from "../../../scripts/lib/stack";
import type { DeployedStack, StackOptions } from "../../../scripts/lib/stack";
import { prover } from "../../helpers/provers";

/** The one model the test gateway sells. */
export const MODEL = "echo";

/** A hardhat node in its own process with the registry deployed by the deploy task, and a v2 gateway over real HTTP. */
export interface SdkStack {
    readonly stack: DeployedStack;
    readonly chain: JsonRpcProvider;
    readonly registry: ICreditRegistry;
    readonly store: NullifierStore;
    readonly gateway: Gateway;
    readonly url: string;
    stop(): Promise<void>;
}

export interface SdkStackOptions {
    readonly stack?: StackOptions;
    readonly gateway?: Partial<GatewayOptions>;
    /** The API the gateway sells, built from the deployment's terms (default: the echo model at 10 in / 20 out). */
    readonly api?: (terms: PricingTerms) => GatewayOptions["api"];
}

export async function startSdkStack(options: SdkStackOptions = {}): Promise<SdkStack> {
    const stack = await startDeployedStack(options.stack);
    const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-sdk-gateway-")), "gateway.db"));
    const { maxCost, policyPenalty } = stack.deployment.parameters;
    // The local echo model behind every route, priced as a provider lists its models: unlisted ones are refused (404 NOT_FOUND, before the record).
    const terms: PricingTerms = { decimals: 18, maxCost, policyPenalty };
    const api = options.api?.(terms) ?? upstreamApi({ upstream: new EchoUpstream(), prices: PriceTable.parse({ models: { [MODEL]: { input: "10", output: "20" } } }, terms) });
    const gateway = await createGateway({
        api,
        deployment: stack.deployment,
        signingKey: stack.providerSigningKey,
        provider: chain,
        operator: new NonceManager(stack.operator.connect(chain)),
        store,
        slashProver: prover("slash"),
        workerPollMs: 200,
        logger: false,
        ...options.gateway
    });
    await gateway.app.listen({ port: 0, host: "127.0.0.1" });
    const address = gateway.app.server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    return {
        stack,
        chain,
        registry: ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain),
        store,
        gateway,
        url,
        stop: async () => {
            await gateway.close();
            await store.close();
            chain.destroy();
            await stack.stop();
        }
    };
}

/** A user: a funded dev account, an identity, a home with its account file, and clients opened on it. */
export interface SdkUser {
    readonly identity: Identity;
    readonly home: string;
    readonly accountFile: string;
    readonly wallet: NonceManager;
    readonly address: string;
    readonly chain: JsonRpcProvider;
    readonly deposit: bigint;
    /** Opens a client on the user's account file (each call: a new client, as a new process would). */
    open(extra?: Partial<ZkApiClientOptions>): Promise<ZkApiClient>;
}

/** The provers of the committed artifacts (loaded once per process). */
export const PROVERS = { spend: prover("spend-32"), fold: prover("fold-2"), withdraw: prover("withdraw-2-8") };

export async function sdkUser(s: SdkStack, accountIndex: number, options: { deposit?: bigint; register?: boolean } = {}): Promise<SdkUser> {
    const deposit = options.deposit ?? 10n ** 19n;
    const chain = new JsonRpcProvider(s.stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const wallet = new NonceManager(devWallet(accountIndex).connect(chain));
    const address = await wallet.getAddress();
    const token = TestToken__factory.connect(s.stack.deployment.contracts.token, wallet);
    await (await token.mint(address, deposit)).wait();
    const identity = new Identity();
    const home = mkdtempSync(path.join(os.tmpdir(), "zkapi-sdk-user-"));
    const accountFile = path.join(home, "account.json");
    const open = (extra: Partial<ZkApiClientOptions> = {}): Promise<ZkApiClient> =>
        ZkApiClient.create({
            deployment: s.stack.deployment,
            identity,
            store: new FileAccountStore(accountFile),
            syncCache: new FileSyncCache(path.join(home, "tree.json")),
            provider: chain,
            signer: wallet,
            gatewayUrl: s.url,
            provers: PROVERS,
            pollIntervalMs: 50,
            ...extra
        });
    const user: SdkUser = { identity, home, accountFile, wallet, address, chain, deposit, open };
    if (options.register !== false) {
        const client = await open();
        await client.register(deposit);
        await client.close();
    }
    return user;
}

/** A chat completion request (the gateway's local echo model). */
export function chat(content: string, options: { maxTokens?: number; stream?: boolean } = {}): RequestInit {
    return {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content }], max_tokens: options.maxTokens ?? 32, ...(options.stream ? { stream: true } : {}) })
    };
}

/** Polls `check` until it returns a value (not undefined); fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** Everything a client reported, for assertions. */
export interface ClientRecord {
    readonly charged: ChargeEvent[];
    readonly proving: ProvingProgress[];
    readonly waiting: WaitNotice[];
    readonly errors: unknown[];
    /** Charges that failed the client's audit ("charge-disputed"). */
    readonly disputes: { readonly index: bigint; readonly error: unknown }[];
}

export function recorder(client: ZkApiClient): ClientRecord {
    const seen: ClientRecord = { charged: [], proving: [], waiting: [], errors: [], disputes: [] };
    client.on("charge-disputed", (dispute) => seen.disputes.push(dispute));
    client.on("charged", (event) => seen.charged.push(event));
    client.on("proving", (progress) => seen.proving.push(progress));
    client.on("waiting", (notice) => seen.waiting.push(notice));
    client.on("background-error", (error) => seen.errors.push(error));
    return seen;
}

/** The ticket indices charged in a given way, ascending. */
export function chargedIndices(events: readonly ChargeEvent[], how: ChargeEvent["how"]): bigint[] {
    return events
        .filter((e) => e.how === how)
        .map((e) => e.index)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export const range = (from: number, to: number): bigint[] => Array.from({ length: to - from }, (_, i) => BigInt(from + i));

/** A request the gateway refuses before recording its ticket: a model without a price (404 NOT_FOUND). */
export const UNPRICED: RequestInit = {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })
};

export interface WorkerResult {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs support/client-worker.ts in its own process on the user's account file. */
export function runClientWorker(s: SdkStack, user: SdkUser, mode: "requests" | "die-before-send" | "die-after-answer", count: number): Promise<WorkerResult> {
    const config = { mode, deploymentFile: s.stack.deploymentFile, rpcUrl: s.stack.node.url, gatewayUrl: s.url, home: user.home, secret: user.identity.exportSecret(), count };
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "client-worker.ts"), JSON.stringify(config)], {
        cwd: path.resolve(__dirname, "../../.."),
        stdio: ["ignore", "pipe", "pipe"]
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal, stdout, stderr })));
}
