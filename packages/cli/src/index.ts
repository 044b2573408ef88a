#!/usr/bin/env node
import { Command } from "commander";
import { describeFailure } from "./failures";
import { providerCommands } from "./provider-commands";
import { userCommands } from "./user-commands";

const { version } = require("../package.json") as { version: string };

const program = new Command()
    .name("zkapi")
    .description("anonymous, pay-per-request API credits on Ethereum: deposit once, pay each API call with a zero-knowledge ticket")
    .version(`zkapi ${version} (protocol v2)`, "-V, --version", "print the version")
    .option("--home <dir>", "profile directory (identity, account, caches); $ZKAPI_HOME if set", process.env.ZKAPI_HOME ?? ".zkapi")
    .option("--passphrase-env <variable>", "environment variable holding the identity passphrase", "ZKAPI_PASSPHRASE")
    .option("-q, --quiet", "no progress or hints on stderr")
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
    async (error: unknown) => {
        console.error(`zkapi: ${await describeFailure(error)}`);
        process.exit(1);
    }
);
