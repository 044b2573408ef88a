import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { JsonRpcProvider, Wallet } from "ethers";
import type { Signer } from "ethers";
import { ICreditRegistry__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import { parseDeployment } from "@zk-api-credits/protocol";
import type { Identity, RegistryDeployment } from "@zk-api-credits/protocol";
import { encryptIdentity, FileAccountStore, FileSyncCache, importIdentity, readFileIfExists, SdkError, writeFileDurably, ZkApiClient } from "@zk-api-credits/sdk";
import type { EncryptedIdentity, ZkApiClientOptions } from "@zk-api-credits/sdk";
import { CliError, failureContext, isLocalChain } from "./failures";
import { readTokenUnits } from "./token-amounts";
import type { TokenUnits } from "./token-amounts";

/** Where a profile points: the registry's deployment file, the chain and the provider's gateway. */
export interface ProfileConfig {
    /** Absolute path of the deployment file written by the deploy task. */
    readonly deployment: string;
    readonly rpc: string;
    readonly gateway: string;
    /** Talk to a registry deployed with the INSECURE development keys on a public test network. */
    readonly allowInsecureSetup?: boolean;
}

const CONFIGURE_HINT = "zkapi configure --deployment <file> --rpc <url> --gateway <url>";

/**
 * A user's profile directory (default ./.zkapi, mode 0700):
 * - `identity.json`: the identity, encrypted with the passphrase (scrypt + AES-256-GCM);
 * - `config.json`: the deployment, chain and gateway it uses;
 * - `accounts/<chainId>-<registry>.json`: the account with that registry (no secret; private),
 *   shared under a lock by every zkapi process using the profile;
 * - `trees/<chainId>-<registry>.json`: the registry tree's sync cache.
 */
export class Profile {
    constructor(readonly home: string) {}

    file(name: string): string {
        return path.join(this.home, name);
    }

    private ensureHome(): void {
        mkdirSync(this.home, { recursive: true, mode: 0o700 });
    }

    get identityFile(): string {
        return this.file("identity.json");
    }

    hasIdentity(): boolean {
        return existsSync(this.identityFile);
    }

    readConfig(): ProfileConfig {
        const text = readFileIfExists(this.file("config.json"));
        if (text === undefined) throw new CliError(`the profile ${this.home} is not configured: run ${CONFIGURE_HINT}`);
        return JSON.parse(text) as ProfileConfig;
    }

    writeConfig(config: ProfileConfig): void {
        this.ensureHome();
        writeFileDurably(this.file("config.json"), `${JSON.stringify(config, null, 2)}\n`);
    }

    /** The encrypted identity file's text. */
    identityText(): string {
        const text = readFileIfExists(this.identityFile);
        if (text === undefined) throw new CliError(`no identity in ${this.home}: run zkapi identity new (or zkapi identity import <file>)`);
        return text;
    }

    /** Stores an identity, encrypted under `passphrase`; never overwrites another one. */
    async saveIdentity(identity: Identity, passphrase: string): Promise<void> {
        if (this.hasIdentity()) {
            if (this.identityCommitment() === identity.commitment.toString()) return;
            throw new CliError(`${this.identityFile} holds another identity: refusing to overwrite it (use another --home)`);
        }
        this.ensureHome();
        writeFileDurably(this.identityFile, `${JSON.stringify(await encryptIdentity(identity, passphrase), null, 2)}\n`);
    }

    async identity(passphrase: string): Promise<Identity> {
        return importIdentity(this.identityText(), passphrase);
    }

    /** The identity commitment (public: readable without the passphrase). */
    identityCommitment(): string {
        return (JSON.parse(this.identityText()) as EncryptedIdentity).identityCommitment;
    }

    accountFile(deployment: RegistryDeployment): string {
        return this.file(path.join("accounts", `${deployment.chainId}-${deployment.contracts.registry.toLowerCase()}.json`));
    }

    treeFile(deployment: RegistryDeployment): string {
        return this.file(path.join("trees", `${deployment.chainId}-${deployment.contracts.registry.toLowerCase()}.json`));
    }

    /**
     * Opens the configured deployment and chain: checks the node serves the deployment's chain,
     * reads the token's decimals and symbol, and tells the failure messages about them.
     */
    async openSession(): Promise<Session> {
        const config = this.readConfig();
        failureContext.rpc = config.rpc;
        failureContext.gateway = config.gateway;
        const text = readFileIfExists(config.deployment);
        if (text === undefined) throw new CliError(`the deployment file ${config.deployment} is gone: run ${CONFIGURE_HINT}`);
        const deployment = parseDeployment(text);
        failureContext.chainId = deployment.chainId;
        const chain = openChain(config.rpc);
        failureContext.chainTime = async () => BigInt((await chain.getBlock("latest"))!.timestamp);
        const chainId = BigInt((await chain.send("eth_chainId", [])) as string);
        if (chainId !== deployment.chainId) {
            chain.destroy();
            throw new CliError(`the node at ${config.rpc} serves chain ${chainId}, but ${config.deployment} is a deployment on chain ${deployment.chainId}`);
        }
        const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, chain);
        if ((await chain.getCode(deployment.contracts.registry)) === "0x") {
            chain.destroy();
            throw new CliError(
                `there is no registry at ${deployment.contracts.registry} on chain ${chainId}${isLocalChain(chainId) ? ": was the local chain restarted? Deploy again (npx hardhat deploy-registry ...)" : ""}`
            );
        }
        const token = await readTokenUnits(deployment.contracts.token, chain);
        failureContext.token = token;
        return new Session(this, config, deployment, chain, registry, token);
    }
}

