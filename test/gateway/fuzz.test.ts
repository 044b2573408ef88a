import { connect } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import {
    encodeHeaderValue,
    ERROR_CODE_HEADER,
    GATEWAY_ERROR_CODES,
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
const RUNS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const BODY_LIMIT = 16 * 1024;

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with FUZZ_SEED. */
function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface Mutant {
    kind: string;
    header?: string;
    body: string | Buffer;
    raw?: string;
}

// At least 10,000 mutated requests against a running gateway: none accepted, none crashing it,
// each refused with a 4xx and a stable reason code (FUZZ_REQUESTS and FUZZ_SEED override).
describe("Gateway fuzzing", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let url: string;
    let chain: JsonRpcProvider;
    let user: TestUser;
    const body = chatBody("the fuzzer's baseline request");
    let valid: TicketEnvelope;
    const foreign: Record<string, TicketEnvelope> = {};

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-fuzz-")), "gateway.db"));
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, bodyLimit: BODY_LIMIT });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        user = await registeredUser(stack, url, 5);
        const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        const tree = await new RegistrySync({ registry, fromBlock: stack.deployment.deploymentBlock }).sync();
        const { parameters } = stack.deployment;
        const binding: RegistryBinding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        const x = requestHash("POST", PATH, Buffer.from(body));
        const prove = async (b: RegistryBinding): Promise<TicketEnvelope> => ({
            version: 1,
            binding: "request",
            context: parameters.context,
            ...(await proveTicket(prover("spend-20"), user.identity, user.client.account!, tree, b, 20, x))
        });
        valid = await prove(binding);
        // Real proofs bound to the wrong scope, provider key or maxCost, presented with this registry's context.
        foreign.scope = await prove({ ...binding, scope: binding.scope + 1n });
        foreign.key = await prove({ ...binding, providerKey: [binding.providerKey[0], binding.providerKey[1]] as const, terms: { ...binding.terms, policyPenalty: binding.terms.policyPenalty + 1n } });
        foreign.maxCost = await prove({ ...binding, terms: { ...binding.terms, maxCost: binding.terms.maxCost - 1n } });
    });

    after(async function () {
        await gateway?.close();
        await store?.close();
        user?.provider.destroy();
        chain?.destroy();
        await stack?.stop();
    });

    function mutate(random: () => number): Mutant {
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const field = (): bigint => BigInt(Math.floor(random() * 2 ** 52)) * BigInt(Math.floor(random() * 2 ** 52)) + 1n;
        const json = (): Record<string, unknown> => JSON.parse(Buffer.from(encodeHeaderValue(valid), "base64url").toString()) as Record<string, unknown>;
        const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
        const signal = pick(["root", "context", "nullifier", "y", "x"] as const);
        const kinds: (() => Mutant)[] = [
            () => {
                const i = Math.floor(random() * 8);
                return { kind: `proof[${i}]`, header: encodeHeaderValue({ ...valid, proof: valid.proof.map((w, j) => (j === i ? (w + field()) % SNARK_SCALAR_FIELD : w)) }), body };
            },
            () => ({ kind: `signal ${signal}`, header: encodeHeaderValue({ ...valid, [signal]: (valid[signal] + field()) % SNARK_SCALAR_FIELD }), body }),
            () => ({ kind: "state point", header: encodeHeaderValue({ ...valid, rerandomisedState: [valid.rerandomisedState[0], (valid.rerandomisedState[1] + field()) % SNARK_SCALAR_FIELD] }), body }),
            () => ({ kind: `non-canonical ${signal}`, header: b64({ ...json(), [signal]: `0x${(valid[signal] + SNARK_SCALAR_FIELD).toString(16)}` }), body }),
            () => ({ kind: "non-canonical proof word", header: b64({ ...json(), proof: valid.proof.map((w, j) => `0x${(j === 3 ? w + SNARK_SCALAR_FIELD : w).toString(16)}`) }), body }),
            () => ({ kind: "foreign scope", header: encodeHeaderValue(foreign.scope!), body }),
            () => ({ kind: "foreign terms", header: encodeHeaderValue(foreign.key!), body }),
            () => ({ kind: "foreign maxCost", header: encodeHeaderValue(foreign.maxCost!), body }),
            () => ({ kind: "wrong root", header: encodeHeaderValue({ ...valid, root: field() }), body }),
            () => ({ kind: "truncated body", header: encodeHeaderValue(valid), body: body.slice(0, Math.floor(random() * body.length)) }),
            () => ({ kind: "bad JSON body", header: encodeHeaderValue(valid), body: `${body.slice(0, 10)}\u0000{]` }),
            () => ({ kind: "oversized body", header: encodeHeaderValue(valid), body: Buffer.alloc(BODY_LIMIT + 1 + Math.floor(random() * 1024), 0x7b) }),
            () => ({ kind: "truncated header", header: encodeHeaderValue(valid).slice(0, Math.floor(random() * 400)), body }),
            () => {
                const bytes = Buffer.from(encodeHeaderValue(valid), "base64url");
                bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
                return { kind: "bit flip in header", header: bytes.toString("base64url"), body };
            },
            () => ({ kind: "garbage header", header: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))).toString("base64url"), body }),
            () => ({ kind: "wrong version", header: b64({ ...json(), version: pick([0, 2, "1", null]) }), body }),
            () => ({ kind: "missing field", header: b64({ ...json(), [pick(["root", "proof", "y", "binding", "rerandomisedState"])]: undefined }), body }),
            () => ({ kind: "no ticket", body }),
            () => ({
                kind: "header injection",
                body,
                raw: `POST ${PATH} HTTP/1.1\r\nHost: gateway\r\n${TICKET_HEADER}: ${encodeHeaderValue(valid).slice(0, 20)}\r${pick(["\n", "x", "\u0000"])}X-Injected: 1\r\ncontent-length: 2\r\n\r\n{}`
            })
        ];
        return pick(kinds)();
    }

    async function sendRaw(request: string): Promise<{ status: number; code: string | null }> {
        const { port } = new URL(url);
        const answer = await new Promise<string>((resolve) => {
            const socket = connect(Number(port), "127.0.0.1", () => socket.end(request));
            let data = "";
            socket.on("data", (chunk) => (data += chunk.toString()));
            socket.on("close", () => resolve(data));
            socket.on("error", () => resolve(data));
        });
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        return { status, code: /zkapi-error: ([A-Z_]+)/i.exec(answer)?.[1] ?? null };
    }

    it(`Should refuse ${RUNS} mutated requests with 4xx reason codes, accept none and stay up`, async function () {
        const seed = Number(process.env.FUZZ_SEED ?? 20261125);
        const random = prng(seed);
        const counts = new Map<string, number>();
        const problems: string[] = [];
        let sent = 0;
        const worker = async (): Promise<void> => {
            while (sent < RUNS) {
                sent++;
                const mutant = mutate(random);
                let status: number;
                let code: string | null;
                let receipt: string | null = null;
                if (mutant.raw !== undefined) {
                    ({ status, code } = await sendRaw(mutant.raw));
                    code ??= "HTTP_PARSER";
                } else {
                    const response = await fetch(`${url}${PATH}`, {
                        method: "POST",
                        headers: { "content-type": "application/json", ...(mutant.header === undefined ? {} : { [TICKET_HEADER]: mutant.header }) },
                        body: mutant.body
                    });
                    status = response.status;
                    code = response.headers.get(ERROR_CODE_HEADER);
                    receipt = response.headers.get(RECEIPT_HEADER);
                    await response.arrayBuffer();
                }
                const key = `${status} ${code}`;
                counts.set(key, (counts.get(key) ?? 0) + 1);
                const knownCode = code === "HTTP_PARSER" || (GATEWAY_ERROR_CODES as readonly string[]).includes(code ?? "");
                if (status < 400 || status >= 500 || !knownCode || receipt !== null) problems.push(`${mutant.kind}: ${key}${receipt ? " with a receipt" : ""}`);
            }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        console.log(`      fuzzed ${sent} requests (seed ${seed}):`);
        [...counts.entries()].sort((a, b) => b[1] - a[1]).forEach(([key, n]) => console.log(`        ${String(n).padStart(6)}  ${key}`));
        expect(problems.slice(0, 10)).to.deep.equal([]);
        expect((await store.stats()).tickets).to.equal(0);
        expect((await fetch(`${url}/health`)).status).to.equal(200);
        const served = await fetch(`${url}${PATH}`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: encodeHeaderValue(valid) }, body });
        expect(served.status).to.equal(200);
    });
});
