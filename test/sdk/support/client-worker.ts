/**
 * A client in its own process on a user's account file (the proxy running while `zkapi chat`
 * runs in another terminal; a process that crashes mid-request).
 * Run: node -r ts-node/register/transpile-only client-worker.ts '<json config>'
 * Modes:
 *   requests:          sends `count` chat requests at once, prints {"statuses": [...], "indices": [...]} and exits.
 *   die-before-send:   writes its first ticket down, then dies (SIGKILL) instead of sending it.
 *   die-after-answer:  sends its first request, then dies (SIGKILL) as the answer arrives, before storing the charge.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider } from "ethers";
import { Identity, parseDeployment, TICKET_HEADER } from "@zk-api-credits/protocol";
import { FileAccountStore, FileSyncCache, ZkApiClient } from "@zk-api-credits/sdk";
import { PROVERS, chat } from "./sdk-stack";

interface Config {
    readonly mode: "requests" | "die-before-send" | "die-after-answer";
    readonly deploymentFile: string;
    readonly rpcUrl: string;
    readonly gatewayUrl: string;
    readonly home: string;
    readonly secret: string;
    readonly count: number;
    readonly prepareAhead?: number;
}

const config = JSON.parse(process.argv[2]!) as Config;

function hasTicket(init: RequestInit | undefined): boolean {
    return new Headers(init?.headers).has(TICKET_HEADER);
}

const dyingFetch: typeof fetch = async (input, init) => {
    if (config.mode === "die-before-send" && hasTicket(init)) {
        process.stdout.write("dying before send\n");
        process.kill(process.pid, "SIGKILL");
    }
    const response = await fetch(input, init);
    if (config.mode === "die-after-answer" && hasTicket(init)) {
        await response.arrayBuffer();
        process.stdout.write("dying after answer\n");
        process.kill(process.pid, "SIGKILL");
    }
    return response;
};

async function main(): Promise<void> {
    const chain = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const client = await ZkApiClient.create({
        deployment: parseDeployment(readFileSync(config.deploymentFile, "utf8")),
        identity: Identity.importSecret(config.secret),
        store: new FileAccountStore(path.join(config.home, "account.json")),
        syncCache: new FileSyncCache(path.join(config.home, `tree-${process.pid}.json`)),
        provider: chain,
        gatewayUrl: config.gatewayUrl,
        provers: PROVERS,
        pollIntervalMs: 50,
        prepareAhead: config.prepareAhead ?? 0,
        fetch: dyingFetch
    });
    const indices: string[] = [];
    client.on("charged", (event) => {
        if (event.how === "request") indices.push(event.index.toString());
    });
    await client.start();
    const answers = await Promise.all(Array.from({ length: config.count }, (_, i) => client.fetch("/v1/chat/completions", chat(`worker ${process.pid} request ${i}`))));
    const statuses = await Promise.all(answers.map(async (answer) => (await answer.arrayBuffer(), answer.status)));
    await client.settled();
    await client.close();
    chain.destroy();
    process.stdout.write(`${JSON.stringify({ statuses, indices })}\n`);
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
    }
);
