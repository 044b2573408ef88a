import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { keccak256, toBeHex, JsonRpcProvider } from "ethers";
import { decodeReceipt, decodeTicket, poseidon, RECEIPT_HEADER, registryLeaf, SNARK_SCALAR_FIELD, TICKET_HEADER } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { chatBody, DEPOSIT, registeredUser } from "../helpers/users";
import type { TestUser } from "../helpers/users";

const USERS = 3;
const REQUESTS = 3;

/** Everything the provider sees of one request. */
interface Observed {
    user: number;
    headers: Record<string, string>;
    values: Map<string, bigint>;
    issuedState?: [bigint, bigint];
}

// What the provider sees must not link a user's requests to each other or to their deposit.
describe("Privacy of requests (what the provider sees)", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let chain: JsonRpcProvider;
    const users: TestUser[] = [];
    const seen: Observed[] = [];

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-privacy-")), "gateway.db"));
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store });
        let current: number | undefined;
        gateway.app.addHook("onRequest", async (request) => {
            const header = request.headers[TICKET_HEADER];
            if (typeof header !== "string" || current === undefined) return;
            const ticket = decodeTicket(header);
            const values = new Map<string, bigint>([
                ["nullifier", ticket.nullifier],
                ["y", ticket.y],
                ["x", ticket.x],
                ["state.x", ticket.rerandomisedState[0]],
                ["state.y", ticket.rerandomisedState[1]],
                ...ticket.proof.map((word, i) => [`proof[${i}]`, word] as [string, bigint])
            ]);
            const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
            seen.push({ user: current, headers, values });
        });
        gateway.app.addHook("onSend", async (_request, reply, payload) => {
            const receipt = reply.getHeader(RECEIPT_HEADER);
            if (typeof receipt === "string") seen[seen.length - 1]!.issuedState = decodeReceipt(receipt).state;
            return payload;
        });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        for (let u = 0; u < USERS; u++) users.push(await registeredUser(stack, url, 5 + u));
        // The same requests for every user, so that nothing but the ticket could tell them apart.
        for (let r = 0; r < REQUESTS; r++) {
            for (let u = 0; u < USERS; u++) {
                current = u;
                const response = await users[u]!.client.fetch("/v1/chat/completions", {
                    method: "POST",
                    headers: { "content-type": "application/json" },
                    body: chatBody(`request number ${r}`)
                });
                expect(response.status).to.equal(200);
            }
        }
    });

    after(async function () {
        await gateway?.close();
        await store?.close();
        users.forEach((u) => u.provider.destroy());
        chain?.destroy();
        await stack?.stop();
    });

    it("Should show no value twice across one user's requests (fresh state, nullifier, share, proof)", function () {
        expect(seen).to.have.length(USERS * REQUESTS);
        for (let u = 0; u < USERS; u++) {
            const mine = seen.filter((s) => s.user === u);
            for (const name of mine[0]!.values.keys()) {
                const values = mine.map((s) => s.values.get(name)!);
                expect(new Set(values).size, `${name} of user ${u}`).to.equal(REQUESTS);
            }
            const all = mine.flatMap((s) => [...s.values.values()]);
            expect(new Set(all).size, `all values of user ${u}`).to.equal(all.length);
        }
    });

    it("Should never show the state the provider signed last time (re-randomisation unlinks requests)", function () {
        const issued = new Set(seen.filter((s) => s.issuedState).map((s) => s.issuedState!.join(",")));
        for (const s of seen) {
            expect(issued.has(`${s.values.get("state.x")},${s.values.get("state.y")}`)).to.equal(false);
        }
    });

    it("Should show nothing equal to, or a simple hash of, any registration's data", async function () {
        const registration = new Set<bigint>();
        for (const user of users) {
            const idc = user.identity.commitment;
            const account = user.client.account!;
            const address = BigInt(await (await chain.getSigner(5 + users.indexOf(user))).getAddress());
            for (const value of [idc, DEPOSIT, registryLeaf(idc, DEPOSIT), BigInt(account.leafIndex), address]) {
                registration.add(value);
                registration.add(poseidon([value % SNARK_SCALAR_FIELD]));
                registration.add(BigInt(keccak256(toBeHex(value, 32))) % SNARK_SCALAR_FIELD);
            }
        }
        for (const s of seen) {
            for (const [name, value] of s.values) {
                expect(registration.has(value), `${name} matches registration data`).to.equal(false);
                expect(registration.has(poseidon([value])), `Poseidon(${name}) matches registration data`).to.equal(false);
            }
        }
    });

    it("Should send the same headers for every user, apart from the ticket and the length", function () {
        const shape = (s: Observed): string =>
            JSON.stringify(Object.entries(s.headers).filter(([k]) => ![TICKET_HEADER, "content-length", "host"].includes(k)).sort());
        expect(new Set(seen.map(shape)).size).to.equal(1);
    });
});
