/**
 * The end-to-end demo (npm run demo), protocol v2: a local chain, the registry deployed by the
 * deploy task, a model server and the provider's gateway in front of it, a user who deposits
 * once and pays anonymous calls through the zkapi command line (several calls in flight at once
 * on one deposit, and a streamed one), her balance, and a cheater who uses one ticket index with
 * two request keys and is slashed on-chain by the gateway.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatUnits, JsonRpcProvider, NonceManager } from "ethers";
import OpenAI from "openai";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import {
    baseBlinding,
    CircuitProver,
    RequestKey,
    encodeTicket,
    ephemeralKeyBinding,
    GENESIS_BASE,
    Identity,
    packProof,
    RegistrySync,
    requestHash,
    requestSigner,
    spendInputs,
    ticketBlinding,
    TICKET_HEADER,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { startUpstreamServer } from "../test/support/upstream-server";
import type { UpstreamServer } from "../test/support/upstream-server";
import { devWallet, startDeployedStack, startGatewayProcess } from "./lib/stack";
import type { DeployedStack, GatewayProcess } from "./lib/stack";

const ROOT = path.resolve(__dirname, "..");
const ZKAPI = path.join(ROOT, "packages/cli/bin/zkapi.js");
const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;

/** The model's latency in this demo: every answer takes this long at the model server. */
const MODEL_DELAY_MS = 1_500;
const PARALLEL_CALLS = 6;

function step(message: string): void {
    console.log(`\n[${elapsed()}] ${message}`);
}
function detail(message: string): void {
    for (const line of message.split("\n")) console.log(`         ${line}`);
}

/** Runs `zkapi --home <home> <args>`; streams its stdout through `onStdout` if given. */
function zkapi(home: string, env: NodeJS.ProcessEnv, args: string[], onStdout?: (chunk: string) => void): Promise<{ stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [ZKAPI, "--home", home, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            onStdout?.(chunk.toString());
        });
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            if (process.env.DEMO_VERBOSE) process.stderr.write(chunk);
        });
        child.once("exit", (code) => (code === 0 ? resolve({ stdout: stdout.trimEnd(), stderr: stderr.trimEnd() }) : reject(new Error(`zkapi ${args.join(" ")} failed (${code}):\n${stdout}\n${stderr}`))));
    });
}

