import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { encodeHeaderValue, ERROR_CODE_HEADER, RECEIPT_HEADER, requestHash, TICKET_HEADER } from "@zk-api-credits/protocol";
import type { RegistryBinding } from "@zk-api-credits/protocol";
import { PostgresNullifierStore } from "@zk-api-credits/provider";
import { proveTicket, RegistrySync } from "@zk-api-credits/sdk";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chatBody, eventually, registeredUser } from "../helpers/users";

const SLASHED = 4n;

// Two gateway processes share one PostgreSQL store: a ticket is served at most once
// whichever replica gets it, and a double-spend split across replicas is still slashed.
describe("Gateway replicas on one PostgreSQL store", function () {
    let stack: DeployedStack;
    let postgres: LocalPostgres;
    let databaseUrl: string;
    let replicas: GatewayProcess[];
    let chain: JsonRpcProvider;
    let registry: ICreditRegistry;
    let binding: RegistryBinding;

    before(async function () {
        stack = await startDeployedStack();
        postgres = await startPostgres();
        databaseUrl = await postgres.createDatabase("zkapi_replicas");
        replicas = [await startGatewayProcess(stack, { store: databaseUrl }), await startGatewayProcess(stack, { store: databaseUrl })];
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        const { parameters } = stack.deployment;
        binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
    });

    after(async function () {
        for (const replica of replicas ?? []) await replica.kill();
        chain?.destroy();
        await stack?.stop();
        await postgres?.stop();
    });

    async function ticketHeader(user: Awaited<ReturnType<typeof registeredUser>>, body: string): Promise<string> {
        const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
        const ticket = await proveTicket(prover("spend-20"), user.identity, user.client.account!, tree, binding, 20, requestHash("POST", "/v1/chat/completions", Buffer.from(body)));
        return encodeHeaderValue({ version: 1, binding: "request", context: stack.deployment.parameters.context, ...ticket });
    }

    const post = (base: string, header: string, body: string): Promise<Response> =>
        fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: header }, body });

    it("Should serve one ticket once when the same request reaches both replicas at once", async function () {
        const user = await registeredUser(stack, replicas[0]!.url, 5);
        const body = chatBody("to both replicas");
        const header = await ticketHeader(user, body);
        const answers = await Promise.all(replicas.flatMap((replica) => [post(replica.url, header, body), post(replica.url, header, body)]));
        const served = answers.filter((a) => a.status === 200);
        expect(served.length).to.be.greaterThan(0);
        for (const answer of answers) {
            if (answer.status !== 200) expect(answer.headers.get(ERROR_CODE_HEADER)).to.equal("TICKET_IN_PROGRESS");
        }
        expect(new Set(served.map((a) => a.headers.get(RECEIPT_HEADER))).size).to.equal(1);
        const store = await PostgresNullifierStore.connect(databaseUrl);
        expect((await store.stats()).complete).to.equal(1);
        await store.close();
        user.provider.destroy();
    });

    it("Should serve exactly one of two requests reusing one ticket across replicas, and slash the cheat on-chain", async function () {
        const cheat = await registeredUser(stack, replicas[0]!.url, 6);
        const bodies = [chatBody("request for replica A"), chatBody("another request for replica B")];
        const headers = [await ticketHeader(cheat, bodies[0]!), await ticketHeader(cheat, bodies[1]!)];
        const answers = await Promise.all([post(replicas[0]!.url, headers[0]!, bodies[0]!), post(replicas[1]!.url, headers[1]!, bodies[1]!)]);
        const statuses = answers.map((a) => a.status).sort();
        expect(statuses).to.deep.equal([200, 409]);
        const refused = answers.find((a) => a.status === 409)!;
        expect(refused.headers.get(ERROR_CODE_HEADER)).to.equal("DOUBLE_SPEND");
        expect(refused.headers.get(RECEIPT_HEADER)).to.equal(null);
        await eventually(async () => ((await registry.deposits(cheat.identity.commitment)).status === SLASHED ? true : undefined), "the slash", 90_000);
        const slashes = await registry.queryFilter(registry.filters.Slashed(cheat.identity.commitment));
        expect(slashes).to.have.length(1);
        expect(slashes[0]!.args.receiver).to.equal(stack.deployment.parameters.treasury);
        cheat.provider.destroy();
    });
});
