/**
 * Gateway benchmark (protocol v2, issue 11 item 8): verified paid requests per second and the
 * latency the gateway adds, over real HTTP with real tickets, for the SQLite store, the
 * PostgreSQL store (over TCP on 127.0.0.1, and over its Unix-domain socket, as a gateway on the
 * database's machine reaches it), one and two replicas, Spend verification on a worker thread (the default)
 * or on the event loop; and the time to the first byte of a streamed answer through the
 * gateway against the upstream alone (BENCH_TTFB (20) requests, for an upstream whose first
 * event comes after 20 ms and one whose first event comes after 100 ms; BENCH_TTFB_DELAYS
 * picks other delays, or "none").
 *
 *   npx ts-node --transpile-only scripts/bench/gateway.ts
 *
 * BENCH_ACCOUNTS (40) deterministic accounts are registered on a fresh local deployment and
 * every index of their first window (W = 8) is proved once (scripts/bench/tickets.ts; cached
 * in .cache/bench): 8 × BENCH_ACCOUNTS real tickets, each signed for its own request. Each
 * round starts the configuration's gateway processes (scripts/bench/serve-gateway.ts) on a
 * fresh store, sends the first BENCH_SERIAL (20) tickets one at a time (the added latency: the
 * upstream is the gateway's in-process echo model), then all but the last BENCH_SERIAL
 * BENCH_CONCURRENCY (32) at a time (the throughput), from this process on the same machine (the
 * load generator shares the cores), then the last BENCH_SERIAL one at a time again (the added
 * latency of a warm gateway: its code compiled by then, as a gateway's is after its first
 * minutes). BENCH_ROUNDS (3) rounds per configuration; BENCH_CONFIGS picks configurations
 * (default: all). BENCH_STORE_MAX_BATCH sets how many claims (or completions) the PostgreSQL
 * store writes in one statement (default: the store's, 64; 1 writes each alone, as before
 * issue 11's write batching). Writes reports/bench/gateway.json and .md. The figures say under what load
 * the machine was (load average before each configuration, and the CPU the gateway and the
 * load generator used per request).
 *
 * Targets (issue 11): ≥ 300 verified paid requests/s on 2 cores with PostgreSQL, load
 * generator included; ≤ 10 ms added latency p50 one at a time.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { overUnixSocket, startPostgres } from "../lib/postgres";
import type { LocalPostgres } from "../lib/postgres";
import { startDeployedStack } from "../lib/stack";
import type { DeployedStack } from "../lib/stack";
import { busyWarning, envInt, fmtMs, machineInfo, machineMarkdown, markdownTable, stats, textTable, writeReport } from "./common";
import type { Stats } from "./common";
import { drive, LoadClient, machineCpuMs, postgresCpuMs, processCpuMs, startGateway, startUpstream } from "./load";
import type { GatewayProcess } from "./load";
import { BENCH_PROVIDER_KEY, benchRequests, registerBenchAccounts, resign } from "./tickets";
import type { BenchRequest } from "./tickets";

const ACCOUNTS = envInt("BENCH_ACCOUNTS", 40);
const ROUNDS = envInt("BENCH_ROUNDS", 3);
const CONCURRENCY = envInt("BENCH_CONCURRENCY", 32);
const SERIAL = envInt("BENCH_SERIAL", 20);
const TTFB_REQUESTS = envInt("BENCH_TTFB", 20);
const STORE_MAX_BATCH = process.env.BENCH_STORE_MAX_BATCH === undefined ? undefined : envInt("BENCH_STORE_MAX_BATCH", 64);

interface Config {
    readonly name: string;
    readonly store: "sqlite" | "postgres";
    readonly replicas: number;
    /** Spend verification threads per replica (undefined: the default, one on 2 CPUs; 0: the event loop). */
    readonly threads?: number;
    /** PostgreSQL reached through its Unix-domain socket (true) or TCP on 127.0.0.1 (default). */
    readonly unixSocket?: boolean;
}

