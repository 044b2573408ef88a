import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, copyFileSync } from "node:fs";
import path from "node:path";
import { CACHE_DIR, libraryDirs, packageDir, packageVersion, relative, ROOT } from "./config";
import type { CircuitConfig, CircuitsConfig } from "./config";
import { sha256, sha256FileSync } from "./hashing";

export interface CompiledCircuit {
    /** Hash of every source file (transitively included), the compiler and its flags. */
    readonly sourcesHash: string;
    /** Repository- or package-relative path -> SHA-256, for the manifest. */
    readonly sources: Record<string, string>;
    readonly compiler: string;
    readonly r1cs: string;
    readonly wasm: string;
    readonly sym: string;
}

const INCLUDE = /^\s*include\s+"([^"]+)"\s*;/gm;

/** Resolves an include like circom does: next to the including file, then in each library. */
function resolveInclude(name: string, from: string, libraries: string[]): string {
    for (const dir of [path.dirname(from), ...libraries]) {
        const candidate = path.resolve(dir, name);
        if (existsSync(candidate)) return candidate;
    }
    throw new Error(`cannot resolve include "${name}" from ${relative(from)}`);
}

/** Every file the instance includes, transitively, with its SHA-256. */
export function sourceClosure(instance: string, libraries: string[]): Map<string, string> {
    const seen = new Map<string, string>();
    const visit = (file: string): void => {
        if (seen.has(file)) return;
        const text = readFileSync(file, "utf8");
        seen.set(file, sha256(text));
        for (const match of text.matchAll(INCLUDE)) visit(resolveInclude(match[1]!, file, libraries));
    };
    visit(path.resolve(ROOT, instance));
    return seen;
}

/** A stable label for a source file: repository-relative, or package@version/path. */
function sourceLabel(file: string): string {
    const marker = `${path.sep}node_modules${path.sep}`;
    const at = file.lastIndexOf(marker);
    if (at < 0) return relative(file);
    const inside = file.slice(at + marker.length).split(path.sep);
    const pkg = inside[0]!.startsWith("@") ? `${inside[0]}/${inside[1]}` : inside[0]!;
    const rest = inside.slice(pkg.split("/").length).join("/");
    return `${pkg}@${packageVersion(pkg)}/${rest}`;
}

export function describeSources(circuit: CircuitConfig, config: CircuitsConfig): Omit<CompiledCircuit, "r1cs" | "wasm" | "sym"> {
    const libraries = libraryDirs(config);
    const closure = sourceClosure(circuit.instance, libraries);
    const sources: Record<string, string> = {};
    for (const [file, hash] of [...closure.entries()].map(([f, h]) => [sourceLabel(f), h] as const).sort()) {
        sources[file] = hash;
    }
    const compiler = `circom2@${packageVersion("circom2")} ${config.compilerFlags.join(" ")}`.trim();
    const sourcesHash = sha256(JSON.stringify({ compiler, sources }));
    return { sourcesHash, sources, compiler };
}

/**
 * Compiles one instance with circom2 (WebAssembly build of circom) into r1cs, wasm and sym,
 * cached under .cache/circuits/<name>/<sourcesHash>: a warm build does no compilation.
 */
export function compileCircuit(
    circuit: CircuitConfig,
    config: CircuitsConfig,
    log: (message: string) => void,
    cacheDir: string = CACHE_DIR
): CompiledCircuit {
    const described = describeSources(circuit, config);
    const outDir = path.join(cacheDir, "circuits", circuit.name, described.sourcesHash.slice(0, 16));
    const r1cs = path.join(outDir, `${circuit.name}.r1cs`);
    const wasm = path.join(outDir, `${circuit.name}.wasm`);
    const sym = path.join(outDir, `${circuit.name}.sym`);
    if (existsSync(r1cs) && existsSync(wasm) && existsSync(sym)) {
        log(`${circuit.name}: compiled (cached, sources ${described.sourcesHash.slice(0, 12)})`);
        return { ...described, r1cs, wasm, sym };
    }
    const started = Date.now();
    log(`${circuit.name}: compiling ${circuit.instance} with ${described.compiler}`);
    const tmp = `${outDir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const args = [
        path.join(packageDir("circom2"), "cli.js"),
        path.resolve(ROOT, circuit.instance),
        "--r1cs",
        "--wasm",
        "--sym",
        ...config.compilerFlags,
        ...libraryDirs(config).flatMap((dir) => ["-l", dir]),
        "-o",
        tmp
    ];
    const output = execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
    const stats = output.split("\n").filter((line) => /constraints|wires|inputs|outputs/.test(line));
    stats.forEach((line) => log(`${circuit.name}:   ${line.replace(/\x1b\[[0-9;]*m/g, "").trim()}`));
    const base = path.basename(circuit.instance, ".circom");
    copyFileSync(path.join(tmp, `${base}_js`, `${base}.wasm`), path.join(tmp, `${circuit.name}.wasm`));
    if (base !== circuit.name) {
        renameSync(path.join(tmp, `${base}.r1cs`), path.join(tmp, `${circuit.name}.r1cs`));
        renameSync(path.join(tmp, `${base}.sym`), path.join(tmp, `${circuit.name}.sym`));
    }
    rmSync(path.join(tmp, `${base}_js`), { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(tmp, outDir);
    log(`${circuit.name}: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s (r1cs ${sha256FileSync(r1cs).slice(0, 12)})`);
    return { ...described, r1cs, wasm, sym };
}
