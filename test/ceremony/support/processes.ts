import { spawn } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(__dirname, "../../..");

export interface ProcessResult {
    readonly code: number | null;
    readonly output: string;
}

/** Runs a TypeScript script of this repository in its own process, as a user runs it (ts-node). */
export function runTs(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
    return run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, script), ...args], env);
}

/** Runs a command in its own process and collects stdout and stderr. */
export function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.on("error", reject);
        child.on("exit", (code) => resolve({ code, output }));
    });
}

/** Like {@link runTs}, failing with the process's output unless it succeeds. */
export async function runTsOk(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const { code, output } = await runTs(script, args, env);
    if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}:\n${output}`);
    return output;
}
