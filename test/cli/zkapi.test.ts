import { mkdtempSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, IERC20__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { Identity, rlnShare } from "@zk-api-credits/protocol";
import { decodeAccountRecord, IDENTITY_SAFETY_NOTES, withdrawalRequestOf } from "@zk-api-credits/sdk";
import { ADVANCE_TIME_COMMAND, describeFailure, formatTime } from "../../packages/cli/src/failures";
import { devWallet, startDeployedStack, startGatewayProcess } from "../../scripts/lib/stack";
import type { DeployedStack, GatewayProcess } from "../../scripts/lib/stack";
import { CliUser, runZkapi } from "./support/cli";

const PASSPHRASE = "a passphrase for the test";
const TOKENS = "[\\d,]+(\\.\\d+)? ZKAPI-TEST";

/** The command names and descriptions of a `--help` page's "Commands:" section. */
function commandsOf(help: string): { name: string; description: string }[] {
    const section = help.split(/^Commands:$/m)[1] ?? "";
    const entries: { name: string; description: string }[] = [];
    for (const line of section.split("\n")) {
        const entry = /^ {2}(\S+)(?: \[options\]| <[^>]+>| \[[^\]]+\])*\s{2,}(.*)$/.exec(line);
        if (entry !== null) entries.push({ name: entry[1]!, description: entry[2]!.trim() });
        else if (/^ {2}\S/.test(line)) entries.push({ name: line.trim().split(/\s/)[0]!, description: "" });
    }
    return entries;
}

