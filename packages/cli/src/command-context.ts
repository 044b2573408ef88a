import path from "node:path";
import type { Command } from "commander";
import { Profile, secretFromEnv } from "./profile";

/** The options every command takes (zkapi --home … --passphrase-env … --quiet <command>). */
export interface GlobalOptions {
    readonly home: string;
    readonly passphraseEnv: string;
    readonly quiet?: boolean;
}

/** Set by commands that keep serving (gateway, proxy); every other command exits when done. */
export interface Lifecycle {
    keepAlive: boolean;
}

export function globalsOf(command: Command): GlobalOptions {
    return command.optsWithGlobals() as GlobalOptions;
}

export function profileOf(command: Command): Profile {
    return new Profile(path.resolve(globalsOf(command).home));
}

export function passphraseOf(command: Command): string {
    return secretFromEnv(globalsOf(command).passphraseEnv, "identity passphrase");
}

/** Lines for the user that are not the command's result (progress, hints): stderr, unless --quiet. */
export function noticeOf(command: Command): (line: string) => void {
    const quiet = globalsOf(command).quiet === true;
    return (line) => {
        if (!quiet) process.stderr.write(`${line}\n`);
    };
}
