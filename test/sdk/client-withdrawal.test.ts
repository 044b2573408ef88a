import { expect } from "chai";
import { TestToken__factory } from "@zk-api-credits/contracts";
import { freePort } from "../../scripts/lib/local-node";
import { advanceTime } from "../../scripts/lib/local-node";
import { SdkError } from "@zk-api-credits/sdk";
import type { ZkApiClient, ZkApiClientOptions } from "@zk-api-credits/sdk";
import { chargedIndices, chat, recorder, runClientWorker, sdkUser, startSdkStack, UNPRICED } from "./support/sdk-stack";
import type { SdkStack, SdkUser } from "./support/sdk-stack";

const WITHDRAWING = 2n;
const WITHDRAWN = 3n;

// Withdrawal (issue 10): resolve everything first, then withdraw the newest state; a slot that
// cannot be resolved is declared (paid at maxCost), never left to be challenged.
describe("SDK client: withdrawal, against a real gateway", function () {
    let s: SdkStack;
    let nextAccount = 5;
    const clients: ZkApiClient[] = [];

    const user = (): Promise<SdkUser> => sdkUser(s, nextAccount++);

    async function open(u: SdkUser, extra: Partial<ZkApiClientOptions> = {}): Promise<ZkApiClient> {
        const client = await u.open(extra);
        clients.push(client);
        return client;
    }

    before(async function () {
        s = await startSdkStack();
    });

    after(async function () {
        for (const client of clients) await client.close();
        await s?.stop();
    });

    it("Should void a released ticket, fold, withdraw the newest base with nothing declared, and pay back the exact refund", async function () {
        const olivia = await user();
        const client = await open(olivia, { prepareAhead: 0 });
        const seen = recorder(client);
        for (let i = 0; i < 3; i++) expect((await client.fetch("/v1/chat/completions", chat(`spend ${i}`))).status).to.equal(200);
        expect((await client.fetch("/v1/chat/completions", UNPRICED)).status).to.equal(404);
        await client.settled();
        const before = (await client.refresh())!;
        expect(before.base.state.folded).to.equal(2n);
        expect(before.tickets["3"]?.status).to.equal("released");

        const withdrawal = await client.requestWithdrawal(olivia.address);
        expect(withdrawal.phase).to.equal("requested");
        // The released ticket (its proof was shown) was voided at cost 0, and 2 + 3 folded: nothing declared.
        expect(chargedIndices(seen.charged, "voided")).to.deep.equal([3n]);
        expect((await client.refresh())!.base.state.folded).to.equal(4n);
        const spent = seen.charged.reduce((sum, e) => sum + e.cost, 0n);
        expect(withdrawal.claim!.spent).to.equal(spent);
        expect(withdrawal.claim!.burned).to.equal(0n);
        expect(withdrawal.claim!.declaredSlots).to.equal(0);
        expect(withdrawal.claim!.slotNullifiers.every((n) => n !== 0n)).to.equal(true);
        expect((await s.registry.deposits(olivia.identity.commitment)).status).to.equal(WITHDRAWING);
        const closed = await client.fetch("/v1/chat/completions", chat("too late")).catch((e: unknown) => e);
        expect(closed).to.be.instanceOf(SdkError).with.property("code", "ACCOUNT_CLOSED");

        const early = await client.finalizeWithdrawal().catch((e: unknown) => e);
        expect(early).to.be.instanceOf(SdkError).with.property("code", "WITHDRAWAL_PENDING");
        await advanceTime(s.chain, s.stack.deployment.parameters.challengeWindow + 1n);
        const token = TestToken__factory.connect(s.stack.deployment.contracts.token, s.chain);
        const balanceBefore = await token.balanceOf(olivia.address);
        const finalized = await client.finalizeWithdrawal();
        expect(finalized.refund).to.equal(olivia.deposit - spent);
        expect(await token.balanceOf(olivia.address)).to.equal(balanceBefore + olivia.deposit - spent);
        expect((await s.registry.deposits(olivia.identity.commitment)).status).to.equal(WITHDRAWN);
    });

    it("Should refuse to withdraw with a ticket it cannot resolve, and with force declare it and pay maxCost for it", async function () {
        const peggy = await user();
        // A process wrote ticket 0 down and died before sending it; the gateway is then out of reach.
        const died = await runClientWorker(s, peggy, "die-before-send", 1);
        expect(died.signal, died.stderr).to.equal("SIGKILL");
        const offline = await open(peggy, { prepareAhead: 0, gatewayUrl: `http://127.0.0.1:${await freePort()}` });
        const refused = await offline.requestWithdrawal(peggy.address, { rounds: 2 }).catch((e: unknown) => e);
        expect(refused).to.be.instanceOf(SdkError).with.property("code", "UNRESOLVED");
        expect((refused as Error).message).to.match(/tickets 0\b/);

        const withdrawal = await offline.requestWithdrawal(peggy.address, { rounds: 1, force: true });
        expect(withdrawal.claim!.declaredSlots).to.equal(1); // slot 0 declared
        expect(withdrawal.claim!.slotNullifiers[0]).to.equal(0n);
        expect(withdrawal.claim!.spent).to.equal(0n);
        await advanceTime(s.chain, s.stack.deployment.parameters.challengeWindow + 1n);
        const finalized = await offline.finalizeWithdrawal();
        expect(finalized.refund).to.equal(peggy.deposit - s.stack.deployment.parameters.maxCost);
    });
});
