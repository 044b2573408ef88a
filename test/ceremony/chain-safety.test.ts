import { expect } from "chai";
import {
    ALLOW_INSECURE_SETUP_FLAG,
    assertSetupAllowed,
    classifyChain,
    InsecureSetupError,
    LOCAL_CHAINS,
    MAINNETS,
    PUBLIC_TESTNETS
} from "@zk-api-credits/protocol";

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
});
