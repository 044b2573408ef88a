import { expect } from "chai";
import type { ZkApiClient } from "@zk-api-credits/sdk";
import { chargedIndices, chat, eventually, recorder, sdkUser, startSdkStack } from "./support/sdk-stack";
import type { SdkStack } from "./support/sdk-stack";

const EPOCH_BLOCKS = 20;

// Epoch roots (issue 10, item 11): a deposit registered after the last epoch boundary is not
// in the tree clients prove against until the next boundary; the client waits for it and says so.
describe("SDK client: epochs, against a real gateway", function () {
    let s: SdkStack;
    let client: ZkApiClient | undefined;

    before(async function () {
        s = await startSdkStack({ stack: { parameters: { epochBlocks: EPOCH_BLOCKS } } });
    });

    after(async function () {
        await client?.close();
        await s?.stop();
    });

    it("Should wait for the epoch boundary after a registration, with a clear message, then pay", async function () {
        // Start right after a boundary, so the registration lands in an epoch that has not ended.
        const head = await s.chain.getBlockNumber();
        const toBoundary = EPOCH_BLOCKS - (head % EPOCH_BLOCKS);
        for (let i = 0; i < toBoundary; i++) await s.chain.send("evm_mine", []);
        const user = await sdkUser(s, 5);
        client = await user.open({ prepareAhead: 0 });
        const seen = recorder(client);
        const answer = client.fetch("/v1/chat/completions", chat("after the boundary"));
        const notice = await eventually(async () => seen.waiting.find((w) => w.reason === "epoch"), "the epoch notice");
        expect(notice.message).to.match(/joins the tree at the epoch boundary, block \d+/);
        const boundary = Number(/block (\d+);/.exec(notice.message)![1]);
        expect(boundary % EPOCH_BLOCKS).to.equal(0);
        // Drive the chain to the boundary (and one more block, so the gateway's epoch has it too).
        while ((await s.chain.getBlockNumber()) <= boundary) await s.chain.send("evm_mine", []);
        expect((await answer).status).to.equal(200);
        expect(chargedIndices(seen.charged, "request")).to.deep.equal([0n]);
    });
});
