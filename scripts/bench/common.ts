/**
 * Shared helpers of the benchmarks in scripts/bench: statistics, machine information,
 * report files (reports/bench/<name>.json and .md), and the few protocol fixtures the
 * benchmarks need (copied from test/helpers so that benchmarks do not depend on test code).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { CircuitProver, EdDSAPoseidonSigner, registryScope, toSolidityProof } from "@zk-api-credits/protocol";
import type { RegistryBinding, RegistryTerms } from "@zk-api-credits/protocol";
import type { Groth16Proof } from "snarkjs";
import { ARTIFACTS_DIR, packageVersion, ROOT } from "../circuits/config";

export { ROOT };
export const REPORT_DIR = path.join(ROOT, "reports/bench");

// ---------------------------------------------------------------- statistics

export interface Stats {
    readonly n: number;
    readonly median: number;
    readonly p50: number;
    readonly p95: number;
    readonly min: number;
    readonly max: number;
    readonly mean: number;
    /** max - min. */
    readonly spread: number;
    /** (max - min) / median, in percent. */
    readonly spreadPct: number;
}

/** The p-th percentile (0..100) of sorted samples, interpolated linearly between ranks. */
export function percentile(sorted: readonly number[], p: number): number {
    if (sorted.length === 0) throw new RangeError("no samples");
    const rank = (p / 100) * (sorted.length - 1);
    const low = Math.floor(rank);
    const high = Math.ceil(rank);
    return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function stats(samples: readonly number[]): Stats {
    const sorted = [...samples].sort((a, b) => a - b);
    const median = percentile(sorted, 50);
    const min = sorted[0]!;
    const max = sorted[sorted.length - 1]!;
    return {
        n: sorted.length,
        median,
        p50: median,
        p95: percentile(sorted, 95),
        min,
        max,
        mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
        spread: max - min,
        spreadPct: median === 0 ? 0 : ((max - min) / median) * 100
    };
}

/** The result of `fn` and the milliseconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const started = performance.now();
    const value = await fn();
    return { ms: performance.now() - started, value };
}

/** A positive integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
    const raw = process.env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
    return value;
}

// ---------------------------------------------------------------- formatting

export const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
export const fmtInt = (n: number | bigint): string => n.toLocaleString("en-US");

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
    const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
    return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The same table as aligned plain text for the console. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
    return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------- machine and reports

export interface MachineInfo {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly cpuMHz: number;
    readonly memoryGiB: number;
    readonly platform: string;
    readonly arch: string;
    readonly node: string;
    readonly loadAverage: readonly number[];
    readonly packages: Readonly<Record<string, string>>;
}

export function machineInfo(): MachineInfo {
    const cpus = os.cpus();
    return {
        cpus: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? "unknown",
        cpuMHz: cpus[0]?.speed ?? 0,
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        platform: `${os.platform()} ${os.release()}`,
        arch: os.arch(),
        node: process.version,
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
        packages: Object.fromEntries(["snarkjs", "circom2", "hardhat", "ffjavascript"].map((p) => [p, packageVersion(p)]))
    };
}

/** A caveat when something else was using the CPUs as a timing benchmark started. */
export function busyWarning(machine: MachineInfo): string | undefined {
    const load = machine.loadAverage[0] ?? 0;
    return load >= machine.cpus / 2
        ? `Caution: the machine was busy when this benchmark started (1-minute load ${load} on ${machine.cpus} CPUs); timings may be inflated.`
        : undefined;
}

export function machineMarkdown(machine: MachineInfo): string {
    const packages = Object.entries(machine.packages)
        .map(([p, v]) => `${p} ${v}`)
        .join(", ");
    return (
        `Machine: ${machine.cpus} × ${machine.cpuModel}${machine.cpuMHz > 0 ? ` (${machine.cpuMHz} MHz)` : ""}, ${machine.memoryGiB} GiB, ` +
        `${machine.platform} ${machine.arch}, Node ${machine.node}, load ${machine.loadAverage.join(" ")}; ${packages}.`
    );
}

/** Writes reports/bench/<name>.json (bigints as decimal strings) and reports/bench/<name>.md. */
export function writeReport(name: string, data: object, markdown: string): { json: string; md: string } {
    mkdirSync(REPORT_DIR, { recursive: true });
    const json = path.join(REPORT_DIR, `${name}.json`);
    const md = path.join(REPORT_DIR, `${name}.md`);
    const replacer = (_: string, value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value);
    writeFileSync(json, `${JSON.stringify({ name, generatedAt: new Date().toISOString(), ...data }, replacer, 2)}\n`);
    writeFileSync(md, markdown.endsWith("\n") ? markdown : `${markdown}\n`);
    return { json: path.relative(ROOT, json), md: path.relative(ROOT, md) };
}

// ---------------------------------------------------------------- protocol fixtures

/** Names of the committed circuit artifacts (protocol v2 instances). */
export type CircuitName = "spend-32" | "fold-2" | "withdraw-2-8" | "slash";

/** Paths of a committed circuit's proving artifacts. */
export function artifactPaths(name: CircuitName): { wasm: string; zkey: string; verificationKey: string } {
    const file = (extension: string): string => path.join(ARTIFACTS_DIR, `${name}${extension}`);
    return { wasm: file(".wasm"), zkey: file(".zkey"), verificationKey: file(".vkey.json") };
}

const provers = new Map<CircuitName, CircuitProver>();

/** The prover of a committed circuit (artifacts loaded once). */
export function prover(name: CircuitName): CircuitProver {
    let found = provers.get(name);
    if (found === undefined) {
        found = new CircuitProver(artifactPaths(name));
        provers.set(name, found);
    }
    return found;
}

/** The terms the benchmarks use off-chain: maxCost 1000, policyPenalty 500, reserve 10 %. */
export const BENCH_TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };

/** A provider with a fresh EdDSA key (signs bases and charges as the gateway does). */
export class BenchProvider {
    readonly signer = new EdDSAPoseidonSigner(randomBytes(32));
    readonly publicKey = this.signer.publicKey;

    binding(chainId: bigint, registry: string, terms: RegistryTerms = BENCH_TERMS): RegistryBinding {
        return { scope: registryScope(chainId, registry), providerKey: this.publicKey, terms };
    }
}

/** A proof in the argument shape of the generated verifiers and ICreditRegistry.Groth16Proof. */
export interface SolidityGroth16Proof {
    a: [bigint, bigint];
    b: [[bigint, bigint], [bigint, bigint]];
    c: [bigint, bigint];
}

export function solidityProof(proof: Groth16Proof): SolidityGroth16Proof {
    const { pA, pB, pC } = toSolidityProof(proof);
    return { a: pA, b: pB, c: pC };
}

/** Stops snarkjs' curve worker threads so that the process can exit. */
export async function terminateCurve(): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await (globalThis as any).curve_bn128?.terminate();
}
