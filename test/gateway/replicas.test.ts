import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { RequestKey } from "@zk-api-credits/protocol";
import { createGateway, PostgresNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chat, RawUser } from "../helpers/tickets";
import { eventually } from "../helpers/users";

const USERS = Number(process.env.RACE_USERS ?? 3);
const COPIES = 4;
const SLASHED = 4n;

// Two gateway replicas share one PostgreSQL store. Many copies of the same tickets race to
// both: each ticket is recorded once and has exactly one charge whichever replica stores it,
// and a ticket spent with two request keys across replicas ends in one on-chain slash.
describe("Replicas on one PostgreSQL store", function () {
    let stack: DeployedStack;
    let postgres: LocalPostgres;
    const stores: NullifierStore[] = [];
    const replicas: { gateway: Gateway; url: string }[] = [];
    let chain: JsonRpcProvider;
    let registry: ICreditRegistry;
    const users: RawUser[] = [];

    before(async function () {
        stack = await startDeployedStack();
        postgres = await startPostgres();
        const database = await postgres.createDatabase("zkapi_replicas");
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        for (let r = 0; r < 2; r++) {
            const store = await PostgresNullifierStore.connect(database);
            stores.push(store);
            const gateway = await createGateway({
                deployment: stack.deployment,
                signingKey: stack.providerSigningKey,
                provider: chain,
                operator: new NonceManager(stack.operator.connect(chain)),
                store,
                slashProver: prover("slash"),
                workerPollMs: 200,
                admission: false
            });
            await gateway.app.listen({ port: 0, host: "127.0.0.1" });
            const address = gateway.app.server.address();
            replicas.push({ gateway, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}` });
        }
        for (let u = 0; u < USERS; u++) users.push(await RawUser.register(stack, replicas[u % 2]!.url, 5 + u));
    });

    after(async function () {
        users.forEach((u) => u.close());
        for (const { gateway } of replicas) await gateway.close();
        for (const store of stores) await store.close();
        chain?.destroy();
        await stack?.stop();
        await postgres?.stop();
    });

    const send = async (url: string, header: string, body: string): Promise<{ status: number; code: string | null; charge: string | null }> => {
        const response = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", "zkapi-ticket": header }, body });
        await response.arrayBuffer();
        return { status: response.status, code: response.headers.get("zkapi-error"), charge: response.headers.get("zkapi-charge") };
    };

    it(`Should record each ticket once with one charge out of ${USERS * 2 * COPIES} racing copies on two replicas`, async function () {
        const attempts: { user: number; index: number; header: string; body: string }[] = [];
        for (const [u, user] of users.entries()) {
            for (const index of [0n, 1n]) {
                const ticket = await user.prove(index);
                const body = JSON.stringify(chat(`user ${u} ticket ${index}`));
                const header = user.ticketHeader(ticket, "POST", "/v1/chat/completions", Buffer.from(body));
                for (let c = 0; c < COPIES; c++) attempts.push({ user: u, index: Number(index), header, body });
            }
        }
        attempts.sort(() => Math.random() - 0.5);
        const answers = await Promise.all(attempts.map(async (a, i) => ({ ...a, ...(await send(replicas[i % 2]!.url, a.header, a.body)) })));
        for (let u = 0; u < USERS; u++) {
            for (const index of [0, 1]) {
                const mine = answers.filter((a) => a.user === u && a.index === index);
                for (const answer of mine) expect([200, 409], `${answer.status} ${answer.code}`).to.include(answer.status);
                for (const answer of mine.filter((a) => a.status === 409)) expect(answer.code).to.equal("TICKET_IN_PROGRESS");
                const charges = new Set(mine.filter((a) => a.charge !== null).map((a) => a.charge));
                expect(charges.size, `user ${u} ticket ${index}: charges`).to.equal(1);
            }
        }
        expect((await stores[0]!.stats()).complete).to.equal(USERS * 2);
    });

    it("Should slash a double-spend split across the two replicas once", async function () {
        const cheater = users[0]!;
        const honest = await cheater.prove(2n);
        const second = await cheater.prove(2n, cheater.base, new RequestKey(Buffer.alloc(32, 2)));
        const body = JSON.stringify(chat("split"));
        const [a, b] = await Promise.all([
            send(replicas[0]!.url, cheater.ticketHeader(honest, "POST", "/v1/chat/completions", Buffer.from(body)), body),
            send(replicas[1]!.url, cheater.ticketHeader(second, "POST", "/v1/chat/completions", Buffer.from(body)), body)
        ]);
        expect([a.status, b.status]).to.include(409);
        expect([a.code, b.code]).to.include("DOUBLE_SPEND");
        await eventually(async () => ((await registry.deposits(cheater.identity.commitment)).status === SLASHED ? true : undefined), "the slash", 120_000);
        expect(await registry.queryFilter(registry.filters.Slashed(cheater.identity.commitment))).to.have.length(1);
    });
});