const CONFIGS: readonly Config[] = [
    { name: "sqlite", store: "sqlite", replicas: 1 },
    { name: "postgres", store: "postgres", replicas: 1 },
    { name: "postgres-unix", store: "postgres", replicas: 1, unixSocket: true },
    { name: "postgres-loop", store: "postgres", replicas: 1, threads: 0 },
    { name: "postgres-threads-2", store: "postgres", replicas: 1, threads: 2 },
    { name: "postgres-2", store: "postgres", replicas: 2 },
    { name: "postgres-2-loop", store: "postgres", replicas: 2, threads: 0 },
    { name: "sqlite-2", store: "sqlite", replicas: 2 }
];
const SELECTED = (process.env.BENCH_CONFIGS ?? CONFIGS.map((c) => c.name).join(",")).split(",").filter((n) => n.length > 0);

const log = (message: string): void => console.log(`[gateway-bench] ${message}`);

interface RoundResult {
    readonly throughput: number;
    readonly serial: Stats;
    /** One at a time again, after the loaded phase. */
    readonly warmSerial: Stats;
    readonly loaded: Stats;
    /** CPU ms per loaded request: the gateway processes, the load generator (this process), the whole machine. */
    readonly gatewayCpuMs: number;
    readonly loadCpuMs: number;
    /** PostgreSQL's server processes (0 with SQLite). */
    readonly postgresCpuMs: number;
    readonly machineCpuMs: number;
}

interface ConfigResult {
    readonly config: Config;
    readonly loadBefore: number;
    readonly throughput: Stats;
    readonly addedLatency: Stats;
    readonly warmAddedLatency: Stats;
    readonly loadedLatency: Stats;
    readonly gatewayCpuMs: Stats;
    readonly loadCpuMs: Stats;
    readonly postgresCpuMs: Stats;
    readonly machineCpuMs: Stats;
}

let databases = 0;
async function freshStore(config: Config, postgres: LocalPostgres): Promise<string> {
    if (config.store === "sqlite") return `sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bench-")), "gateway.db")}`;
    const url = await postgres.createDatabase(`zkapi_bench_${process.pid}_${databases++}`);
    if (config.unixSocket !== true) return url;
    if (postgres.socketDir === undefined) throw new Error(`${config.name} needs the benchmark's own PostgreSQL (unset ZKAPI_TEST_POSTGRES_URL)`);
    return overUnixSocket(url, postgres.socketDir);
}

async function round(gateways: readonly GatewayProcess[], requests: readonly BenchRequest[]): Promise<RoundResult> {
    const urls = gateways.map((g) => g.url);
    const client = new LoadClient(CONCURRENCY);
    try {
        const oneAtATime = async (batch: readonly BenchRequest[]): Promise<number[]> => {
            const times: number[] = [];
            for (const [i, request] of batch.entries()) {
                const answer = await client.send(urls[i % urls.length]!, request);
                if (answer.status !== 200) throw new Error(`a benchmark request was refused: ${answer.status} ${answer.code ?? ""}`);
                times.push(answer.totalMs);
            }
            return times;
        };
        const serial = await oneAtATime(requests.slice(0, SERIAL));
        const gatewayCpu = gateways.map((g) => processCpuMs(g.pid));
        const loadCpu = process.cpuUsage();
        const postgresCpu = postgresCpuMs();
        const machine = machineCpuMs();
        const loaded = await drive(client, urls, requests.slice(SERIAL, requests.length - SERIAL), CONCURRENCY);
        const machineAfter = machineCpuMs();
        const postgresUsed = postgresCpuMs() - postgresCpu;
        const loadUsed = process.cpuUsage(loadCpu);
        const gatewayUsed = gateways.reduce((sum, g, i) => sum + processCpuMs(g.pid) - gatewayCpu[i]!, 0);
        const warmSerial = await oneAtATime(requests.slice(requests.length - SERIAL));
        return {
            throughput: loaded.sent / loaded.seconds,
            serial: stats(serial),
            warmSerial: stats(warmSerial),
            loaded: stats(loaded.latencies),
            gatewayCpuMs: gatewayUsed / loaded.sent,
            loadCpuMs: (loadUsed.user + loadUsed.system) / 1000 / loaded.sent,
            postgresCpuMs: postgresUsed / loaded.sent,
            machineCpuMs: (machineAfter.busy - machine.busy) / loaded.sent
        };
    } finally {
        client.close();
    }
}

