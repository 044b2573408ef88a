import { Interface } from "ethers";
import type { ErrorDescription, JsonFragment } from "ethers";
import { CreditRegistry__factory, ERC20__factory, ICreditRegistry__factory } from "@zk-api-credits/contracts";
import { LOCAL_CHAINS } from "@zk-api-credits/protocol";
import { SdkError } from "@zk-api-credits/sdk";
import type { SdkErrorCode } from "@zk-api-credits/sdk";
import { BASE_UNITS, formatTokens } from "./token-amounts";
import type { TokenUnits } from "./token-amounts";

/**
 * What the command line says when something fails: the registry's and the token's custom errors
 * in words (amounts in tokens, times as dates, deposit statuses by name), the SDK's codes with
 * what to do, and unreachable chains or gateways named.
 */

/** A failure whose message is already meant for the user. */
export class CliError extends Error {
    override readonly name = "CliError";
}

/** What a command knows that makes its failures clearer (filled in as the command opens its profile). */
export interface FailureContext {
    token?: TokenUnits;
    chainId?: bigint;
    /** The chain's current time (the latest block's timestamp, seconds). */
    chainTime?: () => Promise<bigint>;
    rpc?: string;
    gateway?: string;
}

/** The context of the running command (one command per process). */
export const failureContext: FailureContext = {};

/** The local-chain command that passes a withdrawal's challenge window. */
export const ADVANCE_TIME_COMMAND = "npx zkapi devchain advance-time --until-finalizable";

/** Deposit statuses of ICreditRegistry.DepositStatus, by their number. */
export const DEPOSIT_STATUS = ["none", "active", "withdrawing", "withdrawn", "slashed", "expired"] as const;
export type DepositStatusName = (typeof DEPOSIT_STATUS)[number];

export function depositStatusName(status: bigint | number): DepositStatusName | `status ${string}` {
    return DEPOSIT_STATUS[Number(status)] ?? `status ${status.toString()}`;
}

/** What each deposit status means for the user. */
const STATUS_MEANING: Record<DepositStatusName, string> = {
    none: "there is no deposit under this identity: run zkapi register --amount <tokens>",
    active: "the deposit is active: no withdrawal was requested (zkapi withdraw request)",
    withdrawing: "a withdrawal is pending: zkapi withdraw finalize after its challenge window",
    withdrawn: "the deposit was withdrawn and paid out",
    slashed: "the deposit was slashed (a ticket was reused with another key, or a withdrawal was challenged): nothing is left to withdraw",
    expired: "the deposit expired at the end of its term and went to the treasury"
};

const CHALLENGE_KINDS = ["a stale base (a newer fold existed)", "an undeclared ticket", "disclosed nullifiers that do not match the proof"];

const errorInterface = (() => {
    const seen = new Set<string>();
    const fragments = [...ICreditRegistry__factory.abi, ...CreditRegistry__factory.abi, ...ERC20__factory.abi].filter((f) => {
        if (f.type !== "error") return false;
        const signature = `${f.name}(${(f.inputs as readonly { type: string }[]).map((i) => i.type).join(",")})`;
        if (seen.has(signature)) return false;
        seen.add(signature);
        return true;
    });
    return new Interface(fragments as JsonFragment[]);
})();

/** `2026-12-02 20:15:03 UTC+01:00` (the machine's local time, with its offset). */
export function formatTime(timestamp: bigint | number): string {
    const date = new Date(Number(timestamp) * 1000);
    const pad = (n: number): string => n.toString().padStart(2, "0");
    const offset = -date.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    const zone = offset === 0 ? "UTC" : `UTC${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${zone}`;
}

/** "59 min 58 s", "2 h 5 min", "3 days 4 h". */
export function formatDuration(seconds: bigint): string {
    const s = seconds < 0n ? 0n : seconds;
    if (s < 60n) return `${s} s`;
    if (s < 3600n) return `${s / 60n} min${s % 60n === 0n ? "" : ` ${s % 60n} s`}`;
    if (s < 86400n) return `${s / 3600n} h${(s % 3600n) / 60n === 0n ? "" : ` ${(s % 3600n) / 60n} min`}`;
    return `${s / 86400n} day${s / 86400n === 1n ? "" : "s"}${(s % 86400n) / 3600n === 0n ? "" : ` ${(s % 86400n) / 3600n} h`}`;
}

