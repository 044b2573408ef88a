import { connect } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { derivePublicKey, signMessage } from "@zk-kit/eddsa-poseidon";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import {
    decodeReceipt,
    encodeHeaderValue,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    RECEIPT_HEADER,
    requestHash,
    SNARK_SCALAR_FIELD,
    TICKET_HEADER
} from "@zk-api-credits/protocol";
import type { RegistryBinding, TicketEnvelope } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { proveTicket, RegistrySync } from "@zk-api-credits/sdk";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chatBody, registeredUser } from "../helpers/users";
import type { TestUser } from "../helpers/users";

const PATH = "/v1/chat/completions";

// Every malformed or forged request gets a 4xx with a stable reason code: never a 500, never
// a served request.
describe("Gateway input validation", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let url: string;
    let chain: JsonRpcProvider;
    let user: TestUser;
    let valid: TicketEnvelope;
    const body = chatBody("a valid request");

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-bad-")), "gateway.db"));
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, bodyLimit: 64 * 1024 });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        user = await registeredUser(stack, url, 5);
        const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
        const { parameters } = stack.deployment;
        const binding: RegistryBinding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        const ticket = await proveTicket(prover("spend-20"), user.identity, user.client.account!, tree, binding, 20, requestHash("POST", PATH, Buffer.from(body)));
        valid = { version: 1, binding: "request", context: parameters.context, ...ticket };
    });

    after(async function () {
        await gateway?.close();
        await store?.close();
        user?.provider.destroy();
        chain?.destroy();
        await stack?.stop();
    });

    const post = (header: string | undefined, payload: string | Buffer = body, extra: Record<string, string> = {}): Promise<Response> =>
        fetch(`${url}${PATH}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(header === undefined ? {} : { [TICKET_HEADER]: header }), ...extra },
            body: payload
        });

    async function expectRefused(response: Response, status: number, code: string): Promise<void> {
        expect(response.status, `${code}: ${await response.clone().text()}`).to.equal(status);
        expect(response.headers.get(ERROR_CODE_HEADER)).to.equal(code);
        expect(response.headers.get(RECEIPT_HEADER)).to.equal(null);
        const parsed = (await response.json()) as { error: { code: string } };
        expect(parsed.error.code).to.equal(code);
    }

    const raw = (json: unknown): string => Buffer.from(JSON.stringify(json)).toString("base64url");
    const hex = (v: bigint): string => `0x${v.toString(16)}`;
    const asJson = (ticket: TicketEnvelope): Record<string, unknown> =>
        JSON.parse(Buffer.from(encodeHeaderValue(ticket), "base64url").toString()) as Record<string, unknown>;

    it("Should refuse requests without a ticket with 402 MISSING_TICKET", async function () {
        await expectRefused(await post(undefined), 402, "MISSING_TICKET");
        await expectRefused(await post(""), 402, "MISSING_TICKET");
    });

    it("Should refuse malformed ticket envelopes with 400 MALFORMED_TICKET", async function () {
        const json = asJson(valid);
        const cases: string[] = [
            "not base64 !!!",
            Buffer.from("not json").toString("base64url"),
            raw([1, 2, 3]),
            raw(null),
            raw({ ...json, binding: "telepathy" }),
            raw({ ...json, proof: (json.proof as string[]).slice(0, 7) }),
            raw({ ...json, proof: [...(json.proof as string[]), "0x1"] }),
            raw({ ...json, root: 12345 }),
            raw({ ...json, root: "0xzz" }),
            raw({ ...json, nullifier: undefined }),
            raw({ ...json, rerandomisedState: ["0x1"] }),
            raw({ ...json, y: hex(SNARK_SCALAR_FIELD) }),
            raw({ ...json, x: hex(valid.x + SNARK_SCALAR_FIELD) }),
            raw({ ...json, ephemeralKey: ["0x1", "0x2"] }),
            "A".repeat(9_000)
        ];
        for (const header of cases) await expectRefused(await post(header), 400, "MALFORMED_TICKET");
    });

    it("Should refuse an unknown version with 400 UNSUPPORTED_VERSION", async function () {
        await expectRefused(await post(raw({ ...asJson(valid), version: 2 })), 400, "UNSUPPORTED_VERSION");
    });

    it("Should refuse a ticket of another registry, key or terms with 422 WRONG_CONTEXT", async function () {
        await expectRefused(await post(encodeHeaderValue({ ...valid, context: valid.context + 1n })), 422, "WRONG_CONTEXT");
    });

    it("Should refuse a root the registry never had with 422 UNKNOWN_ROOT", async function () {
        await expectRefused(await post(encodeHeaderValue({ ...valid, root: valid.root + 1n })), 422, "UNKNOWN_ROOT");
    });

    it("Should refuse a ticket bound to another request with 400 REQUEST_BINDING_MISMATCH", async function () {
        await expectRefused(await post(encodeHeaderValue(valid), chatBody("another request")), 400, "REQUEST_BINDING_MISMATCH");
        const other = await fetch(`${url}${PATH}?extra=1`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: encodeHeaderValue(valid) }, body });
        await expectRefused(other, 400, "REQUEST_BINDING_MISMATCH");
    });

    it("Should refuse ephemeral-key tickets with a wrong key or signature", async function () {
        const key = randomBytes(32);
        const publicKey = derivePublicKey(key);
        const signature = signMessage(key, requestHash("POST", PATH, Buffer.from(body)));
        const wrongX: TicketEnvelope = { ...valid, binding: "ephemeral-key", ephemeralKey: publicKey, requestSignature: signature };
        await expectRefused(await post(encodeHeaderValue(wrongX)), 400, "REQUEST_BINDING_MISMATCH");
        const rightX = { ...wrongX, x: ephemeralKeyBinding(publicKey), requestSignature: signMessage(key, 42n) };
        await expectRefused(await post(encodeHeaderValue(rightX)), 400, "INVALID_REQUEST_SIGNATURE");
    });

    it("Should refuse forged proofs and altered public signals with 403 INVALID_PROOF", async function () {
        const forgeries: TicketEnvelope[] = [
            ...valid.proof.map((_, i) => ({ ...valid, proof: valid.proof.map((w, j) => (j === i ? (w + 1n) % SNARK_SCALAR_FIELD : w)) })),
            { ...valid, nullifier: valid.nullifier + 1n },
            { ...valid, y: valid.y + 1n },
            { ...valid, rerandomisedState: [valid.rerandomisedState[0] + 1n, valid.rerandomisedState[1]] },
            { ...valid, proof: [...valid.proof].reverse() }
        ];
        for (const forged of forgeries) await expectRefused(await post(encodeHeaderValue(forged)), 403, "INVALID_PROOF");
    });

    it("Should refuse an oversized body with 413 BODY_TOO_LARGE before touching the ticket", async function () {
        await expectRefused(await post(encodeHeaderValue(valid), Buffer.alloc(65 * 1024, 0x61)), 413, "BODY_TOO_LARGE");
    });

    it("Should answer unknown routes and bad receipt lookups with 4xx codes", async function () {
        await expectRefused(await fetch(`${url}/v1/unknown`, { method: "POST" }), 404, "NOT_FOUND");
        await expectRefused(await fetch(`${url}${PATH}`), 404, "NOT_FOUND");
        await expectRefused(await fetch(`${url}/zkapi/v1/receipts/not-hex`), 400, "BAD_REQUEST");
        await expectRefused(await fetch(`${url}/zkapi/v1/receipts/0x1234`), 404, "RECEIPT_NOT_FOUND");
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

    it("Should have served nothing so far, then serve the untouched ticket", async function () {
        expect((await store.stats()).tickets).to.equal(0);
        const response = await post(encodeHeaderValue(valid));
        expect(response.status).to.equal(200);
        expect(decodeReceipt(response.headers.get(RECEIPT_HEADER)!).nullifier).to.equal(valid.nullifier);
    });

    it("Should consume but not serve a validly ticketed request whose body is malformed (cost 0, 400)", async function () {
        const fresh = await registeredUser(stack, url, 6);
        const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
        const { parameters } = stack.deployment;
        const binding: RegistryBinding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        const malformed = "{ not json";
        const ticket = await proveTicket(prover("spend-20"), fresh.identity, fresh.client.account!, tree, binding, 20, requestHash("POST", PATH, Buffer.from(malformed)));
        const response = await post(encodeHeaderValue({ version: 1, binding: "request", context: parameters.context, ...ticket }), malformed);
        expect(response.status).to.equal(400);
        expect(response.headers.get(ERROR_CODE_HEADER)).to.equal("MALFORMED_BODY");
        const receipt = decodeReceipt(response.headers.get(RECEIPT_HEADER)!);
        expect(receipt.cost).to.equal(0n);
        expect(receipt.penalty).to.equal(0n);
        fresh.provider.destroy();
    });
});
