/**
 * Junk-flood benchmark (issue 11 item 7): what honest paid requests keep of their throughput
 * and latency while another client floods the gateway with junk tickets built from public data
 * (canonical envelope, the gateway's context and current epoch root, a fresh ephemeral key that
 * really signs each request, random group elements as the proof: every check passes but the
 * pairing), and what each junk ticket costs the gateway.
 *
 *   npx ts-node --transpile-only scripts/bench/abuse.ts
 *
 * One gateway process (PostgreSQL store, Spend verification on a worker thread), a fresh store
 * per configuration. The honest client (127.0.0.1) sends BENCH_HONEST (150) real tickets
 * BENCH_CONCURRENCY (16) at a time, first alone, then while the attacker (127.0.0.2) keeps
 * BENCH_JUNK_CONCURRENCY (64) junk tickets in flight. Configurations: admission control on
 * (the default: the attacker's budget of failures is soon spent and it is refused before any
 * pairing); on, with each client's own budget unlimited, as if each junk ticket came from a
 * fresh address (only the budget new clients share holds the flood back; the honest client is
 * known, a proof of its passed during the warm-up); and off (every junk ticket reaches the
 * verifier). Needs 2 × BENCH_HONEST ≤ 8 × BENCH_ACCOUNTS tickets (the gateway benchmark's,
 * cached). Writes reports/bench/abuse.json and .md.
 */
import os from "node:os";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider } from "ethers";
import { startPostgres } from "../lib/postgres";
import { startDeployedStack } from "../lib/stack";
import { busyWarning, envInt, fmtMs, machineInfo, machineMarkdown, markdownTable, stats, textTable, writeReport } from "./common";
import type { Stats } from "./common";
import { drive, LoadClient, machineCpuMs, processCpuMs, startGateway } from "./load";
import { BENCH_PROVIDER_KEY, benchRequests, junkRequests, registerBenchAccounts } from "./tickets";
import type { BenchRequest } from "./tickets";

const ACCOUNTS = envInt("BENCH_ACCOUNTS", 40);
const HONEST = envInt("BENCH_HONEST", 150);
const CONCURRENCY = envInt("BENCH_CONCURRENCY", 16);
const JUNK_CONCURRENCY = envInt("BENCH_JUNK_CONCURRENCY", 64);
/** Junk tickets sent per second (0: as fast as BENCH_JUNK_CONCURRENCY in flight allows). */
const JUNK_RATE = Number(process.env.BENCH_JUNK_RATE ?? 0);
const ATTACKER = "127.0.0.2";

const log = (message: string): void => console.log(`[abuse-bench] ${message}`);

interface Phase {
    readonly throughput: number;
    readonly latency: Stats;
    readonly gatewayCpuMs: number;
    readonly machineCpuMs: number;
    /** Junk answered per second, by status and code (during the flood). */
    readonly junkPerSecond?: number;
    readonly junkAnswers?: Record<string, number>;
}

/** Admission control on (the default, against one attacking address), against many addresses (see serve-gateway.ts), or off. */
type AdmissionMode = "on" | "many-addresses" | "off";
const ADMISSION_MODES: readonly AdmissionMode[] = ["on", "many-addresses", "off"];
const MODE_LABELS: Record<AdmissionMode, string> = {
    on: "on (default), one attacking address",
    "many-addresses": "on (default), junk from more addresses than their budgets cover",
    off: "off"
};

interface ConfigResult {
    readonly admission: AdmissionMode;
    readonly loadBefore: number;
    readonly alone: Phase;
    readonly flooded: Phase;
    /** Gateway CPU ms per junk ticket answered (flood alone, no honest traffic). */
    readonly junkCpuMs: number;
    readonly junkOnlyPerSecond: number;
}

/**
 * Keeps `concurrency` junk tickets in flight until stopped (or sends JUNK_RATE per second, at
 * most `concurrency` in flight); counts the answers.
 */