/** A long identity commitment, shortened for messages. */
export function shortIdentity(idc: bigint | string): string {
    const text = idc.toString();
    return text.length > 16 ? `${text.slice(0, 8)}…${text.slice(-6)}` : text;
}

export function isLocalChain(chainId: bigint | undefined): boolean {
    return chainId !== undefined && LOCAL_CHAINS.has(chainId);
}

/**
 * "the challenge window is open until <time> (in 59 min of chain time)" and, on a local chain,
 * how to pass it now.
 */
export async function challengeWindowMessage(finalizableAt: bigint, context: FailureContext = failureContext): Promise<string> {
    let remaining = "";
    if (context.chainTime !== undefined) {
        try {
            const now = await context.chainTime();
            remaining = ` (in ${formatDuration(finalizableAt - now)} of chain time; the chain's clock says ${formatTime(now)})`;
        } catch {
            // the chain is unreachable: say when, not how long
        }
    }
    const local = isLocalChain(context.chainId)
        ? `\nOn a local chain, pass the window now: ${ADVANCE_TIME_COMMAND}, then run zkapi withdraw finalize again.`
        : "\nRun zkapi withdraw finalize again after that time.";
    return `the challenge window of this withdrawal is still open: it can be finalized from ${formatTime(finalizableAt)}${remaining}.${local}`;
}

type Describe = (args: readonly unknown[], units: TokenUnits, context: FailureContext) => string | Promise<string>;

const big = (value: unknown): bigint => BigInt(value as bigint);

