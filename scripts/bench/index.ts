/**
 * Runs every benchmark in sequence, each in its own process, and combines their Markdown
 * into reports/bench/summary.md.
 *
 *   npx ts-node --transpile-only scripts/bench/index.ts
 *
 * The BENCH_* variables of each benchmark pass through (see circuits.ts and gas.ts).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { machineInfo, machineMarkdown, REPORT_DIR, ROOT } from "./common";

const BENCHMARKS = [
    { name: "circuits", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/circuits.ts"] },
    { name: "gas", command: ["npx", "hardhat", "run", "scripts/bench/gas.ts"] },
    { name: "verification", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/verification.ts"] },
    { name: "request-crypto", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/request-crypto.ts"] },
    { name: "gateway", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/gateway.ts"] },
    // Reuses the gateway benchmark's cached tickets: after it.
    { name: "abuse", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/abuse.ts"] },
    { name: "concurrency", command: ["npx", "ts-node", "--transpile-only", "scripts/bench/concurrency.ts"] }
] as const;

function main(): number {
    mkdirSync(REPORT_DIR, { recursive: true });
    const sections: string[] = [];
    const failed: string[] = [];
    for (const { name, command } of BENCHMARKS) {
        const markdown = path.join(REPORT_DIR, `${name}.md`);
        rmSync(markdown, { force: true });
        console.log(`\n=== ${name}: ${command.join(" ")}\n`);
        const started = Date.now();
        const result = spawnSync(command[0], command.slice(1), { cwd: ROOT, stdio: "inherit" });
        const seconds = ((Date.now() - started) / 1000).toFixed(0);
        if (result.status === 0 && existsSync(markdown)) {
            sections.push(`${readFileSync(markdown, "utf8").trim()}\n\n_\`${command.join(" ")}\` took ${seconds} s._`);
        } else {
            failed.push(name);
            sections.push(`## ${name}\n\n**FAILED** (\`${command.join(" ")}\` exited with ${result.status ?? result.signal}).`);
        }
    }
    const summary = [
        "# zk-api-credits benchmarks",
        "",
        `Generated ${new Date().toISOString()}. ${machineMarkdown(machineInfo())}`,
        "",
        ...sections.flatMap((section) => [section, ""])
    ].join("\n");
    const file = path.join(REPORT_DIR, "summary.md");
    writeFileSync(file, summary);
    console.log(`\nwrote ${path.relative(ROOT, file)}${failed.length > 0 ? `; FAILED: ${failed.join(", ")}` : ""}`);
    return failed.length > 0 ? 1 : 0;
}

process.exit(main());