// The zkapi command line as users run it: real processes, a hardhat node with the registry
// deployed by the deploy task, the gateway as `zkapi provider start`.
describe("zkapi: the user's command line", function () {
    this.timeout(20 * 60_000);
    let stack: DeployedStack;
    let gateway: GatewayProcess;
    let chain: JsonRpcProvider;
    const dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-cli-"));
    const wallet = devWallet(5);
    const env = { ...process.env, ZKAPI_PASSPHRASE: PASSPHRASE, ZKAPI_PRIVATE_KEY: wallet.privateKey };
    const alice = new CliUser(path.join(dir, "alice"), env);

    before(async function () {
        stack = await startDeployedStack();
        gateway = await startGatewayProcess(stack, { store: `sqlite:${path.join(dir, "gateway.db")}` });
        chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    });

    after(async function () {
        await gateway?.kill();
        chain?.destroy();
        await stack?.stop();
    });

    describe("# help", function () {
        it("Should print its version and describe every command", async function () {
            expect((await runZkapi(["--version"], env)).stdout.trim()).to.equal("zkapi 0.1.0 (protocol v2)");
            const pages: [string, string[]][] = [
                ["zkapi", []],
                ["identity", ["identity"]],
                ["withdraw", ["withdraw"]],
                ["devchain", ["devchain"]],
                ["provider", ["provider"]]
            ];
            const names: string[] = [];
            for (const [page, args] of pages) {
                const help = (await runZkapi([...args, "--help"], env)).stdout;
                const commands = commandsOf(help).filter((c) => c.name !== "help");
                expect(commands.length, `${page} lists commands`).to.be.greaterThan(0);
                for (const command of commands) {
                    expect(command.description, `${page} ${command.name} has a description`).to.not.equal("");
                    names.push(`${page === "zkapi" ? "" : `${page} `}${command.name}`);
                }
            }
            for (const expected of [
                "identity",
                "identity new",
                "identity show",
                "identity export",
                "identity import",
                "configure",
                "faucet",
                "register",
                "balance",
                "prepare",
                "chat",
                "recover",
                "proxy",
                "withdraw request",
                "withdraw finalize",
                "withdraw claim-refund",
                "devchain advance-time",
                "provider sweep"
            ]) {
                expect(names, expected).to.include(expected);
            }
        });
    });

    describe("# identity", function () {
        it("Should create, show, export and import an identity, saying what is safe", async function () {
            expect(await alice.ok("identity", "new")).to.match(/^identity commitment \d+\nsaved encrypted to .*identity\.json\n$/);
            expect(statSync(path.join(alice.home, "identity.json")).mode & 0o777).to.equal(0o600);
            const commitment = (await alice.ok("identity", "show")).trim();
            expect(await alice.fails("identity", "new")).to.match(/refusing to overwrite an identity/);

            const exported = path.join(dir, "alice-identity.json");
            const output = await alice.withEnv({ BACKUP_PASSPHRASE: "another passphrase" }).ok("identity", "export", "--out", exported, "--to-passphrase-env", "BACKUP_PASSPHRASE");
            expect(output).to.include(`identity ${commitment} exported, encrypted`);
            expect(output).to.include(IDENTITY_SAFETY_NOTES);
            expect(statSync(exported).mode & 0o777).to.equal(0o600);
            expect(JSON.parse(readFileSync(exported, "utf8"))).to.have.keys("version", "kdf", "cipher", "ciphertext", "identityCommitment");
            expect(await alice.fails("identity", "export", "--out", exported)).to.match(/exists: refusing to overwrite/);

            const laptop = new CliUser(path.join(dir, "laptop"), { ...env, ZKAPI_PASSPHRASE: "the laptop's passphrase", BACKUP_PASSPHRASE: "another passphrase" });
            expect(await laptop.fails("identity", "import", exported)).to.match(/WRONG_PASSPHRASE/);
            const imported = await laptop.ok("identity", "import", exported, "--from-passphrase-env", "BACKUP_PASSPHRASE");
            expect(imported).to.include(`identity ${commitment} imported`).and.to.include("Withdraw from one copy only.");
            expect((await laptop.ok("identity", "show")).trim()).to.equal(commitment);
            expect(await alice.withEnv({ ZKAPI_PASSPHRASE: "wrong passphrase" }).fails("identity", "export", "--out", path.join(dir, "x.json"))).to.match(/WRONG_PASSPHRASE/);
        });
    });

    describe("# configure, faucet, register", function () {
        it("Should configure the profile, refuse a deposit the wallet cannot pay (in tokens), mint test tokens and register", async function () {
            const configured = await alice.ok("configure", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--gateway", gateway.url);
            expect(configured).to.match(/uses the registry 0x[0-9a-fA-F]{40} on chain 31337 \(local\)/);
            expect(await alice.fails("register", "--amount", "5")).to.match(
                new RegExp(`${wallet.address} holds 0 ZKAPI-TEST, less than the deposit of 5 ZKAPI-TEST: mint test tokens first with zkapi faucet --amount 5`)
            );
            expect(await alice.fails("register", "--amount", "five")).to.match(/--amount must be a number of tokens like 10 or 0\.5/);
            expect(await alice.ok("faucet", "--amount", "5")).to.match(new RegExp(`minted 5 ZKAPI-TEST to ${wallet.address}: it holds 5 ZKAPI-TEST`));
            const registered = await alice.ok("register", "--amount", "5");
            expect(registered).to.match(/^registered 5 ZKAPI-TEST under identity \d+…\d+ as leaf 0 of the registry/);
            expect(registered).to.match(/available 4\.5 ZKAPI-TEST; a reserve of 0\.5 ZKAPI-TEST is never spent/);
            const commitment = BigInt((await alice.ok("identity", "show")).trim());
            expect((await ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain).deposits(commitment)).amount).to.equal(5n * 10n ** 18n);
        });
    });

    describe("# chat and balance", function () {
        it("Should stream a paid chat answer, show the proving progress and the charge in tokens", async function () {
            const result = await alice.run("chat", "hello from the command line");
            expect(result.code, result.stderr).to.equal(0);
            expect(result.stdout).to.equal("You said: hello from the command line\n");
            expect(result.stderr).to.match(/proving (ticket 1\/1|the ticket of this request) \(index 0\)…/);
            expect(result.stderr).to.match(/proved .* in \d+\.\d s/);
            expect(result.stderr).to.match(new RegExp(`charged ${TOKENS} for ticket 0 · available ${TOKENS} · about [\\d,]+ more requests like this one`));
            // It left the next ticket proved: the next call waits for no proving.
            expect(result.stderr).to.match(/proving ticket 1\/1 \(index 1\)…/);
        });

        it("Should answer with --no-stream using the ticket proved ahead", async function () {
            const result = await alice.run("chat", "--no-stream", "--prepare", "0", "second call");
            expect(result.code, result.stderr).to.equal(0);
            expect(result.stdout).to.equal("You said: second call\n");
            expect(result.stderr).to.not.match(/proving .*\(index 1\)/);
            expect(result.stderr).to.match(/charged .* for ticket 1/);
        });

        it("Should show the balance: deposit, spent, reserve, open tickets, available and the requests it still pays", async function () {
            const balance = await alice.ok("balance");
            expect(balance).to.match(/^deposit\s+5 ZKAPI-TEST \(active, leaf 0 of registry 0x/m);
            expect(balance).to.match(new RegExp(`^spent\\s+${TOKENS} over 2 requests$`, "m"));
            expect(balance).to.match(/^reserve\s+0\.5 ZKAPI-TEST \(10 % of the deposit/m);
            expect(balance).to.match(/^in flight\s+0 ZKAPI-TEST reserved by 0 open tickets/m);
            expect(balance).to.match(new RegExp(`^available\\s+${TOKENS}: what the next requests can really spend$`, "m"));
            expect(balance).to.match(/about [\d,]+ more requests (like the last one|at this account's average)/);
            const json = JSON.parse(await alice.ok("balance", "--json")) as Record<string, unknown>;
            expect(json.requests).to.equal("2");
            expect(json.decimals).to.equal(18);
            expect(BigInt(json.deposit as string)).to.equal(5n * 10n ** 18n);
            const available = BigInt(json.available as string);
            expect(available > 0n && available <= 4n * 10n ** 18n + 5n * 10n ** 17n).to.equal(true);
            // Nothing is left open.
            expect(await alice.ok("recover")).to.match(/^nothing is left open: 2 requests settled/);
        });
    });

    describe("# withdraw", function () {
        it("Should request the withdrawal, refuse to finalize in the challenge window saying when it opens, pass it locally and finalize", async function () {
            const recipient = devWallet(9).address;
            const token = IERC20__factory.connect(stack.deployment.contracts.token, chain);
            const before = await token.balanceOf(recipient);
            const requested = await alice.ok("withdraw", "request", "--recipient", recipient);
            expect(requested).to.match(new RegExp(`withdrawal requested in 0x[0-9a-f]{64}: refund of ${TOKENS} to ${recipient}`));
            expect(requested).to.match(/finalizable from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
            expect(requested).to.include("challenge window (1 h)").and.to.include("npx zkapi devchain advance-time --until-finalizable");

            const early = await alice.fails("withdraw", "finalize");
            expect(early).to.match(/the challenge window of this withdrawal is still open: it can be finalized from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
            expect(early).to.match(/in (59 min \d+ s|1 h) of chain time/);
            expect(early).to.include("On a local chain, pass the window now: npx zkapi devchain advance-time --until-finalizable");
            expect(await alice.fails("chat", "after requesting the withdrawal")).to.match(/ACCOUNT_CLOSED/);
            // The registry's own refusal says the same, from a real revert.
            const record = decodeAccountRecord(readFileSync(path.join(alice.home, "accounts", `31337-${stack.deployment.contracts.registry.toLowerCase()}.json`), "utf8"));
            const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            const open = await registry.finalizeWithdrawal.staticCall(record.identityCommitment, withdrawalRequestOf(record.withdrawal!.recipient, record.withdrawal!.claim!)).then(
                () => undefined,
                (error: unknown) => error
            );
            const said = await describeFailure(open, { chainId: 31337n, chainTime: async () => BigInt((await chain.getBlock("latest"))!.timestamp) });
            expect(said).to.include(`it can be finalized from ${formatTime(record.withdrawal!.finalizableAt!)}`).and.to.include(ADVANCE_TIME_COMMAND).and.to.include("[ChallengeWindowOpen]");

            expect(await alice.ok("devchain", "advance-time", "--until-finalizable")).to.match(/chain time moved from .* \(\+(59 min \d+ s|1 h)\), block \d+/);
            const finalized = await alice.ok("withdraw", "finalize");
            const refunded = /refunded ([\d.]+) ZKAPI-TEST to/.exec(finalized);
            expect(refunded, finalized).to.not.equal(null);
            const received = (await token.balanceOf(recipient)) - before;
            expect(Number(received) / 1e18).to.be.closeTo(Number(refunded![1]), 1e-9);
            expect(received > 4n * 10n ** 18n).to.equal(true);
            expect(await alice.ok("balance")).to.match(/^withdrawal\s+finalized to 0x/m);
            expect(await alice.ok("withdraw", "claim-refund", "--private-key-env", "ZKAPI_PRIVATE_KEY")).to.match(/the withdrawal is complete|nothing is owed/);
        });
    });

    describe("# contract errors in words", function () {
        it("Should say a deposit's status by name and amounts in tokens, from real reverts", async function () {
            const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            const commitment = BigInt((await alice.ok("identity", "show")).trim());
            const request = { recipient: devWallet(9).address, spent: 0n, burned: 0n, declaredSlots: 0n, foldNullifier: 1n, slotNullifiersHash: 1n, slotNullifiers: new Array<bigint>(8).fill(0n) };
            const withdrawn = await registry.finalizeWithdrawal.staticCall(commitment, request).then(
                () => undefined,
                (error: unknown) => error
            );
            const context = { chainId: 31337n, token: { decimals: 18, symbol: "ZKAPI-TEST" } };
            expect(await describeFailure(withdrawn, context)).to.match(/the deposit of identity \d+…\d+ is withdrawn, which this call does not accept: the deposit was withdrawn and paid out \[UnexpectedDepositStatus\]/);
            const token = TestToken__factory.connect(stack.deployment.contracts.token, chain);
            const poor = await token.transfer.staticCall(devWallet(9).address, 10n ** 30n, { from: devWallet(8).address }).then(
                () => undefined,
                (error: unknown) => error
            );
            expect(await describeFailure(poor, context)).to.match(/0x[0-9a-fA-F]{40} holds 0 ZKAPI-TEST but needs 1,000,000,000,000 ZKAPI-TEST: on a local chain, mint test tokens with zkapi faucet/);
        });
    });

    describe("# provider slash", function () {
        it("Should slash by hand from two shares of one ticket", async function () {
            const cheat = new Identity();
            const signer = new NonceManager(devWallet(6).connect(chain));
            const amount = 10n ** 18n;
            await (await TestToken__factory.connect(stack.deployment.contracts.token, signer).mint(await signer.getAddress(), amount)).wait();
            await (await TestToken__factory.connect(stack.deployment.contracts.token, signer).approve(stack.deployment.contracts.registry, amount)).wait();
            await (await ICreditRegistry__factory.connect(stack.deployment.contracts.registry, signer).register(cheat.commitment, amount)).wait();
            const scope = stack.deployment.parameters.scope;
            const first = rlnShare(cheat.secret, scope, 0n, 111n);
            const second = rlnShare(cheat.secret, scope, 0n, 222n);
            const hex = (v: bigint): string => `0x${v.toString(16)}`;
            const slashed = await runZkapi(
                ["provider", "slash", "--deployment", stack.deploymentFile, "--rpc", stack.node.url, "--shares", `${hex(first.x)}:${hex(first.y)},${hex(second.x)}:${hex(second.y)}`],
                { ...process.env, ZKAPI_OPERATOR_KEY: stack.operator.privateKey }
            );
            expect(slashed.stdout, slashed.stderr).to.include(`slashed identity ${cheat.commitment}`);
            const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, chain);
            expect((await registry.deposits(cheat.commitment)).status).to.equal(4n);
        });
    });
});
