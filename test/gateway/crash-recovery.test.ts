import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { decodeReceipt } from "@zk-api-credits/protocol";
import { SqliteNullifierStore } from "@zk-api-credits/provider";
import { SdkError } from "@zk-api-credits/sdk";
import { freePort } from "../../scripts/lib/local-node";
import { startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";
import { chatBody, eventually, registeredUser } from "../helpers/users";

/** An OpenAI-compatible upstream that answers after `delayMs` and counts its calls. */
function slowUpstream(delayMs: number): Promise<{ server: Server; url: string; calls: () => number }> {
    let calls = 0;
    const server = createServer((request, response) => {
        calls++;
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
            setTimeout(() => {
                const { messages } = JSON.parse(Buffer.concat(chunks).toString()) as { messages: { content: string }[] };
                response.writeHead(200, { "content-type": "application/json" });
                response.end(
                    JSON.stringify({
                        id: "slow",
                        object: "chat.completion",
                        choices: [{ index: 0, message: { role: "assistant", content: `slow: ${messages[0]!.content}` }, finish_reason: "stop" }],
                        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 }
                    })
                );
            }, delayMs);
        });
    });
    return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, calls: () => calls }))
    );
}

// kill -9 the gateway while it serves a request, restart it on the same store: the client
// recovers its in-flight ticket by nullifier, nothing is lost, and no ticket is reused.
describe("Gateway crash and client recovery", function () {
    let stack: DeployedStack;
    let upstream: Awaited<ReturnType<typeof slowUpstream>>;
    let gateway: GatewayProcess;
    let storeFile: string;
    let port: number;

    before(async function () {
        stack = await startDeployedStack();
        upstream = await slowUpstream(Number(process.env.CRASH_UPSTREAM_DELAY_MS ?? 3_000));
        storeFile = path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-crash-")), "gateway.db");
        port = await freePort();
    });

    after(async function () {
        await gateway?.kill("SIGKILL");
        upstream?.server.close();
        await stack?.stop();
    });

    const start = (): Promise<GatewayProcess> =>
        startGatewayProcess(stack, { store: `sqlite:${storeFile}`, port, args: ["--upstream", upstream.url, "--lease-ms", "2000"] });

    it("Should recover a request whose gateway died mid-flight, serving and charging it once", async function () {
        gateway = await start();
        const user = await registeredUser(stack, gateway.url, 5);
        const request = user.client.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody("survive the crash") });
        // Once the request is recorded and waits on the slow upstream, crash the gateway.
        await eventually(async () => (upstream.calls() > 0 ? true : undefined), "the request to reach the upstream");
        await gateway.kill("SIGKILL");
        const failure = await request.then(
            () => undefined,
            (error: unknown) => error
        );
        expect(failure).to.be.instanceOf(SdkError);
        expect((failure as SdkError).code).to.equal("GATEWAY_UNREACHABLE");

        // The ticket was written down before sending and survives a client restart too.
        const restartedClient = await user.open();
        const inFlight = restartedClient.account!.inFlight!;
        expect(inFlight.seq).to.equal(0n);
        const store = new SqliteNullifierStore(storeFile);
        const recorded = await store.get(`0x${inFlight.nullifier.toString(16)}`);
        expect(recorded?.status).to.equal("pending");
        await store.close();

        gateway = await start();
        const response = await restartedClient.recover();
        expect(response!.status).to.equal(200);
        expect(((await response!.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).to.equal("slow: survive the crash");
        expect(restartedClient.account!.inFlight).to.equal(undefined);
        expect(restartedClient.balance().requests).to.equal(1n);

        const next = await restartedClient.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody("and go on") });
        expect(next.status).to.equal(200);
        expect(restartedClient.balance().requests).to.equal(2n);
        const after = new SqliteNullifierStore(storeFile);
        const stats = await after.stats();
        await after.close();
        expect(stats.complete).to.equal(2);
        expect(stats.doubleSpends).to.equal(0);
        user.provider.destroy();
    });

    it("Should lose no nullifier and strand no client across repeated kill -9 under load", async function () {
        const CLIENTS = 3;
        const REQUESTS = 4;
        const KILLS = 3;
        const clients = [];
        for (let c = 0; c < CLIENTS; c++) clients.push(await registeredUser(stack, gateway.url, 7 + c));
        const receipts = new Map<string, string>();
        let running = true;
        const load = clients.map(async (user) => {
            let client = await user.open();
            let made = 0;
            while (made < REQUESTS) {
                try {
                    const response = client.account!.inFlight
                        ? await client.recover()
                        : await client.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody(`load ${made}`) });
                    const receipt = response?.headers.get("zkapi-receipt");
                    if (receipt) receipts.set(receipt, `${user.identity.commitment}:${made}`);
                    made = Number(client.balance().requests);
                } catch (error) {
                    if (!(error instanceof SdkError)) throw error;
                    // The gateway is down (or the ticket is still leased): reopen the account from disk, as a restarted client would.
                    await new Promise((resolve) => setTimeout(resolve, 300));
                    client = await user.open();
                }
            }
            return client;
        });
        const chaos = (async () => {
            for (let k = 0; k < KILLS && running; k++) {
                await new Promise((resolve) => setTimeout(resolve, 1_000 + Math.random() * 2_500));
                await gateway.kill("SIGKILL");
                await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 500));
                gateway = await start();
            }
        })();
        const finished = await Promise.all(load);
        running = false;
        await chaos;
        const store = new SqliteNullifierStore(storeFile);
        for (const client of finished) {
            expect(client.account!.inFlight).to.equal(undefined);
            expect(client.balance().requests).to.equal(BigInt(REQUESTS));
        }
        const stats = await store.stats();
        expect(stats.doubleSpends).to.equal(0);
        for (const receipt of receipts.keys()) {
            const nullifier = `0x${decodeReceipt(receipt).nullifier.toString(16)}`;
            const record = await store.get(nullifier);
            expect(record?.status, `ticket ${nullifier}`).to.equal("complete");
            expect(record?.receipt).to.equal(receipt);
        }
        await store.close();
        clients.forEach((c) => c.provider.destroy());
    });

    it("Should recover a lost response from the store without serving it again", async function () {
        const user = await registeredUser(stack, gateway.url, 6);
        const body = chatBody("lost response");
        const callsBefore = upstream.calls();
        // The gateway serves the request, but the client process dies before reading the answer.
        const crashing = await user.open({
            fetch: async (input, init) => {
                const response = await fetch(input, init);
                if (String(input).endsWith("/v1/chat/completions")) throw new Error("client crashed before reading the response");
                return response;
            }
        });
        await crashing.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body }).catch(() => undefined);
        expect(upstream.calls()).to.equal(callsBefore + 1);
        const restarted = await user.open();
        expect(restarted.account!.inFlight).to.not.equal(undefined);
        const recovered = await restarted.recover();
        expect(recovered!.status).to.equal(200);
        expect(upstream.calls()).to.equal(callsBefore + 1);
        expect(restarted.balance().requests).to.equal(1n);
        user.provider.destroy();
    });
});