/** Each custom error of the registry and the token, in words. */
const CUSTOM_ERRORS: Record<string, Describe> = {
    ChallengeWindowOpen: (a, _u, c) => challengeWindowMessage(big(a[1]), c),
    ChallengeWindowClosed: (a) => `the challenge window of this withdrawal closed at ${formatTime(big(a[1]))}: it can no longer be challenged`,
    UnexpectedDepositStatus: (a) => {
        const status = depositStatusName(big(a[1]));
        const meaning = status in STATUS_MEANING ? STATUS_MEANING[status as DepositStatusName] : "";
        return `the deposit of identity ${shortIdentity(big(a[0]))} is ${status}, which this call does not accept${meaning ? `: ${meaning}` : ""}`;
    },
    IdentityAlreadyRegistered: (a) =>
        `identity ${shortIdentity(big(a[0]))} already has (or had) a deposit in this registry: one deposit per identity; for another deposit create another profile (zkapi --home <dir> identity new)`,
    InvalidDepositAmount: (a, u) =>
        `a deposit of ${formatTokens(big(a[0]), u)} is outside the registry's bounds: at least ${formatTokens(big(a[1]), u)}, at most ${formatTokens(big(a[2]), u)}`,
    InvalidIdentityCommitment: (a) => `${String(a[0])} is not a valid identity commitment`,
    InvalidRecipient: () => "the recipient is the zero address: give --recipient 0x… (any address you control)",
    InvalidWithdrawProof: () => "the registry refused the withdrawal proof (it does not match this registry's terms or the request)",
    WithdrawalRequestMismatch: () => "the withdrawal request differs from the one the registry stored for this deposit",
    InvalidChallengeProof: (a) => `the challenge proof (${CHALLENGE_KINDS[Number(a[1])] ?? "unknown kind"}) does not verify`,
    DepositNotExpired: (a) => `the deposit's term runs until ${formatTime(big(a[1]))}: it cannot be claimed as expired before`,
    InvalidSlashProof: () => "the slash proof does not verify for this identity and receiver",
    InvalidReceiver: () => "the slash receiver is the zero address",
    NothingOwed: (a) => `no refund is owed to ${String(a[0])}`,
    RefundRefused: (a, u) => `the token refused to pay ${formatTokens(big(a[1]), u)} to ${String(a[0])}; it stays owed (zkapi withdraw claim-refund later)`,
    NothingToSweep: () => "nothing to sweep: no revenue or penalty has accrued since the last sweep",
    SweepRefused: (a, u) => `the token refused the sweep of ${formatTokens(big(a[0]), u)} to the treasury and ${formatTokens(big(a[1]), u)} to the burn address`,
    DepositTransferMismatch: (a, u) =>
        `the token moved ${formatTokens(big(a[1]), u)} instead of ${formatTokens(big(a[0]), u)} (a fee-on-transfer token cannot back deposits)`,
    RegistryFull: (a) => `the registry is full (${String(a[0])} deposits)`,
    ERC20InsufficientBalance: (a, u, c) =>
        `${String(a[0])} holds ${formatTokens(big(a[1]), u)} but needs ${formatTokens(big(a[2]), u)}${isLocalChain(c.chainId) ? ": on a local chain, mint test tokens with zkapi faucet --amount <tokens>" : ""}`,
    ERC20InsufficientAllowance: (a, u) => `the registry ${String(a[0])} may move ${formatTokens(big(a[1]), u)} but needs ${formatTokens(big(a[2]), u)}`,
    ERC20InvalidReceiver: (a) => `the token refuses to pay ${String(a[0])}`,
    ERC20InvalidSender: (a) => `the token refuses transfers from ${String(a[0])}`,
    ERC20InvalidApprover: (a) => `the token refuses approvals from ${String(a[0])}`,
    ERC20InvalidSpender: (a) => `the token refuses ${String(a[0])} as a spender`,
    SafeERC20FailedOperation: (a) => `the token ${String(a[0])} refused a transfer`,
    // A withdrawal request that does not fit the registry's rules (the SDK never builds one).
    NonCanonicalFoldNullifier: () => "the withdrawal's fold nullifier is not a canonical field element",
    NonCanonicalSlotNullifiersHash: () => "the withdrawal's slot nullifiers hash is not a canonical field element",
    DeclaredSlotDisclosed: (a) => `slot ${String(a[0])} of the withdrawal is declared but carries a nullifier`,
    InvalidSlotNullifier: (a) => `the nullifier of undeclared slot ${String(a[0])} is zero or not canonical`,
    // Challenges (sent by gateways and watchers).
    InvalidSlot: (a) => `slot ${String(a[0])} is outside the ticket window (0 to ${big(a[1]) - 1n})`,
    SlotDeclared: (a) => `slot ${String(a[1])} was declared by the withdrawal (paid at maxCost): it cannot be challenged`,
    DisclosureConsistent: () => "the disclosed nullifiers match the withdrawal proof: nothing to challenge",
    // Violation reports (the provider's operator).
    InvalidNullifier: () => "the reported nullifier is zero or not canonical",
    ViolationAlreadyReported: () => "this violation was already reported",
    InvalidEvidence: () => "a violation report needs an evidence hash",
    OwnableUnauthorizedAccount: (a) => `${String(a[0])} is not the registry's owner (the provider's operator)`,
    OwnableInvalidOwner: (a) => `${String(a[0])} cannot own the registry`,
    UnknownCheckpoint: (a) => `no checkpoint after ${String(a[0])} registrations (the registry holds ${String(a[1])})`,
    ReentrancyGuardReentrantCall: () => "the registry refused a re-entrant call (a hostile token?)",
    // Deployment parameters (the deploy task checks them first).
    InvalidToken: (a) => `the token ${String(a[0])} has no code`,
    InvalidTreasury: () => "the treasury is the zero address",
    InvalidProviderKey: () => "the provider key is not a valid Baby Jubjub point of large order",
    InvalidMaxCost: (a, u) => `maxCost ${formatTokens(big(a[0]), u)} is zero, or no deposit could pay one request above its reserve`,
    InvalidReserve: (a) => `reserveBps ${String(a[0])} is 100 % or more`,
    InvalidChallengeWindow: (a) => `the challenge window of ${formatDuration(big(a[0]))} is zero or longer than ${formatDuration(big(a[1]))}`,
    InvalidDepositTerm: (a) => `the deposit term (${formatDuration(big(a[0]))}) does not outlast the challenge window (${formatDuration(big(a[1]))})`,
    InvalidEpochBlocks: () => "epochBlocks must be at least 1",
    InvalidVerifier: (a) => `the verifier ${String(a[0])} has no code`
};

/** The custom errors described in words (every error of the registry and the token, a test checks). */
export const DESCRIBED_ERRORS: readonly string[] = Object.keys(CUSTOM_ERRORS);

