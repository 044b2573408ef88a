import { connect } from "node:net";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import {
    baseBlinding,
    CHARGE_HEADER,
    encodeTicket,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    foldBase,
    foldInputs,
    foldPublicSignals,
    foldRequestBody,
    GATEWAY_ERROR_CODES,
    GATEWAY_PATHS,
    lookupMessage,
    lookupRequestBody,
    packProof,
    RegistrySync,
    requestHash,
    requestSigner,
    SNARK_SCALAR_FIELD,
    spendInputs,
    ticketBlinding,
    TICKET_HEADER,
    TREE_DEPTH
} from "@zk-api-credits/protocol";
import type { RegistryBinding, TicketEnvelope } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chat, RawUser } from "../helpers/tickets";

const PATH = "/v1/chat/completions";
const RUNS = Number(process.env.FUZZ_REQUESTS ?? 4_000);
const BODY_LIMIT = 16 * 1024;
/** The BN254 base field (proof coordinates must be below it). */
const FIELD_P = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

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

/** One mutated request: a paid request (ticket header + body), a fold or look-up body, or raw bytes. */
interface Mutant {
    readonly kind: string;
    readonly path: string;
    readonly header?: string;
    readonly body: string | Buffer;
    readonly raw?: string;
}

type Json = Record<string, unknown>;
const hex = (value: bigint): string => `0x${value.toString(16)}`;

