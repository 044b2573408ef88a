import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import {
    BatchProofVerifier,
    createGateway,
    InThreadTicketChecker,
    HttpUpstream,
    PriceTable,
    SqliteNullifierStore,
    UpstreamHeadStarts,
    upstreamApi,
    UpstreamRouter
} from "@zk-api-credits/provider";
import type { Gateway, NullifierStore, ProofVerifier, TicketCheck, TicketChecker, TicketVerdict, VerificationHint } from "@zk-api-credits/provider";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import { decodeCharge } from "@zk-api-credits/protocol";
import type { ChargeReceipt } from "@zk-api-credits/protocol";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { startUpstreamServer } from "../support/upstream-server";
import type { UpstreamServer } from "../support/upstream-server";
import { requestFrom } from "../helpers/http-from";
import { chat, RawUser } from "../helpers/tickets";
import type { ProvedTicket } from "../helpers/tickets";

const PROVIDER_KEY = "sk-provider-secret";

/**
 * The real Spend verifier behind a gate: before it verifies, it records how many calls the
 * upstream had received, and (when `waitForUpstream` is set) waits until the upstream has
 * received this request's call. A call that is not started before the ticket's checks end
 * can never satisfy that wait, so the test fails rather than passes by luck; no timing is
 * assumed either way. It also records whether each ticket asked to keep the gateway's thread
 * free (an upstream call started ahead: a verification pool then checks the signature on its
 * worker rather than on the thread that must send that call).
 */
class GatedVerifier implements ProofVerifier, TicketChecker {
    waitForUpstream = false;
    /** Upstream calls seen when each proof reached the verifier. */
    readonly seenAtCheck: number[] = [];
    /** Each ticket's keepThreadFree. */
    readonly threadKeptFree: boolean[] = [];
    callsBefore = 0;
    /** When set, each verdict waits until this holds (a charge signed while the proof is checked), at most 60 s. */
    holdVerdictUntil: (() => boolean) | undefined;
    /** Whether it held when each verdict was given (true when unset). */
    readonly heldAtVerdict: boolean[] = [];

    constructor(
        private readonly inner: ProofVerifier,
        private readonly upstream: UpstreamServer
    ) {}

