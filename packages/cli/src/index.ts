#!/usr/bin/env node
import { Command } from "commander";
import { Interface } from "ethers";
import { ERC20__factory, ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { providerCommands } from "./provider-commands";
import { userCommands } from "./user-commands";

const program = new Command()
    .name("zkapi")
    .description("anonymous, pay-per-request API credits on Ethereum")
    .option("--home <dir>", "profile directory (identity, account, caches)", ".zkapi")
    .option("--passphrase-env <variable>", "environment variable holding the identity passphrase", "ZKAPI_PASSPHRASE")
    .showHelpAfterError();

/** Set by commands that serve (gateway, proxy); every other command exits when done. */
const lifecycle = { keepAlive: false };

userCommands(program, lifecycle);
providerCommands(program, lifecycle);

program.parseAsync(process.argv).then(
    () => {
        // One-shot commands end here: snarkjs keeps worker threads that would hold the process.
        if (!lifecycle.keepAlive) process.exit(process.exitCode ?? 0);
    },
    (error: unknown) => {
        console.error(`zkapi: ${describe(error)}`);
        process.exit(1);
    }
);

/** A registry or token custom error by name and arguments; any other error by its message. */
function describe(error: unknown): string {
    const errors = new Interface([...ICreditRegistry__factory.abi, ...ERC20__factory.abi].filter((f) => f.type === "error"));
    const data = (error as { data?: unknown }).data;
    if (typeof data === "string" && data.length >= 10) {
        try {
            const parsed = errors.parseError(data);
            if (parsed) return `the transaction reverted with ${parsed.name}(${parsed.args.join(", ")})`;
        } catch {
            // not one of ours
        }
    }
    return error instanceof Error ? error.message : String(error);
}
