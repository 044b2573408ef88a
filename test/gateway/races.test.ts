import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { encodeTicket, ERROR_CODE_HEADER, RECEIPT_HEADER, requestHash, TICKET_HEADER } from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import { PostgresNullifierStore } from "@zk-api-credits/provider";
import { proveTicket, RegistrySync } from "@zk-api-credits/sdk";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chatBody, eventually, registeredUser } from "../helpers/users";
import type { TestUser } from "../helpers/users";

const USERS = Number(process.env.RACE_USERS ?? 4);
const REQUESTS_PER_TICKET = 3;
const COPIES = 4;
const SLASHED = 4n;

// Many clients and two replicas on one PostgreSQL hammer the same tickets: each ticket is
// served exactly once, and every ticket spent on two requests ends in an on-chain slash.
describe("Races between clients and replicas on one ticket", function () {
    let stack: DeployedStack;
    let postgres: LocalPostgres;
    let databaseUrl: string;
    let replicas: GatewayProcess[];
    let chain: JsonRpcProvider;
    let registry: ICreditRegistry;
    const users: TestUser[] = [];

    before(async function () {
        stack = await startDeployedStack();
        postgres = await startPostgres();
        databaseUrl = await postgres.createDatabase("zkapi_races");
        replicas = [await startGatewayProcess(stack, { store: databaseUrl }), await startGatewayProcess(stack, { store: databaseUrl })];
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        for (let u = 0; u < USERS; u++) users.push(await registeredUser(stack, replicas[u % 2]!.url, 5 + u));
    });

    after(async function () {
        for (const replica of replicas ?? []) await replica.kill();
        users.forEach((u) => u.provider.destroy());
        chain?.destroy();
        await stack?.stop();
        await postgres?.stop();
    });

    it(`Should serve one request per ticket out of ${USERS * REQUESTS_PER_TICKET * COPIES} concurrent attempts, and slash every double-spender`, async function () {
        const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).syncUntil(USERS);
        const { parameters } = stack.deployment;
        const binding: RegistryBinding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        const attempts: { user: number; request: number; header: string; body: string }[] = [];
        for (let u = 0; u < USERS; u++) {
            for (let r = 0; r < REQUESTS_PER_TICKET; r++) {
                const body = chatBody(`user ${u} request ${r}`);
                const ticket = await proveTicket(prover("spend-20"), users[u]!.identity, users[u]!.client.account!, tree, binding, 20, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
                const header = encodeTicket({ version: 1, binding: "request", context: parameters.context, ...ticket });
                for (let c = 0; c < COPIES; c++) attempts.push({ user: u, request: r, header, body });
            }
        }
        attempts.sort(() => Math.random() - 0.5);
        const answers = await Promise.all(
            attempts.map(async (attempt, i) => {
                const response = await fetch(`${replicas[i % 2]!.url}/v1/chat/completions`, {
                    method: "POST",
                    headers: { "content-type": "application/json", [TICKET_HEADER]: attempt.header },
                    body: attempt.body
                });
                await response.arrayBuffer();
                return { ...attempt, status: response.status, code: response.headers.get(ERROR_CODE_HEADER), receipt: response.headers.get(RECEIPT_HEADER) };
            })
        );
        for (let u = 0; u < USERS; u++) {
            const mine = answers.filter((a) => a.user === u);
            const servedRequests = new Set(mine.filter((a) => a.status === 200).map((a) => a.request));
            expect(servedRequests.size, `user ${u}: requests served`).to.equal(1);
            expect(new Set(mine.filter((a) => a.receipt !== null).map((a) => a.receipt)).size, `user ${u}: receipts`).to.equal(1);
            const served = [...servedRequests][0];
            for (const answer of mine) {
                if (answer.request === served) expect([200, 409]).to.include(answer.status);
                if (answer.request === served && answer.status === 409) expect(answer.code).to.equal("TICKET_IN_PROGRESS");
                if (answer.request !== served) expect(answer.code).to.equal("DOUBLE_SPEND");
            }
        }
        const store = await PostgresNullifierStore.connect(databaseUrl);
        const stats = await store.stats();
        await store.close();
        expect(stats.complete).to.equal(USERS);
        for (const user of users) {
            await eventually(async () => ((await registry.deposits(user.identity.commitment)).status === SLASHED ? true : undefined), "every slash", 120_000);
            expect(await registry.queryFilter(registry.filters.Slashed(user.identity.commitment))).to.have.length(1);
        }
    });
});
