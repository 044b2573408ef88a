import type { Command } from "commander";
import { getAddress } from "ethers";
import { FileAccountStore } from "@zk-api-credits/sdk";
import { noticeOf, passphraseOf, profileOf } from "./command-context";
import { ADVANCE_TIME_COMMAND, challengeWindowMessage, CliError, formatDuration, formatTime, isLocalChain } from "./failures";
import { openChain, readDeployment, walletFromEnv } from "./profile";
import type { Session } from "./profile";
import { reportProgress } from "./progress";
import { formatTokens } from "./token-amounts";

const PRIVATE_KEY_ENV = "ZKAPI_PRIVATE_KEY";

/** What the challenge window is, in one paragraph. */
function challengeWindowExplained(session: Session): string {
    const window = session.deployment.parameters.challengeWindow;
    return (
        `During the challenge window (${formatDuration(window)}) anyone may show that this withdrawal hides a newer state or a used ticket; ` +
        `an honest withdrawal cannot be challenged. After it, zkapi withdraw finalize pays the refund.`
    );
}

/** The account's withdrawal, or a clear error. */
async function requestedWithdrawal(session: Session, passphrase: string, signerEnv?: string) {
    const client = await session.openClient({ passphrase, restore: true, signer: signerEnv === undefined ? undefined : walletFromEnv(signerEnv) });
    const withdrawal = (await client.refresh())?.withdrawal;
    if (withdrawal === undefined || withdrawal.phase === "resolving") throw new CliError("no withdrawal was requested from this profile: run zkapi withdraw request --recipient <address>");
    return { client, withdrawal };
}

