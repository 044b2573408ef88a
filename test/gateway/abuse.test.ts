import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { getCurveFromName } from "ffjavascript";
import type { Bn128Engine } from "ffjavascript";
import { circuitArtifacts } from "@zk-api-credits/circuits";
import {
    commitTicket,
    encodeTicket,
    ephemeralKeyBinding,
    ERROR_CODE_HEADER,
    foldRequestBody,
    GATEWAY_PATHS,
    requestHash,
    RequestKey,
    SNARK_SCALAR_FIELD,
    TICKET_HEADER
} from "@zk-api-credits/protocol";
import { ClientAdmission, createGateway, SqliteNullifierStore, VerificationPool } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { requestFrom } from "../helpers/http-from";
import type { AnswerFrom } from "../helpers/http-from";
import { chat, RawUser } from "../helpers/tickets";
import type { ProvedTicket } from "../helpers/tickets";
import { eventually } from "../helpers/users";

const PAID = "/v1/chat/completions";
const HEADERS_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 4_000;
/** Generous bounds: three times each limit (Node checks its connections every ≤ 500 ms here). */
const HEADERS_BOUND_MS = 3 * HEADERS_TIMEOUT_MS;
const REQUEST_BOUND_MS = 3 * REQUEST_TIMEOUT_MS;
/** Failed checks a client may accumulate in these tests before it is refused. */
const BURST = 4;
/** Failed proof checks the clients the gateway does not know share in these tests. */
const NEW_CLIENT_BURST = 6;

/** A raw connection that sends `prefix`, then one byte of `drip` every `everyMs` (or nothing), and never finishes its request. */
interface SlowClient {
    readonly kind: string;
    readonly opened: number;
    closed?: number;
    received: string;
}

function slowClient(port: number, kind: string, prefix: string, everyMs?: number): SlowClient {
    const client: SlowClient = { kind, opened: Date.now(), received: "" };
    const socket: Socket = connect(port, "127.0.0.1");
    let timer: NodeJS.Timeout | undefined;
    socket.on("connect", () => {
        if (prefix.length > 0) socket.write(prefix);
        if (everyMs !== undefined) timer = setInterval(() => socket.writable && socket.write("a"), everyMs);
    });
    socket.on("data", (chunk: Buffer) => (client.received += chunk.toString()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
        if (timer !== undefined) clearInterval(timer);
        client.closed = Date.now();
    });
    return client;
}

