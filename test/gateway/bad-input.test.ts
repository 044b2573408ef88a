import { connect } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import {
    CHARGE_HEADER,
    decodeTicket,
    encodeTicket,
    ERROR_CODE_HEADER,
    GATEWAY_PATHS,
    requestHash,
    RequestKey,
    SNARK_SCALAR_FIELD,
    TICKET_HEADER
} from "@zk-api-credits/protocol";
import type { TicketEnvelope } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { chat, RawUser } from "../helpers/tickets";

const PATH = "/v1/chat/completions";

// Every malformed or forged request gets a 4xx with a stable reason code: never a 500, never
// a served request, never a consumed ticket.
describe("Gateway input validation", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let url: string;
    let chain: JsonRpcProvider;
    let user: RawUser;
    let valid: TicketEnvelope;
    let header: string;
    const body = JSON.stringify(chat("a valid request"));

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bad-")), "gateway.db"));
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, bodyLimit: 64 * 1024, workers: false, admission: false });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        user = await RawUser.register(stack, url, 5);
        const ticket = await user.prove(0n);
        header = user.ticketHeader(ticket, "POST", PATH, Buffer.from(body));
        valid = decodeTicket(header);
    });

    after(async function () {
        user?.close();
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await stack?.stop();
    });

    const post = (ticket: string | undefined, payload: string | Buffer = body, target = PATH): Promise<Response> =>
        fetch(`${url}${target}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(ticket === undefined ? {} : { [TICKET_HEADER]: ticket }) },
            body: payload
        });

    /** A ticket with its request signature redone for `payload` (so only the altered field is wrong). */
    const signed = (ticket: TicketEnvelope, payload: string = body, target = PATH): string => {
        const key = new RequestKey(Buffer.alloc(32, 3));
        return encodeTicket({ ...ticket, requestSignature: key.signMessage(requestHash("POST", target, Buffer.from(payload))) });
    };

    async function expectRefused(response: Response, status: number, code: string): Promise<void> {
        expect(response.status, `${code}: ${await response.clone().text()}`).to.equal(status);
        expect(response.headers.get(ERROR_CODE_HEADER)).to.equal(code);
        expect(response.headers.get(CHARGE_HEADER)).to.equal(null);
        const parsed = (await response.json()) as { error: { code: string } };
        expect(parsed.error.code).to.equal(code);
    }

    const raw = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString("base64url");
    const hex = (v: bigint): string => `0x${v.toString(16)}`;
    const asJson = (): Record<string, unknown> => JSON.parse(Buffer.from(header, "base64url").toString()) as Record<string, unknown>;

    it("Should refuse requests without a ticket with 402 MISSING_TICKET", async function () {
        await expectRefused(await post(undefined), 402, "MISSING_TICKET");
        await expectRefused(await post(""), 402, "MISSING_TICKET");
    });

    it("Should refuse malformed ticket envelopes with 400 MALFORMED_TICKET", async function () {
        const json = asJson();
        const cases: string[] = [
            "not base64 !!!",
            Buffer.from("not json").toString("base64url"),
            raw([1, 2, 3]),
            raw(null),
            raw({ ...json, proof: (json.proof as string[]).slice(0, 7) }),
            raw({ ...json, proof: [...(json.proof as string[]), "0x1"] }),
            raw({ ...json, root: 12345 }),
            raw({ ...json, root: "0xzz" }),
            raw({ ...json, nullifier: undefined }),
            raw({ ...json, ticketCommitment: ["0x1"] }),
            raw({ ...json, y: hex(SNARK_SCALAR_FIELD) }),
            raw({ ...json, x: hex(valid.x + SNARK_SCALAR_FIELD) }),
            raw({ ...json, ephemeralKey: ["0x1"] }),
            raw({ ...json, requestSignature: { R8: ["0x1", "0x2"] } }),
            raw({ ...json, extra: "field" }),
            raw({ ...json, root: `0x0${(json.root as string).slice(2)}` }),
            "A".repeat(9_000)
        ];
        for (const ticket of cases) await expectRefused(await post(ticket), 400, "MALFORMED_TICKET");
    });

    it("Should refuse another version with 400 UNSUPPORTED_VERSION", async function () {
        await expectRefused(await post(raw({ ...asJson(), version: 1 })), 400, "UNSUPPORTED_VERSION");
        await expectRefused(await post(raw({ ...asJson(), version: 3 })), 400, "UNSUPPORTED_VERSION");
    });

    it("Should refuse a ticket of another registry, key or terms with 422 WRONG_CONTEXT", async function () {
        await expectRefused(await post(encodeTicket({ ...valid, context: valid.context + 1n })), 422, "WRONG_CONTEXT");
    });

    it("Should refuse an x that is not the hash of the ticket's key with 400 REQUEST_BINDING_MISMATCH", async function () {
        const other = new RequestKey(Buffer.alloc(32, 4));
        await expectRefused(await post(encodeTicket({ ...valid, ephemeralKey: other.publicKey })), 400, "REQUEST_BINDING_MISMATCH");
    });

    it("Should refuse a request the ticket's key did not sign with 400 INVALID_REQUEST_SIGNATURE", async function () {
        await expectRefused(await post(header, JSON.stringify(chat("another request"))), 400, "INVALID_REQUEST_SIGNATURE");
        await expectRefused(await post(header, body, `${PATH}?extra=1`), 400, "INVALID_REQUEST_SIGNATURE");
        // A signature by some other key over this very request.
        await expectRefused(await post(signed(valid)), 400, "INVALID_REQUEST_SIGNATURE");
    });

    it("Should refuse a root that is not an accepted epoch root with 422 UNKNOWN_ROOT", async function () {
        const key = user.ticketHeader({ ...decodeTicketAsProved(valid), root: valid.root + 1n }, "POST", PATH, Buffer.from(body));
        await expectRefused(await post(key), 422, "UNKNOWN_ROOT");
    });

    it("Should refuse forged proofs and altered public signals with 403 INVALID_PROOF", async function () {
        const proved = decodeTicketAsProved(valid);
        const forgeries = [
            ...valid.proof.map((_, i) => ({ ...proved, proof: valid.proof.map((w, j) => (j === i ? (w + 1n) % SNARK_SCALAR_FIELD : w)) })),
            { ...proved, nullifier: valid.nullifier + 1n },
            { ...proved, y: valid.y + 1n },
            { ...proved, ticketCommitment: [valid.ticketCommitment[0] + 1n, valid.ticketCommitment[1]] as [bigint, bigint] },
            { ...proved, proof: [...valid.proof].reverse() }
        ];
        for (const forged of forgeries) await expectRefused(await post(user.ticketHeader(forged, "POST", PATH, Buffer.from(body))), 403, "INVALID_PROOF");
    });

    it("Should refuse an oversized body with 413 BODY_TOO_LARGE before touching the ticket", async function () {
        await expectRefused(await post(header, Buffer.alloc(65 * 1024, 0x61)), 413, "BODY_TOO_LARGE");
    });

    it("Should refuse a body that is not a request of its route before recording the ticket (400 MALFORMED_BODY)", async function () {
        const malformed = "{ not json";
        await expectRefused(await post(user.ticketHeader(decodeTicketAsProved(valid), "POST", PATH, Buffer.from(malformed)), malformed), 400, "MALFORMED_BODY");
    });

    it("Should answer unknown routes and malformed free requests with 4xx codes", async function () {
        await expectRefused(await fetch(`${url}/v1/unknown`, { method: "POST" }), 404, "NOT_FOUND");
        await expectRefused(await fetch(`${url}${PATH}`), 404, "NOT_FOUND");
        await expectRefused(await fetch(`${url}${GATEWAY_PATHS.lookup}`, { method: "POST", body: "{" }), 400, "MALFORMED_BODY");
        await expectRefused(await fetch(`${url}${GATEWAY_PATHS.fold}`, { method: "POST", body: JSON.stringify({ version: 2 }) }), 400, "MALFORMED_BODY");
        await expectRefused(await fetch(`${url}${GATEWAY_PATHS.void}`, { method: "POST", body: "x" }), 400, "MALFORMED_BODY");
        await expectRefused(await fetch(`${url}${GATEWAY_PATHS.void}`, { method: "POST" }), 402, "MISSING_TICKET");
    });

    it("Should reject a request with an injected header line at the HTTP parser (400, no crash)", async function () {
        const { port } = new URL(url);
        const answer = await new Promise<string>((resolve) => {
            const socket = connect(Number(port), "127.0.0.1", () =>
                socket.write(`POST ${PATH} HTTP/1.1\r\nHost: x\r\n${TICKET_HEADER}: a\rb\r\nContent-Length: 0\r\n\r\n`)
            );
            let data = "";
            socket.on("data", (chunk) => (data += chunk.toString()));
            socket.on("close", () => resolve(data));
        });
        expect(answer).to.match(/^HTTP\/1\.1 400/);
        expect((await fetch(`${url}/health`)).status).to.equal(200);
    });

    it("Should have recorded nothing so far, then serve the untouched ticket", async function () {
        expect((await store.stats()).tickets).to.equal(0);
        const response = await post(header);
        expect(response.status).to.equal(200);
        expect(response.headers.get(CHARGE_HEADER)).to.be.a("string");
    });
});

/** The proved part of an envelope (to re-sign it for another request with the ticket's own key). */
function decodeTicketAsProved(ticket: TicketEnvelope): Parameters<RawUser["ticketHeader"]>[0] {
    return {
        index: 0n,
        root: ticket.root,
        ticketCommitment: [ticket.ticketCommitment[0], ticket.ticketCommitment[1]],
        nullifier: ticket.nullifier,
        y: ticket.y,
        x: ticket.x,
        proof: [...ticket.proof]
    };
}
