import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import OpenAI from "openai";
import { ICreditRegistry__factory, IERC20__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import {
    decodeReceipt,
    encodeHeaderValue,
    ERROR_CODE_HEADER,
    RECEIPT_HEADER,
    RECEIPTS_PATH,
    requestHash,
    TICKET_HEADER
} from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import { blockPatterns, createGateway, PostgresNullifierStore, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { FileAccountStore, proveTicket, RegistrySync, startOpenAIProxy } from "@zk-api-credits/sdk";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chatBody, DEPOSIT, eventually, registeredUser } from "../helpers/users";
import type { TestUser } from "../helpers/users";

const ACTIVE = 1n;
const SLASHED = 4n;

// The whole product over real HTTP: a hardhat node in its own process, the registry deployed
// by the deploy task, the gateway with a real store, clients using the SDK.
for (const storeKind of ["sqlite", "postgres"] as const) {
    describe(`Gateway end to end over HTTP (${storeKind} store)`, function () {
        let stack: DeployedStack;
        let postgres: LocalPostgres | undefined;
        let store: NullifierStore;
        let gateway: Gateway;
        let url: string;
        let chain: JsonRpcProvider;
        let registry: ICreditRegistry;
        let binding: RegistryBinding;
        let alice: TestUser;

        before(async function () {
            stack = await startDeployedStack();
            const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-e2e-"));
            if (storeKind === "postgres") {
                postgres = await startPostgres();
                store = await PostgresNullifierStore.connect(await postgres.createDatabase("zkapi_e2e"));
            } else {
                store = new SqliteNullifierStore(path.join(dir, "gateway.db"));
            }
            chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
            gateway = await createGateway({
                deployment: stack.deployment,
                signingKey: stack.providerSigningKey,
                provider: chain,
                operator: new NonceManager(stack.operator.connect(chain)),
                store,
                policy: blockPatterns([/forbidden topic/i]),
                slashProver: prover("slash"),
                workerPollMs: 200
            });
            await gateway.app.listen({ port: 0, host: "127.0.0.1" });
            const address = gateway.app.server.address();
            url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
            registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            const { parameters } = stack.deployment;
            binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
            alice = await registeredUser(stack, url, 5);
        });

        after(async function () {
            await gateway?.close();
            await store?.close();
            chain?.destroy();
            await stack?.stop();
            await postgres?.stop();
        });

        it("Should serve paid chat calls of varying cost and keep the client's balance exact", async function () {
            const costs: bigint[] = [];
            for (const message of ["hi", "a much longer message that costs more tokens to process and answer", "ok then"]) {
                const before = alice.client.balance();
                const response = await alice.client.fetch("/v1/chat/completions", {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: chatBody(message)
                });
                expect(response.status).to.equal(200);
                const body = (await response.json()) as { choices: { message: { content: string } }[]; usage: { total_tokens: number } };
                expect(body.choices[0]!.message.content).to.equal(`You said: ${message}`);
                const receipt = decodeReceipt(response.headers.get(RECEIPT_HEADER)!);
                const after = alice.client.balance();
                expect(after.requests).to.equal(before.requests + 1n);
                expect(after.spent - before.spent).to.equal(receipt.cost);
                expect(after.available).to.equal(before.available - receipt.cost);
                costs.push(receipt.cost);
            }
            expect(new Set(costs).size).to.equal(3);
            expect(costs[1]! > costs[0]!).to.equal(true);
            expect((await store.stats()).complete).to.equal(3);
        });

        it("Should answer a repeated request from the store without charging again", async function () {
            const bob = await registeredUser(stack, url, 9);
            const body = chatBody("replay me");
            const account = bob.client.account!;
            const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
            const ticket = await proveTicket(prover("spend-20"), bob.identity, account, tree, binding, 20, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
            const header = encodeHeaderValue({ version: 1, binding: "request", context: stack.deployment.parameters.context, ...ticket });
            const send = () => fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });
            const first = await send();
            const second = await send();
            expect(first.status).to.equal(200);
            expect(second.status).to.equal(200);
            expect(await second.text()).to.equal(await first.text());
            expect(second.headers.get(RECEIPT_HEADER)).to.equal(first.headers.get(RECEIPT_HEADER));
            expect((await store.stats()).complete).to.equal(4);
            const byNullifier = await fetch(`${url}${RECEIPTS_PATH}/0x${ticket.nullifier.toString(16)}`);
            expect(byNullifier.headers.get(RECEIPT_HEADER)).to.equal(first.headers.get(RECEIPT_HEADER));
            expect(decodeReceipt(first.headers.get(RECEIPT_HEADER)!).nullifier).to.equal(ticket.nullifier);
            bob.provider.destroy();
        });

        it("Should slash a client that spends one ticket on two requests, on-chain, bounty to the treasury", async function () {
            const cheat = await registeredUser(stack, url, 6);
            const account = cheat.client.account!;
            const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
            const send = async (message: string) => {
                const body = chatBody(message);
                const ticket = await proveTicket(prover("spend-20"), cheat.identity, account, tree, binding, 20, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
                const header = encodeHeaderValue({ version: 1, binding: "request", context: stack.deployment.parameters.context, ...ticket });
                return fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });
            };
            const treasuryBefore = await IERC20__factory.connect(stack.deployment.contracts.token, chain).balanceOf(stack.treasury.address);
            expect((await send("first use")).status).to.equal(200);
            const reuse = await send("second use of the same ticket");
            expect(reuse.status).to.equal(409);
            expect(reuse.headers.get(ERROR_CODE_HEADER)).to.equal("DOUBLE_SPEND");
            expect(reuse.headers.get(RECEIPT_HEADER)).to.equal(null);
            await eventually(async () => ((await registry.deposits(cheat.identity.commitment)).status === SLASHED ? true : undefined), "the slash");
            const bounty = (DEPOSIT * stack.deployment.parameters.reserveBps) / 10_000n;
            const treasuryAfter = await IERC20__factory.connect(stack.deployment.contracts.token, chain).balanceOf(stack.treasury.address);
            expect(treasuryAfter - treasuryBefore).to.equal(bounty);
            expect((await store.stats()).doubleSpends).to.equal(1);
            cheat.provider.destroy();
        });

        it("Should challenge, automatically, a withdrawal that claims an already spent state", async function () {
            const stale = await registeredUser(stack, url, 7);
            const genesis = stale.client.account!;
            const response = await stale.client.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody("spend ticket 0") });
            expect(response.status).to.equal(200);
            // Reopen the account as it was before the request: a user trying to withdraw with a stale state.
            await new FileAccountStore(path.join(stale.home, "account.json")).save(genesis);
            const rolledBack = await stale.open();
            await rolledBack.requestWithdrawal("0x000000000000000000000000000000000000bEEF");
            await eventually(async () => ((await registry.deposits(stale.identity.commitment)).status === SLASHED ? true : undefined), "the challenge");
            const challenged = await registry.queryFilter(registry.filters.WithdrawalChallenged(stale.identity.commitment));
            expect(challenged).to.have.length(1);
            stale.provider.destroy();
        });

        it("Should refuse a request under a withdrawn state's nullifier, and pay the honest withdrawal exactly", async function () {
            const leaver = await registeredUser(stack, url, 8);
            const recipient = "0x00000000000000000000000000000000000C0FFE";
            const withdrawal = await leaver.client.requestWithdrawal(recipient);
            const reopened = await leaver.open();
            expect(reopened.account!.withdrawal!.nullifier).to.equal(withdrawal.nullifier);
            // A request with the withdrawn ticket is refused once the watcher has seen the withdrawal.
            const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
            const body = chatBody("after withdrawing");
            const account = { ...reopened.account!, withdrawal: undefined };
            const ticket = await proveTicket(prover("spend-20"), leaver.identity, account, tree, binding, 20, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
            expect(ticket.nullifier).to.equal(withdrawal.nullifier);
            const header = encodeHeaderValue({ version: 1, binding: "request", context: stack.deployment.parameters.context, ...ticket });
            const refused = await eventually(async () => {
                const r = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });
                return r.headers.get(ERROR_CODE_HEADER) === "TICKET_WITHDRAWN" ? r : undefined;
            }, "the watcher to close the withdrawn ticket");
            expect(refused.status).to.equal(403);
            await chain.send("evm_increaseTime", [Number(stack.deployment.parameters.challengeWindow)]);
            await chain.send("evm_mine", []);
            const refund = await reopened.finalizeWithdrawal();
            expect(refund).to.equal(DEPOSIT);
            expect(await IERC20__factory.connect(stack.deployment.contracts.token, chain).balanceOf(recipient)).to.equal(DEPOSIT);
            expect((await registry.deposits(leaver.identity.commitment)).status).to.equal(3n);
            leaver.provider.destroy();
        });

        it("Should burn the policy penalty for a violation and log it on-chain", async function () {
            const before = alice.client.balance();
            const response = await alice.client.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody("let us discuss the forbidden topic") });
            expect(response.status).to.equal(403);
            expect(response.headers.get(ERROR_CODE_HEADER)).to.equal("POLICY_VIOLATION");
            const receipt = decodeReceipt(response.headers.get(RECEIPT_HEADER)!);
            expect(receipt.penalty).to.equal(stack.deployment.parameters.policyPenalty);
            expect(receipt.cost).to.equal(0n);
            const after = alice.client.balance();
            expect(after.burned - before.burned).to.equal(stack.deployment.parameters.policyPenalty);
            const reported = await eventually(async () => {
                const events = await registry.queryFilter(registry.filters.ViolationReported(receipt.nullifier));
                return events.length > 0 ? events : undefined;
            }, "the violation report");
            expect(reported[0]!.args.violationCount).to.equal(1n);
        });

        it("Should let a stock OpenAI client pay anonymously through the local proxy", async function () {
            const proxy = await startOpenAIProxy({ client: alice.client });
            try {
                const openai = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: "not-needed" });
                const before = alice.client.balance();
                const completion = await openai.chat.completions.create({ model: "local-echo", messages: [{ role: "user", content: "through the proxy" }] });
                expect(completion.choices[0]!.message.content).to.equal("You said: through the proxy");
                expect(alice.client.balance().requests).to.equal(before.requests + 1n);
                expect(alice.client.balance().spent > before.spent).to.equal(true);
            } finally {
                await proxy.close();
            }
        });

        it("Should pay with tickets proved in advance (ephemeral-key binding), proving off the request path", async function () {
            const eager = await registeredUser(stack, url, 10, { binding: "ephemeral-key" });
            await eager.client.prepareNextTicket();
            for (const message of ["first", "second", "third"]) {
                const prepared = eager.client.account!.prepared;
                expect(prepared?.seq).to.equal(eager.client.balance().requests);
                const response = await eager.client.fetch("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: chatBody(message) });
                expect(response.status).to.equal(200);
                expect(decodeReceipt(response.headers.get(RECEIPT_HEADER)!).nullifier).to.equal(prepared!.nullifier);
                await eager.client.prepareNextTicket();
            }
            expect(eager.client.balance().requests).to.equal(3n);
            eager.provider.destroy();
        });

        it("Should report health, metrics and statistics", async function () {
            const health = (await (await fetch(`${url}/health`)).json()) as { status: string; leafCount: number };
            expect(health.status).to.equal("ok");
            const metrics = await (await fetch(`${url}/metrics`)).text();
            expect(metrics).to.match(/zkapi_requests_served_total \d+/);
            expect(metrics).to.match(/zkapi_requests_rejected_total\{reason="DOUBLE_SPEND"\} 1/);
            expect(metrics).to.match(/zkapi_chain_jobs_total\{kind="slash",outcome="done"\} 1/);
            expect(Number(/zkapi_requests_served_total (\d+)/.exec(metrics)![1])).to.be.greaterThan(5);
            expect((await registry.deposits(alice.identity.commitment)).status).to.equal(ACTIVE);
        });
    });
}