/** A JSON-RPC connection that never caches answers (other processes move the chain on). */
export function openChain(rpc: string): JsonRpcProvider {
    return new JsonRpcProvider(rpc, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 500 });
}

/** The options of a client opened by a command. */
export interface ClientOptions {
    readonly passphrase: string;
    /** Sends transactions (register, withdraw). */
    readonly signer?: Signer;
    /** Tickets proved ahead in the background (default 0: each ticket when needed). */
    readonly prepareAhead?: number;
    /** Create the account file from the chain when the profile has none (an imported identity). */
    readonly restore?: boolean;
    readonly extra?: Partial<ZkApiClientOptions>;
}

/** A profile opened on its deployment: the chain, the registry, the token's units. */
export class Session {
    readonly local: boolean;
    private client?: ZkApiClient;

    constructor(
        readonly profile: Profile,
        readonly config: ProfileConfig,
        readonly deployment: RegistryDeployment,
        readonly chain: JsonRpcProvider,
        readonly registry: ICreditRegistry,
        readonly token: TokenUnits
    ) {
        this.local = isLocalChain(deployment.chainId);
    }

    /** The latest block's timestamp. */
    async chainTime(): Promise<bigint> {
        return BigInt((await this.chain.getBlock("latest"))!.timestamp);
    }

    /**
     * Opens the SDK client on this profile's account. The account file is shared with every
     * other zkapi process using the profile (the SDK locks it for each change).
     */
    async openClient(options: ClientOptions): Promise<ZkApiClient> {
        const identity = await this.profile.identity(options.passphrase);
        const accountFile = this.profile.accountFile(this.deployment);
        mkdirSync(path.dirname(accountFile), { recursive: true, mode: 0o700 });
        const client = await ZkApiClient.create({
            deployment: this.deployment,
            identity,
            store: new FileAccountStore(accountFile),
            syncCache: new FileSyncCache(this.profile.treeFile(this.deployment)),
            provider: this.chain,
            signer: options.signer?.connect(this.chain),
            gatewayUrl: this.config.gateway,
            allowInsecureSetup: this.config.allowInsecureSetup === true,
            prepareAhead: options.prepareAhead ?? 0,
            ...options.extra
        });
        this.client = client;
        const account = await client.refresh();
        if (account !== undefined) {
            const status = (await this.registry.deposits(identity.commitment)).status;
            if (status === 0n) {
                throw new CliError(
                    `${accountFile} says this identity registered in block ${account.registrationBlock}, but the registry at ${this.deployment.contracts.registry} has no such deposit: ` +
                        `was the local chain restarted and the registry deployed again? Move that file away (or use another --home) and register again`
                );
            }
        } else if (options.restore === true) {
            try {
                await client.restoreAccount();
            } catch (error) {
                if (error instanceof SdkError && error.code === "NOT_REGISTERED") {
                    throw new CliError(`this identity has no deposit in the registry at ${this.deployment.contracts.registry}: run zkapi register --amount <tokens>`);
                }
                throw error;
            }
        }
        return client;
    }

    /** Stops the client's background work and the chain connection. */
    async close(): Promise<void> {
        await this.client?.close();
        this.chain.destroy();
    }
}

/** A deployment file, parsed, or a clear error. */
export function readDeployment(file: string): RegistryDeployment {
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch {
        throw new CliError(`cannot read the deployment file ${file} (the deploy task writes deployments/<network>.json)`);
    }
    try {
        return parseDeployment(text);
    } catch (error) {
        throw new CliError(`${file} is not a deployment file: ${error instanceof Error ? error.message : String(error)}`);
    }
}

/** A secret from an environment variable (never from the command line, which `ps` shows). */
export function secretFromEnv(variable: string, what: string): string {
    const value = process.env[variable];
    if (value === undefined || value.length === 0) throw new CliError(`set ${variable} to the ${what}`);
    return value;
}

export function walletFromEnv(variable: string): Wallet {
    const key = secretFromEnv(variable, "Ethereum private key (0x...)");
    try {
        return new Wallet(key);
    } catch {
        throw new CliError(`${variable} is not an Ethereum private key (0x followed by 64 hex digits)`);
    }
}