function flood(url: string, junk: readonly BenchRequest[], concurrency: number): { stop(): Promise<{ answered: number; seconds: number; answers: Record<string, number> }> } {
    const client = new LoadClient(concurrency, ATTACKER);
    const answers: Record<string, number> = {};
    let answered = 0;
    let running = true;
    let sent = 0;
    let inFlight = 0;
    const started = performance.now();
    const sendOne = async (): Promise<void> => {
        inFlight++;
        const answer = await client.send(url, junk[sent++ % junk.length]!).catch(() => ({ status: 0, code: "NETWORK" }));
        inFlight--;
        const key = `${answer.status} ${answer.code ?? ""}`.trim();
        answers[key] = (answers[key] ?? 0) + 1;
        answered++;
    };
    const workers =
        JUNK_RATE > 0
            ? [
                  (async () => {
                      const pending: Promise<void>[] = [];
                      while (running) {
                          const due = Math.floor(((performance.now() - started) / 1000) * JUNK_RATE);
                          while (sent < due && inFlight < concurrency) pending.push(sendOne());
                          await new Promise((resolve) => setTimeout(resolve, 2));
                      }
                      await Promise.all(pending);
                  })()
              ]
            : Array.from({ length: concurrency }, async () => {
                  while (running) await sendOne();
              });
    return {
        async stop() {
            running = false;
            await Promise.all(workers);
            client.close();
            return { answered, seconds: (performance.now() - started) / 1000, answers };
        }
    };
}