    async verify(proof: readonly bigint[], publicSignals: readonly bigint[], hint?: VerificationHint): Promise<boolean> {
        let seen = (await this.upstream.requests()).length;
        if (this.waitForUpstream) {
            const deadline = Date.now() + 60_000;
            while (seen <= this.callsBefore && Date.now() < deadline) {
                await new Promise((resolve) => setTimeout(resolve, 10));
                seen = (await this.upstream.requests()).length;
            }
        }
        this.seenAtCheck.push(seen - this.callsBefore);
        const valid = await this.inner.verify(proof, publicSignals, hint);
        const deadline = Date.now() + 60_000;
        while (this.holdVerdictUntil !== undefined && !this.holdVerdictUntil() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        this.heldAtVerdict.push(this.holdVerdictUntil?.() ?? true);
        return valid;
    }

    checkTicket(check: TicketCheck): Promise<TicketVerdict> {
        this.threadKeptFree.push(check.keepThreadFree === true);
        return new InThreadTicketChecker(this).checkTicket(check);
    }
}

interface Answer {
    readonly status: number;
    readonly code?: string;
    readonly body: string;
    readonly charge?: ChargeReceipt;
}

// Upstream head starts (issue 11, item 1): a client whose tickets passed has its next upstream
// call started while its ticket is checked, so the first event is not delayed by the proof;
// a client that never sent a valid ticket, or whose ticket is refused, gets none.
describe("Upstream head starts", function () {
    let stack: DeployedStack;
    let upstream: UpstreamServer;
    let store: NullifierStore;
    let gateway: Gateway;
    let chain: JsonRpcProvider;
    let url: string;
    let user: RawUser;
    let verifier: GatedVerifier;
    let headStarts: UpstreamHeadStarts;
    let index = 0n;
    let failNextClaim = false;
    /** Awaited by the next claim before it reaches the store (then cleared). */
    let claimGate: (() => Promise<void>) | undefined;
    /** The store's writes so far: claims that carried their answer (recorded complete at once), and completions. */
    const writes = { claimsWithAnswer: 0, completions: 0 };

    before(async function () {
        stack = await startDeployedStack();
        upstream = await startUpstreamServer({ apiKey: PROVIDER_KEY });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        const sqlite = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-head-start-")), "gateway.db"));
        // The real store, whose next claim fails when `failNextClaim` is set (a database outage).
        store = new Proxy(sqlite, {
            get(target, property, receiver) {
                if (property === "claim" && failNextClaim) {
                    failNextClaim = false;
                    return () => Promise.reject(new Error("the database is down"));
                }
                if (property === "claim" && claimGate !== undefined) {
                    const gate = claimGate;
                    claimGate = undefined;
                    return async (...args: Parameters<NullifierStore["claim"]>) => {
                        await gate();
                        if (args[4] !== undefined) writes.claimsWithAnswer++;
                        return target.claim(...args);
                    };
                }
                if (property === "claim") {
                    return (...args: Parameters<NullifierStore["claim"]>) => {
                        if (args[4] !== undefined) writes.claimsWithAnswer++;
                        return target.claim(...args);
                    };
                }
                if (property === "complete") {
                    return (...args: Parameters<NullifierStore["complete"]>) => {
                        writes.completions++;
                        return target.complete(...args);
                    };
                }
                const value = Reflect.get(target, property, receiver) as unknown;
                return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
            }
        });
        const { maxCost, policyPenalty } = stack.deployment.parameters;
        const api = upstreamApi({
            upstream: new UpstreamRouter({ openai: new HttpUpstream({ dialect: "openai", baseUrl: upstream.url, apiKey: PROVIDER_KEY }) }),
            prices: PriceTable.uniform({ decimals: 18, maxCost, policyPenalty }, "1000", "20")
        });
        verifier = new GatedVerifier(new BatchProofVerifier(circuitArtifacts("spend-32").verificationKey, { windowMs: 0 }), upstream);
        headStarts = new UpstreamHeadStarts({ maxPerClient: 2 });
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, api, verifier, headStarts, workers: false });
        // A model in process: its answer is in before the ticket's checks begin.
        gateway.paid("POST", "/test/in-process", {
            serve: async () => ({ status: 200, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ answer: "at once" })), cost: () => 3n })
        });
        await gateway.app.listen({ port: 0, host: "0.0.0.0" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        user = await RawUser.register(stack, url, 6);
    });

    after(async function () {
        user?.close();
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await upstream?.stop();
        await stack?.stop();
    });

    async function nextTicket(): Promise<ProvedTicket> {
        await user.foldAll();
        return user.prove(index++);
    }

    /** Sends a paid request from local address `from` (the client the gateway sees); keeps its charge. */
    async function send(from: string, ticket: ProvedTicket, body: object, header?: string, route = "/v1/chat/completions"): Promise<Answer> {
        const bytes = Buffer.from(JSON.stringify(body));
        const answer = await requestFrom(url, {
            path: route,
            from,
            body: bytes,
            headers: { "content-type": "application/json", "zkapi-ticket": header ?? user.ticketHeader(ticket, "POST", route, bytes) }
        });
        const chargeHeader = answer.headers["zkapi-charge"];
        const encoded = typeof chargeHeader === "string" ? chargeHeader : /^: zkapi-charge ([A-Za-z0-9_-]+)$/m.exec(answer.body)?.[1];
        const charge = encoded === undefined ? undefined : decodeCharge(encoded);
        if (charge !== undefined) user.accept(ticket, charge);
        return { status: answer.status, code: answer.code, body: answer.body, charge };
    }

    /** Prepares the gate for the next request: counts the upstream's calls so far. */
    async function expectCall(waitForUpstream: boolean): Promise<void> {
        verifier.callsBefore = (await upstream.requests()).length;
        verifier.waitForUpstream = waitForUpstream;
    }

    /** Charges signed so far, sent or not. */
    function signaturesMade(): number {
        const { lone, signer } = gateway.handler.signingStats;
        return lone + signer;
    }

    async function headStartCount(outcome: "served" | "cancelled"): Promise<number> {
        const metric = await gateway.metrics.headStarts.get();
        return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    }

    it("Should call the upstream of a new client only after its ticket passed", async function () {
        await expectCall(false);
        const answer = await send("127.0.0.11", await nextTicket(), chat("first request"));
        expect(answer.status).to.equal(200);
        expect(answer.charge!.cost).to.be.greaterThan(0n);
        expect(verifier.seenAtCheck.at(-1)).to.equal(0);
        expect(verifier.threadKeptFree.at(-1), "nothing to send meanwhile").to.equal(false);
        expect(await headStartCount("served")).to.equal(0);
        expect(headStarts.stats.clients).to.equal(1);
    });

    it("Should start the upstream call of a client whose ticket passed while its next ticket is checked, buffered and streamed", async function () {
        const signedAhead = gateway.handler.signingStats.ahead;
        const signatures = signaturesMade();
        await expectCall(true);
        const buffered = await send("127.0.0.11", await nextTicket(), chat("second request"));
        expect(buffered.status).to.equal(200);
        // Its charge was signed as soon as the answer was in, and that signature was the one sent (it checked out: RawUser.accept).
        expect(gateway.handler.signingStats.ahead).to.equal(signedAhead + 1);
        expect(signaturesMade(), "signed once").to.equal(signatures + 1);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        expect(verifier.threadKeptFree.at(-1), "the thread stays free to send the call started ahead").to.equal(true);
        expect(buffered.body).to.contain("second request");
        expect(buffered.charge!.cost).to.be.greaterThan(0n);

        await expectCall(true);
        const streamed = await send("127.0.0.11", await nextTicket(), chat("third request streamed", { stream: true }));
        expect(streamed.status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        expect(verifier.threadKeptFree.at(-1)).to.equal(true);
        expect(streamed.body).to.contain("data: [DONE]");
        expect(streamed.charge!.cost).to.be.greaterThan(0n);
        expect(gateway.handler.signingStats.ahead, "a stream is priced when it ends").to.equal(signedAhead + 1);
        expect(await headStartCount("served")).to.equal(2);
        // Another client (another address) has earned nothing.
        await expectCall(false);
        expect((await send("127.0.0.12", await nextTicket(), chat("from elsewhere"))).status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(0);
        expect(verifier.threadKeptFree.at(-1)).to.equal(false);
    });

    it("Should not keep the thread free for a call started ahead that has already answered (a model in process)", async function () {
        await expectCall(false);
        expect((await send("127.0.0.15", await nextTicket(), chat("earn one"))).status).to.equal(200);
        const served = await headStartCount("served");
        const signedAhead = gateway.handler.signingStats.ahead;
        const before = { ...writes };
        const ticket = await nextTicket();
        // The verdict waits for the charge's signature: it must be made while the proof is checked
        // (once the cheaper checks passed), not after (the test would then fail, not wait for nothing).
        const signatures = signaturesMade();
        verifier.holdVerdictUntil = () => signaturesMade() > signatures;
        let answer: Answer;
        try {
            answer = await send("127.0.0.15", ticket, { prompt: "in process" }, undefined, "/test/in-process");
        } finally {
            verifier.holdVerdictUntil = undefined;
        }
        expect(answer.status, answer.body).to.equal(200);
        expect(verifier.heldAtVerdict.at(-1), "signed before the proof's verdict").to.equal(true);
        expect(signaturesMade(), "signed once").to.equal(signatures + 1);
        expect(answer.charge!.cost).to.equal(3n);
        expect(await headStartCount("served"), "started ahead").to.equal(served + 1);
        expect(verifier.threadKeptFree.at(-1), "nothing left to send or take: a pool may compute on this thread").to.equal(false);
        // Its answer was in when the checks ended: signed first, then recorded with the ticket in one write (no completion after).
        expect(writes).to.deep.equal({ claimsWithAnswer: before.claimsWithAnswer + 1, completions: before.completions });
        expect(gateway.handler.signingStats.ahead).to.equal(signedAhead + 1);
        const record = (await store.get(`0x${ticket.nullifier.toString(16)}`))!;
        expect(record.status).to.equal("complete");
        expect(decodeCharge(record.charge!)).to.deep.equal(answer.charge);
        // The same request again is answered from the store, with the same charge and answer.
        const again = await send("127.0.0.15", ticket, { prompt: "in process" }, undefined, "/test/in-process");
        expect(again.status).to.equal(200);
        expect(again.charge).to.deep.equal(answer.charge);
        expect(again.body).to.equal(answer.body);
        expect(writes.completions).to.equal(before.completions);
    });

    it("Should cancel the call of a ticket whose proof fails, charge nothing, and withdraw the client's head starts", async function () {
        const ticket = await nextTicket();
        // A and C swapped: both points on the curve, the proof invalid.
        const proof = [...ticket.proof.slice(6, 8), ...ticket.proof.slice(2, 6), ...ticket.proof.slice(0, 2)];
        const forged = { ...ticket, proof };
        const servedBefore = (await gateway.metrics.served.get()).values[0]?.value ?? 0;
        const cancelled = await headStartCount("cancelled");
        await expectCall(true);
        const refused = await send("127.0.0.11", forged, chat("junk with a head start", { stream: true }));
        expect(refused.status).to.equal(403);
        expect(refused.code).to.equal("INVALID_PROOF");
        expect(refused.charge).to.equal(undefined);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        expect(await headStartCount("cancelled")).to.equal(cancelled + 1);
        expect((await gateway.metrics.served.get()).values[0]?.value ?? 0).to.equal(servedBefore);
        // Nothing is recorded for the nullifier: the honest ticket is still unused.
        const lookup = await user.lookup(ticket.nullifier, ticket.index);
        expect(lookup.code).to.equal("TICKET_UNKNOWN");
        // The client's next (valid) ticket waits for its checks again.
        await expectCall(false);
        const honest = await send("127.0.0.11", ticket, chat("the same ticket, honest"));
        expect(honest.status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(0);
    });

    it("Should cancel the call of a repeated ticket, answer it from the store and withdraw the client's head starts", async function () {
        // A client that never failed a check (127.0.0.11 is suspect to admission control now, and gets no head start while it is).
        await expectCall(false);
        expect((await send("127.0.0.13", await nextTicket(), chat("earn one"))).status).to.equal(200);
        const ticket = await nextTicket();
        await expectCall(true);
        const first = await send("127.0.0.13", ticket, chat("asked twice"));
        expect(first.status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        const cancelled = await headStartCount("cancelled");
        const signedAhead = gateway.handler.signingStats.ahead;
        const signatures = signaturesMade();
        const served = (await gateway.metrics.served.get()).values[0]?.value ?? 0;
        // The repeat is recorded only once its call answered and its charge was signed ahead.
        claimGate = async () => {
            while (signaturesMade() === signatures) await new Promise((resolve) => setTimeout(resolve, 5));
        };
        await expectCall(true);
        const again = await send("127.0.0.13", ticket, chat("asked twice"));
        expect(again.status).to.equal(200);
        // The repeat's answer is the stored one; the charge signed ahead for it was dropped, and nothing new was stored.
        expect(signaturesMade()).to.equal(signatures + 1);
        expect(gateway.handler.signingStats.ahead, "not used").to.equal(signedAhead);
        expect(again.charge).to.deep.equal(first.charge);
        expect((await gateway.metrics.served.get()).values[0]?.value ?? 0).to.equal(served);
        expect(await headStartCount("cancelled")).to.equal(cancelled + 1);
        await expectCall(false);
        expect((await send("127.0.0.13", await nextTicket(), chat("after the repeat"))).status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(0);
    });

    it("Should cancel the call started ahead when the store cannot record the ticket", async function () {
        await expectCall(false);
        expect((await send("127.0.0.14", await nextTicket(), chat("earn one here"))).status).to.equal(200);
        const ticket = await nextTicket();
        const cancelled = await headStartCount("cancelled");
        failNextClaim = true;
        await expectCall(true);
        const failed = await send("127.0.0.14", ticket, chat("while the database is down", { stream: true }));
        expect(failed.status).to.equal(500);
        expect(failed.charge).to.equal(undefined);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        expect(await headStartCount("cancelled")).to.equal(cancelled + 1);
        // Nothing was recorded: the same ticket is served once the store is back.
        expect((await user.lookup(ticket.nullifier, ticket.index)).code).to.equal("TICKET_UNKNOWN");
        expect((await send("127.0.0.14", ticket, chat("after the outage"))).status).to.equal(200);
    });

    it("Should never start a call the route refuses before serving (a prompt above maxCost)", async function () {
        await expectCall(true);
        expect((await send("127.0.0.13", await nextTicket(), chat("earn another"))).status).to.equal(200);
        expect(verifier.seenAtCheck.at(-1)).to.equal(1);
        const calls = (await upstream.requests()).length;
        const held = headStarts.stats;
        const prompt = "lorem ipsum dolor sit amet ".repeat(30_000);
        await expectCall(false);
        const refused = await send("127.0.0.13", await nextTicket(), chat(prompt, { max_tokens: 100_000 }));
        expect(refused.status).to.equal(400);
        expect(refused.code).to.equal("WORST_CASE_EXCEEDS_MAX_COST");
        expect((await upstream.requests()).length).to.equal(calls);
        // The head start taken for it was given back.
        expect(headStarts.stats.started).to.equal(held.started);
    });
});

describe("UpstreamHeadStarts", function () {
    it("Should give a head start per ticket passed, up to the cap, and give back the ones used", function () {
        const starts = new UpstreamHeadStarts({ maxPerClient: 3 });
        expect(starts.take("10.0.0.1")).to.equal(false);
        starts.earned("10.0.0.1", false);
        expect(starts.take("10.0.0.1")).to.equal(true);
        expect(starts.take("10.0.0.1")).to.equal(false);
        starts.earned("10.0.0.1", true);
        for (let i = 0; i < 5; i++) starts.earned("10.0.0.1", false);
        expect([starts.take("10.0.0.1"), starts.take("10.0.0.1"), starts.take("10.0.0.1"), starts.take("10.0.0.1")]).to.deep.equal([true, true, true, false]);
        expect(starts.stats.started).to.equal(4);
    });

    it("Should withdraw every head start of a client refused, counting a cancelled call, and count IPv6 clients by /64", function () {
        const starts = new UpstreamHeadStarts();
        starts.earned("2001:db8::1", false);
        starts.earned("2001:db8::2", false);
        expect(starts.take("2001:db8::3")).to.equal(true);
        starts.withdrawn("2001:db8::4", true);
        expect(starts.take("2001:db8::1")).to.equal(false);
        expect(starts.stats).to.deep.equal({ clients: 0, started: 1, cancelled: 1 });
    });

    it("Should forget the least recently credited client beyond maxClients", function () {
        const starts = new UpstreamHeadStarts({ maxClients: 2 });
        starts.earned("10.0.0.1", false);
        starts.earned("10.0.0.2", false);
        starts.earned("10.0.0.3", false);
        expect(starts.stats.clients).to.equal(2);
        expect(starts.take("10.0.0.1")).to.equal(false);
        expect(starts.take("10.0.0.3")).to.equal(true);
    });
});