async function measure(stack: DeployedStack, postgres: LocalPostgres, config: Config, requests: readonly BenchRequest[]): Promise<ConfigResult> {
    const loadBefore = os.loadavg()[0]!;
    const rounds: RoundResult[] = [];
    for (let r = 0; r < ROUNDS; r++) {
        const store = await freshStore(config, postgres);
        // The first replica creates the store's tables; the others start together after it.
        const gateways: GatewayProcess[] = [await startGateway(stack, { store, verificationThreads: config.threads, storeMaxBatch: STORE_MAX_BATCH })];
        try {
            const others = await Promise.allSettled(Array.from({ length: config.replicas - 1 }, () => startGateway(stack, { store, verificationThreads: config.threads, storeMaxBatch: STORE_MAX_BATCH })));
            for (const other of others) if (other.status === "fulfilled") gateways.push(other.value);
            const failed = others.find((s): s is PromiseRejectedResult => s.status === "rejected");
            if (failed !== undefined) throw failed.reason;
            rounds.push(await round(gateways, requests));
        } finally {
            for (const gateway of gateways) await gateway.stop();
        }
        const last = rounds[rounds.length - 1]!;
        log(
            `${config.name}: round ${r + 1}: ${last.throughput.toFixed(0)} req/s, c=1 p50 ${fmtMs(last.serial.p50)} ms (warm ${fmtMs(last.warmSerial.p50)} ms), c=${CONCURRENCY} p50 ${fmtMs(last.loaded.p50)} ms; ` +
                `CPU per request: gateway ${fmtMs(last.gatewayCpuMs)} ms, load generator ${fmtMs(last.loadCpuMs)} ms, PostgreSQL ${fmtMs(last.postgresCpuMs)} ms, machine ${fmtMs(last.machineCpuMs)} ms`
        );
    }
    return {
        config,
        loadBefore,
        throughput: stats(rounds.map((r) => r.throughput)),
        addedLatency: stats(rounds.map((r) => r.serial.p50)),
        warmAddedLatency: stats(rounds.map((r) => r.warmSerial.p50)),
        loadedLatency: stats(rounds.map((r) => r.loaded.p50)),
        gatewayCpuMs: stats(rounds.map((r) => r.gatewayCpuMs)),
        loadCpuMs: stats(rounds.map((r) => r.loadCpuMs)),
        postgresCpuMs: stats(rounds.map((r) => r.postgresCpuMs)),
        machineCpuMs: stats(rounds.map((r) => r.machineCpuMs))
    };
}

interface TtfbResult {
    /** The test model server's delay before each streamed event (its first included). */
    readonly eventDelayMs: number;
    readonly upstream: Stats;
    /** Through a gateway that starts the upstream call while the ticket is checked (the client's earlier tickets passed). */
    readonly gateway: Stats;
    /** Through a gateway that calls the upstream after the checks (as for a client's first ticket). */
    readonly gatewayChecksFirst: Stats;
    readonly upstreamTotal: Stats;
    readonly gatewayTotal: Stats;
}

/** The upstreams of the time-to-first-byte runs: a fast one (first event after 20 ms), and one whose first event takes 100 ms, as a small model's first token may. */
const TTFB_EVENT_DELAYS_MS = ttfbDelays(process.env.BENCH_TTFB_DELAYS);

/** BENCH_TTFB_DELAYS: the upstreams' event delays in ms, comma-separated ("20,100" unless set; "none" skips the time to first byte). */
function ttfbDelays(raw: string | undefined): readonly number[] {
    if (raw === undefined || raw === "") return [20, 100];
    if (raw === "none") return [];
    return raw.split(",").map((part) => {
        const delay = Number(part);
        if (!Number.isInteger(delay) || delay < 0) throw new Error(`BENCH_TTFB_DELAYS must list whole milliseconds (or be "none"), not ${raw}`);
        return delay;
    });
}

