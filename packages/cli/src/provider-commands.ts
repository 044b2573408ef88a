import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { JsonRpcProvider } from "ethers";
import { formatTokens, readTokenUnits } from "./token-amounts";
import { ERC20__factory, ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import {
    CircuitProver,
    ERROR_CODE_HEADER,
    GATEWAY_PATHS,
    identityCommitment,
    parseDeployment,
    providerPublicKey,
    recoverSecret,
    slashInputs,
    slashReceiverBinding,
    toSolidityProof
} from "@zk-api-credits/protocol";
import {
    allowEverything,
    blockPatterns,
    createGateway,
    defaultApi,
    HttpUpstream,
    PriceTable,
    upstreamApi,
    upstreamApiKey,
    UpstreamRouter,
    pendingRequest,
    PostgresNullifierStore,
    requestStruct,
    SnarkjsProofVerifier,
    SqliteNullifierStore
} from "@zk-api-credits/provider";
import type { GatewayApi, NullifierStore, UpstreamsByDialect } from "@zk-api-credits/provider";
import { readFileIfExists, writeFileDurably } from "@zk-api-credits/sdk";
import { secretFromEnv, walletFromEnv } from "./profile";

/** The provider's key file: the EdDSA signing key and its public key (registered on-chain). */
interface ProviderKeyFile {
    privateKey: string;
    publicKey: [string, string];
}

function readProviderKey(file: string): ProviderKeyFile {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as ProviderKeyFile;
    const derived = providerPublicKey(parsed.privateKey).map(String);
    if (derived[0] !== parsed.publicKey[0] || derived[1] !== parsed.publicKey[1]) throw new Error(`${file}: the public key does not match the private key`);
    return parsed;
}

export async function openStore(spec: string): Promise<NullifierStore> {
    if (spec.startsWith("postgres://") || spec.startsWith("postgresql://")) return PostgresNullifierStore.connect(spec);
    if (spec.startsWith("sqlite:")) return new SqliteNullifierStore(spec.slice("sqlite:".length));
    throw new Error("--store takes sqlite:<file> or postgres://...");
}

/**
 * What the gateway sells: the local echo model (the demo), or the upstreams given on the
 * command line, at the prices of the price file (token units; the token's decimals respected).
 */
function sellingApi(
    deployment: RegistryDeployment,
    decimals: number,
    options: { upstream?: string; anthropicUpstream?: string; ollamaUpstream?: string; pricing?: string; overflow: "cap" | "refuse" }
): GatewayApi {
    const terms = { decimals, maxCost: deployment.parameters.maxCost, policyPenalty: deployment.parameters.policyPenalty };
    const upstreams: UpstreamsByDialect = {
        ...(options.upstream ? { openai: new HttpUpstream({ dialect: "openai", baseUrl: options.upstream, apiKey: upstreamApiKey("openai") }) } : {}),
        ...(options.anthropicUpstream ? { anthropic: new HttpUpstream({ dialect: "anthropic", baseUrl: options.anthropicUpstream, apiKey: upstreamApiKey("anthropic") }) } : {}),
        ...(options.ollamaUpstream ? { ollama: new HttpUpstream({ dialect: "ollama", baseUrl: options.ollamaUpstream, apiKey: upstreamApiKey("ollama") }) } : {})
    };
    if (Object.keys(upstreams).length === 0) {
        if (options.pricing === undefined) return defaultApi(deployment, decimals);
        throw new Error("--pricing prices an upstream: give --upstream, --anthropic-upstream or --ollama-upstream");
    }
    const prices = options.pricing ? PriceTable.load(options.pricing, terms) : PriceTable.uniform(terms, "10", "20");
    return upstreamApi({ upstream: new UpstreamRouter(upstreams), prices, overflow: options.overflow });
}

/** zkapi provider keygen|start|stats|sweep|slash */
export function providerCommands(program: Command, lifecycle: { keepAlive: boolean }): void {
    const provider = program.command("provider").description("run a provider: keys, gateway, stats, revenue sweep, manual slash");

    provider
        .command("keygen")
        .description("create the provider's EdDSA signing key (the registry is deployed with its public key)")
        .requiredOption("--out <file>", "key file to write (keep it secret)")
        .action((options: { out: string }) => {
            if (readFileIfExists(options.out) !== undefined) throw new Error(`${options.out} exists: refusing to overwrite a key`);
            const privateKey = `0x${randomBytes(32).toString("hex")}`;
            const publicKey = providerPublicKey(privateKey).map(String) as [string, string];
            writeFileDurably(options.out, `${JSON.stringify({ privateKey, publicKey }, null, 2)}\n`);
            console.log(`provider public key [${publicKey.join(", ")}] written with its private key to ${options.out}`);
        });

    provider
        .command("start")
        .description("start the gateway (paid API routes, folds, voids, look-ups, registry info, health, metrics) with its withdrawal watcher and chain worker")
        .requiredOption("--deployment <file>", "deployment file of the registry")
        .requiredOption("--key <file>", "provider key file (zkapi provider keygen)")
        .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
        .option("--store <spec>", "sqlite:<file> (default) or postgres://user:pass@host/db", "sqlite:./gateway.db")
        .option("--operator-key-env <variable>", "environment variable with the Ethereum key that sends slashes and challenges", "ZKAPI_OPERATOR_KEY")
        .option("--port <port>", "port", "8787")
        .option("--host <host>", "interface", "127.0.0.1")
        .option("--upstream <url>", "an OpenAI-compatible base URL to sell (vLLM, Ollama's /v1, llama.cpp, OpenRouter: e.g. http://127.0.0.1:8000/v1); key from ZKAPI_UPSTREAM_API_KEY")
        .option("--anthropic-upstream <url>", "Anthropic's API base URL (e.g. https://api.anthropic.com); key from ZKAPI_ANTHROPIC_API_KEY")
        .option("--ollama-upstream <url>", "an Ollama server for its native /api routes (e.g. http://127.0.0.1:11434)")
        .option("--pricing <file>", "per-model prices (JSON, token units per million tokens; see README \"Providers\" and docs/http-api.md); default: every model at 10 in / 20 out")
        .option("--overflow <policy>", "a request whose max_tokens costs more than maxCost: cap it to fit, or refuse it", "cap")
        .option("--block <pattern...>", "policy: request bodies matching any of these regular expressions are violations")
        .option("--lease-ms <ms>", "how long a replica owns a ticket it serves without renewing (renewed every third of it)", "10000")
        .option("--verifier <kind>", "batch (concurrent proofs checked together) or single (snarkjs, one by one)", "batch")
        .option("--batch-window-ms <ms>", "how long the batch verifier gathers concurrent proofs", "2")
        .option("--verification-threads <n>", "worker threads verifying Spend proofs (0: on the event loop; default: one per CPU but one, at most 4)")
        .option("--body-limit <bytes>", "largest request body", "1048576")
        .option("--metrics-token-env <variable>", "environment variable with the bearer token for /metrics and stats (they reveal per-request charges)", "ZKAPI_METRICS_TOKEN")
        .option("--allow-insecure-setup", "accept a deployment made with the development keys on a public test network (never on a mainnet)")
        .option("--log-level <level>", "info, warn, error", "info")
        .action(
            async (options: {
                deployment: string;
                key: string;
                rpc: string;
                upstream?: string;
                anthropicUpstream?: string;
                ollamaUpstream?: string;
                pricing?: string;
                overflow: string;
                store: string;
                operatorKeyEnv: string;
                port: string;
                host: string;
                block?: string[];
                leaseMs: string;
                verifier: string;
                batchWindowMs: string;
                verificationThreads?: string;
                bodyLimit: string;
                metricsTokenEnv: string;
                allowInsecureSetup?: boolean;
                logLevel: string;
            }) => {
                const deployment = parseDeployment(readFileSync(options.deployment, "utf8"));
                const key = readProviderKey(options.key);
                if (key.publicKey[0] !== deployment.parameters.providerKey[0].toString() || key.publicKey[1] !== deployment.parameters.providerKey[1].toString()) {
                    throw new Error("this key is not the provider key the registry was deployed with");
                }
                const chain = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true, pollingInterval: 500 });
                const operator = process.env[options.operatorKeyEnv] ? walletFromEnv(options.operatorKeyEnv).connect(chain) : undefined;
                if (options.overflow !== "cap" && options.overflow !== "refuse") throw new Error("--overflow takes cap or refuse");
                const decimals = Number(await ERC20__factory.connect(deployment.contracts.token, chain).decimals());
                const gateway = await createGateway({
                    deployment,
                    api: sellingApi(deployment, decimals, options as { upstream?: string; anthropicUpstream?: string; ollamaUpstream?: string; pricing?: string; overflow: "cap" | "refuse" }),
                    signingKey: key.privateKey,
                    provider: chain,
                    operator,
                    store: await openStore(options.store),
                    policy: options.block ? blockPatterns(options.block.map((p) => new RegExp(p, "i"))) : allowEverything,
                    leaseMs: Number(options.leaseMs),
                    verifier: options.verifier === "single" ? new SnarkjsProofVerifier(circuitArtifacts("spend-32").verificationKey) : undefined,
                    foldVerifier: options.verifier === "single" ? new SnarkjsProofVerifier(circuitArtifacts("fold-2").verificationKey) : undefined,
                    batchWindowMs: Number(options.batchWindowMs),
                    verificationThreads: options.verificationThreads === undefined ? undefined : Number(options.verificationThreads),
                    bodyLimit: Number(options.bodyLimit),
                    metricsToken: process.env[options.metricsTokenEnv] || undefined,
                    allowInsecureSetup: options.allowInsecureSetup === true,
                    logger: { level: options.logLevel }
                });
                await gateway.app.listen({ port: Number(options.port), host: options.host });
                console.log(`gateway listening on http://${options.host}:${options.port} for registry ${deployment.contracts.registry} on chain ${deployment.chainId}`);
                lifecycle.keepAlive = true;
                const stop = (): void => void gateway.close().then(() => process.exit(0));
                process.on("SIGINT", stop);
                process.on("SIGTERM", stop);
                if (!operator) {
                    gateway.app.log.warn(`no ${options.operatorKeyEnv}: withdrawals are watched and disclosed tickets closed, but double-spends are not slashed and challenges are not sent`);
                }
            }
        );

    provider
        .command("stats")
        .description("print a running gateway's counters (needs the metrics token)")
        .option("--url <url>", "gateway URL", "http://127.0.0.1:8787")
        .option("--metrics-token-env <variable>", "environment variable with the gateway's metrics bearer token", "ZKAPI_METRICS_TOKEN")
        .action(async (options: { url: string; metricsTokenEnv: string }) => {
            const token = process.env[options.metricsTokenEnv];
            const response = await fetch(new URL(GATEWAY_PATHS.stats, options.url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
            if (!response.ok) throw new Error(`the gateway answered ${response.status} ${response.headers.get(ERROR_CODE_HEADER) ?? ""}: set ${options.metricsTokenEnv}`);
            console.log(JSON.stringify(await response.json(), null, 2));
        });

    provider
        .command("sweep")
        .description("pay the treasury its accrued revenue and the burn address its penalties (anyone may call it)")
        .requiredOption("--deployment <file>", "deployment file of the registry")
        .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
        .option("--operator-key-env <variable>", "environment variable with the sender's Ethereum key", "ZKAPI_OPERATOR_KEY")
        .action(async (options: { deployment: string; rpc: string; operatorKeyEnv: string }) => {
            const deployment = parseDeployment(readFileSync(options.deployment, "utf8"));
            const chain = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true });
            const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, walletFromEnv(options.operatorKeyEnv).connect(chain));
            const units = await readTokenUnits(deployment.contracts.token, chain);
            const [treasury, burn] = [await registry.pendingTreasury(), await registry.pendingBurn()];
            if (treasury === 0n && burn === 0n) {
                console.log("nothing to sweep: no revenue or penalty has accrued since the last sweep");
            } else {
                const receipt = await (await registry.sweep()).wait();
                console.log(`swept ${formatTokens(treasury, units)} to the treasury ${deployment.parameters.treasury} and ${formatTokens(burn, units)} to the burn address in ${receipt!.hash}`);
            }
            chain.destroy();
        });

    provider
        .command("slash")
        .description("slash a deposit by hand, from its secret or from two shares (x:y) of one ticket")
        .requiredOption("--deployment <file>", "deployment file of the registry")
        .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
        .option("--secret-env <variable>", "environment variable holding the recovered secret k")
        .option("--shares <x1:y1,x2:y2>", "two shares of one ticket (0x hex)")
        .option("--receiver <address>", "receives the bounty (default: the treasury; no bounty while a withdrawal is pending)")
        .option("--operator-key-env <variable>", "environment variable with the sender's Ethereum key", "ZKAPI_OPERATOR_KEY")
        .action(async (options: { deployment: string; rpc: string; secretEnv?: string; shares?: string; receiver?: string; operatorKeyEnv: string }) => {
            const deployment = parseDeployment(readFileSync(options.deployment, "utf8"));
            let secret: bigint;
            if (options.secretEnv) secret = BigInt(secretFromEnv(options.secretEnv, "secret"));
            else if (options.shares) {
                const [first, second] = options.shares.split(",").map((share) => share.split(":").map((v) => BigInt(v)));
                secret = recoverSecret({ x: first![0]!, y: first![1]! }, { x: second![0]!, y: second![1]! });
            } else throw new Error("give --secret-env or --shares");
            const chain = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true });
            const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, walletFromEnv(options.operatorKeyEnv).connect(chain));
            const receiver = options.receiver ?? deployment.parameters.treasury;
            const idc = identityCommitment(secret);
            const binding = slashReceiverBinding(deployment.chainId, deployment.contracts.registry, receiver);
            const { proof } = await new CircuitProver(circuitArtifacts("slash")).prove(slashInputs({ secret, receiverBinding: binding }));
            const { pA, pB, pC } = toSolidityProof(proof);
            const status = (await registry.deposits(idc)).status;
            let hash: string;
            if (status === 2n) {
                const request = await pendingRequest(registry, idc, deployment.deploymentBlock);
                if (request === undefined) throw new Error(`deposit ${idc} is under withdrawal but its request was not found`);
                hash = (await (await registry.slashWithdrawal(idc, requestStruct(request), receiver, { a: pA, b: pB, c: pC })).wait())!.hash;
                console.log(`slashed identity ${idc} (under withdrawal: no bounty) in ${hash}`);
            } else {
                hash = (await (await registry.slash(idc, receiver, { a: pA, b: pB, c: pC })).wait())!.hash;
                console.log(`slashed identity ${idc} in ${hash}; bounty to ${receiver}`);
            }
            chain.destroy();
        });
}
