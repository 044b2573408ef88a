import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { parseDeployment } from "@zk-api-credits/protocol";
import {
    BEGIN_MARKER,
    cleanEnvironment,
    END_MARKER,
    exported,
    freshCloneLayout,
    headOf,
    optionOf,
    portInUse,
    readmeCommands,
    runCommand,
    startServer,
    waitUntilReady
} from "./support/readme-path";
import type { CommandResult, ReadmeCommand, Server } from "./support/readme-path";

const ROOT = path.resolve(__dirname, "../..");
/** The file holding the path (README.md; a draft of it while the README is being edited). */
const README = path.resolve(ROOT, process.env.README_PATH_FILE ?? "README.md");

/** A step of the user path the README must show, and what its output must say. */
interface Step {
    readonly name: string;
    readonly command: RegExp;
    readonly check?: (result: CommandResult, dir: string) => void;
}

const TOKENS = "[\\d,]+(\\.\\d+)? ZKAPI-TEST";

const STEPS: readonly Step[] = [
    { name: "the local chain", command: /^npx hardhat node\b/ },
    { name: "the provider's key", command: /^npx zkapi provider keygen\b/, check: (r) => expect(r.stdout).to.match(/provider public key \[\d+, \d+\] written/) },
    {
        name: "the deployment",
        command: /^npx hardhat deploy-registry --network localhost\b/,
        check: (_r, dir) => expect(existsSync(path.join(dir, "deployments/localhost.json")), "deployments/localhost.json written").to.equal(true)
    },
    { name: "the gateway", command: /^npx zkapi provider start\b/ },
    { name: "a new identity", command: /^npx zkapi identity new\b/, check: (r) => expect(r.stdout).to.match(/^identity commitment \d+$/m) },
    { name: "the profile's configuration", command: /^npx zkapi configure\b/, check: (r) => expect(r.stdout).to.match(/uses the registry 0x[0-9a-fA-F]{40} on chain 31337 \(local\)/) },
    { name: "test tokens", command: /^npx zkapi faucet\b/, check: (r) => expect(r.stdout).to.match(new RegExp(`minted ${TOKENS} to 0x[0-9a-fA-F]{40}`)) },
    { name: "the deposit", command: /^npx zkapi register\b/, check: (r) => expect(r.stdout).to.match(new RegExp(`^registered ${TOKENS} under identity`, "m")) },
    {
        name: "a paid, streamed chat call",
        command: /^npx zkapi chat\b/,
        check: (r) => {
            expect(r.stdout).to.match(/^You said: /m);
            expect(r.stderr).to.match(/proving (ticket 1\/1|the ticket of this request) \(index 0\)…/);
            expect(r.stderr).to.match(/proving ticket 1\/1 \(index 1\)…/);
            expect(r.stderr).to.match(new RegExp(`charged ${TOKENS} for ticket 0 · available ${TOKENS} · about [\\d,]+ more requests like this one`));
        }
    },
    {
        name: "the balance",
        command: /^npx zkapi balance\b/,
        check: (r) => {
            expect(r.stdout).to.match(new RegExp(`^deposit\\s+${TOKENS} \\(active`, "m"));
            expect(r.stdout).to.match(new RegExp(`^spent\\s+${TOKENS} over 1 request$`, "m"));
            expect(r.stdout).to.match(new RegExp(`^available\\s+${TOKENS}: what the next requests can really spend$`, "m"));
            expect(r.stdout).to.match(/about [\d,]+ more requests like the last one/);
        }
    },
    { name: "the local proxy", command: /^npx zkapi proxy\b/ },
    {
        name: "a stock OpenAI client through the proxy",
        command: /require\("openai"\)/,
        check: (r) => {
            expect(r.stdout).to.match(/\[ 'echo' \]/);
            expect(r.stdout).to.match(/^You said: Hello through the proxy$/m);
        }
    },
    {
        name: "the withdrawal request",
        command: /^npx zkapi withdraw request\b/,
        check: (r) => {
            expect(r.stdout).to.match(new RegExp(`withdrawal requested in 0x[0-9a-f]{64}: refund of ${TOKENS} to 0x`));
            expect(r.stdout).to.match(/finalizable from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
            expect(r.stdout).to.include("npx zkapi devchain advance-time --until-finalizable");
        }
    },
    { name: "passing the challenge window locally", command: /^npx zkapi devchain advance-time\b/, check: (r) => expect(r.stdout).to.match(/chain time moved from .* \(\+1 h\)/) },
    { name: "the refund", command: /^npx zkapi withdraw finalize\b/, check: (r) => expect(r.stdout).to.match(new RegExp(`refunded ${TOKENS} to 0x[0-9a-fA-F]{40}`)) },
    { name: "the provider's revenue", command: /^npx zkapi provider sweep\b/, check: (r) => expect(r.stdout).to.match(/swept [\d.,]+ ZKAPI-TEST to the treasury/) }
];

/** How to tell that a command which keeps running is up. */
function readiness(command: ReadmeCommand): (() => Promise<boolean>) | undefined {
    const text = command.text;
    if (/^npx hardhat node\b/.test(text)) {
        const url = `http://127.0.0.1:${optionOf(text, "port") ?? 8545}`;
        return async () =>
            (await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) })).ok;
    }
    if (/^npx zkapi provider start\b/.test(text)) {
        const url = `http://127.0.0.1:${optionOf(text, "port") ?? 8787}/health`;
        return async () => (await fetch(url)).ok;
    }
    if (/^npx zkapi proxy\b/.test(text)) {
        const port = Number(optionOf(text, "port") ?? 8080);
        return () => portInUse(port);
    }
    return undefined;
}

