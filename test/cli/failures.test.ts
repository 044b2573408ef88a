import { expect } from "chai";
import { Interface } from "ethers";
import type { JsonFragment, ParamType } from "ethers";
import { CreditRegistry__factory, ERC20__factory, ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { SdkError } from "@zk-api-credits/sdk";
import { ADVANCE_TIME_COMMAND, CliError, describeFailure, formatDuration, formatTime } from "../../packages/cli/src/failures";
import type { FailureContext } from "../../packages/cli/src/failures";
import { formatTokens, parseTokens } from "../../packages/cli/src/token-amounts";

const TOKEN = { decimals: 18, symbol: "ZKAPI-TEST" };
const LOCAL: FailureContext = { chainId: 31337n, token: TOKEN };
const errors = new Interface(
    [...ICreditRegistry__factory.abi, ...CreditRegistry__factory.abi, ...ERC20__factory.abi].filter((f) => f.type === "error") as JsonFragment[]
);

/** A revert as ethers reports it from a node: a CALL_EXCEPTION whose `data` is the custom error. */
function revert(name: string, args: readonly unknown[]): Error {
    return Object.assign(new Error("execution reverted (unknown custom error)"), { code: "CALL_EXCEPTION", data: errors.encodeErrorResult(name, args) });
}

/** A sample value of an ABI type. */
function sample(type: ParamType): unknown {
    if (type.baseType === "address") return "0x00000000000000000000000000000000000000aa";
    if (type.baseType === "bytes32") return `0x${"11".repeat(32)}`;
    if (type.type === "uint8") return 4;
    return 5n * 10n ** 17n;
}

// What the command line says when the registry or the token refuses: every custom error in words,
// amounts in tokens, times as dates, deposit statuses by name.
describe("zkapi: failures in words", function () {
    it("Should describe every custom error of the registry and the token in words", async function () {
        const names = new Set<string>();
        errors.forEachError((fragment) => void names.add(fragment.name));
        expect(names.size).to.be.greaterThan(40);
        for (const name of names) {
            const fragment = errors.getError(name)!;
            const said = await describeFailure(revert(name, fragment.inputs.map(sample)), LOCAL);
            expect(said, name).to.not.match(/^the transaction reverted with/);
            expect(said, name).to.match(new RegExp(`\\[${name}\\]$`));
        }
    });

    it("Should say when a challenge window opens, as a date, and how to pass it on a local chain", async function () {
        const finalizableAt = 1_800_000_000n;
        const now = finalizableAt - 3_590n;
        const said = await describeFailure(revert("ChallengeWindowOpen", [123n, finalizableAt]), { ...LOCAL, chainTime: async () => now });
        expect(said).to.include(`it can be finalized from ${formatTime(finalizableAt)} (in 59 min 50 s of chain time`);
        expect(said).to.include(ADVANCE_TIME_COMMAND);
        const remote = await describeFailure(revert("ChallengeWindowOpen", [123n, finalizableAt]), { chainId: 11155111n });
        expect(remote).to.not.include("devchain");
        expect(remote).to.include("Run zkapi withdraw finalize again after that time");
    });

    it("Should name a deposit's status", async function () {
        const names = ["none", "active", "withdrawing", "withdrawn", "slashed", "expired"];
        for (const [status, name] of names.entries()) {
            expect(await describeFailure(revert("UnexpectedDepositStatus", [42n, status]), LOCAL)).to.match(new RegExp(`^the deposit of identity 42 is ${name}, which this call does not accept`));
        }
        expect(await describeFailure(revert("UnexpectedDepositStatus", [42n, 4]), LOCAL)).to.include("slashed (a ticket was reused with another key");
    });

    it("Should give amounts in tokens, never in base units", async function () {
        expect(await describeFailure(revert("InvalidDepositAmount", [10n ** 15n, 3n * 10n ** 17n, 2n ** 96n - 1n]), LOCAL)).to.match(
            /^a deposit of 0\.001 ZKAPI-TEST is outside the registry's bounds: at least 0\.3 ZKAPI-TEST, at most 79,228,162,514\.264337593543950335 ZKAPI-TEST/
        );
        const poor = await describeFailure(revert("ERC20InsufficientBalance", ["0x00000000000000000000000000000000000000aa", 0n, 10n * 10n ** 18n]), LOCAL);
        expect(poor).to.include("holds 0 ZKAPI-TEST but needs 10 ZKAPI-TEST: on a local chain, mint test tokens with zkapi faucet");
        expect(formatTokens(1_234_500_000_000_000_000_000n, TOKEN)).to.equal("1,234.5 ZKAPI-TEST");
        expect(parseTokens("0.5", TOKEN)).to.equal(5n * 10n ** 17n);
        expect(() => parseTokens("1e3", TOKEN)).to.throw(/must be a number of tokens/);
        expect(() => parseTokens("0.0000000000000000001", TOKEN)).to.throw(/more decimals than the token \(18\)/);
    });

    it("Should find the custom error inside the errors ethers wraps around it", async function () {
        const inner = revert("NothingToSweep", []);
        const wrapped = Object.assign(new Error("could not coalesce error"), { error: { info: { error: inner } } });
        expect(await describeFailure(wrapped, LOCAL)).to.equal("nothing to sweep: no revenue or penalty has accrued since the last sweep [NothingToSweep]");
    });

    it("Should say what to do after an SDK failure, an unreachable chain or a sender without gas", async function () {
        expect(await describeFailure(new SdkError("NOT_REGISTERED", "no account"), LOCAL)).to.equal("NOT_REGISTERED: no account\nrun zkapi register --amount <tokens> first");
        expect(await describeFailure(new SdkError("GATEWAY_UNREACHABLE", "down"), { gateway: "http://127.0.0.1:8787" })).to.include("is the provider's gateway running at http://127.0.0.1:8787?");
        const refused = Object.assign(new Error("fetch failed"), { cause: { code: "ECONNREFUSED" } });
        expect(await describeFailure(refused, { rpc: "http://127.0.0.1:8545" })).to.equal("cannot reach the chain at http://127.0.0.1:8545: is the node running (npx hardhat node)?");
        expect(await describeFailure(Object.assign(new Error("insufficient funds"), { code: "INSUFFICIENT_FUNDS" }), LOCAL)).to.include("no ETH to pay for gas: on a local chain, zkapi faucet funds it");
        expect(await describeFailure(new CliError("said as is"), LOCAL)).to.equal("said as is");
        expect(formatDuration(3600n)).to.equal("1 h");
        expect(formatDuration(3599n)).to.equal("59 min 59 s");
        expect(formatDuration(90_000n)).to.equal("1 day 1 h");
    });
});
