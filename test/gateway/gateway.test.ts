import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { chargePoint, decodeCharge, EdDSAPoseidonSigner, poseidonBackend, POSEIDON_LITE, RequestKey, TICKET_WINDOW, usePoseidonBackend, verifyChargeSignature } from "@zk-api-credits/protocol";
import { blockPatterns, createGateway, PostgresNullifierStore, SqliteNullifierStore, WASM_POSEIDON } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore, PaidRoute } from "@zk-api-credits/provider";
import { startPostgres } from "../../scripts/lib/postgres";
import type { LocalPostgres } from "../../scripts/lib/postgres";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chat, RawUser } from "../helpers/tickets";
import { eventually } from "../helpers/users";

const WITHDRAWING = 2n;
const SLASHED = 4n;

async function listen(gateway: Gateway): Promise<string> {
    await gateway.app.listen({ port: 0, host: "127.0.0.1" });
    const address = gateway.app.server.address();
    return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

// Protocol v2 over real HTTP: a hardhat node in its own process, the registry deployed by the
// deploy task, the gateway with a real store, hand-made tickets (so the test controls exactly
// what the gateway sees).
for (const storeKind of ["sqlite", "postgres"] as const) {
    describe(`Gateway, protocol v2 (${storeKind} store)`, function () {
        let stack: DeployedStack;
        let postgres: LocalPostgres | undefined;
        let store: NullifierStore;
        let gateway: Gateway;
        let url: string;
        let chain: JsonRpcProvider;
        let registry: ICreditRegistry;
        let logs: string[];
        let alice: RawUser;

        before(async function () {
            stack = await startDeployedStack();
            const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-gateway-"));
            if (storeKind === "postgres") {
                postgres = await startPostgres();
                store = await PostgresNullifierStore.connect(await postgres.createDatabase("zkapi_gateway"));
            } else {
                store = new SqliteNullifierStore(path.join(dir, "gateway.db"));
            }
            chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
            logs = [];
            gateway = await createGateway({
                deployment: stack.deployment,
                signingKey: stack.providerSigningKey,
                provider: chain,
                operator: new NonceManager(stack.operator.connect(chain)),
                store,
                policy: blockPatterns([/forbidden topic/i]),
                slashProver: prover("slash"),
                workerPollMs: 200,
                metricsToken: "operator-secret",
                logger: { level: "info", stream: { write: (line: string) => void logs.push(line) } }
            });
            url = await listen(gateway);
            registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            alice = await RawUser.register(stack, url, 5);
        });

        after(async function () {
            alice?.close();
            await gateway?.close();
            await store?.close();
            chain?.destroy();
            await stack?.stop();
            await postgres?.stop();
        });

        describe("# paid requests", function () {
            it("Should serve W tickets of one account at once, each with its own charge, signed on a worker exactly as in-thread", async function () {
                const { context, providerKey } = stack.deployment.parameters;
                const inThread = new EdDSAPoseidonSigner(stack.providerSigningKey);
                const tickets = await Promise.all(Array.from({ length: TICKET_WINDOW }, (_, i) => alice.prove(BigInt(i))));
                const answers = await Promise.all(tickets.map((ticket, i) => alice.send(ticket, "/v1/chat/completions", chat(`parallel ${i}`))));
                for (const [i, answer] of answers.entries()) {
                    expect(answer.status, answer.body).to.equal(200);
                    // The default gateway signs on its verification workers: EdDSA-Poseidon is deterministic,
                    // so each signature is the one the key gives in-thread, and it verifies.
                    const charge = answer.charge!;
                    expect(charge.charge).to.deep.equal(chargePoint(tickets[i]!.ticketCommitment, charge.cost, charge.penalty));
                    expect(charge.signature).to.deep.equal(inThread.signCharge(context, charge.charge));
                    expect(verifyChargeSignature(context, charge.charge, charge.signature, providerKey)).to.equal(true);
                    expect(answer.charge!.cost).to.be.greaterThan(0n);
                    expect(answer.charge!.cost).to.be.at.most(stack.deployment.parameters.maxCost);
                    expect(answer.charge!.penalty).to.equal(0n);
                    expect(JSON.parse(answer.body).choices[0].message.content).to.contain(`parallel ${i}`);
                }
                // The provider saw only ticket commitments: none repeats, none is the user's identity.
                const points = new Set(tickets.map((t) => t.ticketCommitment.join(":")));
                expect(points.size).to.equal(TICKET_WINDOW);
            });

            it("Should answer the same request again from the store, with the same charge", async function () {
                expect((await alice.foldAll()).base.folded).to.equal(8n);
                const ticket = await alice.prove(8n);
                const first = await alice.send(ticket, "/v1/chat/completions", chat("once"));
                const again = await alice.send(ticket, "/v1/chat/completions", chat("once"));
                expect(again.status).to.equal(200);
                expect(again.body).to.equal(first.body);
                expect(again.charge).to.deep.equal(first.charge);
            });

            it("Should refuse the same ticket and key for another request (TICKET_ALREADY_USED), revealing nothing", async function () {
                const ticket = await alice.prove(9n);
                expect((await alice.send(ticket, "/v1/chat/completions", chat("first"))).status).to.equal(200);
                const other = await alice.send(ticket, "/v1/chat/completions", chat("second"));
                expect(other.status).to.equal(409);
                expect(other.code).to.equal("TICKET_ALREADY_USED");
                // The deposit is untouched: same x means the same share, no secret.
                expect((await registry.deposits(alice.identity.commitment)).status).to.equal(1n);
            });

            it("Should charge a policy violation its penalty and report it on-chain", async function () {
                const ticket = await alice.prove(10n);
                const answer = await alice.send(ticket, "/v1/chat/completions", chat("a forbidden topic"));
                expect(answer.status).to.equal(403);
                expect(answer.code).to.equal("POLICY_VIOLATION");
                expect(answer.charge!.cost).to.equal(0n);
                expect(answer.charge!.penalty).to.equal(stack.deployment.parameters.policyPenalty);
                await eventually(async () => ((await registry.violationReported(ticket.nullifier)) ? true : undefined), "the violation report");
            });

            it("Should answer 404 for an unknown route without touching the ticket", async function () {
                const ticket = await alice.prove(11n);
                const answer = await alice.send(ticket, "/v1/unknown", chat("x"));
                expect(answer.status).to.equal(404);
                expect(answer.code).to.equal("NOT_FOUND");
                expect((await alice.lookup(ticket.nullifier, 11n)).code).to.equal("TICKET_UNKNOWN");
            });
        });

        describe("# folds", function () {
            it("Should sign the folded base, and the same signature again for the same fold", async function () {
                const base = alice.base;
                expect(base.base.folded).to.equal(8n);
                const totals = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].reduce((sum, i) => sum + alice.charges.get(i)!.cost, 0n);
                expect(base.base.spent).to.equal(totals);
                // Folding base 6 again (same charges, same deterministic blinding) gets the stored signature.
                const base6 = alice.history.find((b) => b.base.folded === 6n)!;
                const again = await alice.fold(base6);
                expect(again.status).to.equal(200);
                expect(again.base!.signature).to.deep.equal(base.signature);
            });

            it("Should refuse to fold a base twice into different new bases (FOLD_ALREADY_USED)", async function () {
                const user = await RawUser.register(stack, url, 6);
                try {
                    for (const i of [0n, 1n]) expect((await user.send(await user.prove(i), "/v1/chat/completions", chat(`f${i}`))).status).to.equal(200);
                    const genesis = user.base;
                    expect((await user.fold()).status).to.equal(200);
                    // Another charge set cannot exist, but a different blinding gives another new base of the same fold.
                    const forged = await user.fold(genesis, 12345n);
                    expect(forged.status).to.equal(409);
                    expect(forged.code).to.equal("FOLD_ALREADY_USED");
                } finally {
                    user.close();
                }
            });
        });

        describe("# voids and look-ups", function () {
            it("Should void a ticket that never arrived at cost 0, and answer a repeated void alike", async function () {
                const ticket = await alice.prove(12n);
                const voided = await alice.void(ticket);
                expect(voided.status).to.equal(200);
                expect(voided.charge!.cost).to.equal(0n);
                const again = await alice.void(ticket);
                expect(again.charge).to.deep.equal(voided.charge);
                // The index is closed: a late request with it is refused, nothing revealed.
                expect((await alice.send(ticket, "/v1/chat/completions", chat("late"))).code).to.equal("TICKET_ALREADY_USED");
            });

            it("Should answer a void with the stored charge if the original request did arrive", async function () {
                const ticket = await alice.prove(13n);
                const served = await alice.send(ticket, "/v1/chat/completions", chat("arrived"));
                const voided = await alice.void(ticket);
                expect(voided.charge).to.deep.equal(served.charge);
                expect(voided.charge!.cost).to.be.greaterThan(0n);
            });

            it("Should open a ticket's charge and response only to its own key", async function () {
                const ticket = await alice.prove(14n);
                const served = await alice.send(ticket, "/v1/chat/completions", chat("private answer"));
                const mine = await alice.lookup(ticket.nullifier, 14n);
                expect(mine.status).to.equal(200);
                expect(mine.body).to.contain("complete");
                expect(Buffer.from((mine.json as { response: { body: string } }).response.body, "base64").toString()).to.equal(served.body);
                const stranger = await alice.lookup(ticket.nullifier, 99n);
                expect(stranger.status).to.equal(403);
                expect(stranger.code).to.equal("LOOKUP_FORBIDDEN");
                expect(stranger.body).not.to.contain("private answer");
            });

            it("Should tell an unused nullifier apart without learning anything (TICKET_UNKNOWN)", async function () {
                const ticket = await alice.prove(15n);
                const answer = await alice.lookup(ticket.nullifier, 15n);
                expect(answer.status).to.equal(404);
                expect(answer.code).to.equal("TICKET_UNKNOWN");
            });
        });

        describe("# what the gateway keeps and says", function () {
            it("Should never log a nullifier, a ticket or a client address", async function () {
                const joined = logs.join("\n");
                expect(logs.length).to.be.greaterThan(0); // the logger is on
                for (const [index, charge] of alice.charges) {
                    expect(joined).not.to.contain(charge.signature.S.toString(16));
                    expect(joined).not.to.contain(alice.ticketCommitment(index)[0].toString(16));
                }
                expect(joined).not.to.match(/remoteAddress|remotePort|"url"|zkapi-ticket|tickets\/lookup|incoming request/);
            });

            it("Should keep metrics and stats for the operator only", async function () {
                expect((await fetch(`${url}/metrics`)).status).to.equal(401);
                expect((await fetch(`${url}/zkapi/v2/stats`)).status).to.equal(401);
                const stats = await fetch(`${url}/zkapi/v2/stats`, { headers: { authorization: "Bearer operator-secret" } });
                expect(stats.status).to.equal(200);
                expect(((await stats.json()) as { folds: number }).folds).to.be.greaterThan(0);
            });
        });

        describe("# double-spending and withdrawals", function () {
            it("Should slash a double-spender on-chain, and keep no secret in the store", async function () {
                const cheater = await RawUser.register(stack, url, 7);
                try {
                    const honest = await cheater.prove(0n);
                    expect((await cheater.send(honest, "/v1/chat/completions", chat("one"))).status).to.equal(200);
                    const second = await cheater.prove(0n, cheater.base, new RequestKey(Buffer.alloc(32, 2)));
                    const answer = await cheater.send(second, "/v1/chat/completions", chat("two"));
                    expect(answer.code).to.equal("DOUBLE_SPEND");
                    const job = await store.getJob(`slash:0x${honest.nullifier.toString(16)}`);
                    expect(job!.payload).not.to.contain(cheater.identity.secret.toString(16));
                    await eventually(
                        async () => ((await registry.deposits(cheater.identity.commitment)).status === SLASHED ? true : undefined),
                        "the slash on-chain"
                    );
                    await eventually(async () => ((await store.doubleSpendShares(`0x${honest.nullifier.toString(16)}`)).length === 0 ? true : undefined), "the share dropped");
                } finally {
                    cheater.close();
                }
            });

            it("Should challenge a withdrawal from a stale base with the recorded Fold proof", async function () {
                const user = await RawUser.register(stack, url, 8);
                try {
                    for (const i of [0n, 1n]) expect((await user.send(await user.prove(i), "/v1/chat/completions", chat(`s${i}`))).status).to.equal(200);
                    const genesis = user.base;
                    expect((await user.fold()).status).to.equal(200);
                    // Withdraw from genesis without the charges: F_0 was recorded, so the base is stale.
                    await user.withdraw(8, Wallet.createRandom().address, { base: genesis, charges: [] });
                    await eventually(async () => ((await registry.deposits(user.identity.commitment)).status === SLASHED ? true : undefined), "the stale-base challenge");
                } finally {
                    user.close();
                }
            });

            it("Should close disclosed tickets and challenge a hidden used one", async function () {
                const user = await RawUser.register(stack, url, 9);
                try {
                    const used = await user.prove(0n);
                    expect((await user.send(used, "/v1/chat/completions", chat("hidden"))).status).to.equal(200);
                    // The user forgets the charge of ticket 0 and does not declare it: slot 0 is disclosed.
                    user.charges.clear();
                    await user.withdraw(9, Wallet.createRandom().address, { charges: [] });
                    await eventually(async () => ((await registry.deposits(user.identity.commitment)).status === SLASHED ? true : undefined), "the undeclared-ticket challenge");
                } finally {
                    user.close();
                }
            });
        });
    });
}

