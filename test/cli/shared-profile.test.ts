import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import OpenAI from "openai";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { devWallet, startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";
import { CliUser, metric, startZkapiServer } from "./support/cli";
import type { CliServer } from "./support/cli";

const METRICS_TOKEN = "metrics token of the test";

interface BalanceJson {
    readonly requests: string;
    readonly openTickets: number;
    readonly spent: string;
    readonly available: string;
}

// Honest use never reuses a ticket, never bricks the account and never gets it slashed (issue
// 10): the proxy and `zkapi chat` in two processes on one profile, refused and free requests
// through the proxy, and an old copy of the profile put back. Real processes throughout.
describe("zkapi: one profile, several processes and copies", function () {
    this.timeout(30 * 60_000);
    let stack: DeployedStack;
    let gateway: GatewayProcess;
    let chain: JsonRpcProvider;
    let proxy: CliServer | undefined;
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-shared-"));
    const bob = new CliUser(path.join(dir, "bob"), { ...process.env, ZKAPI_PASSPHRASE: "bob's passphrase", ZKAPI_PRIVATE_KEY: devWallet(7).privateKey });

    const metrics = async (): Promise<string> => (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const balance = async (): Promise<BalanceJson> => JSON.parse(await bob.ok("balance", "--json")) as BalanceJson;
    const deposit = async (): Promise<bigint> => {
        const commitment = BigInt((await bob.ok("identity", "show")).trim());
        return (await ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain).deposits(commitment)).status;
    };
    /** No ticket index was ever used twice: neither by another request key (slashed) nor for another request. */
    const expectNoReuse = async (): Promise<void> => {
        const text = await metrics();
        expect(metric(text, "zkapi_double_spends_total"), "double-spends").to.equal(0);
        expect(metric(text, 'zkapi_requests_rejected_total{reason="DOUBLE_SPEND"}'), "DOUBLE_SPEND refusals").to.equal(0);
        expect(metric(text, 'zkapi_requests_rejected_total{reason="TICKET_ALREADY_USED"}'), "TICKET_ALREADY_USED refusals").to.equal(0);
        expect(await deposit(), "the deposit is active").to.equal(1n);
    };

    before(async function () {
        stack = await startDeployedStack();
        gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(dir, "gateway.db")}`, env: { ZKAPI_METRICS_TOKEN: METRICS_TOKEN } });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
        await bob.ok("identity", "new");
        await bob.ok("configure", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--gateway", gateway.url);
        await bob.ok("faucet", "--amount", "10");
        await bob.ok("register", "--amount", "10");
    });

    after(async function () {
        await proxy?.stop();
        await gateway?.kill();
        chain?.destroy();
        await stack?.stop();
    });

    it("Should let the proxy and `zkapi chat` in other processes share the profile without reusing a ticket index", async function () {
        proxy = await startZkapiServer(bob, ["proxy", "--port", "0"]);
        const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "any", maxRetries: 0, timeout: 600_000 });
        const viaProxy = async (n: number): Promise<string> => {
            const content = `proxy call ${n}`;
            if (n % 2 === 0) {
                const answer = await openai.chat.completions.create({ model: "echo", messages: [{ role: "user", content }] });
                return answer.choices[0]!.message.content!;
            }
            const stream = await openai.chat.completions.create({ model: "echo", stream: true, messages: [{ role: "user", content }] });
            let text = "";
            for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
            return text;
        };
        const viaChat = async (n: number, prepare: string): Promise<string> => (await bob.ok("chat", "--prepare", prepare, `chat call ${n}`)).trim();
        const answers = await Promise.all([viaProxy(0), viaChat(0, "1"), viaProxy(1), viaProxy(2), viaChat(1, "0"), viaProxy(3), viaProxy(4), viaProxy(5)]);
        expect(answers).to.deep.equal([
            "You said: proxy call 0",
            "You said: chat call 0",
            "You said: proxy call 1",
            "You said: proxy call 2",
            "You said: chat call 1",
            "You said: proxy call 3",
            "You said: proxy call 4",
            "You said: proxy call 5"
        ]);
        await expectNoReuse();
        const after = await balance();
        expect(after.requests, "every call settled exactly once").to.equal("8");
        expect(after.openTickets).to.equal(0);
        expect(metric(await metrics(), "zkapi_requests_served_total")).to.equal(8);
    });

    it("Should take no ticket for free routes, and keep the account usable after refused requests", async function () {
        const openai = new OpenAI({ baseURL: `${proxy!.url}/v1`, apiKey: "any", maxRetries: 0, timeout: 600_000 });
        const before = await balance();
        const served = metric(await metrics(), "zkapi_requests_served_total");
        expect((await openai.models.list()).data.map((model) => model.id)).to.deep.equal(["echo"]);
        expect((await fetch(`${proxy!.url}/v1/no-such-route`)).status).to.equal(404);
        // Refused before the ticket is recorded (its worst case costs more than maxCost): the index is given back.
        const huge = "word ".repeat(8_000);
        const refused = await openai.chat.completions.create({ model: "echo", messages: [{ role: "user", content: huge }] }).then(
            () => undefined,
            (error: unknown) => error
        );
        expect(refused).to.be.instanceOf(OpenAI.BadRequestError);
        expect((refused as InstanceType<typeof OpenAI.BadRequestError>).message).to.match(/WORST_CASE_EXCEEDS_MAX_COST|costs more than maxCost/);
        // Served and charged 0: a body the route cannot parse.
        const malformed = await fetch(`${proxy!.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: 5 }) });
        expect(malformed.status).to.equal(400);
        await malformed.arrayBuffer();
        const answer = await openai.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "still working" }] });
        expect(answer.choices[0]!.message.content).to.equal("You said: still working");
        expect(await bob.ok("recover")).to.match(/^nothing is left open/);
        const after = await balance();
        expect(after.openTickets).to.equal(0);
        // Two tickets settled (the malformed body at cost 0, the last call): the models list and the
        // unknown route took none, the refused request gave its index back.
        // One or two tickets settled (the last call; the malformed body too if the gateway recorded
        // it, at cost 0): the models list and the unknown route took none, the refused request
        // gave its index back.
        const settled = BigInt(after.requests) - BigInt(before.requests);
        expect(settled).to.be.oneOf([1n, 2n]);
        expect(BigInt(metric(await metrics(), "zkapi_requests_served_total") - served)).to.equal(settled);
        await expectNoReuse();
    });

    it("Should catch up from an older copy of the profile instead of reusing its tickets", async function () {
        await proxy?.stop();
        proxy = undefined;
        const backup = path.join(dir, "bob-backup");
        cpSync(bob.home, backup, { recursive: true });
        const before = await balance();
        for (const n of [1, 2, 3]) expect((await bob.ok("chat", "--no-stream", `after the backup ${n}`)).trim()).to.equal(`You said: after the backup ${n}`);
        const newest = await balance();
        expect(BigInt(newest.requests) - BigInt(before.requests)).to.equal(3n);

        // The old copy is put back: it knows nothing of the three calls, and its prepared ticket is one of theirs.
        rmSync(bob.home, { recursive: true, force: true });
        cpSync(backup, bob.home, { recursive: true });
        expect((await balance()).requests).to.equal(before.requests);
        expect((await bob.ok("chat", "--no-stream", "from the old copy")).trim()).to.equal("You said: from the old copy");
        const caughtUp = await balance();
        expect(caughtUp.requests, `the old copy adopted the newer copy's three calls and made one (before ${before.requests}, newest ${newest.requests})`).to.equal(
            (BigInt(newest.requests) + 1n).toString()
        );
        expect(BigInt(caughtUp.spent) > BigInt(newest.spent)).to.equal(true);
        const text = await metrics();
        expect(metric(text, "zkapi_double_spends_total")).to.equal(0);
        expect(metric(text, 'zkapi_requests_rejected_total{reason="DOUBLE_SPEND"}')).to.equal(0);
        expect(await deposit(), "never slashed").to.equal(1n);
    });
});