const serverPort = (command: ReadmeCommand): number => {
    const text = command.text;
    const given = optionOf(text, "port");
    if (given !== undefined) return Number(given);
    return /^npx hardhat node\b/.test(text) ? 8545 : /zkapi provider start\b/.test(text) ? 8787 : 8080;
};

// The README's user path, run as a new user would run it after `npm ci && npm run build`:
// real processes (hardhat node, the deploy task, the gateway, the proxy), the README's literal
// command lines, one shell environment per terminal.
describe("README: the user path, exactly as written", function () {
    this.timeout(30 * 60_000);
    const markdown = readFileSync(README, "utf8");

    it("Should link `npx zkapi` at `npm ci`: the bin is a committed launcher, named alike in package.json and the lock", function () {
        const cli = JSON.parse(readFileSync(path.join(ROOT, "packages/cli/package.json"), "utf8")) as { bin: Record<string, string> };
        const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { bin?: Record<string, string> }> };
        expect(cli.bin).to.deep.equal({ zkapi: "bin/zkapi.js" });
        // npm ci links the bins the lock names, and only files that exist at install time: not dist/ (built later).
        expect(lock.packages["packages/cli"]?.bin, "package-lock.json's packages/cli bin").to.deep.equal(cli.bin);
        const launcher = path.join(ROOT, "packages/cli", cli.bin.zkapi!);
        expect(readFileSync(launcher, "utf8").startsWith("#!/usr/bin/env node\n")).to.equal(true);
        expect(realpathSync(path.join(ROOT, "node_modules/.bin/zkapi")), "node_modules/.bin/zkapi (run npm ci)").to.equal(realpathSync(launcher));
    });

    it("Should show every step of the user path between its markers", function () {
        expect(markdown, `${path.basename(README)} markers`).to.include(BEGIN_MARKER).and.to.include(END_MARKER);
        const commands = readmeCommands(markdown);
        for (const step of STEPS) expect(commands.some((c) => step.command.test(c.text)), `the README shows ${step.name}`).to.equal(true);
        const order = STEPS.map((step) => commands.findIndex((c) => step.command.test(c.text)));
        expect(order, "the steps in the order a user takes them").to.deep.equal([...order].sort((a, b) => a - b));
    });

    it("Should run every command of the path, in order, exactly as written", async function () {
        const commands = readmeCommands(markdown);
        expect(existsSync(path.join(ROOT, "packages/cli/dist/index.js")), "the CLI is built (npm run build)").to.equal(true);
        // Without the link npx would look `zkapi` up in the registry: never run the path then.
        expect(existsSync(path.join(ROOT, "node_modules/.bin/zkapi")), "node_modules/.bin/zkapi is linked (npm ci)").to.equal(true);
        for (const command of commands.filter((c) => readiness(c) !== undefined)) {
            expect(await portInUse(serverPort(command)), `port ${serverPort(command)} (for ${headOf(command)}) is free`).to.equal(false);
        }
        const dir = freshCloneLayout(ROOT);
        const terminals = new Map<string, NodeJS.ProcessEnv>();
        const servers: Server[] = [];
        const transcript: string[] = [];
        try {
            for (const command of commands) {
                const env = terminals.get(command.terminal) ?? cleanEnvironment();
                terminals.set(command.terminal, env);
                transcript.push(`[${command.terminal}] $ ${command.text}`);
                if (/^export\s/.test(command.text)) {
                    terminals.set(command.terminal, await exported(command.text, dir, env));
                    continue;
                }
                const ready = readiness(command);
                if (ready !== undefined) {
                    const server = startServer(command.text, dir, env);
                    servers.push(server);
                    await waitUntilReady(server, ready);
                    continue;
                }
                const started = Date.now();
                const result = await runCommand(command.text, dir, env);
                transcript.push(result.stdout.trimEnd(), result.stderr.trimEnd(), `(exit ${result.code}, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
                expect(result.code, `README line ${command.line}: ${headOf(command)}\n${result.stdout}\n${result.stderr}`).to.equal(0);
                for (const step of STEPS.filter((s) => s.command.test(command.text))) {
                    try {
                        step.check?.(result, dir);
                    } catch (error) {
                        throw new Error(`README line ${command.line} (${step.name}): ${(error as Error).message}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
                    }
                }
            }

            // What the path left on-chain: the deposit withdrawn and paid out, the revenue swept.
            const deployment = parseDeployment(readFileSync(path.join(dir, "deployments/localhost.json"), "utf8"));
            const chain = new JsonRpcProvider("http://127.0.0.1:8545", undefined, { staticNetwork: true, cacheTimeout: -1 });
            try {
                const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, chain);
                const [identity] = (await runCommand("npx zkapi identity show", dir, terminals.get("user")!)).stdout.trim().split("\n");
                expect((await registry.deposits(BigInt(identity!))).status, "the deposit is withdrawn").to.equal(3n);
                expect(await registry.pendingTreasury(), "the treasury's revenue was swept").to.equal(0n);
            } finally {
                chain.destroy();
            }
            // Everything the path wrote (keys, deployment, profile, databases) is git-ignored.
            const written = readdirSync(dir).filter((entry) => !lstatSync(path.join(dir, entry)).isSymbolicLink() && entry !== "hardhat.config.ts");
            expect(written).to.include.members(["provider-key.json", "deployments", ".zkapi", "gateway.db"]);
            const files = written
                .flatMap((entry) => (lstatSync(path.join(dir, entry)).isDirectory() ? readdirSync(path.join(dir, entry), { recursive: true }).map((f) => path.join(entry, String(f))) : [entry]))
                .filter((file) => lstatSync(path.join(dir, file)).isFile()); // git keeps no empty directory
            for (const file of files) {
                const ignored = spawnSync("git", ["check-ignore", "-q", file], { cwd: ROOT });
                expect(ignored.status, `${file} is git-ignored`).to.equal(0);
            }
            if (process.env.README_PATH_TRANSCRIPT) console.log(transcript.join("\n"));
        } catch (error) {
            console.log(transcript.join("\n"));
            for (const server of servers) console.log(`--- ${server.command}:\n${server.output().slice(-5_000)}`);
            throw error;
        } finally {
            for (const server of servers.reverse()) await server.stop();
        }
    });
});