// The gateway under abuse (issue 11 item 7), over real HTTP with real tickets: connections that
// trickle their headers or bodies (or send nothing) are cut within seconds while /health keeps
// answering; a 10 MB body gets a clean 413; metrics and stats need the operator's token; a
// client whose proofs keep failing is refused before its junk costs a pairing, while honest
// clients are served.
describe("Gateway under abuse", function () {
    this.timeout(20 * 60_000);

    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let url: string;
    let port: number;
    let chain: JsonRpcProvider;
    let curve: Bn128Engine;
    let verifier: VerificationPool;
    let foldVerifier: VerificationPool;
    let clock = Date.now();
    let admission: ClientAdmission;
    /** Every budget full again (per client, and the new clients' shared one): each junk test starts from there. */
    const refillBudgets = (): void => {
        clock += Math.max(BURST, NEW_CLIENT_BURST) * 1_000 + 1_000;
    };
    let alice: RawUser;
    let tickets: ProvedTicket[];

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-abuse-")), "gateway.db"));
        curve = await getCurveFromName("bn128", true);
        verifier = new VerificationPool(circuitArtifacts("spend-32").verificationKey, { threads: 1 });
        foldVerifier = new VerificationPool(circuitArtifacts("fold-2").verificationKey, { threads: 1 });
        admission = new ClientAdmission({ burst: BURST, refillPerSecond: 1, newClients: { burst: NEW_CLIENT_BURST, refillPerSecond: 1 }, now: () => clock });
        gateway = await createGateway({
            deployment: stack.deployment,
            signingKey: stack.providerSigningKey,
            provider: chain,
            store,
            workers: false,
            verifier,
            foldVerifier,
            // A budget of BURST failures per client, NEW_CLIENT_BURST shared by clients not known; time only moves when a test moves `clock`.
            admission,
            requestTimeoutMs: REQUEST_TIMEOUT_MS,
            headersTimeoutMs: HEADERS_TIMEOUT_MS,
            metricsToken: "operator-secret"
        });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        port = typeof address === "object" && address ? address.port : 0;
        url = `http://127.0.0.1:${port}`;
        alice = await RawUser.register(stack, url, 5);
        tickets = [];
        for (const index of [0n, 1n, 2n]) tickets.push(await alice.prove(index));
    });

    after(async function () {
        alice?.close();
        await gateway?.close();
        await verifier?.close();
        await foldVerifier?.close();
        await store?.close();
        await curve?.terminate();
        chain?.destroy();
        await stack?.stop();
    });

    const scalar = (): bigint => BigInt(`0x${randomBytes(32).toString("hex")}`) % SNARK_SCALAR_FIELD;
    /** Three random group elements in verifier order: they pass every point and subgroup check. */
    function junkProof(): bigint[] {
        const g1 = (): bigint[] => curve.G1.toObject(curve.G1.toAffine(curve.G1.timesScalar(curve.G1.g, scalar()))).slice(0, 2);
        const [bx, by] = curve.G2.toObject(curve.G2.toAffine(curve.G2.timesScalar(curve.G2.g, scalar())));
        return [...g1(), bx![1]!, bx![0]!, by![1]!, by![0]!, ...g1()];
    }

    /**
     * A junk ticket built from public data only (no deposit): the canonical envelope, the
     * gateway's context and current root, a fresh ephemeral key that really signs the request
     * (or, with `badSignature`, signs another one), and random group elements as the proof.
     */
    function junkTicket(body: string, badSignature = false): string {
        const signer = new RequestKey(randomBytes(32));
        const { current } = gateway.roots.accepted;
        return encodeTicket({
            version: 2,
            root: current!.root,
            context: stack.deployment.parameters.context,
            ticketCommitment: [scalar(), scalar()],
            nullifier: scalar(),
            y: scalar(),
            x: ephemeralKeyBinding(signer.publicKey),
            proof: junkProof(),
            ephemeralKey: signer.publicKey,
            requestSignature: signer.signMessage(requestHash("POST", PAID, Buffer.from(badSignature ? `${body} ` : body)))
        });
    }

    const sendJunk = (from: string, badSignature = false): Promise<AnswerFrom> => {
        const body = JSON.stringify(chat(`junk ${scalar()}`));
        return requestFrom(url, { path: PAID, from, body, headers: { "content-type": "application/json", [TICKET_HEADER]: junkTicket(body, badSignature) } });
    };

    const sendHonest = (ticket: ProvedTicket, content: string, from: string): Promise<AnswerFrom> => {
        const body = JSON.stringify(chat(content));
        return requestFrom(url, {
            path: PAID,
            from,
            body,
            headers: { "content-type": "application/json", [TICKET_HEADER]: alice.ticketHeader(ticket, "POST", PAID, Buffer.from(body)) }
        });
    };

    describe("# slow clients", function () {
        it("Should cut connections that trickle headers or bodies or send nothing within seconds, wave after wave, and answer /health meanwhile", async function () {
            let health = { ok: 0, failed: 0 };
            let checking = true;
            const checker = (async () => {
                while (checking) {
                    try {
                        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
                        if (response.status === 200 && ((await response.json()) as { status?: string }).status === "ok") health.ok++;
                        else health.failed++;
                    } catch {
                        health.failed++;
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
            })();
            const junk = junkTicket("{}");
            try {
                // Two waves: the second starts right after the first was cut, so a server that
                // checks its connections rarely (Node's default: every 30 s) fails the bounds.
                for (let wave = 0; wave < 2; wave++) {
                    health = { ok: 0, failed: 0 };
                    const clients = [
                        ...Array.from({ length: 300 }, () => slowClient(port, "headers", `POST ${PAID} HTTP/1.1\r\nHost: gateway\r\nX-Slow: `, 200)),
                        ...Array.from({ length: 100 }, () =>
                            slowClient(port, "body", `POST ${PAID} HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n${TICKET_HEADER}: ${junk}\r\nContent-Length: 100000\r\n\r\n{`, 200)
                        ),
                        ...Array.from({ length: 50 }, () => slowClient(port, "silent", ""))
                    ];
                    await eventually(async () => (clients.every((c) => c.closed !== undefined) ? true : undefined), `wave ${wave}: every slow connection cut`, 60_000);
                    for (const client of clients) {
                        const lived = client.closed! - client.opened;
                        expect(lived, `a ${client.kind} connection lived ${lived} ms`).to.be.at.most(client.kind === "body" ? REQUEST_BOUND_MS : HEADERS_BOUND_MS);
                        // Cut by the server with a 408 (Fastify's answer to a request timeout).
                        expect(client.received, `a ${client.kind} connection`).to.match(/^HTTP\/1\.1 408 /);
                    }
                    expect(health.failed, `wave ${wave}: /health failures (${health.ok} answered)`).to.equal(0);
                    expect(health.ok).to.be.greaterThan(0);
                }
            } finally {
                checking = false;
                await checker;
            }
        });

        it("Should still serve a client that sends its request at a normal pace after the waves", async function () {
            const answer = await sendHonest(tickets[0]!, "after the slow clients", "127.0.0.1");
            expect(answer.status, answer.body).to.equal(200);
        });
    });

    describe("# large bodies", function () {
        it("Should refuse a 10 MB body with a clean 413 BODY_TOO_LARGE, with or without a length, and record nothing", async function () {
            const recorded = (await store.stats()).tickets;
            const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
            const headers = { "content-type": "application/json", [TICKET_HEADER]: junkTicket("{}") };
            const sized = await fetch(`${url}${PAID}`, { method: "POST", headers, body: big });
            expect(sized.status).to.equal(413);
            expect(sized.headers.get(ERROR_CODE_HEADER)).to.equal("BODY_TOO_LARGE");
            expect(((await sized.json()) as { error: { code: string } }).error.code).to.equal("BODY_TOO_LARGE");
            const chunks = new ReadableStream<Uint8Array>({
                start(controller) {
                    for (let i = 0; i < 160; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
                    controller.close();
                }
            });
            const chunked = await fetch(`${url}${PAID}`, { method: "POST", headers, body: chunks, duplex: "half" } as RequestInit);
            expect(chunked.status).to.equal(413);
            expect(chunked.headers.get(ERROR_CODE_HEADER)).to.equal("BODY_TOO_LARGE");
            await chunked.arrayBuffer();
            const raw = await requestFrom(url, { path: GATEWAY_PATHS.fold, body: big, headers: { "content-type": "application/json" } });
            expect(raw.status).to.equal(413);
            expect(raw.code).to.equal("BODY_TOO_LARGE");
            expect((await store.stats()).tickets).to.equal(recorded);
            expect((await fetch(`${url}/health`)).status).to.equal(200);
        });
    });

    describe("# operator endpoints", function () {
        it("Should answer /metrics and stats only with the operator's bearer token (they reveal per-request charges)", async function () {
            for (const route of ["/metrics", GATEWAY_PATHS.stats]) {
                for (const authorization of [undefined, "Bearer wrong", "operator-secret", "Bearer operator-secre", "Bearer operator-secret-and-more"]) {
                    const response = await fetch(`${url}${route}`, { headers: authorization === undefined ? {} : { authorization } });
                    expect(response.status, `${route} with ${authorization}`).to.equal(401);
                    expect(response.headers.get(ERROR_CODE_HEADER)).to.equal("UNAUTHORIZED");
                    expect(await response.text()).not.to.match(/zkapi_|tickets/);
                }
                const allowed = await fetch(`${url}${route}`, { headers: { authorization: "Bearer operator-secret" } });
                expect(allowed.status, route).to.equal(200);
            }
        });
    });

    describe("# a flood of junk tickets", function () {
        it("Should refuse a client whose proofs keep failing with 429 before any pairing, and serve others meanwhile", async function () {
            refillBudgets();
            const attacker = "127.0.0.2";
            const before = verifier.stats;
            // One failure makes the client suspect; from then on it pays when admitted, so however
            // many junk tickets it has in flight at once, only its budget's worth are checked.
            const answers: AnswerFrom[] = [await sendJunk(attacker)];
            for (let round = 0; round < 6; round++) answers.push(...(await Promise.all(Array.from({ length: 8 }, () => sendJunk(attacker)))));
            const refused = answers.filter((a) => a.status === 429);
            expect(answers.filter((a) => a.status === 403).map((a) => a.code)).to.deep.equal(new Array<string>(BURST).fill("INVALID_PROOF"));
            expect(refused).to.have.length(answers.length - BURST);
            expect(new Set(refused.map((a) => a.code))).to.deep.equal(new Set(["RATE_LIMITED"]));
            // Only the budget's proofs reached the verifier.
            expect(verifier.stats.proofs - before.proofs).to.equal(BURST);
            expect(verifier.stats.invalid - before.invalid).to.equal(BURST);
            // Another client is served meanwhile; the attacker's address stays refused.
            const honest = await sendHonest(tickets[1]!, "while the attacker is refused", "127.0.0.1");
            expect(honest.status, honest.body).to.equal(200);
            const shared = await sendHonest(tickets[2]!, "from the attacker's address", attacker);
            expect(shared.status).to.equal(429);
            expect(shared.code).to.equal("RATE_LIMITED");
            // Refused before it was recorded: the ticket is not consumed, and is served once the budget refills.
            clock += (BURST / 1) * 1000;
            const later = await sendHonest(tickets[2]!, "from the attacker's address", attacker);
            expect(later.status, later.body).to.equal(200);
        });

        it("Should count request signatures that fail against the budget: no EdDSA check once it is spent", async function () {
            refillBudgets();
            const attacker = "127.0.0.3";
            const bad = await Promise.all(Array.from({ length: BURST }, () => sendJunk(attacker, true)));
            expect(bad.map((a) => a.code)).to.deep.equal(new Array<string>(BURST).fill("INVALID_REQUEST_SIGNATURE"));
            const before = verifier.stats;
            const next = await sendJunk(attacker);
            expect(next.status).to.equal(429);
            expect(next.code).to.equal("RATE_LIMITED");
            expect(verifier.stats.proofs).to.equal(before.proofs);
        });

        it("Should check a new client's lone bad request signature alongside its proof, and a suspect's on the worker before any pairing", async function () {
            refillBudgets();
            const client = "127.0.0.6";
            const before = { proofs: verifier.stats.proofs, tasks: verifier.taskStats };
            // The pool is idle: the proof starts on the worker while the event loop checks the signature.
            const first = await sendJunk(client, true);
            expect(first.status).to.equal(400);
            expect(first.code).to.equal("INVALID_REQUEST_SIGNATURE");
            expect(verifier.taskStats.overlapped - before.tasks.overlapped, "checked alongside its proof").to.equal(1);
            expect(verifier.taskStats.invalidSignatures - before.tasks.invalidSignatures).to.equal(1);
            // The client is now suspect: its next bad signature is checked on the worker first, and costs no pairing.
            const second = await sendJunk(client, true);
            expect(second.code).to.equal("INVALID_REQUEST_SIGNATURE");
            expect(verifier.taskStats.overlapped - before.tasks.overlapped, "not overlapped").to.equal(1);
            expect(verifier.taskStats.signatureChecks - before.tasks.signatureChecks).to.equal(2);
            expect(verifier.taskStats.invalidSignatures - before.tasks.invalidSignatures).to.equal(2);
            // The first one's proof was verified (one pairing, no more than a valid ticket costs); the suspect's never was.
            expect(verifier.stats.proofs - before.proofs).to.equal(1);
            // The same junk with a good signature reaches the proof check, on the same worker round trip.
            const junk = await sendJunk(client);
            expect(junk.code).to.equal("INVALID_PROOF");
            expect(verifier.taskStats.signatureChecks - before.tasks.signatureChecks).to.equal(3);
            expect(verifier.stats.proofs - before.proofs).to.equal(2);
        });

        it("Should verify a suspect client's proofs on their own, so that they never spoil a batch of others' proofs", async function () {
            refillBudgets();
            const suspect = "127.0.0.4";
            const ticket = await alice.prove(3n);
            expect((await sendJunk(suspect)).code).to.equal("INVALID_PROOF");
            const before = verifier.stats;
            expect(before.failureRate, "the first junk counted as a failure of a shared group").to.be.greaterThan(0);
            // Junk from the suspect and an honest ticket arrive together.
            const [junk, honest] = await Promise.all([sendJunk(suspect), sendHonest(ticket, "next to a suspect", "127.0.0.1")]);
            expect(junk.code).to.equal("INVALID_PROOF");
            expect(honest.status, honest.body).to.equal(200);
            const after = verifier.stats;
            expect(after.failedGroups - before.failedGroups, "no group failed").to.equal(0);
            // Checked alone, the suspect's junk does not count in the failure rate that sizes the groups of others.
            expect(after.failureRate).to.be.at.most(before.failureRate);
        });

        it("Should throttle new clients, never known ones, while junk arrives from more addresses than their budgets cover", async function () {
            refillBudgets();
            const [first, honest, newcomer] = await Promise.all([alice.prove(4n), alice.prove(5n), alice.prove(6n)]);
            // Alice's address is known: a ticket of hers is recorded from it.
            expect((await sendHonest(first, "before the flood", "127.0.0.1")).status).to.equal(200);
            const before = { verifier: verifier.stats, throttled: admission.stats.throttled };
            // One junk ticket from each of NEW_CLIENT_BURST new addresses, each well within its own budget.
            const junk: AnswerFrom[] = [];
            for (let i = 1; i <= NEW_CLIENT_BURST; i++) junk.push(await sendJunk(`127.0.1.${i}`));
            expect(junk.map((a) => a.code)).to.deep.equal(new Array<string>(NEW_CLIENT_BURST).fill("INVALID_PROOF"));
            expect(admission.stats.newClientBudget).to.equal(0);
            // Once new clients fail, a new client's proof is checked on its own.
            expect(verifier.stats.singleChecks - before.verifier.singleChecks).to.be.at.least(NEW_CLIENT_BURST - 1);
            // The next new address is refused before any check, and told to retry; nothing reached the verifier.
            const throttled = await sendJunk(`127.0.1.${NEW_CLIENT_BURST + 1}`);
            expect(throttled.status).to.equal(503);
            expect(throttled.code).to.equal("NEW_CLIENTS_THROTTLED");
            expect(throttled.headers["retry-after"]).to.equal("1");
            expect(verifier.stats.proofs - before.verifier.proofs).to.equal(NEW_CLIENT_BURST);
            // A known client is served meanwhile.
            const known = await sendHonest(honest, "a known client during the flood", "127.0.0.1");
            expect(known.status, known.body).to.equal(200);
            expect(admission.stats.throttled - before.throttled).to.equal(1);
            // An honest ticket from a new address is refused too, and not consumed: once one failure is
            // forgiven, the same ticket is checked (alone), served, and its unit given back.
            const singleBefore = verifier.stats.singleChecks;
            const refused = await sendHonest(newcomer, "a new client during the flood", "127.0.1.100");
            expect(refused.status).to.equal(503);
            expect(refused.code).to.equal("NEW_CLIENTS_THROTTLED");
            clock += 1_000;
            const again = await sendHonest(newcomer, "a new client during the flood", "127.0.1.100");
            expect(again.status, again.body).to.equal(200);
            expect(verifier.stats.singleChecks - singleBefore, "the newcomer's proof, on its own").to.equal(1);
            expect(admission.stats).to.include({ newClientBudget: 1, newClientsHeld: 0 });
            // Its ticket recorded, the newcomer is known: no longer throttled while junk spends the budget again.
            expect((await sendJunk(`127.0.1.${NEW_CLIENT_BURST + 2}`)).code).to.equal("INVALID_PROOF");
            expect(admission.stats.newClientBudget).to.equal(0);
            const check = admission.admit("127.0.1.100");
            expect(typeof check === "string" ? check : check.holdForProof()).to.deep.equal({ alone: false });
            if (typeof check !== "string") check.released();
            // Sending that recorded request again (answered from the store) makes no address known.
            clock += 1_000;
            const replay = await sendHonest(newcomer, "a new client during the flood", "127.0.1.101");
            expect(replay.status, replay.body).to.equal(200);
            expect(admission.stats.newClientBudget, "the replay's unit given back").to.equal(1);
            expect(admission.suspect("127.0.1.101"), "the replaying address is still new").to.equal(true);
        });

        it("Should refuse junk folds from a client over its budget before any pairing", async function () {
            refillBudgets();
            const attacker = "127.0.0.5";
            const before = foldVerifier.stats;
            const answers: AnswerFrom[] = [];
            for (let i = 0; i < 2 * BURST; i++) {
                // Free to build: the context, a point of Baby Jubjub, any nullifier, random group elements.
                const newBase = commitTicket(BigInt(i), scalar(), 12_345n);
                const body = foldRequestBody({ version: 2, context: stack.deployment.parameters.context, foldNullifier: scalar(), newBase, proof: junkProof() });
                answers.push(await requestFrom(url, { path: GATEWAY_PATHS.fold, from: attacker, body, headers: { "content-type": "application/json" } }));
            }
            expect(answers.slice(0, BURST).map((a) => a.code)).to.deep.equal(new Array<string>(BURST).fill("INVALID_PROOF"));
            expect(answers.slice(BURST).map((a) => a.code)).to.deep.equal(new Array<string>(BURST).fill("RATE_LIMITED"));
            expect(foldVerifier.stats.proofs - before.proofs).to.equal(BURST);
        });
    });
});
