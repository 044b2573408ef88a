import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { epochBoundary, RequestKey } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import type { Gateway, NullifierStore } from "@zk-api-credits/provider";
import { startDeployedStack } from "../../scripts/lib/stack";
import type { DeployedStack } from "../../scripts/lib/stack";
import { prover } from "../helpers/provers";
import { chat, RawUser } from "../helpers/tickets";
import { eventually } from "../helpers/users";

const EPOCH_BLOCKS = 8;
const SLASHED = 4n;

// Epoch roots (issue 10, audit item 11): every prover of an epoch uses the same root, so a
// root says nothing about when a ticket was proved; a deposit that was withdrawn, slashed or
// expired leaves the tree at the next epoch (v1 served 15 more requests after a slash).
describe("Epoch roots", function () {
    let stack: DeployedStack;
    let store: NullifierStore;
    let gateway: Gateway;
    let chain: JsonRpcProvider;
    let url: string;

    before(async function () {
        stack = await startDeployedStack({ parameters: { epochBlocks: EPOCH_BLOCKS } });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        store = new SqliteNullifierStore(path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-epochs-")), "gateway.db"));
        gateway = await createGateway({
            deployment: stack.deployment,
            signingKey: stack.providerSigningKey,
            provider: chain,
            operator: new NonceManager(stack.operator.connect(chain)),
            store,
            slashProver: prover("slash"),
            workerPollMs: 200
        });
        await gateway.app.listen({ port: 0, host: "127.0.0.1" });
        const address = gateway.app.server.address();
        url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    });

    after(async function () {
        await gateway?.close();
        await store?.close();
        chain?.destroy();
        await stack?.stop();
    });

    /** Mines up to the next epoch boundary and waits until the gateway follows. */
    async function nextEpoch(): Promise<void> {
        const block = await chain.getBlockNumber();
        const target = epochBoundary(block, EPOCH_BLOCKS) + EPOCH_BLOCKS;
        await chain.send("hardhat_mine", [`0x${(target - block).toString(16)}`]);
        await eventually(async () => {
            const info = (await (await fetch(`${url}/zkapi/v2/registry`)).json()) as { epochs: { boundary: number }[] };
            return info.epochs[0]!.boundary >= target ? true : undefined;
        }, "the gateway to follow the new epoch");
    }

    it("Should let a deposit prove only from the first epoch boundary after its registration", async function () {
        await nextEpoch();
        const user = await RawUser.register(stack, url, 5);
        try {
            if ((await chain.getBlockNumber()) % EPOCH_BLOCKS !== 0) {
                let refused: unknown;
                await user.prove(0n).catch((error: unknown) => (refused = error));
                expect(String(refused)).to.contain("not in the current epoch tree");
            }
            await nextEpoch();
            const answer = await user.send(await user.prove(0n), "/v1/chat/completions", chat("from the next epoch"));
            expect(answer.status).to.equal(200);
        } finally {
            user.close();
        }
    });

    it("Should give every prover of an epoch the same root, and accept the previous epoch's", async function () {
        const [a, b] = [await RawUser.register(stack, url, 6), await RawUser.register(stack, url, 7)];
        try {
            await nextEpoch();
            const [ta, tb] = [await a.prove(0n), await b.prove(0n)];
            expect(ta.root).to.equal(tb.root);
            (await RawUser.register(stack, url, 9)).close(); // the tree changes in this epoch
            await nextEpoch(); // ta's root is now the previous epoch's: still accepted
            expect((await a.send(ta, "/v1/chat/completions", chat("previous epoch"))).status).to.equal(200);
            await nextEpoch(); // two epochs later: refused, and the same index proved again with the same x is accepted
            const stale = await b.send(tb, "/v1/chat/completions", chat("stale"));
            expect(stale.code).to.equal("UNKNOWN_ROOT");
            const again = await b.prove(0n);
            expect(again.x).to.equal(tb.x);
            expect(again.y).to.equal(tb.y);
            expect((await b.send(again, "/v1/chat/completions", chat("stale"))).status).to.equal(200);
        } finally {
            a.close();
            b.close();
        }
    });

    it("Should drop a slashed deposit from the tree: its old tickets stop at the epoch after next", async function () {
        const cheater = await RawUser.register(stack, url, 8);
        try {
            await nextEpoch();
            const pending = await Promise.all([1n, 2n].map((i) => cheater.prove(i)));
            const honest = await cheater.prove(0n);
            expect((await cheater.send(honest, "/v1/chat/completions", chat("one"))).status).to.equal(200);
            const { EdDSAPoseidonSigner } = await import("@zk-api-credits/protocol");
            const second = await cheater.prove(0n, cheater.base, new RequestKey(Buffer.alloc(32, 2)));
            expect((await cheater.send(second, "/v1/chat/completions", chat("two"))).code).to.equal("DOUBLE_SPEND");
            const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            await eventually(async () => ((await registry.deposits(cheater.identity.commitment)).status === SLASHED ? true : undefined), "the slash");
            await nextEpoch();
            await nextEpoch();
            const late = await cheater.send(pending[0]!, "/v1/chat/completions", chat("after the slash"));
            expect(late.code).to.equal("UNKNOWN_ROOT");
            let refused: unknown;
            await cheater.prove(3n).catch((error: unknown) => (refused = error));
            expect(String(refused)).to.contain("not in the current epoch tree");
        } finally {
            cheater.close();
        }
    });
});
