/**
 * Gateway benchmark: throughput and added latency of paid requests under concurrent load,
 * with the SQLite store, the PostgreSQL store, and two replicas on one PostgreSQL; plus the
 * client's own overhead per request when its tickets are proved in advance.
 *
 *   npx ts-node --transpile-only scripts/bench/gateway.ts
 *
 * BENCH_TICKETS (240) real tickets are proved once (cached in .cache/bench, keyed by the
 * deployment and the proving key; the deployment is reproducible), then replayed against a
 * fresh store in each round (BENCH_ROUNDS, 3) and configuration. BENCH_CONCURRENCY (32)
 * requests are in flight at once. BENCH_VERIFIERS ("single,batch") picks the gateway's
 * proof verifiers. The upstream is the gateway's local echo model, so the latency measured
 * at concurrency 1 is what the gateway adds.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, keccak256, NonceManager, toUtf8Bytes } from "ethers";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { encodeTicket, GATEWAY_ERROR_CODES, Identity, requestHash, SNARK_SCALAR_FIELD, TICKET_HEADER } from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import { MemoryAccountStore, proveTicket, RegistrySync, ZkApiClient } from "@zk-api-credits/sdk";
import type { AccountRecord } from "@zk-api-credits/sdk";
import { startPostgres } from "../lib/postgres";
import { devWallet, startDeployedStack, startGatewayProcess } from "../lib/stack";
import type { DeployedStack, GatewayProcess } from "../lib/stack";
import { envInt, fmtMs, machineInfo, machineMarkdown, markdownTable, prover, ROOT, stats, terminateCurve, textTable, writeReport } from "./common";
import type { Stats } from "./common";

const TICKETS = envInt("BENCH_TICKETS", 240);
const ROUNDS = envInt("BENCH_ROUNDS", 3);
const CONCURRENCY = envInt("BENCH_CONCURRENCY", 32);
const SERIAL = 20;
const VERIFIERS = (process.env.BENCH_VERIFIERS ?? "single,batch").split(",").filter((v) => v.length > 0);
const PROVIDER_KEY = "0x7a6b6170692062656e63686d61726b2070726f7669646572206b65792c20696e736563757265";
const DEPOSIT = 10n ** 19n;

interface Ticket {
    readonly header: string;
    readonly body: string;
}

const log = (message: string): void => console.log(`[gateway-bench] ${message}`);

/** Registers TICKETS deterministic identities (same order, same amounts: same tree every run). */
async function registerBenchUsers(stack: DeployedStack, chain: JsonRpcProvider): Promise<Identity[]> {
    const funder = new NonceManager(devWallet(3).connect(chain));
    const token = TestToken__factory.connect(stack.deployment.contracts.token, funder);
    const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, funder);
    await (await token.mint(await funder.getAddress(), DEPOSIT * BigInt(TICKETS))).wait();
    await (await token.approve(stack.deployment.contracts.registry, DEPOSIT * BigInt(TICKETS))).wait();
    const identities: Identity[] = [];
    for (let i = 0; i < TICKETS; i++) {
        const identity = new Identity(BigInt(keccak256(toUtf8Bytes(`zk-api-credits benchmark user ${i}`))) % SNARK_SCALAR_FIELD);
        const tx = await registry.register(identity.commitment, DEPOSIT);
        if (i === TICKETS - 1) await tx.wait();
        identities.push(identity);
    }
    return identities;
}

