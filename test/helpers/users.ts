import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { JsonRpcProvider, NonceManager } from "ethers";
import { TestToken__factory } from "@zk-api-credits/contracts";
import { Identity } from "@zk-api-credits/protocol";
import { FileAccountStore, FileSyncCache, ZkApiClient } from "@zk-api-credits/sdk";
import type { ZkApiClientOptions } from "@zk-api-credits/sdk";
import type { DeployedStack } from "../../scripts/lib/stack";
import { devWallet } from "../../scripts/lib/stack";
import { prover } from "./provers";

export const DEPOSIT = 10n ** 19n;

/** A user with a funded dev account, a fresh identity, a registered deposit and a client (protocol v2 SDK, committed artifacts). */
export interface TestUser {
    readonly identity: Identity;
    readonly client: ZkApiClient;
    readonly home: string;
    readonly provider: JsonRpcProvider;
    open(extra?: Partial<ZkApiClientOptions>): Promise<ZkApiClient>;
}

export async function registeredUser(
    stack: DeployedStack,
    gatewayUrl: string,
    accountIndex: number,
    extra: Partial<ZkApiClientOptions> = {},
    deposit = DEPOSIT
): Promise<TestUser> {
    const provider = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
    const wallet = new NonceManager(devWallet(accountIndex).connect(provider));
    const token = TestToken__factory.connect(stack.deployment.contracts.token, wallet);
    await (await token.mint(await wallet.getAddress(), deposit)).wait();
    const identity = new Identity();
    const home = mkdtempSync(path.join(os.tmpdir(), "zkapi-user-"));
    const open = (more: Partial<ZkApiClientOptions> = {}): Promise<ZkApiClient> =>
        ZkApiClient.create({
            deployment: stack.deployment,
            identity,
            store: new FileAccountStore(path.join(home, "account.json")),
            syncCache: new FileSyncCache(path.join(home, "tree.json")),
            provider,
            signer: wallet,
            gatewayUrl,
            provers: { spend: prover("spend-32"), fold: prover("fold-2"), withdraw: prover("withdraw-2-8") },
            ...extra,
            ...more
        });
    const client = await open();
    await client.register(deposit);
    return { identity, client, home, provider, open };
}

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

/** A chat completion body for the gateway's local echo model. */
export function chatBody(content: string, maxTokens = 64): string {
    return JSON.stringify({ model: "echo", messages: [{ role: "user", content }], max_tokens: maxTokens });
}
