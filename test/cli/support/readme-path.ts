import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { createConnection } from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * The README's user path as a test reads it: the shell blocks between `<!-- readme-path:begin -->`
 * and `<!-- readme-path:end -->`, each typed in the terminal a `<!-- terminal: NAME -->` line names,
 * run exactly as written in a directory laid out like a fresh clone.
 */

export const BEGIN_MARKER = "<!-- readme-path:begin -->";
export const END_MARKER = "<!-- readme-path:end -->";
const TERMINAL = /^<!--\s*terminal:\s*([\w-]+)\s*-->\s*$/;

/** One command of the path: its text as the shell gets it, the terminal it is typed in, its README line. */
export interface ReadmeCommand {
    readonly terminal: string;
    readonly text: string;
    readonly line: number;
}

/** True while `text` has an open quote or ends with a line continuation (the shell would ask for more). */
function incomplete(text: string): boolean {
    let single = false;
    let double = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (single) {
            if (c === "'") single = false;
            continue;
        }
        if (c === "\\") {
            if (i === text.length - 1) return true;
            i++;
            continue;
        }
        if (double) {
            if (c === '"') double = false;
            continue;
        }
        if (c === "'") single = true;
        else if (c === '"') double = true;
        else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
            const end = text.indexOf("\n", i);
            if (end === -1) return false;
            i = end;
        }
    }
    return single || double;
}

/** The commands of the path, in document order; throws if the markers or a block's terminal are missing. */
export function readmeCommands(markdown: string): ReadmeCommand[] {
    const lines = markdown.split("\n");
    const begin = lines.findIndex((line) => line.trim() === BEGIN_MARKER);
    const end = lines.findIndex((line) => line.trim() === END_MARKER);
    if (begin === -1 || end === -1 || end < begin) throw new Error(`the README has no ${BEGIN_MARKER} … ${END_MARKER} section`);
    const commands: ReadmeCommand[] = [];
    let terminal: string | undefined;
    let inBlock = false;
    let pending: { text: string; line: number } | undefined;
    for (let n = begin + 1; n < end; n++) {
        const line = lines[n]!;
        if (!inBlock) {
            const named = TERMINAL.exec(line.trim());
            if (named !== null) terminal = named[1]!;
            if (/^```(sh|bash|shell)\s*$/.test(line.trim())) {
                if (terminal === undefined) throw new Error(`README line ${n + 1}: a shell block without a <!-- terminal: NAME --> line before it`);
                inBlock = true;
            }
            continue;
        }
        if (line.trim() === "```") {
            if (pending !== undefined) throw new Error(`README line ${pending.line}: the command is not complete at the end of its block`);
            inBlock = false;
            continue;
        }
        if (pending === undefined) {
            if (line.trim() === "" || line.trim().startsWith("#")) continue;
            pending = { text: line, line: n + 1 };
        } else pending = { text: `${pending.text}\n${line}`, line: pending.line };
        if (!incomplete(pending.text)) {
            commands.push({ terminal: terminal!, text: pending.text, line: pending.line });
            pending = undefined;
        }
    }
    if (inBlock) throw new Error("README: a shell block is not closed before the end marker");
    return commands;
}

/** The first line of a command, for messages. */
export const headOf = (command: ReadmeCommand): string => command.text.split("\n")[0]!;

/** Entries of a clone's root that the path writes: a fresh clone has none of them. */
const WRITTEN_BY_THE_PATH = [".git", ".zkapi", "deployments", "provider-key.json", "ignition", "reports", "coverage"];

/** Copied, not linked: Hardhat takes the real directory of the config it finds as the project root. */
const COPIED = ["hardhat.config.ts"];

/**
 * A directory laid out like a fresh clone of `root` after `npm ci && npm run build`: every entry
 * of the root linked (sources, node_modules, built packages) but the Hardhat config, copied so
 * that this directory is Hardhat's project root (the deploy task writes `deployments/` here);
 * none of the files the path writes. `npx` finds `zkapi` in `node_modules/.bin`.
 */
export function freshCloneLayout(root: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-readme-"));
    for (const entry of readdirSync(root)) {
        if (WRITTEN_BY_THE_PATH.includes(entry) || /\.db(-wal|-shm|-journal)?$/.test(entry)) continue;
        if (COPIED.includes(entry)) copyFileSync(path.join(root, entry), path.join(dir, entry));
        else symlinkSync(path.join(root, entry), path.join(dir, entry));
    }
    return dir;
}

/** The environment a new terminal starts with: the test's, without anything the path sets itself. */
export function cleanEnvironment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
        if (/^(ZKAPI_|HARDHAT_|npm_|MOCHA|TS_NODE)/.test(name)) continue;
        env[name] = value;
    }
    return env;
}

/** What a finished command printed. */
export interface CommandResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command with bash in `cwd`, as a terminal would. */
export function runCommand(text: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 600_000): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-c", text], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => {
            killGroup(child, "SIGKILL");
            reject(new Error(`timed out after ${timeoutMs} ms: ${text}\n${stdout}\n${stderr}`));
        }, timeoutMs);
        child.once("error", reject);
        child.once("exit", (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr });
        });
    });
}

/** The environment after an `export …` line, as bash computes it. */
export async function exported(text: string, cwd: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
    const result = await runCommand(`${text}\nenv -0`, cwd, env);
    if (result.code !== 0) throw new Error(`${text} failed: ${result.stderr}`);
    const next: NodeJS.ProcessEnv = {};
    for (const entry of result.stdout.split("\0")) {
        const at = entry.indexOf("=");
        if (at > 0) next[entry.slice(0, at)] = entry.slice(at + 1);
    }
    return next;
}

/** A command that keeps running (a node, a gateway, a proxy), started in its own process group. */
export interface Server {
    readonly command: string;
    readonly child: ChildProcess;
    output(): string;
    stop(): Promise<void>;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
        // already gone
    }
}

export function startServer(text: string, cwd: string, env: NodeJS.ProcessEnv): Server {
    const child = spawn("bash", ["-c", text], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-30_000));
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    return {
        command: text,
        child,
        output: () => output,
        stop: async () => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            killGroup(child, "SIGTERM");
            const stopped = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))]);
            if (!stopped) killGroup(child, "SIGKILL");
        }
    };
}

/** Waits until `ready` resolves true; fails if the server exits or after `timeoutMs`. */
export async function waitUntilReady(server: Server, ready: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (server.child.exitCode !== null) throw new Error(`${server.command} exited with ${server.child.exitCode}:\n${server.output()}`);
        if (await ready().catch(() => false)) return;
        if (Date.now() > deadline) throw new Error(`${server.command} did not become ready in ${timeoutMs} ms:\n${server.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/** True if something accepts connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = createConnection({ host: "127.0.0.1", port });
        socket.once("connect", () => {
            socket.destroy();
            resolve(true);
        });
        socket.once("error", () => resolve(false));
    });
}

/** The value of `--name <value>` in a command, if given. */
export function optionOf(text: string, name: string): string | undefined {
    const match = new RegExp(`--${name}[ =](\\S+)`).exec(text);
    return match?.[1];
}
