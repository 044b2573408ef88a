import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import path from "node:path";

/** The `zkapi` command as npm links it (node_modules/.bin/zkapi → this launcher). */
export const ZKAPI = path.resolve(__dirname, "../../../packages/cli/bin/zkapi.js");
const ROOT = path.resolve(__dirname, "../../..");

export interface CliResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs `zkapi <args>` in its own process and collects what it printed. */
export function runZkapi(args: readonly string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [ZKAPI, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.once("error", reject);
        child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });
}

/** A user at the command line: one profile directory and one environment. */
export class CliUser {
    constructor(
        readonly home: string,
        readonly env: NodeJS.ProcessEnv
    ) {}

    run(...args: string[]): Promise<CliResult> {
        return runZkapi(["--home", this.home, ...args], this.env);
    }

    /** Runs a command that must succeed; its stdout. */
    async ok(...args: string[]): Promise<string> {
        const result = await this.run(...args);
        if (result.code !== 0) throw new Error(`zkapi ${args.join(" ")} exited with ${result.code}:\n${result.stdout}\n${result.stderr}`);
        return result.stdout;
    }

    /** Runs a command that must fail; its stderr. */
    async fails(...args: string[]): Promise<string> {
        const result = await this.run(...args);
        if (result.code === 0) throw new Error(`zkapi ${args.join(" ")} succeeded but should have failed:\n${result.stdout}`);
        return result.stderr;
    }

    withEnv(extra: NodeJS.ProcessEnv): CliUser {
        return new CliUser(this.home, { ...this.env, ...extra });
    }
}

/** A `zkapi` process that keeps serving (the proxy). */
export interface CliServer {
    readonly child: ChildProcess;
    readonly url: string;
    output(): string;
    stop(): Promise<void>;
}

/** Starts `zkapi <args>` and waits for the line `listening on <url>` on its stdout. */
export async function startZkapiServer(user: CliUser, args: readonly string[], timeoutMs = 120_000): Promise<CliServer> {
    const child = spawn(process.execPath, [ZKAPI, "--home", user.home, ...args], { cwd: ROOT, env: user.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`zkapi ${args.join(" ")} did not start:\n${output}`)), timeoutMs);
        const keep = (chunk: Buffer): void => {
            output = (output + chunk.toString()).slice(-50_000);
            const found = /listening on (http:\/\/[\d.:]+)/.exec(output);
            if (found !== null) {
                clearTimeout(timer);
                resolve(found[1]!);
            }
        };
        child.stdout!.on("data", keep);
        child.stderr!.on("data", keep);
        child.once("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`zkapi ${args.join(" ")} exited with ${code}:\n${output}`));
        });
    });
    return {
        child,
        url,
        output: () => output,
        stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGINT");
            await exited;
        }
    };
}

/** A counter of the gateway's Prometheus metrics (0 if absent), e.g. `zkapi_requests_rejected_total{reason="DOUBLE_SPEND"}`. */
export function metric(text: string, name: string): number {
    const escaped = name.replace(/[{}"[\]().*+?^$|\\]/g, "\\$&");
    const match = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
    return match === null ? 0 : Number(match[1]);
}
