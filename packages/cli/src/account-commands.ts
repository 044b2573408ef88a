import path from "node:path";
import type { Command } from "commander";
import { getAddress, parseEther } from "ethers";
import { IERC20__factory, TestToken__factory } from "@zk-api-credits/contracts";
import { GATEWAY_PATHS, TICKET_WINDOW } from "@zk-api-credits/protocol";
import type { Balance } from "@zk-api-credits/sdk";
import { balanceReport } from "./balance-view";
import { noticeOf, passphraseOf, profileOf } from "./command-context";
import { CliError, isLocalChain, shortIdentity } from "./failures";
import { openChain, readDeployment, walletFromEnv } from "./profile";
import type { Profile, Session } from "./profile";
import { reportProgress } from "./progress";
import { formatTokens, parseTokens, tokenNumber } from "./token-amounts";

const PRIVATE_KEY_ENV = "ZKAPI_PRIVATE_KEY";

/** Checks what a profile is about to point at (the chain's id, the gateway's registry) and writes it. */
async function configure(profile: Profile, options: { deployment: string; rpc: string; gateway: string; allowInsecureSetup?: boolean }, notice: (line: string) => void): Promise<string> {
    const file = path.resolve(options.deployment);
    const deployment = readDeployment(file);
    const gateway = options.gateway.replace(/\/+$/, "");
    const chain = openChain(options.rpc);
    try {
        const chainId = BigInt((await chain.send("eth_chainId", [])) as string);
        if (chainId !== deployment.chainId) throw new CliError(`the node at ${options.rpc} serves chain ${chainId}, but ${options.deployment} is a deployment on chain ${deployment.chainId}`);
    } catch (error) {
        if (error instanceof CliError) throw error;
        notice(`warning: the chain at ${options.rpc} does not answer yet (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
    } finally {
        chain.destroy();
    }
    try {
        const response = await fetch(new URL(GATEWAY_PATHS.registry, `${gateway}/`));
        const info = (await response.json()) as { context?: string };
        if (info.context !== undefined && BigInt(info.context) !== deployment.parameters.context) {
            throw new CliError(`the gateway at ${gateway} serves another registry (its context differs from ${options.deployment}'s)`);
        }
    } catch (error) {
        if (error instanceof CliError) throw error;
        notice(`warning: the gateway at ${gateway} does not answer yet: requests need it (zkapi provider start)`);
    }
    profile.writeConfig({ deployment: file, rpc: options.rpc, gateway, ...(options.allowInsecureSetup ? { allowInsecureSetup: true } : {}) });
    const kind = isLocalChain(deployment.chainId) ? " (local)" : "";
    return `profile ${profile.home} uses the registry ${deployment.contracts.registry} on chain ${deployment.chainId}${kind} via ${options.rpc}, and the gateway ${gateway}`;
}

/** Mints TestToken and, if needed, gas money on a local chain. */
async function faucet(session: Session, amountText: string, to: string | undefined, privateKeyEnv: string): Promise<string> {
    if (!session.local) {
        throw new CliError(`zkapi faucet works on local chains only (this deployment is on chain ${session.deployment.chainId}): get tokens from the token's issuer`);
    }
    const wallet = walletFromEnv(privateKeyEnv).connect(session.chain);
    const receiver = to === undefined ? wallet.address : getAddress(to);
    const amount = parseTokens(amountText, session.token, "--amount");
    const lines: string[] = [];
    for (const address of new Set([wallet.address, receiver])) {
        if ((await session.chain.getBalance(address)) < parseEther("1")) {
            const balance = `0x${parseEther("100").toString(16)}`;
            await session.chain.send("hardhat_setBalance", [address, balance]).catch(() => session.chain.send("anvil_setBalance", [address, balance]));
            lines.push(`gave ${address} 100 ETH for gas`);
        }
    }
    const token = TestToken__factory.connect(session.deployment.contracts.token, wallet);
    try {
        await (await token.mint(receiver, amount)).wait();
    } catch (error) {
        throw new CliError(`the token ${session.deployment.contracts.token} did not mint (it is not the local TestToken?): ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    }
    const holds = await token.balanceOf(receiver);
    lines.push(`minted ${formatTokens(amount, session.token)} to ${receiver}: it holds ${formatTokens(holds, session.token)}`);
    return lines.join("\n");
}

/** The balance as JSON (amounts in base units as decimal strings, and in tokens). */
function balanceJson(balance: Balance, session: Session): string {
    const amounts: Record<string, string> = {};
    for (const [name, value] of Object.entries(balance)) {
        if (typeof value === "bigint") amounts[name] = value.toString();
    }
    const tokens = Object.fromEntries(
        (["deposit", "reserve", "spent", "burned", "reservedByOpenTickets", "unspent", "available"] as const).map((name) => [name, tokenNumber(balance[name], session.token)])
    );
    return JSON.stringify({ ...amounts, openTickets: balance.openTickets, canPay: balance.canPay, decimals: session.token.decimals, symbol: session.token.symbol, tokens }, null, 2);
}

/** zkapi configure|faucet|register|balance|prepare|recover */
export function accountCommands(program: Command): void {
    program
        .command("configure")
        .description("point this profile at a registry deployment, a chain (JSON-RPC) and the provider's gateway")
        .requiredOption("--deployment <file>", "deployment file written by the deploy task (deployments/<network>.json)")
        .requiredOption("--rpc <url>", "JSON-RPC URL of the chain, e.g. http://127.0.0.1:8545")
        .requiredOption("--gateway <url>", "the provider's gateway, e.g. http://127.0.0.1:8787")
        .option("--allow-insecure-setup", "accept a registry deployed with the INSECURE development keys on a public test network (never on a mainnet)")
        .action(async (options: { deployment: string; rpc: string; gateway: string; allowInsecureSetup?: boolean }, command: Command) => {
            console.log(await configure(profileOf(command), options, noticeOf(command)));
        });

    program
        .command("faucet")
        .description("local chains only: mint test tokens (and gas money) to the depositor's address ($ZKAPI_PRIVATE_KEY)")
        .requiredOption("--amount <tokens>", "tokens to mint, e.g. 10")
        .option("--to <address>", "mint to this address instead")
        .option("--private-key-env <variable>", "environment variable holding the Ethereum key that receives them", PRIVATE_KEY_ENV)
        .action(async (options: { amount: string; to?: string; privateKeyEnv: string }, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                console.log(await faucet(session, options.amount, options.to, options.privateKeyEnv));
            } finally {
                await session.close();
            }
        });

    program
        .command("register")
        .description("deposit tokens under this identity (approve + register, sent from $ZKAPI_PRIVATE_KEY's address)")
        .requiredOption("--amount <tokens>", "the deposit in tokens, e.g. 10")
        .option("--deployment <file>", "configure the profile first (as zkapi configure)")
        .option("--rpc <url>", "with --deployment: JSON-RPC URL of the chain")
        .option("--gateway <url>", "with --deployment: the provider's gateway URL")
        .option("--private-key-env <variable>", "environment variable holding the depositor's Ethereum key", PRIVATE_KEY_ENV)
        .action(async (options: { amount: string; deployment?: string; rpc?: string; gateway?: string; privateKeyEnv: string }, command: Command) => {
            const profile = profileOf(command);
            const notice = noticeOf(command);
            if (options.deployment !== undefined || options.rpc !== undefined || options.gateway !== undefined) {
                if (options.deployment === undefined || options.rpc === undefined || options.gateway === undefined) {
                    throw new CliError("give --deployment, --rpc and --gateway together (or run zkapi configure first)");
                }
                notice(await configure(profile, { deployment: options.deployment, rpc: options.rpc, gateway: options.gateway }, notice));
            }
            const passphrase = passphraseOf(command);
            const wallet = walletFromEnv(options.privateKeyEnv);
            const session = await profile.openSession();
            try {
                const { deployment, token } = session;
                const amount = parseTokens(options.amount, token, "--amount");
                const idc = BigInt(profile.identityCommitment());
                if ((await session.registry.deposits(idc)).status === 0n) {
                    const holds = await IERC20__factory.connect(deployment.contracts.token, session.chain).balanceOf(wallet.address);
                    if (holds < amount) {
                        const hint = session.local ? `: mint test tokens first with zkapi faucet --amount ${tokenNumber(amount - holds, token)}` : "";
                        throw new CliError(`${wallet.address} holds ${formatTokens(holds, token)}, less than the deposit of ${formatTokens(amount, token)}${hint}`);
                    }
                    if (deployment.parameters.minimumDeposit > amount) {
                        throw new CliError(`the registry takes deposits of at least ${formatTokens(deployment.parameters.minimumDeposit, token)}`);
                    }
                }
                const client = await session.openClient({ passphrase, signer: wallet });
                reportProgress(client, notice);
                const account = await client.register(amount);
                const { maxCost, policyPenalty } = deployment.parameters;
                const adopted = account.deposit !== amount ? ` (this identity was already registered: its deposit of ${formatTokens(account.deposit, token)} is adopted)` : "";
                console.log(
                    `registered ${formatTokens(account.deposit, token)} under identity ${shortIdentity(idc)} as leaf ${account.leafIndex} of the registry ${deployment.contracts.registry} (block ${account.registrationBlock})${adopted}`
                );
                const balance = await client.balance();
                console.log(
                    `available ${formatTokens(balance.available, token)}; a reserve of ${formatTokens(balance.reserve, token)} is never spent (refunded by a withdrawal); each request reserves at most ${formatTokens(maxCost + policyPenalty, token)} until it is charged`
                );
            } finally {
                await session.close();
            }
        });

    program
        .command("balance")
        .description("what the deposit has spent, what open tickets reserve, what the next requests can really spend, and about how many more requests that pays")
        .option("--model <name>", "estimate with this model's published price when the account has no charge yet")
        .option("--json", "print the balance as JSON (base units and tokens)")
        .action(async (options: { model?: string; json?: boolean }, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true });
                if (options.json) console.log(balanceJson(await client.balance(), session));
                else for (const line of await balanceReport(session, client, { model: options.model })) console.log(line);
            } finally {
                await session.close();
            }
        });

    program
        .command("prepare")
        .description("prove tickets ahead of time, so the next requests (chat, proxy) wait for no proving")
        .option("--tickets <n>", `tickets to have ready (at most the window, ${TICKET_WINDOW})`, String(TICKET_WINDOW))
        .action(async (options: { tickets: string }, command: Command) => {
            const count = Number(options.tickets);
            if (!Number.isInteger(count) || count < 1 || count > TICKET_WINDOW) throw new CliError(`--tickets takes 1 to ${TICKET_WINDOW}`);
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true, prepareAhead: count });
                reportProgress(client, noticeOf(command));
                await client.start();
                await client.prepareTickets(count);
                const ready = Object.keys((await client.refresh())!.prepared);
                console.log(`${ready.length} ticket${ready.length === 1 ? "" : "s"} proved ahead (index ${ready.join(", ")}): the next requests wait for no proving`);
            } finally {
                await session.close();
            }
        });

    program
        .command("recover")
        .description("resolve what a crash or a lost answer left open: look tickets up at the gateway, adopt their charges or void them, then fold")
        .action(async (_options: object, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true });
                reportProgress(client, noticeOf(command));
                const unresolved = await client.recover();
                await client.settled();
                const balance = await client.balance();
                if (unresolved.length === 0) console.log(`nothing is left open: ${balance.requests} requests settled, ${formatTokens(balance.available, session.token)} available`);
                else console.log(`tickets ${unresolved.join(", ")} are still open (the gateway is serving them, or is unreachable): run zkapi recover again later`);
            } finally {
                await session.close();
            }
        });
}