async function main(): Promise<void> {
    const machine = machineInfo();
    log(machineMarkdown(machine));
    const stack = await startDeployedStack({ providerSigningKey: BENCH_PROVIDER_KEY });
    const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const postgres = await startPostgres();
    const results: ConfigResult[] = [];
    try {
        const identities = await registerBenchAccounts(stack, chain, ACCOUNTS);
        const requests = await benchRequests(stack, chain, identities);
        if (requests.length < 2 * HONEST) throw new Error(`BENCH_HONEST ${HONEST} needs ${2 * HONEST} tickets, there are ${requests.length}`);
        const root = BigInt(JSON.parse(Buffer.from(requests[0]!.header, "base64url").toString()).root as string);
        const junk = await junkRequests(stack.deployment, root, 64);
        let database = 0;
        for (const admission of ADMISSION_MODES) {
            const loadBefore = os.loadavg()[0]!;
            const gateway = await startGateway(stack, {
                store: await postgres.createDatabase(`zkapi_abuse_${process.pid}_${database++}`),
                admission: admission === "off" ? false : admission === "many-addresses" ? admission : true
            });
            const honest = new LoadClient(CONCURRENCY);
            try {
                // Warm-up (engines, connections), not counted.
                await drive(honest, [gateway.url], requests.slice(2 * HONEST, 2 * HONEST + 10), 4);
                const phase = async (tickets: readonly BenchRequest[], during?: ReturnType<typeof flood>): Promise<Phase> => {
                    const cpu = processCpuMs(gateway.pid);
                    const machineBefore = machineCpuMs();
                    const run = await drive(honest, [gateway.url], tickets, CONCURRENCY);
                    const machineAfter = machineCpuMs();
                    const gatewayCpu = processCpuMs(gateway.pid) - cpu;
                    const junkStats = during === undefined ? undefined : await during.stop();
                    return {
                        throughput: run.sent / run.seconds,
                        latency: stats(run.latencies),
                        gatewayCpuMs: gatewayCpu / run.sent,
                        machineCpuMs: (machineAfter.busy - machineBefore.busy) / run.sent,
                        junkPerSecond: junkStats === undefined ? undefined : junkStats.answered / junkStats.seconds,
                        junkAnswers: junkStats?.answers
                    };
                };
                const alone = await phase(requests.slice(0, HONEST));
                // The flood alone for a moment (admission spends the attacker's budget), then honest traffic during it.
                const junkOnly = flood(gateway.url, junk, JUNK_CONCURRENCY);
                const cpu = processCpuMs(gateway.pid);
                await new Promise((resolve) => setTimeout(resolve, 3_000));
                const junkOnlyStats = await junkOnly.stop();
                const junkCpuMs = (processCpuMs(gateway.pid) - cpu) / Math.max(1, junkOnlyStats.answered);
                const flooded = await phase(requests.slice(HONEST, 2 * HONEST), flood(gateway.url, junk, JUNK_CONCURRENCY));
                results.push({ admission, loadBefore, alone, flooded, junkCpuMs, junkOnlyPerSecond: junkOnlyStats.answered / junkOnlyStats.seconds });
                log(
                    `admission ${MODE_LABELS[admission]}: honest alone ${alone.throughput.toFixed(0)} req/s (p50 ${fmtMs(alone.latency.p50)} ms, p95 ${fmtMs(alone.latency.p95)} ms); ` +
                        `during the flood ${flooded.throughput.toFixed(0)} req/s (p50 ${fmtMs(flooded.latency.p50)} ms, p95 ${fmtMs(flooded.latency.p95)} ms) ` +
                        `with ${flooded.junkPerSecond!.toFixed(0)} junk/s answered ${JSON.stringify(flooded.junkAnswers)}; gateway CPU per junk ticket (flood alone) ${fmtMs(junkCpuMs)} ms`
                );
            } finally {
                honest.close();
                await gateway.stop();
            }
        }
    } finally {
        chain.destroy();
        await stack.stop();
        await postgres.stop();
    }
    const headers = [
        "admission control",
        "honest req/s alone → during the flood",
        "honest p50 / p95 ms alone",
        "honest p50 / p95 ms during",
        "junk answered/s during (answers)",
        "gateway CPU ms per junk ticket",
        "gateway CPU ms per honest request (alone)",
        "load before"
    ];
    const rows = results.map((r) => [
        MODE_LABELS[r.admission],
        `${r.alone.throughput.toFixed(0)} → ${r.flooded.throughput.toFixed(0)} (${((100 * r.flooded.throughput) / r.alone.throughput).toFixed(0)} %)`,
        `${fmtMs(r.alone.latency.p50)} / ${fmtMs(r.alone.latency.p95)}`,
        `${fmtMs(r.flooded.latency.p50)} / ${fmtMs(r.flooded.latency.p95)}`,
        `${r.flooded.junkPerSecond!.toFixed(0)} (${Object.entries(r.flooded.junkAnswers!)
            .map(([k, n]) => `${k}: ${n}`)
            .join(", ")})`,
        fmtMs(r.junkCpuMs),
        fmtMs(r.alone.gatewayCpuMs),
        r.loadBefore.toFixed(2)
    ]);
    console.log(`\n${textTable(headers, rows)}`);
    const warning = busyWarning(machine);
    const markdown = [
        "## Junk flood",
        "",
        machineMarkdown(machine),
        ...(warning === undefined ? [] : ["", warning]),
        "",
        `One gateway process (PostgreSQL, Spend verification on a worker thread). The honest client sends ${HONEST} real tickets ${CONCURRENCY} at a time, alone and then while an attacker ` +
            `on another address ${JUNK_RATE > 0 ? `sends ${JUNK_RATE} junk tickets per second (at most ${JUNK_CONCURRENCY} in flight)` : `keeps ${JUNK_CONCURRENCY} junk tickets in flight`} ` +
            "(public data only; each passes every check but the pairing). Everything runs on the same machine. " +
            "Gateway CPU per junk ticket: measured over 3 s of flood without honest traffic.",
        "",
        markdownTable(headers, rows)
    ].join("\n");
    writeReport(JUNK_RATE > 0 ? `abuse-${JUNK_RATE}` : "abuse", { machine, honest: HONEST, concurrency: CONCURRENCY, junkConcurrency: JUNK_CONCURRENCY, junkRate: JUNK_RATE, results }, markdown);
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