// A gateway without an operator key still watches withdrawals: it closes every disclosed
// nullifier and fold nullifier (v1 served 4 more requests after a refund).
describe("Gateway without an operator key", function () {
    let stack: DeployedStack;
    let gateway: Gateway;
    let store: NullifierStore;
    let chain: JsonRpcProvider;
    let url: string;
    /** A paid route whose stream stays open (after its first event) until the test lets it end. */
    let streamStarted: Promise<void>;
    let endStream: () => void;
    /** A paid route that streams two events at once. */
    const shortStream: PaidRoute = {
        serve: async () => ({
            status: 200,
            headers: { "content-type": "text/event-stream" },
            stream: (async function* () {
                yield Buffer.from("data: one\n\n");
                yield Buffer.from("data: two\n\n");
            })(),
            cost: () => 5n
        })
    };

    before(async function () {
        stack = await startDeployedStack();
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-nokey-")), "gateway.db"));
        usePoseidonBackend(POSEIDON_LITE);
        gateway = await createGateway({ deployment: stack.deployment, signingKey: stack.providerSigningKey, provider: chain, store, workerPollMs: 200 });
        let started!: () => void;
        streamStarted = new Promise<void>((resolve) => (started = resolve));
        const ended = new Promise<void>((resolve) => (endStream = resolve));
        gateway.paid("POST", "/test/held-stream", {
            serve: async () => ({
                status: 200,
                headers: { "content-type": "text/event-stream" },
                stream: (async function* () {
                    yield Buffer.from("data: first\n\n");
                    started();
                    await ended;
                    yield Buffer.from("data: last\n\n");
                })(),
                cost: () => 7n
            })
        });
        gateway.paid("POST", "/test/short-stream", shortStream);
        url = await listen(gateway);
    });

    after(async function () {
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await stack?.stop();
    });

    it("Should hash with circomlibjs' WebAssembly Poseidon once started (checked against poseidon-lite first)", function () {
        expect(poseidonBackend().name).to.equal(WASM_POSEIDON);
    });

    it("Should sign a lone request's charge on the event loop, and on the signing worker while another request or stream is in flight", async function () {
        const user = await RawUser.register(stack, url, 6);
        try {
            const tickets = await Promise.all([0n, 1n, 2n].map((i) => user.prove(i)));
            const before = gateway.handler.signingStats;
            // Alone: signed here (no worker round trip).
            const alone = await user.send(tickets[0]!, "/v1/chat/completions", chat("alone"));
            expect(alone.status, alone.body).to.equal(200);
            expect(gateway.handler.signingStats).to.deep.include({ lone: before.lone + 1, signer: before.signer });
            // A stream stays open: the next request is not alone, its charge goes to the worker.
            const streamed = user.send(tickets[1]!, "/test/held-stream", chat("held"));
            await streamStarted;
            const meanwhile = await user.send(tickets[2]!, "/v1/chat/completions", chat("meanwhile"));
            expect(meanwhile.status, meanwhile.body).to.equal(200);
            expect(gateway.handler.signingStats).to.deep.include({ lone: before.lone + 1, signer: before.signer + 1 });
            // The stream ends alone: its charge is signed here. Every charge checked out (RawUser.accept).
            endStream();
            const ended = await streamed;
            expect(ended.status).to.equal(200);
            expect(ended.charge?.cost).to.equal(7n);
            expect(ended.body).to.contain("data: last");
            expect(gateway.handler.signingStats).to.deep.include({ lone: before.lone + 2, signer: before.signer + 1 });
            expect([alone, meanwhile].every((answer) => answer.charge !== undefined)).to.equal(true);
        } finally {
            endStream();
            user.close();
        }
    });

    it("Should store the charge of a stream whose body is destroyed unread (the client left), and count it in flight no more", async function () {
        const user = await RawUser.register(stack, url, 7);
        try {
            const [gone, next] = await Promise.all([0n, 1n].map((i) => user.prove(i)));
            const path = "/test/short-stream";
            const body = Buffer.from(JSON.stringify(chat("gone")));
            const reply = await gateway.handler.handle(
                { method: "POST", path, body, headers: { "content-type": "application/json" }, ticketHeader: user.ticketHeader(gone!, "POST", path, body) },
                shortStream
            );
            expect(reply.status).to.equal(200);
            const before = gateway.handler.signingStats;
            // What the gateway's reply does with a body whose client is gone: destroy it before any read.
            const readable = Readable.from(reply.body as AsyncIterable<Buffer>);
            await new Promise<void>((resolve) => readable.once("close", () => resolve()).destroy());
            const nullifier = `0x${gone!.nullifier.toString(16)}`;
            const record = await eventually(async () => ((await store.get(nullifier))?.status === "complete" ? await store.get(nullifier) : undefined), "the charge stored");
            expect(decodeCharge(record!.charge!).cost).to.equal(5n);
            expect(gateway.handler.signingStats).to.deep.include({ lone: before.lone + 1, signer: before.signer });
            // Nothing is left in flight: the next request alone (a void: never started ahead, whose
            // charge would be signed on the worker while its checks run) is signed on the event loop.
            const answer = await user.void(next!);
            expect(answer.status, answer.body).to.equal(200);
            expect(gateway.handler.signingStats).to.deep.include({ lone: before.lone + 2, signer: before.signer });
        } finally {
            user.close();
        }
    });

    it("Should refuse tickets and folds a withdrawal disclosed", async function () {
        const user = await RawUser.register(stack, url, 5);
        try {
            const tickets = await Promise.all([0n, 1n, 2n].map((i) => user.prove(i)));
            for (const [i, ticket] of tickets.slice(0, 2).entries()) expect((await user.send(ticket, "/v1/chat/completions", chat(`w${i}`))).status).to.equal(200);
            // Withdraw from genesis declaring tickets 0 and 1 (charged maxCost each): e = 0, F_0 and slots 2…7 disclosed.
            await user.withdraw(5, Wallet.createRandom().address, { charges: [], declared: [true, true, false, false, false, false, false, false] });
            const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            expect((await registry.deposits(user.identity.commitment)).status).to.equal(WITHDRAWING);
            await eventually(async () => ((await store.get(`0x${tickets[2]!.nullifier.toString(16)}`))?.status === "withdrawn" ? true : undefined), "the watcher");
            const late = await user.send(tickets[2]!, "/v1/chat/completions", chat("after the withdrawal"));
            expect(late.status).to.equal(403);
            expect(late.code).to.equal("TICKET_WITHDRAWN");
            const fold = await user.fold();
            expect(fold.code).to.equal("FOLD_CLOSED");
        } finally {
            user.close();
        }
    });
});
