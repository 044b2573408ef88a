import Anthropic from "@anthropic-ai/sdk";
import { expect } from "chai";
import OpenAI from "openai";
import { startOpenAIProxy } from "@zk-api-credits/sdk";
import type { OpenAIProxy, ZkApiClient } from "@zk-api-credits/sdk";
import { chargedIndices, recorder, sdkUser, startSdkStack } from "./support/sdk-stack";
import type { ClientRecord, SdkStack } from "./support/sdk-stack";

// The local proxy (`zkapi proxy`) with the stock clients apps use: every paid call is paid with
// a ticket of one deposit, concurrently, streams relayed with the charge event taken out, the
// catalogue free.
describe("SDK local proxy with the stock openai and @anthropic-ai/sdk clients", function () {
    let s: SdkStack;
    let client: ZkApiClient;
    let seen: ClientRecord;
    let proxy: OpenAIProxy;
    let openai: OpenAI;

    before(async function () {
        s = await startSdkStack();
        const user = await sdkUser(s, 5);
        client = await user.open({ prepareAhead: 4 });
        seen = recorder(client);
        await client.start();
        await client.prepareTickets(4);
        proxy = await startOpenAIProxy({ client });
        openai = new OpenAI({ apiKey: "sk-the-app-key-stays-local", baseURL: `${proxy.url}/v1`, maxRetries: 0 });
    });

    after(async function () {
        await proxy?.close();
        await client?.close();
        await s?.stop();
    });

    it("Should list the models without a ticket", async function () {
        const before = (await client.refresh())!;
        const models = await openai.models.list();
        expect(models.data.length).to.be.greaterThan(0);
        expect((await client.refresh())!.tickets).to.deep.equal(before.tickets);
    });

    it("Should serve concurrent openai calls on one deposit, each with its own ticket", async function () {
        const charged = seen.charged.length;
        const answers = await Promise.all(
            [0, 1, 2, 3].map((i) => openai.chat.completions.create({ model: "echo", messages: [{ role: "user", content: `concurrent ${i}` }], max_tokens: 16 }))
        );
        for (const answer of answers) expect(answer.choices[0]!.message.content).to.be.a("string").and.not.equal("");
        const indices = chargedIndices(seen.charged.slice(charged), "request");
        expect(new Set(indices.map(String)).size).to.equal(4);
    });

    it("Should stream a chat completion to the openai client with the charge event taken out, and pay for it", async function () {
        const charged = seen.charged.length;
        const stream = await openai.chat.completions.create({
            model: "echo",
            messages: [{ role: "user", content: "stream through the proxy" }],
            max_tokens: 16,
            stream: true,
            stream_options: { include_usage: true }
        });
        let text = "";
        let chunks = 0;
        for await (const chunk of stream) {
            chunks++;
            text += chunk.choices[0]?.delta.content ?? "";
        }
        expect(chunks).to.be.greaterThan(1);
        expect(text).to.not.equal("");
        expect(seen.charged.slice(charged).map((e) => e.how)).to.deep.equal(["request"]);
    });

    it("Should stream to an openai client that did not ask for usage without the usage chunk the gateway relays", async function () {
        const charged = seen.charged.length;
        const stream = await openai.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "no usage asked" }], max_tokens: 16, stream: true });
        let text = "";
        for await (const chunk of stream) {
            // The gateway relays its usage chunk (the SDK audits the charge against it); the SDK takes it out for this caller.
            expect(chunk.choices).to.have.length.greaterThan(0);
            expect(chunk.usage ?? undefined).to.equal(undefined);
            text += chunk.choices[0]?.delta.content ?? "";
        }
        expect(text).to.not.equal("");
        expect(seen.charged.slice(charged).map((e) => e.how)).to.deep.equal(["request"]);
    });

    it("Should stream an Anthropic message to the @anthropic-ai/sdk client", async function () {
        const anthropic = new Anthropic({ apiKey: "sk-ant-the-app-key-stays-local", baseURL: proxy.url, maxRetries: 0 });
        const charged = seen.charged.length;
        const message = await anthropic.messages.stream({ model: "echo", max_tokens: 16, messages: [{ role: "user", content: "hello from anthropic" }] }).finalMessage();
        const block = message.content[0];
        expect(block?.type).to.equal("text");
        expect(block?.type === "text" ? block.text : "").to.not.equal("");
        expect(seen.charged.slice(charged).map((e) => e.how)).to.deep.equal(["request"]);
    });

    it("Should relay an Ollama NDJSON stream without the charge line", async function () {
        const charged = seen.charged.length;
        const answer = await fetch(`${proxy.url}/api/chat`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hello ollama" }], stream: true })
        });
        expect(answer.status).to.equal(200);
        const lines = (await answer.text())
            .split("\n")
            .filter((line) => line.length > 0)
            .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(lines.length).to.be.greaterThan(1);
        for (const line of lines) expect(line).to.not.have.property("zkapi-charge");
        expect(lines.at(-1)!.done).to.equal(true);
        expect(seen.charged.slice(charged).map((e) => e.how)).to.deep.equal(["request"]);
    });

    it("Should have found every charge so far exactly the published price of what was answered (the charge audit)", async function () {
        await client.settled();
        expect(seen.charged.length).to.be.greaterThan(6);
        expect(seen.disputes).to.deep.equal([]);
        expect((await client.loadPricing())!.table).to.not.equal(undefined);
    });

    it("Should answer a request the deposit cannot pay with a JSON error, never a hang", async function () {
        const poorUser = await sdkUser(s, 6, { deposit: s.stack.deployment.parameters.minimumDeposit });
        const poor = await poorUser.open({ prepareAhead: 0 });
        const poorProxy = await startOpenAIProxy({ client: poor });
        try {
            const poorOpenai = new OpenAI({ apiKey: "sk-x", baseURL: `${poorProxy.url}/v1`, maxRetries: 0 });
            // The minimum deposit pays two requests, and after their fold one more (which can never be folded).
            for (const content of ["one", "two", "three"]) {
                await poorOpenai.chat.completions.create({ model: "echo", messages: [{ role: "user", content }], max_tokens: 8 });
                await poor.settled();
            }
            const error = await poorOpenai.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "four" }], max_tokens: 8 }).catch((e: unknown) => e);
            expect(error).to.be.instanceOf(OpenAI.APIError).with.property("status", 402);
        } finally {
            await poorProxy.close();
            await poor.close();
        }
    });
});
