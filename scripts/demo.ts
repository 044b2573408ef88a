/**
 * The end-to-end demo (npm run demo): a local chain, the registry deployed by the deploy
 * task, the provider's gateway, a user paying anonymous chat calls through the zkapi CLI,
 * and a cheating client that reuses a ticket and is slashed on-chain by the gateway.
 */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { formatUnits, JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, IERC20__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { CircuitProver, encodeHeaderValue, ERROR_CODE_HEADER, Identity, requestHash, TICKET_HEADER } from "@zk-api-credits/protocol";
import { MemoryAccountStore, proveTicket, RegistrySync, ZkApiClient } from "@zk-api-credits/sdk";
import { devWallet, startDeployedStack, startGatewayProcess } from "./lib/stack";
import type { DeployedStack, GatewayProcess } from "./lib/stack";

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, "..");
const started = Date.now();

function step(message: string): void {
    console.log(`\n[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}
function detail(message: string): void {
    console.log(`         ${message}`);
}

async function main(): Promise<void> {
    let stack: DeployedStack | undefined;
    let gateway: GatewayProcess | undefined;
    try {
        step("Start a local Ethereum node (hardhat node) and deploy the registry with the deploy task");
        stack = await startDeployedStack({ log: detail });
        const { deployment } = stack;
        const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
        const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, chain);
        const token = IERC20__factory.connect(deployment.contracts.token, chain);
        const units = (value: bigint): string => `${formatUnits(value, 18)} ZKAPI-TEST`;
        detail(`maxCost ${units(deployment.parameters.maxCost)}, reserve ${deployment.parameters.reserveBps / 100n} %, challenge window ${deployment.parameters.challengeWindow} s`);

        step("Start the provider's gateway (zkapi provider start, SQLite nullifier store, local echo model)");
        const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-demo-"));
        gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(dir, "gateway.db")}` });
        detail(`gateway on ${gateway.url}: paid POST /v1/chat/completions, GET /health, /metrics, /zkapi/v1/receipts/:nullifier`);

        const user = devWallet(5);
        const env = { ...process.env, ZKAPI_PASSPHRASE: "demo passphrase, use your own", ZKAPI_PRIVATE_KEY: user.privateKey };
        const home = path.join(dir, "alice");
        const zkapi = async (...args: string[]): Promise<string> => {
            const { stdout } = await run(process.execPath, [path.join(ROOT, "packages/cli/dist/index.js"), "--home", home, ...args], { env, cwd: ROOT });
            return stdout.trim();
        };

        step("Alice creates an identity (secret k stays on her machine, encrypted) and deposits 10 tokens");
        detail(await zkapi("identity", "new"));
        await zkapi("configure", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--gateway", gateway.url);
        detail(await zkapi("faucet", "--amount", "10"));
        detail(await zkapi("register", "--amount", "10"));

        step("Alice makes anonymous chat calls of different sizes; each carries a fresh Spend proof");
        for (const message of ["Hello!", "Explain rate-limiting nullifiers in one long sentence please, with examples", "Thanks", "What does a Pedersen commitment hide?"]) {
            const output = (await zkapi("chat", message)).split("\n");
            detail(`> ${message}`);
            output.forEach((line) => detail(`  ${line}`));
        }
        detail(await zkapi("balance"));

        step("Mallory registers too, then spends ONE ticket on TWO different requests");
        const mallory = devWallet(6).connect(chain);
        const signer = new NonceManager(mallory);
        await (await TestToken__factory.connect(deployment.contracts.token, signer).mint(mallory.address, 10n ** 19n)).wait();
        const identity = new Identity();
        const client = await ZkApiClient.create({ deployment, identity, store: new MemoryAccountStore(), provider: chain, signer, gatewayUrl: gateway.url });
        await client.register(10n ** 19n);
        detail(`Mallory registered identity ${identity.commitment.toString().slice(0, 20)}...`);
        const tree = await new RegistrySync({ registry, fromBlock: deployment.deploymentBlock }).syncUntil(client.account!.leafIndex + 1);
        const prover = new CircuitProver(circuitArtifacts("spend-20"));
        const binding = { scope: deployment.parameters.scope, providerKey: deployment.parameters.providerKey, terms: deployment.parameters };
        const treasuryBefore = await token.balanceOf(deployment.parameters.treasury);
        for (const message of ["first request", "second request, same ticket"]) {
            const body = JSON.stringify({ model: "local-echo", messages: [{ role: "user", content: message }] });
            const ticket = await proveTicket(prover, identity, client.account!, tree, binding, deployment.parameters.treeDepth, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
            const header = encodeHeaderValue({ version: 1, binding: "request", context: deployment.parameters.context, ...ticket });
            const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });
            detail(`"${message}" with ticket ${ticket.seq} (nullifier ${ticket.nullifier.toString().slice(0, 12)}...): HTTP ${response.status} ${response.headers.get(ERROR_CODE_HEADER) ?? "served"}`);
        }

        step("The gateway recovers Mallory's secret from the two shares and slashes her deposit on-chain");
        const deadline = Date.now() + 60_000;
        let slashed = await registry.queryFilter(registry.filters.Slashed(identity.commitment));
        while (slashed.length === 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            slashed = await registry.queryFilter(registry.filters.Slashed(identity.commitment));
        }
        if (slashed.length === 0) throw new Error("the gateway did not slash the double-spender");
        const { bounty, toTreasury } = slashed[0]!.args;
        detail(`Slashed in block ${slashed[0]!.blockNumber}: bounty ${units(bounty)} to the treasury, ${units(toTreasury)} accrued to it`);
        detail(`treasury balance grew by ${units((await token.balanceOf(deployment.parameters.treasury)) - treasuryBefore)}`);
        const stats = (await (await fetch(`${gateway.url}/zkapi/v1/stats`)).json()) as Record<string, unknown>;
        detail(`gateway store: ${JSON.stringify(stats)}`);

        step("Alice, honest, is untouched: her deposit is still active and her balance intact");
        detail(await zkapi("balance"));
        detail(`deposit status on-chain: ${(await registry.deposits((await zkapi("identity", "show")).trim())).status === 1n ? "Active" : "not active"}`);
        chain.destroy();
        step("Demo complete");
    } finally {
        await gateway?.kill();
        await stack?.stop();
    }
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