/** The first custom error found in an error and its causes (ethers nests them). */
export function customErrorOf(error: unknown): ErrorDescription | undefined {
    const queue: unknown[] = [error];
    for (let depth = 0; queue.length > 0 && depth < 24; depth++) {
        const current = queue.shift();
        if (current === null || typeof current !== "object") continue;
        const record = current as Record<string, unknown>;
        for (const data of [record.data, (record.revert as { data?: unknown } | undefined)?.data]) {
            if (typeof data === "string" && /^0x[0-9a-fA-F]{8}/.test(data)) {
                try {
                    const parsed = errorInterface.parseError(data);
                    if (parsed !== null) return parsed;
                } catch {
                    // not one of ours
                }
            }
        }
        queue.push(record.error, record.cause, (record.info as Record<string, unknown> | undefined)?.error);
    }
    return undefined;
}

/** What to do after each SDK failure. */
const SDK_HINTS: Partial<Record<SdkErrorCode, (context: FailureContext) => string>> = {
    NOT_REGISTERED: () => "run zkapi register --amount <tokens> first",
    WRONG_PASSPHRASE: () => "the passphrase comes from $ZKAPI_PASSPHRASE (or the variable named by --passphrase-env)",
    INSOLVENT: () => "the deposit cannot reserve one more request: zkapi balance shows what is left; withdraw it with zkapi withdraw request",
    ACCOUNT_CLOSED: () => "this account is being withdrawn (or was): no more requests; zkapi balance shows the withdrawal",
    GATEWAY_UNREACHABLE: (c) => `is the provider's gateway running${c.gateway ? ` at ${c.gateway}` : ""}? Nothing was lost: zkapi recover resolves what is open`,
    NOT_IN_EPOCH: () => "the deposit is not in the registry tree the gateway accepts yet (or it left): wait for the next epoch",
    UNRESOLVED: () => "retry later (zkapi recover), or withdraw with --force: each unresolved ticket is then declared at maxCost",
    DOUBLE_SPEND: () => "a ticket index of this identity was used with another key: this never happens with one identity; the gateway slashes such deposits",
    WRONG_DEPLOYMENT: () => "the profile's account belongs to another identity, registry or chain: use another --home for another deployment",
    PROVIDER_FAULT: () => "the gateway misbehaved (a fold answered with another base): withdraw the deposit (zkapi withdraw request)",
    WITHDRAWAL_PENDING: () => "see zkapi balance for the withdrawal's state"
};

/** An unreachable JSON-RPC endpoint, as ethers and fetch report it. */
function isConnectionRefused(error: unknown): boolean {
    const queue: unknown[] = [error];
    for (let depth = 0; queue.length > 0 && depth < 12; depth++) {
        const current = queue.shift();
        if (current === null || typeof current !== "object") continue;
        const record = current as Record<string, unknown>;
        if (record.code === "ECONNREFUSED" || (typeof record.message === "string" && /ECONNREFUSED|fetch failed/.test(record.message))) return true;
        queue.push(record.error, record.cause);
    }
    return false;
}

/** The failure in words, for `zkapi: <message>`. */
export async function describeFailure(error: unknown, context: FailureContext = failureContext): Promise<string> {
    const custom = customErrorOf(error);
    if (custom !== undefined) {
        const describe = CUSTOM_ERRORS[custom.name];
        const units = context.token ?? BASE_UNITS;
        const words = describe === undefined ? undefined : await describe([...custom.args], units, context);
        const raw = `${custom.name}(${[...custom.args].map(String).join(", ")})`;
        return words === undefined ? `the transaction reverted with ${raw}` : `${words} [${custom.name}]`;
    }
    if (error instanceof CliError) return error.message;
    if (error instanceof SdkError) {
        const hint = SDK_HINTS[error.code]?.(context);
        return hint === undefined ? error.message : `${error.message}\n${hint}`;
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "INSUFFICIENT_FUNDS") {
        return `the sending address has no ETH to pay for gas${isLocalChain(context.chainId) ? ": on a local chain, zkapi faucet funds it" : ""}`;
    }
    if (isConnectionRefused(error)) {
        if (context.rpc !== undefined) return `cannot reach the chain at ${context.rpc}: is the node running (npx hardhat node)?`;
        return `a connection was refused: ${error instanceof Error ? error.message : String(error)}`;
    }
    const short = (error as { shortMessage?: unknown } | null)?.shortMessage;
    if (typeof short === "string") return short;
    return error instanceof Error ? error.message : String(error);
}