/** Starts `zkapi proxy` and waits for its URL. */
function startProxy(home: string, env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void> }> {
    const child = spawn(process.execPath, [ZKAPI, "--home", home, "--quiet", "proxy", "--port", "0", "--prepare", "0"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    return new Promise((resolve, reject) => {
        const keep = (chunk: Buffer): void => {
            output += chunk.toString();
            const found = /listening on (http:\/\/[\d.:]+)/.exec(output);
            if (found !== null) {
                resolve({
                    url: found[1]!,
                    stop: async () => {
                        if (child.exitCode !== null) return;
                        const exited = new Promise((done) => child.once("exit", done));
                        child.kill("SIGINT");
                        await exited;
                    }
                });
            }
        };
        child.stdout.on("data", keep);
        child.stderr.on("data", keep);
        child.once("exit", (code) => reject(new Error(`zkapi proxy exited (${code}): ${output}`)));
    });
}

/**
 * A cheater, with the protocol's primitives only: proves ticket 0 of its deposit twice, once
 * with the ticket's own request key and once with another one, and sends both. Two RLN shares
 * of one index with two different x reveal the secret: the gateway refuses the second request
 * (DOUBLE_SPEND), recovers the secret and slashes the deposit on-chain.
 */
async function cheat(deployment: RegistryDeployment, chain: JsonRpcProvider, gatewayUrl: string): Promise<Identity> {
    const mallory = new NonceManager(devWallet(6).connect(chain));
    const deposit = 10n ** 19n;
    const identity = new Identity();
    const token = TestToken__factory.connect(deployment.contracts.token, mallory);
    const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, mallory);
    await (await token.mint(await mallory.getAddress(), deposit)).wait();
    await (await token.approve(deployment.contracts.registry, deposit)).wait();
    await (await registry.register(identity.commitment, deposit)).wait();
    detail(`Mallory registered 10 tokens under identity ${identity.commitment.toString().slice(0, 16)}…`);

    const { parameters } = deployment;
    const binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
    const sync = new RegistrySync({ registry, fromBlock: deployment.deploymentBlock, epochBlocks: Number(parameters.epochBlocks) });
    const tree = await sync.sync();
    const leafIndex = sync.leafIndexOf(identity.commitment)!;
    const prover = new CircuitProver(circuitArtifacts("spend-32"));
    const index = 0n;
    const keys = [requestSigner(identity.secret, parameters.scope, index), new RequestKey(randomBytes(32))];
    for (const [n, key] of keys.entries()) {
        const x = ephemeralKeyBinding(key.publicKey);
        const inputs = spendInputs({
            secret: identity.secret,
            deposit,
            merkleProof: tree.merkleProof(leafIndex, TREE_DEPTH),
            base: { base: GENESIS_BASE, blinding: baseBlinding(identity.secret, parameters.scope, 0n) },
            index,
            ticketBlinding: ticketBlinding(identity.secret, parameters.scope, index),
            registry: binding,
            x
        });
        const { proof, publicSignals } = await prover.prove(inputs);
        const [root, , tx, ty, nullifier, y] = publicSignals as bigint[];
        const body = Buffer.from(JSON.stringify({ model: "demo", messages: [{ role: "user", content: `request ${n + 1} on ticket 0` }], max_tokens: 16 }));
        const header = encodeTicket({
            version: 2,
            root: root!,
            context: parameters.context,
            ticketCommitment: [tx!, ty!],
            nullifier: nullifier!,
            y: y!,
            x,
            proof: packProof(proof),
            ephemeralKey: key.publicKey,
            requestSignature: key.signMessage(requestHash("POST", "/v1/chat/completions", body))
        });
        const response = await fetch(`${gatewayUrl}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });
        await response.arrayBuffer();
        detail(
            `request ${n + 1} on ticket 0 with ${n === 0 ? "the ticket's own key" : "a second key"} (nullifier ${nullifier!.toString().slice(0, 10)}…, x ${x.toString().slice(0, 10)}…): HTTP ${response.status} ${response.headers.get("zkapi-error") ?? "served"}`
        );
    }
    return identity;
}

async function main(): Promise<void> {
    let stack: DeployedStack | undefined;
    let upstream: UpstreamServer | undefined;
    let gateway: GatewayProcess | undefined;
    let proxy: { url: string; stop: () => Promise<void> } | undefined;
    try {
        step("A local chain (hardhat node) and the registry deployed by the deploy task");
        stack = await startDeployedStack({ log: detail });
        const { deployment } = stack;
        const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 200, cacheTimeout: -1 });
        const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, chain);
        const tokens = (value: bigint): string => `${formatUnits(value, 18).replace(/\.0$/, "")} ZKAPI-TEST`;
        const { maxCost, policyPenalty, reserveBps, challengeWindow } = deployment.parameters;
        detail(`terms: maxCost ${tokens(maxCost)} per request, penalty ${tokens(policyPenalty)}, reserve ${Number(reserveBps) / 100} %, challenge window ${challengeWindow} s`);

        step(`A model server (OpenAI-compatible, ${MODEL_DELAY_MS} ms per answer) and the provider's gateway in front of it (zkapi provider start)`);
        upstream = await startUpstreamServer();
        const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-demo-"));
        gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(dir, "gateway.db")}`, args: ["--upstream", `${upstream.url}/v1`] });
        detail(`gateway on ${gateway.url}: OpenAI, Anthropic and Ollama routes; a ticket per paid call; free folds, voids, look-ups, prices`);
        const model = `demo+delay=${MODEL_DELAY_MS}`;

        const env = { ...process.env, ZKAPI_PASSPHRASE: "demo passphrase, choose your own", ZKAPI_PRIVATE_KEY: devWallet(5).privateKey };
        const home = path.join(dir, "alice");
        const alice = (args: string[], onStdout?: (chunk: string) => void) => zkapi(home, env, args, onStdout);

        step("Alice creates an identity (her secret stays on her machine, encrypted) and deposits 10 tokens, once");
        detail((await alice(["identity", "new"])).stdout);
        detail((await alice(["configure", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--gateway", gateway.url])).stdout);
        detail((await alice(["faucet", "--amount", "10"])).stdout);
        detail((await alice(["register", "--amount", "10"])).stdout);

        step(`Alice proves ${PARALLEL_CALLS + 1} tickets ahead of time (zkapi prepare): each is a Groth16 proof that she owns a solvent deposit`);
        const prepared = await alice(["prepare", "--tickets", String(PARALLEL_CALLS + 1)]);
        detail(prepared.stderr.split("\n").filter((line) => line.startsWith("proved")).join("\n"));
        detail(prepared.stdout);

        step(`${PARALLEL_CALLS} calls at once on her one deposit, through zkapi proxy with the stock openai client`);
        proxy = await startProxy(home, env);
        const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "any", maxRetries: 0 });
        const t0 = Date.now();
        const calls = await Promise.all(
            Array.from({ length: PARALLEL_CALLS }, async (_, n) => {
                const begin = Date.now() - t0;
                const answer = await openai.chat.completions.create({ model, messages: [{ role: "user", content: `parallel question ${n + 1}` }], max_tokens: 16 });
                return { n, begin, end: Date.now() - t0, text: answer.choices[0]!.message.content };
            })
        );
        const wall = Date.now() - t0;
        for (const call of calls) {
            const bar = `${" ".repeat(Math.round(call.begin / 100))}${"█".repeat(Math.max(1, Math.round((call.end - call.begin) / 100)))}`;
            detail(`call ${call.n + 1}: ${String(call.begin).padStart(5)} → ${String(call.end).padStart(5)} ms  ${bar}  "${call.text}"`);
        }
        detail(`${PARALLEL_CALLS} calls in ${wall} ms of wall time: they overlap (one after another they would take at least ${PARALLEL_CALLS * MODEL_DELAY_MS} ms at this model)`);

        step(`In the background the proxy folds the ${PARALLEL_CALLS} charges, two at a time, into new signed bases (free Fold proofs); then it stops`);
        const t2 = Date.now();
        await proxy.stop();
        proxy = undefined;
        detail(`folded and stopped in ${((Date.now() - t2) / 1000).toFixed(1)} s`);

        step("A streamed call (zkapi chat streams by default): the words arrive as the model sends them");
        const t1 = Date.now();
        let first: number | undefined;
        const pieces: string[] = [];
        const streamed = await alice(["chat", "--prepare", "0", "--model", "demo+slow=150", "--max-tokens", "32", "Tell me how a ticket stays anonymous"], (chunk) => {
            if (chunk.trim().length === 0) return;
            first ??= Date.now();
            pieces.push(`+${String(Date.now() - first).padStart(5)} ms ${JSON.stringify(chunk)}`);
        });
        detail(`first words ${first! - t1} ms after the command started (process start, a ticket proved ahead, the model's first event), then:`);
        detail(pieces.join("\n"));
        detail(streamed.stderr.split("\n").filter((line) => line.startsWith("charged")).join("\n"));

        step("Alice's balance: spent, reserved, and what the next requests can really spend");
        detail((await alice(["balance"])).stdout);

        step("Mallory registers too, then spends ticket 0 twice, with two different request keys");
        const treasuryBefore = await registry.pendingTreasury();
        const mallory = await cheat(deployment, chain, gateway.url);

        step("The gateway recovers Mallory's secret from the two shares and slashes her deposit on-chain");
        const deadline = Date.now() + 120_000;
        let slashed = await registry.queryFilter(registry.filters.Slashed(mallory.commitment));
        while (slashed.length === 0) {
            if (Date.now() > deadline) throw new Error("the gateway did not slash the double-spender");
            await new Promise((resolve) => setTimeout(resolve, 250));
            slashed = await registry.queryFilter(registry.filters.Slashed(mallory.commitment));
        }
        const { bounty, toTreasury, toBurn, receiver } = slashed[0]!.args;
        const to = receiver === deployment.parameters.treasury ? `${receiver} (the treasury: the gateway's operator claims no bounty)` : receiver;
        detail(`Slashed in block ${slashed[0]!.blockNumber}: bounty ${tokens(bounty)} to ${to}, ${tokens(toTreasury)} to the treasury, ${tokens(toBurn)} burned`);
        detail(`the treasury's pending revenue grew by ${tokens((await registry.pendingTreasury()) - treasuryBefore)}; Mallory's deposit is ${["none", "active", "withdrawing", "withdrawn", "slashed", "expired"][Number((await registry.deposits(mallory.commitment)).status)]}`);

        step("Alice, honest, is untouched: her deposit is active, her calls unlinkable");
        const aliceIdc = BigInt((await alice(["identity", "show"])).stdout);
        detail(`Alice's deposit on-chain: ${["none", "active", "withdrawing", "withdrawn", "slashed", "expired"][Number((await registry.deposits(aliceIdc)).status)]}`);
        detail((await alice(["balance"])).stdout.split("\n").filter((line) => /^(spent|available|\s)/.test(line)).join("\n"));
        chain.destroy();
        step("Demo complete");
    } finally {
        await proxy?.stop();
        await gateway?.kill();
        await upstream?.stop();
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
