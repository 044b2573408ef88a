import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, keccak256, toBeHex } from "ethers";
import { decodeTicket, parseFoldRequest, poseidon, registryLeaf, SNARK_SCALAR_FIELD, TICKET_HEADER } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { devWallet, startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { chat, RawUser } from "../helpers/tickets";

const USERS = 3;
const REQUESTS = 4;

interface Observed {
    user: number;
    kind: "ticket" | "fold";
    headers: Record<string, string>;
    values: Map<string, bigint>;
}

// What the provider sees must not link a user's requests to each other or to their deposit:
// tickets, charges and folds of three users sending the very same requests.
describe("Privacy of requests (what the provider sees)", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let chain: JsonRpcProvider;
    const users: RawUser[] = [];
    const seen: Observed[] = [];
    const charges: bigint[][] = [];

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-privacy-")), "gateway.db"));
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, workers: false });
        let current = -1;
        gateway.app.addHook("preHandler", async (request) => {
            const header = request.headers[TICKET_HEADER];
            const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
            if (typeof header === "string") {
                const ticket = decodeTicket(header);
                const values = new Map<string, bigint>([
                    ["nullifier", ticket.nullifier],
                    ["y", ticket.y],
                    ["x", ticket.x],
                    ["T.x", ticket.ticketCommitment[0]],
                    ["T.y", ticket.ticketCommitment[1]],
                    ["epk.hi", BigInt(`0x${Buffer.from(ticket.ephemeralKey.subarray(0, 16)).toString("hex")}`)],
                    ["epk.lo", BigInt(`0x${Buffer.from(ticket.ephemeralKey.subarray(16)).toString("hex")}`)],
                    ["signature.S", BigInt(`0x${Buffer.from(ticket.requestSignature.subarray(32)).reverse().toString("hex")}`)],
                    ...ticket.proof.map((word, i) => [`proof[${i}]`, word] as [string, bigint])
                ]);
                seen.push({ user: current, kind: "ticket", headers, values });
            } else if (request.url === "/zkapi/v2/fold" && Buffer.isBuffer(request.body)) {
                const fold = parseFoldRequest(request.body);
                const values = new Map<string, bigint>([
                    ["foldNullifier", fold.foldNullifier],
                    ["newBase.x", fold.newBase[0]],
                    ["newBase.y", fold.newBase[1]],
                    ...fold.proof.map((word, i) => [`proof[${i}]`, word] as [string, bigint])
                ]);
                seen.push({ user: current, kind: "fold", headers, values });
            }
        });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        const url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        for (let u = 0; u < USERS; u++) users.push(await RawUser.register(stack, url, 5 + u));
        // The same requests for every user, so that nothing but the ticket could tell them apart.
        for (let r = 0; r < REQUESTS; r++) {
            for (let u = 0; u < USERS; u++) {
                current = u;
                const user = users[u]!;
                const answer = await user.send(await user.prove(BigInt(r)), "/v1/chat/completions", chat(`request number ${r}`));
                expect(answer.status).to.equal(200);
                charges.push([answer.charge!.charge[0], answer.charge!.charge[1]]);
                if (r % 2 === 1) expect((await user.fold()).status).to.equal(200);
            }
        }
    });

    after(async function () {
        users.forEach((u) => u.close());
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await stack?.stop();
    });

    it("Should show no value twice across one user's tickets and folds", function () {
        expect(seen.filter((s) => s.kind === "ticket")).to.have.length(USERS * REQUESTS);
        expect(seen.filter((s) => s.kind === "fold")).to.have.length((USERS * REQUESTS) / 2);
        for (let u = 0; u < USERS; u++) {
            const all = seen.filter((s) => s.user === u).flatMap((s) => [...s.values.values()]);
            expect(new Set(all).size, `all values of user ${u}`).to.equal(all.length);
        }
    });

    it("Should show the same epoch root for every user (a root tells nothing)", function () {
        const roots = new Set(seen.filter((s) => s.kind === "ticket").map((s) => s.headers[TICKET_HEADER]).map((h) => decodeTicket(h!).root));
        expect(roots.size).to.equal(1);
    });

    it("Should never show a point the provider signed before (charges and bases stay unlinkable)", function () {
        const signed = new Set(charges.map((c) => c.join(",")));
        for (const s of seen) {
            const point = s.kind === "ticket" ? `${s.values.get("T.x")},${s.values.get("T.y")}` : `${s.values.get("newBase.x")},${s.values.get("newBase.y")}`;
            expect(signed.has(point)).to.equal(false);
        }
    });

    it("Should show nothing equal to, or a simple hash of, any registration's data", async function () {
        const registration = new Set<bigint>();
        for (const [u, user] of users.entries()) {
            const idc = user.identity.commitment;
            const address = BigInt(devWallet(5 + u).address);
            for (const value of [idc, user.deposit, registryLeaf(idc, user.deposit), address]) {
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
        expect(new Set(seen.filter((s) => s.kind === "ticket").map(shape)).size).to.equal(1);
    });
});
