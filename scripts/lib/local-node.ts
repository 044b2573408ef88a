import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { JsonRpcProvider } from "ethers";

const ROOT = path.resolve(__dirname, "../..");

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

/** A local Ethereum node running in its own process. */
export interface LocalNode {
    readonly kind: "hardhat" | "anvil";
    readonly url: string;
    readonly provider: JsonRpcProvider;
    /** The Hardhat network name whose URL points at this node (for the deploy task). */
    readonly hardhatNetwork: "localhost" | "anvil";
    /** Environment that makes `hardhat --network <hardhatNetwork>` reach this node. */
    readonly env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

async function waitForRpc(url: string, child: ChildProcess, output: () => string): Promise<JsonRpcProvider> {
    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}: ${output()}`);
        try {
            const response = await fetch(url, {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] })
            });
            if (response.ok) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`node at ${url} did not start: ${output()}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
}

function stopper(child: ChildProcess, provider: { destroy(): void }): () => Promise<void> {
    return async () => {
        provider.destroy();
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
    };
}

/** Starts `hardhat node` (EDR) as a separate process. */
export async function startHardhatNode(): Promise<LocalNode> {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/hardhat/internal/cli/cli.js"), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"]
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const url = `http://127.0.0.1:${port}`;
    const provider = await waitForRpc(url, child, () => output);
    return { kind: "hardhat", url, provider, hardhatNetwork: "localhost", env: { ZKAPI_LOCAL_RPC_URL: url }, stop: stopper(child, provider) };
}

/** Starts anvil (Foundry's node, from the npm package @foundry-rs/anvil-linux-amd64). */
export async function startAnvil(): Promise<LocalNode> {
    const port = await freePort();
    const binary = path.join(ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--silent"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const url = `http://127.0.0.1:${port}`;
    const provider = await waitForRpc(url, child, () => output);
    return { kind: "anvil", url, provider, hardhatNetwork: "anvil", env: { ZKAPI_ANVIL_RPC_URL: url }, stop: stopper(child, provider) };
}

/** Moves the node's clock forward and mines a block (both nodes implement these calls). */
export async function advanceTime(provider: JsonRpcProvider, seconds: bigint): Promise<void> {
    await provider.send("evm_increaseTime", [Number(seconds)]);
    await provider.send("evm_mine", []);
}

/** Runs a Hardhat task in a child process, as a user would, and returns its output. */
export async function runHardhat(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/hardhat/internal/cli/cli.js"), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"]
    });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`hardhat ${args.join(" ")} failed (${code}):\n${output}`);
    return output;
}
