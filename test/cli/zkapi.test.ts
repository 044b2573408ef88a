import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, IERC20__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { Identity, rlnShare } from "@zk-api-credits/protocol";
import { devWallet, startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";

const run = promisify(execFile);
const CLI = path.resolve(__dirname, "../../packages/cli/dist/index.js");

/** The error message of a command that must fail. */
async function failure(promise: Promise<unknown>): Promise<string> {
    try {
        await promise;
    } catch (error) {
        return error instanceof Error ? error.message : String(error);
    }
    throw new Error("the command succeeded but should have failed");
}

// The zkapi command line, as users and providers run it.
describe("zkapi CLI", function () {
    let stack: DeployedStack;
    let gateway: GatewayProcess;
    let chain: JsonRpcProvider;
    const home = mkdtempSync(path.join(os.tmpdir(), "zkapi-cli-"));
    const user = devWallet(5);
    const env = { ...process.env, ZKAPI_PASSPHRASE: "a passphrase for the test", ZKAPI_PRIVATE_KEY: user.privateKey };
    const zkapi = async (...args: string[]): Promise<string> => (await run(process.execPath, [CLI, "--home", home, ...args], { env })).stdout.trim();

    before(async function () {
        stack = await startDeployedStack();
        gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(home, "gateway.db")}` });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    });

    after(async function () {
        await gateway?.kill();
        chain?.destroy();
        await stack?.stop();
    });

    it("Should create an identity, deposit, chat and show the balance", async function () {
        expect(await zkapi("identity", "new")).to.match(/^identity commitment \d+/);
        const commitment = await zkapi("identity", "show");
        expect(await failure(zkapi("identity", "new"))).to.match(/refusing to overwrite/);
        await zkapi("configure", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--gateway", gateway.url);
        expect(await zkapi("faucet", "--amount", "5")).to.match(/minted 5 test tokens/);
        expect(await zkapi("register", "--amount", "5")).to.match(/registered 5\.0 tokens as leaf 0/);
        const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
        expect((await registry.deposits(BigInt(commitment))).amount).to.equal(5n * 10n ** 18n);
        const answer = await zkapi("chat", "hello from the command line");
        expect(answer).to.match(/^You said: hello from the command line\navailable 4\.\d+ after 1 requests$/);
        expect(await zkapi("balance")).to.match(/^deposit 5\.0 \| spent 0\.\d+ \| burned 0\.0 \| reserve 0\.5 \| available 4\.\d+ \| requests 1$/);
        expect(await zkapi("recover")).to.equal("nothing in flight");
        expect(await failure(run(process.execPath, [CLI, "--home", home, "balance"], { env: { ...env, ZKAPI_PASSPHRASE: "wrong passphrase" } }))).to.match(/WRONG_PASSPHRASE/);
    });

    it("Should show the provider's statistics", async function () {
        const stats = JSON.parse(await zkapi("provider", "stats", "--url", gateway.url)) as { complete: number };
        expect(stats.complete).to.equal(1);
    });

    it("Should withdraw: request, refuse to finalize early, finalize after the window", async function () {
        const recipient = devWallet(9).address;
        const token = IERC20__factory.connect(stack.deployment.contracts.token, chain);
        const before = await token.balanceOf(recipient);
        expect(await zkapi("withdraw", "request", "--recipient", recipient)).to.match(/withdrawal requested in 0x[0-9a-f]{64}/);
        expect(await failure(zkapi("withdraw", "finalize"))).to.match(/reverted with ChallengeWindowOpen\(/);
        await chain.send("evm_increaseTime", [Number(stack.deployment.parameters.challengeWindow)]);
        await chain.send("evm_mine", []);
        const refunded = BigInt(/refunded (\d+) token units/.exec(await zkapi("withdraw", "finalize"))![1]!);
        expect((await token.balanceOf(recipient)) - before).to.equal(refunded);
        expect(refunded > 4n * 10n ** 18n).to.equal(true);
        expect(await failure(zkapi("chat", "after withdrawing"))).to.match(/ACCOUNT_CLOSED/);
    });

    it("Should slash by hand from two shares of one ticket", async function () {
        const cheat = new Identity();
        const wallet = new NonceManager(devWallet(6).connect(chain));
        const amount = 10n ** 18n;
        await (await TestToken__factory.connect(stack.deployment.contracts.token, wallet).mint(await wallet.getAddress(), amount)).wait();
        await (await TestToken__factory.connect(stack.deployment.contracts.token, wallet).approve(stack.deployment.contracts.registry, amount)).wait();
        await (await ICreditRegistry__factory.connect(stack.deployment.contracts.registry, wallet).register(cheat.commitment, amount)).wait();
        const scope = stack.deployment.parameters.scope;
        const first = rlnShare(cheat.secret, scope, 0n, 111n);
        const second = rlnShare(cheat.secret, scope, 0n, 222n);
        const hex = (v: bigint): string => `0x${v.toString(16)}`;
        const output = (
            await run(
                process.execPath,
                [CLI, "provider", "slash", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--shares", `${hex(first.x)}:${hex(first.y)},${hex(second.x)}:${hex(second.y)}`],
                { env: { ...process.env, ZKAPI_OPERATOR_KEY: stack.operator.privateKey } }
            )
        ).stdout;
        expect(output).to.include(`slashed identity ${cheat.commitment}`);
        expect((await ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain).deposits(cheat.commitment)).status).to.equal(4n);
    });
});
