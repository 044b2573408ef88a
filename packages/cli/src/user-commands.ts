import { Command } from "commander";
import { formatUnits, JsonRpcProvider, parseUnits } from "ethers";
import { IERC20Metadata__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { Identity, parseDeployment } from "@zk-api-credits/protocol";
import { startOpenAIProxy } from "@zk-api-credits/sdk";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Profile, secretFromEnv, walletFromEnv } from "./profile";

const passphrase = (variable: string): string => secretFromEnv(variable, "identity passphrase");

async function decimalsOf(token: string, runner: Parameters<typeof IERC20Metadata__factory.connect>[1]): Promise<number> {
    try {
        return Number(await IERC20Metadata__factory.connect(token, runner).decimals());
    } catch {
        return 0;
    }
}

/** zkapi identity|register|balance|chat|request|recover|withdraw|proxy */
export function userCommands(program: Command, lifecycle: { keepAlive: boolean }): void {
    const home = (command: Command): Profile => new Profile(path.resolve((command.optsWithGlobals() as { home: string }).home));
    const passphraseEnv = (command: Command): string => (command.optsWithGlobals() as { passphraseEnv: string }).passphraseEnv;

    const identity = program.command("identity").description("create or show the identity of this profile");
    identity
        .command("new")
        .description("create a fresh identity, encrypted with the passphrase")
        .action(async (_options: object, command: Command) => {
            const profile = home(command);
            const created = new Identity();
            await profile.createIdentity(created, passphrase(passphraseEnv(command)));
            console.log(`identity commitment ${created.commitment}`);
            console.log(`saved encrypted to ${profile.file("identity.json")}`);
        });
    identity
        .command("show")
        .description("print the identity commitment (public)")
        .action((_options: object, command: Command) => console.log(home(command).identityCommitment()));

    program
        .command("register")
        .description("deposit tokens under this identity (approve + register)")
        .requiredOption("--amount <tokens>", "deposit, in whole tokens (decimals allowed)")
        .option("--deployment <file>", "deployment file written by the deploy task")
        .option("--rpc <url>", "JSON-RPC URL of the chain")
        .option("--gateway <url>", "the provider's gateway URL")
        .option("--private-key-env <variable>", "environment variable holding the depositor's Ethereum key", "ZKAPI_PRIVATE_KEY")
        .action(async (options: { amount: string; deployment?: string; rpc?: string; gateway?: string; privateKeyEnv: string }, command: Command) => {
            const profile = home(command);
            if (options.deployment && options.rpc && options.gateway) {
                profile.writeConfig({ deployment: path.resolve(options.deployment), rpc: options.rpc, gateway: options.gateway });
            }
            const { client, deployment, provider } = await profile.client(passphrase(passphraseEnv(command)), walletFromEnv(options.privateKeyEnv));
            const decimals = await decimalsOf(deployment.contracts.token, provider);
            const amount = parseUnits(options.amount, decimals);
            const account = await client.register(amount);
            console.log(`registered ${formatUnits(account.deposit, decimals)} tokens as leaf ${account.leafIndex} of ${deployment.contracts.registry}`);
            provider.destroy();
        });

    program
        .command("faucet")
        .description("local chains only: mint TestToken to the depositor's address")
        .requiredOption("--amount <tokens>", "tokens to mint")
        .option("--private-key-env <variable>", "environment variable holding the Ethereum key that receives them", "ZKAPI_PRIVATE_KEY")
        .action(async (options: { amount: string; privateKeyEnv: string }, command: Command) => {
            const profile = home(command);
            const config = profile.readConfig();
            const deployment = parseDeployment(readFileSync(config.deployment, "utf8"));
            const provider = new JsonRpcProvider(config.rpc, undefined, { staticNetwork: true });
            const wallet = walletFromEnv(options.privateKeyEnv).connect(provider);
            const token = TestToken__factory.connect(deployment.contracts.token, wallet);
            const amount = parseUnits(options.amount, await decimalsOf(deployment.contracts.token, provider));
            await (await token.mint(wallet.address, amount)).wait();
            console.log(`minted ${options.amount} test tokens to ${wallet.address}`);
            provider.destroy();
        });

    program
        .command("configure")
        .description("point this profile at a deployment, a chain and a gateway")
        .requiredOption("--deployment <file>", "deployment file written by the deploy task")
        .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
        .requiredOption("--gateway <url>", "the provider's gateway URL")
        .action((options: { deployment: string; rpc: string; gateway: string }, command: Command) => {
            home(command).writeConfig({ deployment: path.resolve(options.deployment), rpc: options.rpc, gateway: options.gateway });
            console.log(`profile ${home(command).home} uses ${options.deployment} via ${options.rpc} and ${options.gateway}`);
        });

    program
        .command("balance")
        .description("show what the deposit can still pay for")
        .action(async (_options: object, command: Command) => {
            const { client, deployment, provider } = await home(command).client(passphrase(passphraseEnv(command)));
            const decimals = await decimalsOf(deployment.contracts.token, provider);
            const b = client.balance();
            const f = (v: bigint): string => formatUnits(v, decimals);
            console.log(`deposit ${f(b.deposit)} | spent ${f(b.spent)} | burned ${f(b.burned)} | reserve ${f(b.reserve)} | available ${f(b.available)} | requests ${b.requests}`);
            if (client.account?.inFlight) console.log(`ticket ${client.account.inFlight.seq} is in flight: run zkapi recover`);
            provider.destroy();
        });

    program
        .command("chat")
        .description("send one paid chat completion and print the answer")
        .argument("<message>", "the user message")
        .option("--model <name>", "model name the gateway forwards", "local-echo")
        .option("--max-tokens <n>", "completion token limit", "64")
        .action(async (message: string, options: { model: string; maxTokens: string }, command: Command) => {
            const { client, deployment, provider } = await home(command).client(passphrase(passphraseEnv(command)));
            const response = await client.fetch("/v1/chat/completions", {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ model: options.model, messages: [{ role: "user", content: message }], max_tokens: Number(options.maxTokens) })
            });
            const body = (await response.json()) as { choices?: { message: { content: string } }[]; error?: { code: string; message: string } };
            const decimals = await decimalsOf(deployment.contracts.token, provider);
            if (body.choices) console.log(body.choices[0]!.message.content);
            else console.log(`gateway answered ${response.status}: ${body.error?.code} ${body.error?.message}`);
            console.log(`available ${formatUnits(client.balance().available, decimals)} after ${client.balance().requests} requests`);
            provider.destroy();
        });

    program
        .command("recover")
        .description("resolve an in-flight ticket after a crash or a lost response")
        .action(async (_options: object, command: Command) => {
            const { client, provider } = await home(command).client(passphrase(passphraseEnv(command)));
            const response = await client.recover();
            console.log(response === undefined ? "nothing in flight" : `recovered: HTTP ${response.status}, now at request ${client.balance().requests}`);
            provider.destroy();
        });

    const withdraw = program.command("withdraw").description("withdraw the deposit (request, then finalize after the challenge window)");
    withdraw
        .command("request")
        .requiredOption("--recipient <address>", "receives the refund")
        .option("--private-key-env <variable>", "environment variable holding the sender's Ethereum key", "ZKAPI_PRIVATE_KEY")
        .action(async (options: { recipient: string; privateKeyEnv: string }, command: Command) => {
            const { client, provider } = await home(command).client(passphrase(passphraseEnv(command)), walletFromEnv(options.privateKeyEnv));
            const withdrawal = await client.requestWithdrawal(options.recipient);
            console.log(`withdrawal requested in ${withdrawal.transactionHash}; finalizable at ${new Date(Number(withdrawal.finalizableAt) * 1000).toISOString()}`);
            provider.destroy();
        });
    withdraw
        .command("finalize")
        .option("--private-key-env <variable>", "environment variable holding the sender's Ethereum key", "ZKAPI_PRIVATE_KEY")
        .action(async (options: { privateKeyEnv: string }, command: Command) => {
            const { client, provider } = await home(command).client(passphrase(passphraseEnv(command)), walletFromEnv(options.privateKeyEnv));
            console.log(`refunded ${await client.finalizeWithdrawal()} token units`);
            provider.destroy();
        });

    program
        .command("proxy")
        .description("serve a local OpenAI-compatible endpoint that pays each call anonymously")
        .option("--port <port>", "local port", "8080")
        .action(async (options: { port: string }, command: Command) => {
            const { client } = await home(command).client(passphrase(passphraseEnv(command)));
            const proxy = await startOpenAIProxy({ client, port: Number(options.port) });
            lifecycle.keepAlive = true;
            console.log(`OpenAI-compatible proxy on ${proxy.url}/v1 (any API key); Ctrl-C to stop`);
        });

    program
        .command("deployment")
        .description("print a deployment file's registry and parameters")
        .argument("<file>")
        .action((file: string) => {
            const deployment = parseDeployment(readFileSync(file, "utf8"));
            console.log(JSON.stringify({ network: deployment.network, registry: deployment.contracts.registry, token: deployment.contracts.token }, null, 2));
        });
}
