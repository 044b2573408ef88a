import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Identity } from "@zk-api-credits/protocol";
import { exportIdentity, IDENTITY_SAFETY_NOTES, importIdentity, writeFileDurably } from "@zk-api-credits/sdk";
import { noticeOf, passphraseOf, profileOf } from "./command-context";
import { CliError } from "./failures";
import { secretFromEnv } from "./profile";

/** zkapi identity new|show|export|import */
export function identityCommands(program: Command): void {
    const identity = program
        .command("identity")
        .description("the secret identity a deposit belongs to: create it, show its public commitment, export or import it (encrypted)");

    identity
        .command("new")
        .description("create a fresh secret identity in this profile, encrypted with the passphrase ($ZKAPI_PASSPHRASE)")
        .action(async (_options: object, command: Command) => {
            const profile = profileOf(command);
            if (profile.hasIdentity()) throw new CliError(`${profile.identityFile} exists: refusing to overwrite an identity (use another --home for another one)`);
            const created = new Identity();
            await profile.saveIdentity(created, passphraseOf(command));
            console.log(`identity commitment ${created.commitment}`);
            console.log(`saved encrypted to ${profile.identityFile}`);
            noticeOf(command)("back it up with zkapi identity export --out <file>: without it (and the passphrase) the deposit cannot be spent or withdrawn");
        });

    identity
        .command("show")
        .description("print the identity commitment (public: it is what the registry records)")
        .action((_options: object, command: Command) => {
            console.log(profileOf(command).identityCommitment());
        });

    identity
        .command("export")
        .description("write the identity to a file, encrypted (see the safety notes it prints)")
        .requiredOption("--out <file>", "file to write (refuses to overwrite)")
        .option("--to-passphrase-env <variable>", "encrypt the file under the passphrase in this variable instead of the profile's")
        .action(async (options: { out: string; toPassphraseEnv?: string }, command: Command) => {
            const profile = profileOf(command);
            const out = path.resolve(options.out);
            if (existsSync(out)) throw new CliError(`${out} exists: refusing to overwrite it`);
            const identity = await profile.identity(passphraseOf(command));
            const passphrase = options.toPassphraseEnv === undefined ? passphraseOf(command) : secretFromEnv(options.toPassphraseEnv, "passphrase of the exported file");
            writeFileDurably(out, await exportIdentity(identity, passphrase));
            console.log(`identity ${identity.commitment} exported, encrypted, to ${out}`);
            console.log(IDENTITY_SAFETY_NOTES);
        });

    identity
        .command("import")
        .description("take an exported identity into this profile (a backup, another device); its account is restored from the chain")
        .argument("<file>", "a file written by zkapi identity export")
        .option("--from-passphrase-env <variable>", "the file's passphrase is in this variable, not the profile's")
        .action(async (file: string, options: { fromPassphraseEnv?: string }, command: Command) => {
            const profile = profileOf(command);
            let text: string;
            try {
                text = readFileSync(file, "utf8");
            } catch {
                throw new CliError(`cannot read ${file}`);
            }
            const filePassphrase = options.fromPassphraseEnv === undefined ? passphraseOf(command) : secretFromEnv(options.fromPassphraseEnv, "passphrase of the imported file");
            const identity = await importIdentity(text, filePassphrase);
            await profile.saveIdentity(identity, passphraseOf(command));
            console.log(`identity ${identity.commitment} imported into ${profile.identityFile}`);
            console.log(IDENTITY_SAFETY_NOTES);
            noticeOf(command)("next: zkapi configure … (if this profile is new), then zkapi balance: the account is restored from the chain and catches up with the gateway");
        });
}
