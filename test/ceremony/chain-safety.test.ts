import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import {
    ALLOW_INSECURE_SETUP_FLAG,
    assertSetupAllowed,
    classifyChain,
    Identity,
    InsecureSetupError,
    LOCAL_CHAINS,
    MAINNETS,
    providerPublicKey,
    PUBLIC_TESTNETS,
    registryContext,
    registryScope
} from "@zk-api-credits/protocol";
import type { RegistryDeployment } from "@zk-api-credits/protocol";
import { createGateway, SqliteNullifierStore } from "@zk-api-credits/provider";
import { FileAccountStore, ZkApiClient } from "@zk-api-credits/sdk";

/** Runs `fn`, expects an InsecureSetupError and returns it. */
function refusal(fn: () => unknown): InsecureSetupError {
    try {
        fn();
    } catch (error) {
        expect(error).to.be.instanceOf(InsecureSetupError);
        return error as InsecureSetupError;
    }
    throw new Error("expected a refusal");
}

// The guard every entry point (deploy task, gateway, SDK) asks before using a setup's keys.
describe("Chain safety", function () {
    describe("# classifyChain", function () {
        it("Should classify the local chains (Hardhat, hardhat node, anvil, dev chains)", function () {
            expect(classifyChain(31337n).kind).to.equal("local");
            expect(classifyChain(1337).kind).to.equal("local");
        });

        it("Should classify the public testnets a user expects", function () {
            for (const id of [11155111n, 17000n, 560048n, 84532n, 11155420n, 421614n, 80002n, 59141n, 534351n]) {
                expect(classifyChain(id).kind, `chain ${id}`).to.equal("testnet");
            }
            expect(classifyChain(11155111n).name).to.equal("Sepolia");
        });

        it("Should classify the mainnets a user expects", function () {
            const expected = [
                1n, 10n, 8453n, 42161n, 42170n, 137n, 100n, 59144n, 534352n, 324n, 1101n, 56n, 43114n, 250n, 5000n, 81457n, 7777777n,
                252n, 130n, 480n, 1868n, 57073n, 146n, 34443n, 169n, 25n, 42220n
            ];
            for (const id of expected) expect(classifyChain(id).kind, `chain ${id}`).to.equal("mainnet");
            expect(classifyChain(1n).name).to.equal("Ethereum mainnet");
        });

        it("Should classify an id it does not know as unknown (not local)", function () {
            expect(classifyChain(987654321n)).to.deep.equal({ chainId: 987654321n, kind: "unknown", name: "chain 987654321" });
        });

        it("Should put no chain id in two classes", function () {
            const ids = [...LOCAL_CHAINS.keys(), ...PUBLIC_TESTNETS.keys(), ...MAINNETS.keys()];
            expect(new Set(ids).size).to.equal(ids.length);
        });

        it("Should reject a chain id that is not positive", function () {
            expect(() => classifyChain(0n)).to.throw(RangeError);
            expect(() => classifyChain(-1)).to.throw(RangeError);
        });
    });

    describe("# assertSetupAllowed", function () {
        const dev = { insecureDevelopmentSetup: true, allowInsecureSetup: false };

        it("Should allow the development setup on local chains, without the flag", function () {
            for (const chainId of LOCAL_CHAINS.keys()) {
                const decision = assertSetupAllowed({ ...dev, chainId });
                expect(decision.chain.kind).to.equal("local");
                expect(decision.warning).to.equal(undefined);
            }
        });

        it("Should allow a ceremony's keys on every chain, mainnets included", function () {
            for (const chainId of [31337n, 11155111n, 1n, 8453n, 987654321n]) {
                expect(assertSetupAllowed({ chainId, insecureDevelopmentSetup: false, allowInsecureSetup: false }).warning).to.equal(undefined);
            }
        });

        it("Should refuse the development setup on a public testnet without the flag, naming the flag and the reason", function () {
            for (const chainId of PUBLIC_TESTNETS.keys()) {
                const error = refusal(() => assertSetupAllowed({ ...dev, chainId }));
                expect(error.code).to.equal("INSECURE_SETUP_NOT_ALLOWED");
                expect(error.chain.chainId).to.equal(chainId);
                expect(error.message).to.contain(ALLOW_INSECURE_SETUP_FLAG);
                expect(error.message).to.contain("anyone can forge every proof");
                expect(error.message).to.contain("docs/trusted-setup.md");
            }
            expect(refusal(() => assertSetupAllowed({ ...dev, chainId: 11155111n })).message).to.contain("Sepolia (chain id 11155111)");
        });

        it("Should allow the development setup on a public testnet with the flag, with a warning", function () {
            const decision = assertSetupAllowed({ chainId: 11155111n, insecureDevelopmentSetup: true, allowInsecureSetup: true });
            expect(decision.chain.kind).to.equal("testnet");
            expect(decision.warning).to.contain("INSECURE");
            expect(decision.warning).to.contain(ALLOW_INSECURE_SETUP_FLAG);
        });

        it("Should refuse the development setup on every known mainnet whatever the flag", function () {
            for (const chainId of MAINNETS.keys()) {
                for (const allowInsecureSetup of [false, true]) {
                    const error = refusal(() => assertSetupAllowed({ chainId, insecureDevelopmentSetup: true, allowInsecureSetup }));
                    expect(error.code, `chain ${chainId}`).to.equal("INSECURE_SETUP_ON_MAINNET");
                    expect(error.message).to.contain(`even with ${ALLOW_INSECURE_SETUP_FLAG}`);
                    expect(error.message).to.contain("anyone can forge every proof");
                    expect(error.message).to.contain("docs/trusted-setup.md");
                }
            }
        });

        it("Should treat an unknown chain id as public: refused without the flag (and say why), allowed with it", function () {
            const error = refusal(() => assertSetupAllowed({ ...dev, chainId: 987654321n }));
            expect(error.code).to.equal("INSECURE_SETUP_NOT_ALLOWED");
            expect(error.message).to.contain("an unknown chain id counts as public");
            expect(error.message).to.contain(ALLOW_INSECURE_SETUP_FLAG);
            expect(assertSetupAllowed({ chainId: 987654321n, insecureDevelopmentSetup: true, allowInsecureSetup: true }).warning).to.contain("INSECURE");
        });
    });

    // The entry points themselves, before they touch the chain: a deployment file of the
    // development set on Sepolia's chain id (as `deploy-registry --allow-insecure-setup`
    // writes it) and on a mainnet's.
    describe("# the gateway and the SDK ask it before anything else", function () {
        const address = (n: number): string => `0x${n.toString(16).padStart(40, "0")}`;
        const signingKey = `0x${"11".repeat(32)}`;
        const providerKey = providerPublicKey(signingKey);
        const terms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
        const deploymentOn = (chainId: bigint): RegistryDeployment => {
            const scope = registryScope(chainId, address(1));
            return {
                network: "test",
                chainId,
                deploymentBlock: 1,
                contracts: {
                    registry: address(1),
                    token: address(2),
                    spendVerifier: address(3),
                    foldVerifier: address(4),
                    withdrawVerifier: address(5),
                    slashVerifier: address(6)
                },
                parameters: {
                    treasury: address(7),
                    owner: address(8),
                    providerKey,
                    ...terms,
                    challengeWindow: 3_600n,
                    depositTerm: 86_400n,
                    epochBlocks: 50,
                    treeDepth: 32,
                    ticketWindow: 8,
                    foldSize: 2,
                    minimumDeposit: 3_334n,
                    scope,
                    context: registryContext({ scope, providerKey, terms })
                },
                insecureDevelopmentSetup: true,
                allowInsecureSetup: true
            };
        };
        let dir: string;
        let chain: JsonRpcProvider;

        before(function () {
            dir = mkdtempSync(path.join(os.tmpdir(), "zkapi-chain-safety-"));
            // Never contacted: the guard refuses first (a contacted closed port would fail otherwise).
            chain = new JsonRpcProvider("http://127.0.0.1:9", undefined, { staticNetwork: true });
        });

        after(function () {
            chain.destroy();
            rmSync(dir, { recursive: true, force: true });
        });

        async function refusedAsync(work: () => Promise<unknown>): Promise<InsecureSetupError> {
            try {
                await work();
            } catch (error) {
                expect(error).to.be.instanceOf(InsecureSetupError);
                return error as InsecureSetupError;
            }
            throw new Error("expected a refusal");
        }

        const startGateway = (chainId: bigint, allowInsecureSetup: boolean) => async () => {
            const store = new SqliteNullifierStore(path.join(dir, `gateway-${chainId}-${allowInsecureSetup}.db`));
            try {
                await createGateway({ deployment: deploymentOn(chainId), signingKey, provider: chain, store, allowInsecureSetup });
            } finally {
                await store.close();
            }
        };
        const openClient = (chainId: bigint, allowInsecureSetup: boolean) => () =>
            ZkApiClient.create({
                deployment: deploymentOn(chainId),
                identity: new Identity(),
                store: new FileAccountStore(path.join(dir, `account-${chainId}-${allowInsecureSetup}.json`)),
                provider: chain,
                gatewayUrl: "http://127.0.0.1:9",
                allowInsecureSetup
            });

        it("Should refuse to start a gateway on a public testnet without allowInsecureSetup (`provider start --allow-insecure-setup`), naming the flag", async function () {
            const error = await refusedAsync(startGateway(11155111n, false));
            expect(error.code).to.equal("INSECURE_SETUP_NOT_ALLOWED");
            expect(error.message).to.contain("Sepolia").and.to.contain(ALLOW_INSECURE_SETUP_FLAG);
        });

        it("Should refuse to start a gateway on a mainnet even with allowInsecureSetup", async function () {
            const error = await refusedAsync(startGateway(1n, true));
            expect(error.code).to.equal("INSECURE_SETUP_ON_MAINNET");
            expect(error.message).to.contain("docs/trusted-setup.md");
        });

        it("Should refuse to open an SDK client on a public testnet without allowInsecureSetup, naming the flag", async function () {
            const error = await refusedAsync(openClient(11155111n, false));
            expect(error.code).to.equal("INSECURE_SETUP_NOT_ALLOWED");
            expect(error.message).to.contain(ALLOW_INSECURE_SETUP_FLAG);
        });

        it("Should refuse to open an SDK client on a mainnet even with allowInsecureSetup", async function () {
            const error = await refusedAsync(openClient(8453n, true));
            expect(error.code).to.equal("INSECURE_SETUP_ON_MAINNET");
        });

        it("Should open an SDK client on a public testnet with allowInsecureSetup (no network needed to open it)", async function () {
            const client = await openClient(11155111n, true)();
            try {
                expect(client.account).to.equal(undefined);
            } finally {
                await client.close();
            }
        });
    });
});
