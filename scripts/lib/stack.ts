import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { parseDeployment, providerPublicKey } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { freePort, runHardhat, startAnvil, startHardhatNode } from "./local-node";
import type { LocalNode } from "./local-node";

const ROOT = path.resolve(__dirname, "../..");

/** The development mnemonic both hardhat node and anvil fund by default. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** The i-th funded development account (its key is public: local chains only). */
export function devWallet(index: number): Wallet {
    const node = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`);
    return new Wallet(node.privateKey);
}

/** A local chain with a deployed registry, and the provider key it was deployed with. */
export interface DeployedStack {
    readonly node: LocalNode;
    readonly dir: string;
    readonly deployment: RegistryDeployment;
    readonly deploymentFile: string;
    readonly providerKeyFile: string;
    readonly providerSigningKey: string;
    readonly treasury: Wallet;
    readonly operator: Wallet;
    stop(): Promise<void>;
}

export interface StackOptions {
    readonly chain?: "hardhat" | "anvil";
    /** Overrides of deploy/parameters/local.json. */
    readonly parameters?: Record<string, string | number>;
    /** A fixed provider key (benchmarks that cache proofs need a reproducible deployment). */
    readonly providerSigningKey?: string;
    readonly log?: (message: string) => void;
}

/**
 * Starts a local node (hardhat node or anvil) in its own process and deploys the registry to
 * it with the deploy task, over JSON-RPC, exactly as an operator would. Account 0 deploys,
 * account 1 is the treasury, account 2 the owner/operator that sends slashes and challenges.
 */
export async function startDeployedStack(options: StackOptions = {}): Promise<DeployedStack> {
    const log = options.log ?? (() => undefined);
    const node = options.chain === "anvil" ? await startAnvil() : await startHardhatNode();
    log(`chain: ${node.kind} at ${node.url}`);
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-stack-"));
    const providerSigningKey = options.providerSigningKey ?? `0x${randomBytes(32).toString("hex")}`;
    const providerKeyFile = path.join(dir, "provider-key.json");
    writeFileSync(providerKeyFile, JSON.stringify({ privateKey: providerSigningKey, publicKey: providerPublicKey(providerSigningKey).map(String) }), { mode: 0o600 });
    const treasury = devWallet(1);
    const operator = devWallet(2);
    const local = JSON.parse(readFileSync(path.join(ROOT, "deploy/parameters/local.json"), "utf8")) as Record<string, unknown>;
    const parametersFile = path.join(dir, "parameters.json");
    writeFileSync(parametersFile, JSON.stringify({ ...local, treasury: treasury.address, owner: operator.address, ...options.parameters }));
    const deploymentFile = path.join(dir, "deployment.json");
    const output = await runHardhat(
        ["deploy-registry", "--network", node.hardhatNetwork, "--provider-key", providerKeyFile, "--parameters", parametersFile, "--out", deploymentFile],
        node.env
    );
    output
        .split("\n")
        .filter((line) => line.startsWith("deploy:"))
        .forEach((line) => log(line));
    const deployment = parseDeployment(readFileSync(deploymentFile, "utf8"));
    return { node, dir, deployment, deploymentFile, providerKeyFile, providerSigningKey, treasury, operator, stop: () => node.stop() };
}

/** A gateway running as its own process (`zkapi provider start`). */
export interface GatewayProcess {
    readonly url: string;
    readonly child: ChildProcess;
    output(): string;
    /** Kills the process with the signal (SIGKILL simulates a crash) and waits for it to exit. */
    kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startGatewayProcess(
    stack: DeployedStack,
    options: { store: string; port?: number; args?: string[]; env?: NodeJS.ProcessEnv; operator?: boolean }
): Promise<GatewayProcess> {
    const port = options.port ?? (await freePort());
    const args = [
        path.join(ROOT, "packages/cli/dist/index.js"),
        "provider",
        "start",
        "--deployment",
        stack.deploymentFile,
        "--key",
        stack.providerKeyFile,
        "--rpc",
        stack.node.url,
        "--store",
        options.store,
        "--port",
        String(port),
        "--log-level",
        "warn",
        ...(options.args ?? [])
    ];
    const env = { ...process.env, ...(options.operator === false ? {} : { ZKAPI_OPERATOR_KEY: stack.operator.privateKey }), ...options.env };
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${output}`);
        try {
            if ((await fetch(`${url}/health`)).ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`gateway did not start: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return {
        url,
        child,
        output: () => output,
        kill: async (signal = "SIGTERM") => {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill(signal);
            await exited;
        }
    };
}
