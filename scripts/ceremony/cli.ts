/** Small shared pieces of the ceremony's command-line tools. */
import { spawn } from "node:child_process";

/** Parses `--flag value` pairs (repeatable flags collect every value) and bare `--switch`es. */
export function parseFlags(argv: readonly string[], switches: readonly string[] = []): Map<string, string[]> {
    const flags = new Map<string, string[]>();
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i]!;
        if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}`);
        const name = arg.slice(2);
        if (switches.includes(name)) {
            flags.set(name, ["true"]);
            continue;
        }
        const value = argv[++i];
        if (value === undefined || value.startsWith("--")) throw new Error(`${arg} needs a value`);
        flags.set(name, [...(flags.get(name) ?? []), value]);
    }
    return flags;
}

export function single(flags: Map<string, string[]>, name: string): string | undefined {
    const values = flags.get(name);
    if (values !== undefined && values.length > 1) throw new Error(`--${name} is given twice`);
    return values?.[0];
}

export function required(flags: Map<string, string[]>, name: string): string {
    const value = single(flags, name);
    if (value === undefined) throw new Error(`--${name} is required`);
    return value;
}

const started = Date.now();
export function log(message: string): void {
    console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);
}

/** Runs `script` (a .ts file run through ts-node, or .js) with `args` in a child process. */
export function runScript(script: string, args: readonly string[]): Promise<void> {
    const nodeArgs = script.endsWith(".ts") ? ["-r", "ts-node/register/transpile-only", script, ...args] : [script, ...args];
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, nodeArgs, { stdio: ["ignore", "inherit", "inherit"] });
        child.on("error", reject);
        child.on("exit", (code, signal) =>
            code === 0 ? resolve() : reject(new Error(`${args[0] ?? script} ${args.slice(1).join(" ")} failed (${signal ?? code})`))
        );
    });
}

/** Runs `work` over `items`, at most `jobs` at a time; fails with the first failure. */
export async function inParallel<T>(items: readonly T[], jobs: number, work: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const lanes = Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, async () => {
        while (next < items.length) await work(items[next++]!);
    });
    await Promise.all(lanes);
}

/** Runs `main` and exits with its outcome (snarkjs leaves worker threads behind). */
export function runMain(main: () => Promise<void>): void {
    main()
        .then(() => process.exit(0))
        .catch((error: unknown) => {
            console.error(error instanceof Error ? error.message : error);
            process.exit(1);
        });
}