/**
 * Time to the first byte of a streamed chat completion (`eventDelayMs` between the upstream's
 * events, and before the first), one request at a time: from the test model server alone; through a gateway in front of it,
 * whose head starts let the upstream call start while the ticket is checked (every request
 * here but the first comes from a client whose tickets passed); and through a gateway with
 * head starts off, which checks and records the ticket before it calls the upstream, as every
 * gateway does for a new client's first request.
 */
async function timeToFirstByte(stack: DeployedStack, postgres: LocalPostgres, requests: readonly BenchRequest[], eventDelayMs: number): Promise<TtfbResult> {
    if (requests.length < TTFB_REQUESTS + 2) throw new Error(`the time to first byte needs ${TTFB_REQUESTS + 2} tickets, ${requests.length} are left: raise BENCH_ACCOUNTS or lower BENCH_TTFB`);
    const upstream = await startUpstream();
    const gateway = await startGateway(stack, { store: await freshStore({ name: "ttfb", store: "postgres", replicas: 1 }, postgres), upstream: `${upstream.url}/v1` });
    const checksFirst = await startGateway(stack, {
        store: await freshStore({ name: "ttfb-checks-first", store: "postgres", replicas: 1 }, postgres),
        upstream: `${upstream.url}/v1`,
        headStarts: false
    });
    const client = new LoadClient(1);
    try {
        const direct: { first: number; total: number }[] = [];
        const through: { first: number; total: number }[] = [];
        const throughChecked: number[] = [];
        for (let i = 0; i < TTFB_REQUESTS + 2; i++) {
            const body = JSON.stringify({ model: `test-model+slow=${eventDelayMs}`, stream: true, messages: [{ role: "user", content: `stream ${i} of the time to first byte` }], max_tokens: 8 });
            const alone = await client.send(upstream.url, { body });
            if (alone.status !== 200) throw new Error(`the upstream answered ${alone.status}`);
            // The same ticket on both gateways: each has its own store.
            const paid = await client.send(gateway.url, resign(stack.deployment, requests[i]!, body));
            if (paid.status !== 200) throw new Error(`the gateway answered ${paid.status} ${paid.code ?? ""}`);
            const checked = await client.send(checksFirst.url, resign(stack.deployment, requests[i]!, body));
            if (checked.status !== 200) throw new Error(`the gateway (checks first) answered ${checked.status} ${checked.code ?? ""}`);
            if (i < 2) continue; // warm-up (and the head-start gateway's first request from this client)
            direct.push({ first: alone.firstByteMs, total: alone.totalMs });
            through.push({ first: paid.firstByteMs, total: paid.totalMs });
            throughChecked.push(checked.firstByteMs);
        }
        return {
            eventDelayMs,
            upstream: stats(direct.map((d) => d.first)),
            gateway: stats(through.map((d) => d.first)),
            gatewayChecksFirst: stats(throughChecked),
            upstreamTotal: stats(direct.map((d) => d.total)),
            gatewayTotal: stats(through.map((d) => d.total))
        };
    } finally {
        client.close();
        await gateway.stop();
        await checksFirst.stop();
        await upstream.stop();
    }
}