/** zkapi withdraw request|finalize|claim-refund|cancel, zkapi devchain advance-time */
export function withdrawCommands(program: Command): void {
    const withdraw = program
        .command("withdraw")
        .description("withdraw the deposit: request (proves the final state), then finalize after the challenge window");

    withdraw
        .command("request")
        .description("resolve every open ticket, fold, prove the final state and request the withdrawal on-chain (opens the challenge window)")
        .requiredOption("--recipient <address>", "receives the refund (any address; a fresh one is not linked to the depositor)")
        .option("--force", "withdraw even if some tickets cannot be resolved (the gateway is down): each is declared and costs maxCost")
        .option("--private-key-env <variable>", "environment variable holding the Ethereum key that sends the transaction", PRIVATE_KEY_ENV)
        .action(async (options: { recipient: string; force?: boolean; privateKeyEnv: string }, command: Command) => {
            const notice = noticeOf(command);
            let recipient: string;
            try {
                recipient = getAddress(options.recipient);
            } catch {
                throw new CliError(`--recipient ${options.recipient} is not an Ethereum address`);
            }
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true, signer: walletFromEnv(options.privateKeyEnv) });
                reportProgress(client, notice);
                notice("resolving open tickets and folding before the withdrawal…");
                const withdrawal = await client.requestWithdrawal(recipient, { force: options.force === true });
                const { deposit } = (await client.refresh())!;
                const t = (amount: bigint): string => formatTokens(amount, session.token);
                const claim = withdrawal.claim!;
                const declaredCost = BigInt(popcount(claim.declaredSlots)) * session.deployment.parameters.maxCost;
                const charged = claim.spent + claim.burned + declaredCost;
                const refund = deposit > charged ? deposit - charged : 0n;
                console.log(`withdrawal requested in ${withdrawal.transactionHash}: refund of ${t(refund)} to ${withdrawal.recipient}`);
                const declared = popcount(claim.declaredSlots);
                console.log(
                    `  spent ${t(claim.spent)}, burned ${t(claim.burned)}${declared > 0 ? `, ${declared} unsettled ticket${declared === 1 ? "" : "s"} declared at maxCost (${t(declaredCost)})` : ""}`
                );
                if (withdrawal.finalizableAt !== undefined) console.log(`finalizable from ${formatTime(withdrawal.finalizableAt)}`);
                console.log(challengeWindowExplained(session));
                if (session.local) console.log(`On a local chain, pass the window now: ${ADVANCE_TIME_COMMAND}`);
                console.log("Then: zkapi withdraw finalize");
            } finally {
                await session.close();
            }
        });

    withdraw
        .command("finalize")
        .description("after the challenge window: pay the refund to the recipient")
        .option("--private-key-env <variable>", "environment variable holding the Ethereum key that sends the transaction", PRIVATE_KEY_ENV)
        .action(async (options: { privateKeyEnv: string }, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                const { client, withdrawal } = await requestedWithdrawal(session, passphraseOf(command), options.privateKeyEnv);
                if (withdrawal.phase === "requested" && withdrawal.finalizableAt !== undefined && (await session.chainTime()) < withdrawal.finalizableAt) {
                    throw new CliError(await challengeWindowMessage(withdrawal.finalizableAt));
                }
                const done = await client.finalizeWithdrawal();
                const refund = formatTokens(done.refund ?? 0n, session.token);
                if (done.refundOwed) console.log(`finalized: the token refused to pay ${refund} to ${done.recipient}; it is owed: run zkapi withdraw claim-refund`);
                else console.log(`refunded ${refund} to ${done.recipient}: the withdrawal is complete`);
            } finally {
                await session.close();
            }
        });

    withdraw
        .command("claim-refund")
        .description("claim a refund the token refused to pay at finalization")
        .option("--private-key-env <variable>", "environment variable holding the Ethereum key that sends the transaction", PRIVATE_KEY_ENV)
        .action(async (options: { privateKeyEnv: string }, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                const { client, withdrawal } = await requestedWithdrawal(session, passphraseOf(command), options.privateKeyEnv);
                if (withdrawal.phase !== "finalized") throw new CliError("the withdrawal is not finalized yet: run zkapi withdraw finalize");
                const paid = await client.claimRefund();
                console.log(paid === 0n ? `nothing is owed to ${withdrawal.recipient}` : `paid the owed refund of ${formatTokens(paid, session.token)} to ${withdrawal.recipient}`);
            } finally {
                await session.close();
            }
        });

    withdraw
        .command("cancel")
        .description("give up a withdrawal that is still resolving (nothing sent on-chain yet), to pay requests again")
        .action(async (_options: object, command: Command) => {
            const session = await profileOf(command).openSession();
            try {
                const client = await session.openClient({ passphrase: passphraseOf(command), restore: true });
                console.log((await client.cancelWithdrawal()) ? "the withdrawal was cancelled: requests can be paid again" : "nothing to cancel: no withdrawal is resolving (one requested on-chain cannot be cancelled)");
            } finally {
                await session.close();
            }
        });

    const devchain = program.command("devchain").description("local development chains only (hardhat node, anvil): move the chain's clock");
    devchain
        .command("advance-time")
        .description("move a local chain's clock forward and mine a block, e.g. past a withdrawal's challenge window")
        .argument("[seconds]", "seconds to move forward")
        .option("--until-finalizable", "as far as this profile's requested withdrawal needs to be finalized")
        .option("--rpc <url>", "the chain (default: the profile's)")
        .action(async (seconds: string | undefined, options: { untilFinalizable?: boolean; rpc?: string }, command: Command) => {
            if ((seconds === undefined) === (options.untilFinalizable !== true)) throw new CliError("give either a number of seconds or --until-finalizable");
            if (seconds !== undefined && !/^[1-9]\d*$/.test(seconds)) throw new CliError("seconds must be a positive whole number");
            const profile = profileOf(command);
            const rpc = options.rpc ?? profile.readConfig().rpc;
            const chain = openChain(rpc);
            try {
                const chainId = BigInt((await chain.send("eth_chainId", [])) as string);
                if (!isLocalChain(chainId)) throw new CliError(`chain ${chainId} at ${rpc} is not a local development chain: its clock moves by itself`);
                const before = BigInt((await chain.getBlock("latest"))!.timestamp);
                let delta: bigint;
                if (seconds !== undefined) delta = BigInt(seconds);
                else {
                    const deployment = readDeployment(profile.readConfig().deployment);
                    const account = await new FileAccountStore(profile.accountFile(deployment)).read();
                    const finalizableAt = account?.withdrawal?.finalizableAt;
                    if (finalizableAt === undefined) throw new CliError("this profile has no requested withdrawal: run zkapi withdraw request first (or give seconds)");
                    delta = finalizableAt - before;
                    if (delta <= 0n) {
                        console.log(`the challenge window already closed at ${formatTime(finalizableAt)}: run zkapi withdraw finalize`);
                        return;
                    }
                }
                await chain.send("evm_increaseTime", [Number(delta)]);
                await chain.send("evm_mine", []);
                const after = await chain.getBlock("latest");
                console.log(`chain time moved from ${formatTime(before)} to ${formatTime(after!.timestamp)} (+${formatDuration(BigInt(after!.timestamp) - before)}), block ${after!.number}`);
            } finally {
                chain.destroy();
            }
        });
}

function popcount(mask: bigint | number): number {
    let count = 0;
    for (let m = BigInt(mask); m > 0n; m >>= 1n) count += Number(m & 1n);
    return count;
}
