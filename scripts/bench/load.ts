/**
 * The load side of the gateway benchmarks: gateway processes (serve-gateway.ts), a light HTTP
 * client (undici's pool with keep-alive: the load generator shares the cores with the gateway),
 * CPU accounting from /proc, and time to first byte.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { freePort } from "../lib/local-node";
import type { DeployedStack } from "../lib/stack";
import { ROOT } from "./common";
import type { ServeOptions } from "./serve-gateway";
import { BENCH_PATH } from "./tickets";
import type { BenchRequest } from "./tickets";

/** A gateway process. */
export interface GatewayProcess {
    readonly url: string;
    readonly pid: number;
    stop(): Promise<void>;
}

/** A long-running child process started with ts-node, ready once its output matches `ready`. */
async function startProcess(script: string, args: string[], ready: RegExp, what: string, nodeFlags: string[] = []): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
    const child = spawn(process.execPath, [...nodeFlags, "-r", "ts-node/register/transpile-only", path.join(ROOT, script), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    return new Promise((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
            output = (output + chunk.toString()).slice(-20_000);
            const match = ready.exec(output);
            if (match !== null) resolve({ child, match });
        };
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${output}`)));
    });
}

async function stopProcess(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
}

/** Starts a gateway process on `store` (sqlite:<file> or a postgres:// URL). */
export async function startGateway(
    stack: DeployedStack,
    options: { store: string; verificationThreads?: number; admission?: ServeOptions["admission"]; upstream?: string; headStarts?: boolean; storeMaxBatch?: number }
): Promise<GatewayProcess> {
    const port = await freePort();
    const serve: ServeOptions = {
        deploymentFile: stack.deploymentFile,
        signingKey: stack.providerSigningKey,
        rpc: stack.node.url,
        store: options.store,
        port,
        verificationThreads: options.verificationThreads,
        admission: options.admission,
        upstream: options.upstream,
        headStarts: options.headStarts,
        storeMaxBatch: options.storeMaxBatch
    };
    // BENCH_GATEWAY_NODE_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": profile the gateways.
    const flags = (process.env.BENCH_GATEWAY_NODE_FLAGS ?? "").split(" ").filter((f) => f.length > 0);
    const { child } = await startProcess("scripts/bench/serve-gateway.ts", [JSON.stringify(serve)], /^listening /m, "gateway", flags);
    return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) };
}

/** The test model server (test/support/upstream-server.ts) in its own process. */
export async function startUpstream(): Promise<{ url: string; stop(): Promise<void> }> {
    const { child, match } = await startProcess("test/support/upstream-server.ts", [], /listening on (http:\/\/127\.0\.0\.1:\d+)/, "upstream server");
    return { url: match[1]!, stop: () => stopProcess(child) };
}

/** CPU time (user + system, all threads) a process has used, in ms (from /proc; Linux). */
export function processCpuMs(pid: number): number {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** CPU time (user + system) used so far by every PostgreSQL server process on the machine, in ms (from /proc; Linux). */
export function postgresCpuMs(): number {
    let total = 0;
    for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
            total += processCpuMs(Number(entry));
        } catch {
            // The process ended meanwhile.
        }
    }
    return total;
}

/** Busy and total CPU time of the whole machine so far, in ms (from /proc/stat). */
export function machineCpuMs(): { busy: number; total: number } {
    const [, ...values] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
    const ticks = values.map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const total = ticks.reduce((sum, v) => sum + v, 0);
    return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

/** A client's answer to one request. */
export interface Answer {
    readonly status: number;
    readonly code?: string;
    /** ms from sending to the first byte of the body, and to its end. */
    readonly firstByteMs: number;
    readonly totalMs: number;
}

/**
 * A keep-alive HTTP client (one connection per concurrent request, no pipelining), from an
 * optional local address. It is undici's connection pool driven through its dispatch API (no
 * response stream is built): the load generator shares the two cores with what it measures,
 * and this costs it 0.40–0.60 ms of CPU per request in most rounds where node:http's client
 * took 0.55–0.70 (2026-12-04, same hour, same machine).
 */
export class LoadClient {
    private readonly pools = new Map<string, Pool>();

    constructor(private readonly maxSockets: number, private readonly localAddress?: string) {}

    private pool(origin: string): Pool {
        let pool = this.pools.get(origin);
        if (pool === undefined) {
            pool = new Pool(origin, { connections: this.maxSockets, pipelining: 1, localAddress: this.localAddress });
            this.pools.set(origin, pool);
        }
        return pool;
    }

    /** POSTs `body` to `url` + `path` with the ticket header (if any). */
    send(url: string, request: { body: string; header?: string }, path = BENCH_PATH): Promise<Answer> {
        const body = Buffer.from(request.body);
        const headers: Record<string, string> = { "content-type": "application/json", "content-length": String(body.length) };
        if (request.header !== undefined) headers["zkapi-ticket"] = request.header;
        const started = performance.now();
        return new Promise((resolve, reject) => {
            let status = 0;
            let code: string | undefined;
            let firstByteMs = -1;
            this.pool(new URL(url).origin).dispatch(
                { method: "POST", path, headers, body },
                {
                    onConnect: () => undefined,
                    onError: reject,
                    onHeaders: (statusCode, rawHeaders) => {
                        status = statusCode;
                        for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
                            if (rawHeaders[i]!.toString("latin1").toLowerCase() === "zkapi-error") code = rawHeaders[i + 1]!.toString("latin1");
                        }
                        return true;
                    },
                    onData: () => {
                        if (firstByteMs < 0) firstByteMs = performance.now() - started;
                        return true;
                    },
                    onComplete: () => {
                        const totalMs = performance.now() - started;
                        resolve({ status, code, firstByteMs: firstByteMs < 0 ? totalMs : firstByteMs, totalMs });
                    }
                }
            );
        });
    }

    close(): void {
        for (const pool of this.pools.values()) void pool.destroy();
        this.pools.clear();
    }
}

/** Sends `requests` over `urls` (round robin), `concurrency` at a time; every answer must be 200. */
export async function drive(
    client: LoadClient,
    urls: readonly string[],
    requests: readonly BenchRequest[],
    concurrency: number,
    until?: () => boolean
): Promise<{ latencies: number[]; seconds: number; sent: number }> {
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < requests.length && (until === undefined || !until())) {
                const i = next++;
                const answer = await client.send(urls[i % urls.length]!, requests[i]!);
                if (answer.status !== 200) throw new Error(`a benchmark request was refused: ${answer.status} ${answer.code ?? ""}`);
                latencies.push(answer.totalMs);
            }
        })
    );
    return { latencies, seconds: (performance.now() - started) / 1000, sent: latencies.length };
}
