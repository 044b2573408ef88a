/**
 * Concurrency benchmark (issue 10): paid calls on ONE deposit through the SDK and a real v2
 * gateway over HTTP. With protocol v2 a client keeps up to W = 8 tickets in flight, each
 * pre-proved in the background, so 8 concurrent calls should take about as long as one.
 *
 *   npx ts-node --transpile-only scripts/bench/concurrency.ts
 *
 * Measured per round (BENCH_ROUNDS, default 3), each with every ticket proved in advance:
 *   - one call (twice);
 *   - 8 concurrent calls (until the last answer is read and its charge stored);
 *   - 8 calls one after another (what a client that serialises its calls, as v1 had to, takes).
 * Then once: 8 concurrent calls with no ticket proved in advance (each proved on demand).
 * The gateway's upstream is its local echo model behind a fixed latency (BENCH_MODEL_DELAY_MS,
 * default 500 ms), standing in for a model's time to answer; the chain is a hardhat node in its
 * own process with the registry deployed by the deploy task; the gateway runs in this process
 * with a SQLite store. Writes reports/bench/concurrency.json and .md.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, NonceManager } from "ethers";
import { TestToken__factory } from "@zk-api-credits/contracts";
import { CircuitProver, Identity, TICKET_WINDOW } from "@zk-api-credits/protocol";
import { createGateway, EchoUpstream, PriceTable, SqliteNullifierStore, upstreamApi } from "@zk-api-credits/provider";
import type { Upstream } from "@zk-api-credits/provider";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { FileAccountStore, FileSyncCache, ZkApiClient } from "@zk-api-credits/sdk";
import { devWallet, startDeployedStack } from "../lib/stack";
import type { DeployedStack } from "../lib/stack";
import { envInt, fmtMs, machineInfo, machineMarkdown, markdownTable, stats, textTable, writeReport } from "./common";
import type { Stats } from "./common";

const ROUNDS = envInt("BENCH_ROUNDS", 3);
const MODEL_DELAY_MS = Number(process.env.BENCH_MODEL_DELAY_MS ?? 500);
const CALLS = TICKET_WINDOW;
const DEPOSIT = 10n ** 19n;

const log = (message: string): void => console.log(`[concurrency-bench] ${message}`);

/** The echo model behind a fixed time to answer (a model's latency, without a model). */
class DelayedUpstream implements Upstream {
    constructor(
        private readonly inner: Upstream,
        private readonly delayMs: number
    ) {}

    serves(...args: Parameters<Upstream["serves"]>): ReturnType<Upstream["serves"]> {
        return this.inner.serves(...args);
    }

    async send(...args: Parameters<Upstream["send"]>): ReturnType<Upstream["send"]> {
        if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
        return this.inner.send(...args);
    }
}

function chat(content: string): RequestInit {
    return {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "echo", messages: [{ role: "user", content }], max_tokens: 16 })
    };
}

/** Sends one paid call and reads its answer; throws unless it is served. */
async function call(client: ZkApiClient, content: string): Promise<void> {
    const answer = await client.fetch("/v1/chat/completions", chat(content));
    await answer.arrayBuffer();
    if (answer.status !== 200) throw new Error(`call answered ${answer.status}`);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
    const started = performance.now();
    await work();
    return performance.now() - started;
}

async function openUser(stack: DeployedStack, chain: JsonRpcProvider, gatewayUrl: string, accountIndex: number, prepareAhead: number): Promise<ZkApiClient> {
    const wallet = new NonceManager(devWallet(accountIndex).connect(chain));
    const token = TestToken__factory.connect(stack.deployment.contracts.token, wallet);
    await (await token.mint(await wallet.getAddress(), DEPOSIT)).wait();
    const home = mkdtempSync(path.join(os.tmpdir(), "zkapi-bench-user-"));
    const client = await ZkApiClient.create({
        deployment: stack.deployment,
        identity: new Identity(),
        store: new FileAccountStore(path.join(home, "account.json")),
        syncCache: new FileSyncCache(path.join(home, "tree.json")),
        provider: chain,
        signer: wallet,
        gatewayUrl,
        provers: {
            spend: new CircuitProver(circuitArtifacts("spend-32")),
            fold: new CircuitProver(circuitArtifacts("fold-2")),
            withdraw: new CircuitProver(circuitArtifacts("withdraw-2-8"))
        },
        prepareAhead,
        pollIntervalMs: 20
    });
    await client.register(DEPOSIT);
    client.on("background-error", (error) => log(`background error: ${String(error)}`));
    return client;
}