// 4,000 mutated v2 requests (FUZZ_REQUESTS for more) against a running gateway — tickets (every envelope
// field, encodings, proofs bound elsewhere, the request binding), folds and look-ups: none
// accepted (no 2xx, no charge, nothing recorded), none answered with a 5xx, each refused with
// a 4xx and a stable reason code; the gateway stays up and then serves the valid originals.
// (FUZZ_REQUESTS and FUZZ_SEED override the count and the seed.)
describe("Gateway fuzzing (protocol v2)", function () {
    this.timeout(60 * 60_000);

    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let url: string;
    let chain: JsonRpcProvider;
    let user: RawUser;
    const body = JSON.stringify(chat("the fuzzer's baseline request"));
    /** A valid ticket for `body`, never sent before the end. */
    let valid: TicketEnvelope;
    /** A valid fold of the user's genesis base, never sent before the end. */
    let validFold: string;
    /** A valid look-up of a served ticket (its answer is the stored response). */
    let validLookup: string;
    const foreign: Record<string, TicketEnvelope> = {};
    let recorded: { tickets: number; folds: number };

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-fuzz-")), "gateway.db"));
        gateway = await createGateway({
            deployment: stack.deployment,
            signingKey: stack.providerSigningKey,
            provider: chain,
            store,
            workers: false,
            bodyLimit: BODY_LIMIT,
            // Every mutant must reach the check it targets: no admission control here (test/gateway/abuse.test.ts covers it).
            admission: { admit: () => ({ holdForProof: () => ({ alone: false }), failed: () => undefined, released: () => undefined }) }
        });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
        user = await RawUser.register(stack, url, 5);

        // Two served tickets (their charges make a fold), and the valid look-up of the first.
        const served = [await user.prove(0n), await user.prove(1n)];
        for (const [i, ticket] of served.entries()) expect((await user.send(ticket, PATH, chat(`served ${i}`))).status).to.equal(200);
        const { scope } = user.binding;
        const keyOf = (index: bigint) => requestSigner(user.identity.secret, scope, index);
        validLookup = lookupRequestBody({
            version: 2,
            nullifier: served[0]!.nullifier,
            ephemeralKey: keyOf(0n).publicKey,
            signature: keyOf(0n).signMessage(lookupMessage(user.context, served[0]!.nullifier))
        });
        const charges = [0n, 1n].map((i) => user.charges.get(i)!);
        const witness = { secret: user.identity.secret, base: user.base, charges, newBlinding: baseBlinding(user.identity.secret, scope, foldBase(user.base.base, charges).folded), registry: user.binding };
        const { proof: foldProof } = await prover("fold-2").prove(foldInputs(witness));
        const foldSignals = foldPublicSignals(witness);
        validFold = foldRequestBody({ version: 2, context: foldSignals.context, foldNullifier: foldSignals.foldNullifier, newBase: foldSignals.newBase, proof: packProof(foldProof) });

        // The valid ticket (index 2), and real proofs of index 3 bound to another scope, provider key or terms.
        const sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain),
            fromBlock: stack.deployment.deploymentBlock,
            epochBlocks: Number(stack.deployment.parameters.epochBlocks)
        });
        const tree = await sync.sync();
        const merkleProof = tree.merkleProof(sync.leafIndexOf(user.identity.commitment)!, TREE_DEPTH);
        const prove = async (binding: RegistryBinding, index: bigint): Promise<TicketEnvelope> => {
            const signer = requestSigner(user.identity.secret, binding.scope, index);
            const x = ephemeralKeyBinding(signer.publicKey);
            const inputs = spendInputs({
                secret: user.identity.secret,
                deposit: user.deposit,
                merkleProof,
                base: user.base,
                index,
                ticketBlinding: ticketBlinding(user.identity.secret, binding.scope, index),
                registry: binding,
                x
            });
            const { proof, publicSignals } = await prover("spend-32").prove(inputs);
            const [root, , tx, ty, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
            return {
                version: 2,
                root,
                context: user.context, // presented with this registry's context
                ticketCommitment: [tx, ty],
                nullifier,
                y,
                x,
                proof: packProof(proof),
                ephemeralKey: signer.publicKey,
                requestSignature: signer.signMessage(requestHash("POST", PATH, Buffer.from(body)))
            };
        };
        const binding = user.binding;
        valid = await prove(binding, 2n);
        foreign.scope = await prove({ ...binding, scope: binding.scope + 1n }, 3n);
        foreign.terms = await prove({ ...binding, terms: { ...binding.terms, policyPenalty: binding.terms.policyPenalty + 1n } }, 3n);
        foreign.maxCost = await prove({ ...binding, terms: { ...binding.terms, maxCost: binding.terms.maxCost - 1n } }, 3n);
        const stats = await store.stats();
        recorded = { tickets: stats.tickets, folds: stats.folds };
        expect(recorded).to.deep.equal({ tickets: 2, folds: 0 });
    });

    after(async function () {
        user?.close();
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await stack?.stop();
    });

    function mutate(random: () => number): Mutant {
        const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
        const delta = (): bigint => BigInt(Math.floor(random() * 2 ** 52)) * BigInt(Math.floor(random() * 2 ** 52)) + 1n;
        const fieldDelta = (value: bigint): bigint => (value + delta()) % SNARK_SCALAR_FIELD;
        const ticketJson = (): Json => JSON.parse(Buffer.from(encodeTicket(valid), "base64url").toString()) as Json;
        const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
        const paid = (kind: string, header: string | undefined, requestBody: string | Buffer = body, path = PATH): Mutant => ({ kind, path, header, body: requestBody });
        const signal = pick(["root", "context", "nullifier", "y", "x"] as const);
        const anyField = pick(["root", "context", "nullifier", "y", "x", "ticketCommitment.0", "ticketCommitment.1", "ephemeralKey", "requestSignature"] as const);
        /** The JSON of the valid ticket with one field's text replaced. */
        const retext = (name: typeof anyField, text: (value: string) => string): Json => {
            const json = ticketJson();
            const [key, at] = name.split(".") as [string, string | undefined];
            if (at !== undefined) (json[key] as string[])[Number(at)] = text((json[key] as string[])[Number(at)]!);
            else json[key] = text(json[key] as string);
            return json;
        };
        /** `bytes` with one random bit flipped. */
        const flipBit = (bytes: Uint8Array): Uint8Array => {
            const out = Uint8Array.from(bytes);
            const bit = Math.floor(random() * out.length * 8);
            out[bit >> 3]! ^= 1 << (bit & 7);
            return out;
        };
        const foldJson = (): Json => JSON.parse(validFold) as Json;
        const lookupJson = (): Json => JSON.parse(validLookup) as Json;
        const kinds: (() => Mutant)[] = [
            // --- tickets: values
            () => {
                const i = Math.floor(random() * 8);
                return paid(`proof[${i}] changed`, encodeTicket({ ...valid, proof: valid.proof.map((w, j) => (j === i ? (w + delta()) % FIELD_P : w)) }));
            },
            () => paid("proof negated in A only", encodeTicket({ ...valid, proof: valid.proof.map((w, j) => (j === 1 ? FIELD_P - w : w)) })),
            () => paid("proof A and C swapped", encodeTicket({ ...valid, proof: [...valid.proof.slice(6, 8), ...valid.proof.slice(2, 6), ...valid.proof.slice(0, 2)] })),
            () => paid(`signal ${signal} changed`, encodeTicket({ ...valid, [signal]: fieldDelta(valid[signal]) })),
            () => {
                const i = Math.floor(random() * 2);
                const ticketCommitment = valid.ticketCommitment.map((c, j) => (j === i ? fieldDelta(c) : c)) as [bigint, bigint];
                return paid(`ticketCommitment[${i}] changed`, encodeTicket({ ...valid, ticketCommitment }));
            },
            () => {
                // An attacker's own request key: x and epk consistent, the signature the ticket's.
                const key = requestSigner(delta(), delta(), 0n).publicKey;
                return paid("another request key, x updated", encodeTicket({ ...valid, ephemeralKey: key, x: ephemeralKeyBinding(key) }));
            },
            () => paid("ephemeral key bit flipped, x not", encodeTicket({ ...valid, ephemeralKey: flipBit(valid.ephemeralKey) })),
            () => paid("request signature bit flipped", encodeTicket({ ...valid, requestSignature: flipBit(valid.requestSignature) })),
            () => paid("foreign scope", encodeTicket(foreign.scope!)),
            () => paid("foreign terms", encodeTicket(foreign.terms!)),
            () => paid("foreign maxCost", encodeTicket(foreign.maxCost!)),
            () => paid("random root", encodeTicket({ ...valid, root: delta() })),
            // --- tickets: the request binding
            () => paid("body changed", encodeTicket(valid), body.replace("baseline", "changed")),
            () => paid("body truncated", encodeTicket(valid), body.slice(0, Math.floor(random() * body.length))),
            () => paid("bad JSON body", encodeTicket(valid), `${body.slice(0, 10)}\u0000{]`),
            () => paid("oversized body", encodeTicket(valid), Buffer.alloc(BODY_LIMIT + 1 + Math.floor(random() * 1024), 0x7b)),
            () => paid("query added to the path", encodeTicket(valid), body, `${PATH}?stream=true`),
            () => paid("another paid route", encodeTicket(valid), body, "/v1/completions"),
            () => paid("unknown route", encodeTicket(valid), body, "/v1/unknown"),
            // --- tickets: encodings
            () => paid(`non-canonical ${signal} (+ r)`, b64({ ...ticketJson(), [signal]: hex(valid[signal] + SNARK_SCALAR_FIELD) })),
            () => paid(`${anyField} with a leading zero`, b64(retext(anyField, (v) => `0x0${v.slice(2)}`))),
            () => paid(`${anyField} in upper case`, b64(retext(anyField, (v) => (v.slice(2).toUpperCase() === v.slice(2) ? `0x0${v.slice(2)}` : `0x${v.slice(2).toUpperCase()}`)))),
            () => paid(`${anyField} in decimal`, b64(retext(anyField, (v) => BigInt(v).toString()))),
            () => paid(`${anyField} as a number`, b64({ ...ticketJson(), [anyField.split(".")[0]!]: 12345 })),
            () => paid("proof word + p", b64({ ...ticketJson(), proof: valid.proof.map((w, j) => hex(j === 3 ? w + FIELD_P : w)) })),
            () => paid("7 proof words", b64({ ...ticketJson(), proof: valid.proof.slice(0, 7).map(hex) })),
            () => paid("fields reordered", b64(Object.fromEntries(Object.entries(ticketJson()).reverse()))),
            () => paid("extra field", b64({ ...ticketJson(), extra: "0x1" })),
            () => paid("missing field", b64({ ...ticketJson(), [pick(["root", "proof", "y", "x", "ephemeralKey", "requestSignature", "ticketCommitment"])]: undefined })),
            () => paid("wrong version", b64({ ...ticketJson(), version: pick([0, 1, 3, "2", null]) })),
            () => paid("padded base64", `${encodeTicket(valid)}==`),
            () => paid("over 8 KiB", encodeTicket(valid) + "A".repeat(8_192)),
            () => paid("truncated header", encodeTicket(valid).slice(0, Math.floor(random() * 1_500))),
            () => {
                const bytes = Buffer.from(encodeTicket(valid), "base64url");
                bytes[Math.floor(random() * bytes.length)] ^= 1 << Math.floor(random() * 8);
                return paid("bit flip in the header", bytes.toString("base64url"));
            },
            () => paid("garbage header", Buffer.from(Array.from({ length: 1 + Math.floor(random() * 200) }, () => Math.floor(random() * 256))).toString("base64url")),
            () => paid("no ticket", undefined),
            () => ({
                kind: "header injection",
                path: PATH,
                body,
                raw: `POST ${PATH} HTTP/1.1\r\nHost: gateway\r\n${TICKET_HEADER}: ${encodeTicket(valid).slice(0, 20)}\r${pick(["\n", "x", "\u0000"])}X-Injected: 1\r\ncontent-length: 2\r\n\r\n{}`
            }),
            // --- folds (the valid one never sent)
            () => ({ kind: "fold: foldNullifier changed", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), foldNullifier: hex(fieldDelta(BigInt(foldJson().foldNullifier as string))) }) }),
            () => {
                const json = foldJson();
                const i = Math.floor(random() * 8);
                (json.proof as string[])[i] = hex((BigInt((json.proof as string[])[i]!) + delta()) % FIELD_P);
                return { kind: `fold: proof[${i}] changed`, path: GATEWAY_PATHS.fold, body: JSON.stringify(json) };
            },
            () => {
                const json = foldJson();
                const base = json.newBase as string[];
                json.newBase = [base[0], hex(fieldDelta(BigInt(base[1]!)))];
                return { kind: "fold: newBase off the curve", path: GATEWAY_PATHS.fold, body: JSON.stringify(json) };
            },
            () => {
                // Another point of the curve: the user's own T_5.
                const other = user.ticketCommitment(5n);
                return { kind: "fold: newBase another point", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), newBase: other.map(hex) }) };
            },
            () => ({ kind: "fold: context changed", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), context: hex(fieldDelta(user.context)) }) }),
            () => ({ kind: "fold: extra field", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), signature: "0x1" }) }),
            () => ({ kind: "fold: missing field", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), [pick(["context", "foldNullifier", "newBase", "proof"])]: undefined }) }),
            () => ({ kind: "fold: wrong version", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), version: pick([1, "2", null]) }) }),
            () => ({ kind: "fold: truncated", path: GATEWAY_PATHS.fold, body: validFold.slice(0, Math.floor(random() * validFold.length)) }),
            () => ({ kind: "fold: proof word + p", path: GATEWAY_PATHS.fold, body: JSON.stringify({ ...foldJson(), proof: (foldJson().proof as string[]).map((w, j) => (j === 0 ? hex(BigInt(w) + FIELD_P) : w)) }) }),
            // --- look-ups (semantic changes only: another spelling of the same look-up is the same look-up)
            () => ({ kind: "lookup: nullifier changed", path: GATEWAY_PATHS.lookup, body: JSON.stringify({ ...lookupJson(), nullifier: hex(fieldDelta(BigInt(lookupJson().nullifier as string))) }) }),
            () => {
                const key = requestSigner(user.identity.secret, user.binding.scope, 1n);
                return { kind: "lookup: another key of the same user", path: GATEWAY_PATHS.lookup, body: JSON.stringify({ ...lookupJson(), ephemeralKey: `0x${Buffer.from(key.publicKey).toString("hex")}` }) };
            },
            () => {
                const json = lookupJson();
                json.signature = `0x${Buffer.from(flipBit(Buffer.from((json.signature as string).slice(2), "hex"))).toString("hex")}`;
                return { kind: "lookup: signature bit flipped", path: GATEWAY_PATHS.lookup, body: JSON.stringify(json) };
            },
            () => {
                // The ticket's other key signs the right message: not this ticket's key.
                const key = requestSigner(user.identity.secret, user.binding.scope, 1n);
                const nullifier = BigInt(lookupJson().nullifier as string);
                return {
                    kind: "lookup: signed by another ticket's key",
                    path: GATEWAY_PATHS.lookup,
                    body: lookupRequestBody({ version: 2, nullifier, ephemeralKey: key.publicKey, signature: key.signMessage(lookupMessage(user.context, nullifier)) })
                };
            },
            () => ({ kind: "lookup: extra field", path: GATEWAY_PATHS.lookup, body: JSON.stringify({ ...lookupJson(), status: "complete" }) }),
            () => ({ kind: "lookup: wrong version", path: GATEWAY_PATHS.lookup, body: JSON.stringify({ ...lookupJson(), version: pick([1, "2", null]) }) }),
            () => ({ kind: "lookup: garbage", path: GATEWAY_PATHS.lookup, body: Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256))) })
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

    it(`Should refuse ${RUNS} mutated tickets, folds and look-ups with 4xx reason codes, accept none and stay up`, async function () {
        const seed = Number(process.env.FUZZ_SEED ?? 20261202);
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
                let charge: string | null = null;
                if (mutant.raw !== undefined) {
                    ({ status, code } = await sendRaw(mutant.raw));
                    code ??= "HTTP_PARSER";
                } else {
                    const response = await fetch(`${url}${mutant.path}`, {
                        method: "POST",
                        headers: { "content-type": "application/json", ...(mutant.header === undefined ? {} : { [TICKET_HEADER]: mutant.header }) },
                        body: mutant.body
                    });
                    status = response.status;
                    code = response.headers.get(ERROR_CODE_HEADER);
                    charge = response.headers.get(CHARGE_HEADER);
                    await response.arrayBuffer();
                }
                const key = `${status} ${code}`;
                counts.set(key, (counts.get(key) ?? 0) + 1);
                const knownCode = code === "HTTP_PARSER" || (GATEWAY_ERROR_CODES as readonly string[]).includes(code ?? "");
                if (status < 400 || status >= 500 || !knownCode || charge !== null) problems.push(`${mutant.kind}: ${key}${charge ? " with a charge" : ""}`);
            }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
        console.log(`      fuzzed ${sent} requests (seed ${seed}):`);
        [...counts.entries()].sort((a, b) => b[1] - a[1]).forEach(([key, n]) => console.log(`        ${String(n).padStart(6)}  ${key}`));
        expect(problems.slice(0, 10)).to.deep.equal([]);
        // Nothing recorded beyond the two baseline tickets; the gateway is up and serves the originals.
        const stats = await store.stats();
        expect({ tickets: stats.tickets, folds: stats.folds }).to.deep.equal(recorded);
        expect((await fetch(`${url}/health`)).status).to.equal(200);
        const served = await fetch(`${url}${PATH}`, { method: "POST", headers: { "content-type": "application/json", [TICKET_HEADER]: encodeTicket(valid) }, body });
        expect(served.status).to.equal(200);
        expect(served.headers.get(CHARGE_HEADER)).to.be.a("string");
        const folded = await fetch(`${url}${GATEWAY_PATHS.fold}`, { method: "POST", headers: { "content-type": "application/json" }, body: validFold });
        expect(folded.status).to.equal(200);
        const looked = await fetch(`${url}${GATEWAY_PATHS.lookup}`, { method: "POST", headers: { "content-type": "application/json" }, body: validLookup });
        expect(looked.status).to.equal(200);
    });
});
