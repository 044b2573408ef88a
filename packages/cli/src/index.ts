#!/usr/bin/env node
import { Command } from "commander";
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
        console.error(`zkapi: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
    }
);