async function main(): Promise<void> {
    const machine = machineInfo();
    log(`starting a hardhat node and deploying (model latency ${MODEL_DELAY_MS} ms, ${ROUNDS} rounds)`);
    const stack = await startDeployedStack({ log });
    const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bench-gateway-")), "gateway.db"));
    const { maxCost, policyPenalty } = stack.deployment.parameters;
    const gateway = await createGateway({
        deployment: stack.deployment,
        signingKey: stack.providerSigningKey,
        provider: chain,
        store,
        workers: false,
        logger: false,
        api: upstreamApi({
            upstream: new DelayedUpstream(new EchoUpstream(), MODEL_DELAY_MS),
            prices: PriceTable.uniform({ decimals: 18, maxCost, policyPenalty }, "10", "20")
        })
    });
    await gateway.app.listen({ port: 0, host: "127.0.0.1" });
    const address = gateway.app.server.address();
    const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

    const single: number[] = [];
    const concurrent: number[] = [];
    const sequential: number[] = [];
    let onDemand: number | undefined;
    let proofMs: number[] = [];
    try {
        const client = await openUser(stack, chain, url, 5, TICKET_WINDOW);
        const started = new Map<bigint, number>();
        client.on("proving", (p) => {
            if (p.circuit !== "spend" || p.index === undefined) return;
            if (p.phase === "start") started.set(p.index, performance.now());
            else if (started.has(p.index)) proofMs.push(performance.now() - started.get(p.index)!);
        });
        const ready = async (): Promise<void> => {
            await client.settled();
            await client.prepareTickets(CALLS);
        };
        // Calls come in even numbers: with K = 2, an odd charge left beyond the base keeps one index
        // of the window taken until the next charge, and the next burst would find 7 free, not 8.
        await ready();
        await call(client, "warm-up 1");
        await call(client, "warm-up 2");
        for (let round = 0; round < ROUNDS; round++) {
            await ready();
            single.push(await timed(() => call(client, `single ${round}.0`)));
            single.push(await timed(() => call(client, `single ${round}.1`)));
            await ready();
            concurrent.push(await timed(() => Promise.all(Array.from({ length: CALLS }, (_, i) => call(client, `concurrent ${round}.${i}`)))));
            await ready();
            sequential.push(
                await timed(async () => {
                    for (let i = 0; i < CALLS; i++) await call(client, `sequential ${round}.${i}`);
                })
            );
            log(`round ${round + 1}: one call ${fmtMs(single.at(-1)!)} ms, ${CALLS} concurrent ${fmtMs(concurrent.at(-1)!)} ms, ${CALLS} one after another ${fmtMs(sequential.at(-1)!)} ms`);
        }
        await client.close();

        const cold = await openUser(stack, chain, url, 6, 0);
        await call(cold, "warm-up 1"); // syncs the tree and loads the proving key once
        await call(cold, "warm-up 2");
        await cold.settled();
        onDemand = await timed(() => Promise.all(Array.from({ length: CALLS }, (_, i) => call(cold, `on demand ${i}`))));
        log(`${CALLS} concurrent calls proving on demand: ${fmtMs(onDemand)} ms`);
        await cold.close();
    } finally {
        await gateway.close();
        await store.close();
        chain.destroy();
        await stack.stop();
    }

    const one = stats(single);
    const eight = stats(concurrent);
    const serial = stats(sequential);
    const proof = proofMs.length > 0 ? stats(proofMs) : undefined;
    proofMs = [];
    const ratio = eight.median / one.median;
    const rows: [string, Stats | undefined, string][] = [
        ["1 call, ticket pre-proved", one, "1.00"],
        [`${CALLS} concurrent calls, tickets pre-proved`, eight, ratio.toFixed(2)],
        [`${CALLS} calls one after another, tickets pre-proved`, serial, (serial.median / one.median).toFixed(2)],
        [`${CALLS} concurrent calls, proved on demand (1 round)`, onDemand === undefined ? undefined : stats([onDemand]), onDemand === undefined ? "-" : (onDemand / one.median).toFixed(2)],
        ["Spend proof (background, while serving)", proof, "-"]
    ];
    const headers = ["what", "median ms", "min ms", "max ms", "n", "× one call"];
    const table = rows.map(([what, s, times]) => [what, s ? fmtMs(s.median) : "-", s ? fmtMs(s.min) : "-", s ? fmtMs(s.max) : "-", s ? String(s.n) : "0", times]);
    console.log(`\n${textTable(headers, table)}\n`);
    const markdown = [
        "## Concurrency: paid calls on one deposit",
        "",
        `${CALLS} concurrent calls on one deposit, each with its own pre-proved ticket, against one call; model latency ${MODEL_DELAY_MS} ms (the gateway's echo model behind a fixed delay), ${ROUNDS} rounds. ${machineMarkdown(machine)}`,
        "",
        markdownTable(headers, table),
        "",
        `${CALLS} concurrent calls take ${ratio.toFixed(2)}× one call (median).`
    ].join("\n");
    const files = writeReport("concurrency", { machine, modelDelayMs: MODEL_DELAY_MS, rounds: ROUNDS, calls: CALLS, single: one, concurrent: eight, sequential: serial, onDemandMs: onDemand, spendProof: proof, concurrentOverSingle: ratio }, markdown);
    log(`wrote ${files.json} and ${files.md}`);
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        console.error(error);
        process.exit(1);
    }
);
