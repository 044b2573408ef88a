/**
 * One gateway process for the benchmarks, built as `zkapi provider start` builds it
 * (createGateway with a SQLite or PostgreSQL store, the default verifiers and admission
 * control, no request logging), configured by one JSON argument:
 *
 *   node -r ts-node/register/transpile-only scripts/bench/serve-gateway.ts '{"deploymentFile": …}'
 *
 * It prints `listening <url>` once it serves, and closes on SIGTERM. (The benchmarks start
 * their gateways through this file rather than the CLI so that they measure the gateway
 * alone, with options the CLI may not expose.)
 */
import { readFileSync } from "node:fs";
import { JsonRpcProvider } from "ethers";
import { parseDeployment } from "@zk-api-credits/protocol";
import {
    ClientAdmission,
    createGateway,
    HttpUpstream,
    PostgresNullifierStore,
    PriceTable,
    SqliteNullifierStore,
    UpstreamRouter,
    upstreamApi
} from "@zk-api-credits/provider";
import type { NullifierStore } from "@zk-api-credits/provider";

/** What a benchmark gateway runs with. */
export interface ServeOptions {
    readonly deploymentFile: string;
    /** The provider's signing key (0x hex string, as in the stack's key file). */
    readonly signingKey: string;
    readonly rpc: string;
    /** sqlite:<file> or a postgres:// URL. */
    readonly store: string;
    readonly port: number;
    /** Worker threads verifying Spend proofs (undefined: the default; 0: on the event loop). */
    readonly verificationThreads?: number;
    /**
     * Admission control on (default) or off; "many-addresses": on, with each client's own budget
     * unlimited, as if every junk ticket came from a fresh address (only the budget new clients
     * share then holds a flood back).
     */
    readonly admission?: boolean | "many-addresses";
    /** An OpenAI-compatible upstream base URL (default: the gateway's local echo model). */
    readonly upstream?: string;
    /** Upstream head starts for clients whose tickets passed (default) or none (false). */
    readonly headStarts?: boolean;
    /** PostgreSQL: most claims or completions per statement (undefined: the store's default; 1: each alone). */
    readonly storeMaxBatch?: number;
}

async function openStore(spec: string, maxBatch: number | undefined): Promise<NullifierStore> {
    if (spec.startsWith("sqlite:")) return new SqliteNullifierStore(spec.slice("sqlite:".length));
    if (spec.startsWith("postgres://") || spec.startsWith("postgresql://")) return PostgresNullifierStore.connect(spec, { maxBatch });
    throw new Error(`unknown store ${spec}`);
}

async function main(): Promise<void> {
    const options = JSON.parse(process.argv[2] ?? "{}") as ServeOptions;
    const deployment = parseDeployment(readFileSync(options.deploymentFile, "utf8"));
    const chain = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true, pollingInterval: 500 });
    const terms = { decimals: 18, maxCost: deployment.parameters.maxCost, policyPenalty: deployment.parameters.policyPenalty };
    const api =
        options.upstream === undefined
            ? undefined
            : upstreamApi({
                  upstream: new UpstreamRouter({ openai: new HttpUpstream({ dialect: "openai", baseUrl: options.upstream }) }),
                  prices: PriceTable.uniform(terms, "10", "20")
              });
    const store = await openStore(options.store, options.storeMaxBatch);
    const gateway = await createGateway({
        deployment,
        api,
        signingKey: options.signingKey,
        provider: chain,
        store,
        workers: false,
        verificationThreads: options.verificationThreads,
        admission: options.admission === false ? false : options.admission === "many-addresses" ? new ClientAdmission({ burst: Number.MAX_SAFE_INTEGER }) : undefined,
        headStarts: options.headStarts === false ? false : undefined,
        logger: { level: "error" }
    });
    await gateway.app.listen({ port: options.port, host: "127.0.0.1" });
    console.log(`listening http://127.0.0.1:${options.port}`);
    const stop = (): void => {
        void gateway
            .close()
            .then(() => store.close())
            .finally(() => {
                chain.destroy();
                process.exit(0);
            });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
});
