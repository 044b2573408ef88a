import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import type { Signer } from "ethers";
import { parseDeployment } from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { decryptIdentity, encryptIdentity, FileAccountStore, FileSyncCache, readFileIfExists, writeFileDurably, ZkApiClient } from "@zk-api-credits/sdk";
import type { EncryptedIdentity, ZkApiClientOptions } from "@zk-api-credits/sdk";
import type { Identity } from "@zk-api-credits/protocol";

/** Where a user's profile points: the registry's deployment, the chain and the gateway. */
export interface ProfileConfig {
    deployment: string;
    rpc: string;
    gateway: string;
}

/**
 * A user's profile directory (default ./.zkapi): the encrypted identity, the account state,
 * the tree sync cache and the config. Files are written atomically with mode 0600.
 */
export class Profile {
    constructor(readonly home: string) {
        mkdirSync(home, { recursive: true, mode: 0o700 });
    }

    file(name: string): string {
        return path.join(this.home, name);
    }

    readConfig(): ProfileConfig {
        const text = readFileIfExists(this.file("config.json"));
        if (text === undefined) throw new Error(`${this.home} has no config: run zkapi register with --deployment, --rpc and --gateway first`);
        return JSON.parse(text) as ProfileConfig;
    }

    writeConfig(config: ProfileConfig): void {
        writeFileDurably(this.file("config.json"), `${JSON.stringify(config, null, 2)}\n`);
    }

    async createIdentity(identity: Identity, passphrase: string): Promise<void> {
        if (readFileIfExists(this.file("identity.json")) !== undefined) throw new Error(`${this.file("identity.json")} exists: refusing to overwrite an identity`);
        writeFileDurably(this.file("identity.json"), `${JSON.stringify(await encryptIdentity(identity, passphrase), null, 2)}\n`);
    }

    async identity(passphrase: string): Promise<Identity> {
        const text = readFileIfExists(this.file("identity.json"));
        if (text === undefined) throw new Error(`no identity in ${this.home}: run zkapi identity new`);
        return decryptIdentity(JSON.parse(text) as EncryptedIdentity, passphrase);
    }

    identityCommitment(): string {
        const text = readFileIfExists(this.file("identity.json"));
        if (text === undefined) throw new Error(`no identity in ${this.home}: run zkapi identity new`);
        return (JSON.parse(text) as EncryptedIdentity).identityCommitment;
    }

    /** Opens the SDK client of this profile. */
    async client(passphrase: string, signer?: Signer, extra: Partial<ZkApiClientOptions> = {}): Promise<{ client: ZkApiClient; deployment: RegistryDeployment; provider: JsonRpcProvider }> {
        const config = this.readConfig();
        const deployment = parseDeployment(readFileSync(config.deployment, "utf8"));
        const provider = new JsonRpcProvider(config.rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
        const client = await ZkApiClient.create({
            deployment,
            identity: await this.identity(passphrase),
            store: new FileAccountStore(this.file("account.json")),
            syncCache: new FileSyncCache(this.file("tree-cache.json")),
            provider,
            signer: signer?.connect(provider),
            gatewayUrl: config.gateway,
            ...extra
        });
        return { client, deployment, provider };
    }
}

/** A secret from an environment variable (never from the command line, which `ps` shows). */
export function secretFromEnv(variable: string, what: string): string {
    const value = process.env[variable];
    if (value === undefined || value.length === 0) throw new Error(`set ${variable} to the ${what}`);
    return value;
}

export function walletFromEnv(variable: string): Wallet {
    return new Wallet(secretFromEnv(variable, "Ethereum private key (0x...)"));
}
