import { spawn } from "node:child_process";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { freePort } from "../../../scripts/lib/local-node";
import { ROOT } from "./processes";

/** anvil (Foundry, from the npm package) pretending to be another chain: `--chain-id`. */
export interface ChainNode {
    readonly chainId: bigint;
    readonly url: string;
    readonly provider: JsonRpcProvider;
    /** Makes `hardhat --network anvil` reach this node. */
    readonly env: NodeJS.ProcessEnv;
    stop(): Promise<void>;
}

/** Starts anvil with `chainId` (automining, its usual ten funded accounts). */
export async function startChain(chainId: bigint): Promise<ChainNode> {
    const port = await freePort();
    const binary = path.join(ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    const child = spawn(binary, ["--host", "127.0.0.1", "--port", String(port), "--chain-id", chainId.toString(), "--silent"], {
        cwd: ROOT,
        stdio: ["ignore", "ignore", "pipe"]
    });
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const url = `http://127.0.0.1:${port}`;
    const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const deadline = Date.now() + 60_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${output}`);
        try {
            if (BigInt(await provider.send("eth_chainId", [])) === chainId) break;
        } catch {
            // not listening yet
        }
        if (Date.now() > deadline) throw new Error(`anvil did not start: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
        chainId,
        url,
        provider,
        env: { ZKAPI_ANVIL_RPC_URL: url },
        stop: async () => {
            provider.destroy();
            if (child.exitCode !== null) return;
            const exited = new Promise((resolve) => child.once("exit", resolve));
            child.kill("SIGTERM");
            await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
            if (child.exitCode === null) child.kill("SIGKILL");
        }
    };
}