async function main(): Promise<void> {
    const machine = machineInfo();
    log(machineMarkdown(machine));
    const stack = await startDeployedStack({ providerSigningKey: BENCH_PROVIDER_KEY });
    const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const postgres = await startPostgres();
    const results: ConfigResult[] = [];
    const ttfb: TtfbResult[] = [];
    let tickets = 0;
    try {
        const identities = await registerBenchAccounts(stack, chain, ACCOUNTS);
        const requests = await benchRequests(stack, chain, identities);
        tickets = requests.length;
        if (tickets <= 2 * SERIAL) throw new Error(`${tickets} tickets leave none for the throughput after 2 × BENCH_SERIAL (${SERIAL}) one at a time: raise BENCH_ACCOUNTS or lower BENCH_SERIAL`);
        for (const config of CONFIGS.filter((c) => SELECTED.includes(c.name))) results.push(await measure(stack, postgres, config, requests));
        // Each run its own tickets (and each gateway its own store).
        for (const [k, delay] of TTFB_EVENT_DELAYS_MS.entries()) ttfb.push(await timeToFirstByte(stack, postgres, requests.slice(k * (TTFB_REQUESTS + 2)), delay));
    } finally {
        chain.destroy();
        await stack.stop();
        await postgres.stop();
    }
    const headers = [
        "store",
        "replicas",
        "Spend verification",
        "throughput req/s (median, range)",
        "added latency p50 ms (c=1): first requests, warm",
        `p50 ms at c=${CONCURRENCY}`,
        "CPU ms/request: gateway, load generator, PostgreSQL, machine",
        "load before"
    ];
    const rows = results.map((r) => [
        r.config.store === "sqlite" ? "SQLite" : r.config.unixSocket === true ? "PostgreSQL (Unix socket)" : "PostgreSQL (TCP)",
        String(r.config.replicas),
        r.config.threads === 0 ? "event loop" : (r.config.threads ?? 1) > 1 ? `${r.config.threads} worker threads` : "worker thread",
        `${r.throughput.median.toFixed(0)} (${r.throughput.min.toFixed(0)}–${r.throughput.max.toFixed(0)})`,
        `${fmtMs(r.addedLatency.median)}, ${fmtMs(r.warmAddedLatency.median)}`,
        fmtMs(r.loadedLatency.median),
        `${fmtMs(r.gatewayCpuMs.median)}, ${fmtMs(r.loadCpuMs.median)}, ${r.config.store === "postgres" ? fmtMs(r.postgresCpuMs.median) : "–"}, ${fmtMs(r.machineCpuMs.median)}`,
        r.loadBefore.toFixed(2)
    ]);
    const ttfbLines = ttfb.map(
        (t) =>
            `Time to first byte of a streamed chat completion (test model server, ${t.eventDelayMs} ms before each event, one at a time, n = ${t.gateway.n}): ` +
            `upstream alone p50 ${fmtMs(t.upstream.p50)} ms (p95 ${fmtMs(t.upstream.p95)}), through the gateway p50 ${fmtMs(t.gateway.p50)} ms (p95 ${fmtMs(t.gateway.p95)}): ` +
            `the gateway adds ${fmtMs(t.gateway.p50 - t.upstream.p50)} ms before the first event (the upstream call started while the ticket is checked); ` +
            `with the checks first (a new client's first request, or head starts off) p50 ${fmtMs(t.gatewayChecksFirst.p50)} ms (p95 ${fmtMs(t.gatewayChecksFirst.p95)}), +${fmtMs(t.gatewayChecksFirst.p50 - t.upstream.p50)} ms; ` +
            `whole stream ${fmtMs(t.upstreamTotal.p50)} ms alone, ${fmtMs(t.gatewayTotal.p50)} ms through the gateway.`
    );
    const ttfbLine = ttfbLines.join("\n\n");
    console.log(`\n${textTable(headers, rows)}\n\n${ttfbLine}`);
    const warning = busyWarning(machine);
    const markdown = [
        "## Gateway",
        "",
        machineMarkdown(machine),
        ...(warning === undefined ? [] : ["", warning]),
        "",
        `${tickets} real tickets per round (${tickets / 8} accounts × W = 8 indices; the first ${SERIAL} sent one at a time, then all but the last ${SERIAL} ${CONCURRENCY} at a time, then the last ${SERIAL} one at a time on the warm gateway), ` +
            `${ROUNDS} rounds per configuration, a fresh store each round, each replica its own process; the load generator runs on the same machine. ` +
            "CPU per request: the gateway processes (all threads), the load generator, and the whole machine (also PostgreSQL, and anything else running). " +
            "Targets: ≥ 300 verified requests/s on 2 cores with PostgreSQL, ≤ 10 ms added latency p50.",
        "",
        markdownTable(headers, rows),
        "",
        ttfbLine
    ].join("\n");
    writeReport("gateway", { machine, accounts: ACCOUNTS, tickets, rounds: ROUNDS, concurrency: CONCURRENCY, serial: SERIAL, results, timeToFirstByte: ttfb }, markdown);
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