/** One genesis ticket per user, proved once and cached. */
async function benchTickets(stack: DeployedStack, chain: JsonRpcProvider, identities: Identity[]): Promise<Ticket[]> {
    const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
    const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).syncUntil(TICKETS);
    const zkey = createHash("sha256").update(readFileSync(path.join(ROOT, "circuits/artifacts/spend-20.zkey"))).digest("hex");
    const key = createHash("sha256").update(`${stack.deployment.contracts.registry}:${stack.deployment.parameters.context}:${tree.root}:${zkey}:${TICKETS}`).digest("hex").slice(0, 16);
    const file = path.join(ROOT, ".cache/bench", `gateway-tickets-${key}.json`);
    if (existsSync(file)) {
        log(`${TICKETS} tickets from ${path.relative(ROOT, file)}`);
        return JSON.parse(readFileSync(file, "utf8")) as Ticket[];
    }
    const { parameters } = stack.deployment;
    const binding: RegistryBinding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
    const tickets: Ticket[] = [];
    const started = performance.now();
    for (let i = 0; i < TICKETS; i++) {
        const body = JSON.stringify({ model: "local-echo", messages: [{ role: "user", content: `benchmark request ${i}` }], max_tokens: 16 });
        const account: AccountRecord = {
            chainId: stack.deployment.chainId,
            registry: stack.deployment.contracts.registry,
            identityCommitment: identities[i]!.commitment,
            deposit: DEPOSIT,
            leafIndex: i,
            state: { spent: 0n, burned: 0n, seq: 0n },
            blinding: BigInt(i + 1)
        };
        const ticket = await proveTicket(prover("spend-20"), identities[i]!, account, tree, binding, parameters.treeDepth, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
        tickets.push({ header: encodeTicket({ version: 1, binding: "request", context: parameters.context, ...ticket }), body });
        if ((i + 1) % 20 === 0) log(`proved ${i + 1}/${TICKETS} tickets (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(tickets));
    return tickets;
}

async function send(url: string, ticket: Ticket): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", [TICKET_HEADER]: ticket.header },
        body: ticket.body
    });
    await response.arrayBuffer();
    if (response.status !== 200) {
        const code = response.headers.get("zkapi-error");
        throw new Error(`ticket refused: ${response.status} ${code} (${(GATEWAY_ERROR_CODES as readonly string[]).includes(code ?? "") ? "known" : "unknown"} code)`);
    }
    return performance.now() - started;
}

interface RoundResult {
    readonly throughput: number;
    readonly serial: Stats;
    readonly loaded: Stats;
}

async function round(urls: readonly string[], tickets: readonly Ticket[]): Promise<RoundResult> {
    const serialLatencies: number[] = [];
    for (let i = 0; i < SERIAL; i++) serialLatencies.push(await send(urls[i % urls.length]!, tickets[i]!));
    const rest = tickets.slice(SERIAL);
    const loadedLatencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
            while (next < rest.length) {
                const i = next++;
                loadedLatencies.push(await send(urls[i % urls.length]!, rest[i]!));
            }
        })
    );
    const seconds = (performance.now() - started) / 1000;
    return { throughput: rest.length / seconds, serial: stats(serialLatencies), loaded: stats(loadedLatencies) };
}

interface ConfigResult {
    readonly config: string;
    readonly verifier: string;
    readonly replicas: number;
    readonly throughput: Stats;
    readonly addedLatency: Stats;
    readonly loadedLatency: Stats;
}

/** The client's own time per request with a ticket proved in advance (ephemeral-key binding). */
async function clientOverhead(stack: DeployedStack, chain: JsonRpcProvider, url: string): Promise<Stats> {
    const wallet = new NonceManager(devWallet(4).connect(chain));
    await (await TestToken__factory.connect(stack.deployment.contracts.token, wallet).mint(await wallet.getAddress(), DEPOSIT)).wait();
    let sentAt = 0;
    let receivedAt = 0;
    const timedFetch: typeof fetch = async (input, init) => {
        sentAt = performance.now();
        const response = await fetch(input, init);
        receivedAt = performance.now();
        return response;
    };
    const client = await ZkApiClient.create({
        deployment: stack.deployment,
        identity: new Identity(),
        store: new MemoryAccountStore(),
        provider: chain,
        signer: wallet,
        gatewayUrl: url,
        binding: "ephemeral-key",
        prover: prover("spend-20"),
        fetch: timedFetch
    });
    await client.register(DEPOSIT);
    const overheads: number[] = [];
    for (let i = 0; i < 12; i++) {
        await client.prepareNextTicket();
        const started = performance.now();
        await client.fetch("/v1/chat/completions", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "local-echo", messages: [{ role: "user", content: `overhead ${i}` }] })
        });
        const finished = performance.now();
        if (i > 1) overheads.push(sentAt - started + (finished - receivedAt));
    }
    return stats(overheads);
}

async function main(): Promise<void> {
    const machine = machineInfo();
    log(machineMarkdown(machine));
    const stack = await startDeployedStack({ providerSigningKey: PROVIDER_KEY });
    const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const postgres = await startPostgres();
    const results: ConfigResult[] = [];
    let overhead: Stats | undefined;
    try {
        const identities = await registerBenchUsers(stack, chain);
        const tickets = await benchTickets(stack, chain, identities);
        const configs = [
            { config: "SQLite", replicas: 1, store: "sqlite" },
            { config: "PostgreSQL", replicas: 1, store: "postgres" },
            { config: "PostgreSQL, 2 replicas", replicas: 2, store: "postgres" }
        ] as const;
        let database = 0;
        for (const verifier of VERIFIERS) {
            for (const config of configs) {
                const rounds: RoundResult[] = [];
                for (let r = 0; r < ROUNDS; r++) {
                    const storeSpec =
                        config.store === "sqlite"
                            ? `sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bench-")), "gateway.db")}`
                            : await postgres.createDatabase(`zkapi_bench_${database++}`);
                    const gateways: GatewayProcess[] = [];
                    for (let g = 0; g < config.replicas; g++) {
                        gateways.push(await startGatewayProcess(stack, { store: storeSpec, operator: false, args: ["--log-level", "error", "--verifier", verifier] }));
                    }
                    try {
                        rounds.push(await round(gateways.map((g) => g.url), tickets));
                    } finally {
                        for (const gateway of gateways) await gateway.kill();
                    }
                    const last = rounds[rounds.length - 1]!;
                    log(`${config.config}, ${verifier}: round ${r + 1}: ${last.throughput.toFixed(0)} req/s, c=1 p50 ${fmtMs(last.serial.p50)} ms, c=${CONCURRENCY} p50 ${fmtMs(last.loaded.p50)} ms`);
                }
                results.push({
                    config: config.config,
                    verifier,
                    replicas: config.replicas,
                    throughput: stats(rounds.map((r) => r.throughput)),
                    addedLatency: stats(rounds.flatMap((r) => [r.serial.p50])),
                    loadedLatency: stats(rounds.map((r) => r.loaded.p50))
                });
            }
        }
        const gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bench-")), "gateway.db")}`, operator: false, args: ["--log-level", "error"] });
        try {
            overhead = await clientOverhead(stack, chain, gateway.url);
        } finally {
            await gateway.kill();
        }
    } finally {
        chain.destroy();
        await stack.stop();
        await postgres.stop();
    }
    const headers = ["store", "verifier", "replicas", "throughput req/s (median, spread)", "added latency p50 ms (c=1)", `p50 ms at c=${CONCURRENCY}`];
    const rows = results.map((r) => [
        r.config,
        r.verifier,
        String(r.replicas),
        `${r.throughput.median.toFixed(0)} (${r.throughput.min.toFixed(0)}–${r.throughput.max.toFixed(0)})`,
        fmtMs(r.addedLatency.median),
        fmtMs(r.loadedLatency.median)
    ]);
    console.log(`\n${textTable(headers, rows)}`);
    console.log(`client overhead per request (ticket proved in advance): p50 ${fmtMs(overhead!.p50)} ms, p95 ${fmtMs(overhead!.p95)} ms`);
    const markdown = [
        "## Gateway",
        "",
        machineMarkdown(machine),
        "",
        `${TICKETS} real tickets per round (the first ${SERIAL} sent one at a time, the rest ${CONCURRENCY} at a time), ${ROUNDS} rounds per configuration, a fresh store each round; load generated on the same machine. Targets: ≥ 300 verified requests/s on 2 cores with PostgreSQL, ≤ 10 ms added p50 latency, ≤ 50 ms client overhead.`,
        "",
        markdownTable(headers, rows),
        "",
        `Client overhead per request with a ticket proved in advance (sign the request with the one-time key, write the ticket down, check the receipt, save the state): p50 ${fmtMs(overhead!.p50)} ms, p95 ${fmtMs(overhead!.p95)} ms (n = ${overhead!.n}).`
    ].join("\n");
    writeReport("gateway", { machine, tickets: TICKETS, rounds: ROUNDS, concurrency: CONCURRENCY, results, clientOverhead: overhead }, markdown);
    await terminateCurve();
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
