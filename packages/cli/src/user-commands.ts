import type { Command } from "commander";
import { accountCommands } from "./account-commands";
import { chatCommands } from "./chat-commands";
import type { Lifecycle } from "./command-context";
import { identityCommands } from "./identity-commands";
import { readDeployment } from "./profile";
import { withdrawCommands } from "./withdraw-commands";

/**
 * The user's commands: identity new|show|export|import, configure, faucet, register, balance,
 * prepare, chat, recover, proxy, withdraw request|finalize|claim-refund|cancel, devchain
 * advance-time, deployment.
 */
export function userCommands(program: Command, lifecycle: Lifecycle): void {
    identityCommands(program);
    accountCommands(program);
    chatCommands(program, lifecycle);
    withdrawCommands(program);

    program
        .command("deployment")
        .description("print a deployment file's network, registry, token and terms")
        .argument("<file>", "deployments/<network>.json")
        .action((file: string) => {
            const { network, chainId, contracts, parameters } = readDeployment(file);
            const terms = {
                maxCost: parameters.maxCost.toString(),
                policyPenalty: parameters.policyPenalty.toString(),
                reserveBps: parameters.reserveBps.toString(),
                challengeWindow: parameters.challengeWindow.toString(),
                epochBlocks: parameters.epochBlocks
            };
            console.log(JSON.stringify({ network, chainId: chainId.toString(), registry: contracts.registry, token: contracts.token, terms }, null, 2));
        });
}
