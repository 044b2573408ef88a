import { formatUnits, parseUnits } from "ethers";
import type { ContractRunner } from "ethers";
import { IERC20Metadata__factory } from "@zk-api-credits/contracts";

/** How a token's amounts are written for people: its decimals and symbol (read from the ERC-20). */
export interface TokenUnits {
    readonly decimals: number;
    readonly symbol: string;
}

/** A token without metadata: amounts in its base units. */
export const BASE_UNITS: TokenUnits = { decimals: 0, symbol: "token units" };

/** Reads the token's decimals and symbol; a token without them is counted in base units. */
export async function readTokenUnits(token: string, runner: ContractRunner): Promise<TokenUnits> {
    const erc20 = IERC20Metadata__factory.connect(token, runner);
    let decimals: number;
    try {
        decimals = Number(await erc20.decimals());
    } catch {
        return BASE_UNITS;
    }
    let symbol = "tokens";
    try {
        const read = await erc20.symbol();
        if (/^[\x21-\x7e]{1,16}$/.test(read)) symbol = read;
    } catch {
        // no symbol: "tokens"
    }
    return { decimals, symbol };
}

/** "12.5 ZKAPI-TEST": an amount in whole tokens (no trailing ".0"), with thousands separated. */
export function formatTokens(amount: bigint, units: TokenUnits): string {
    return `${tokenNumber(amount, units)} ${units.symbol}`;
}

/** "12.5": an amount in whole tokens, without the symbol. */
export function tokenNumber(amount: bigint, units: TokenUnits): string {
    const negative = amount < 0n;
    const [whole, fraction] = formatUnits(negative ? -amount : amount, units.decimals).split(".");
    const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const tail = fraction === undefined || /^0*$/.test(fraction) ? "" : `.${fraction.replace(/0+$/, "")}`;
    return `${negative ? "-" : ""}${grouped}${tail}`;
}

/** Parses a user's amount of tokens ("10", "0.5") into base units. */
export function parseTokens(text: string, units: TokenUnits, what = "the amount"): bigint {
    if (!/^\d+(\.\d+)?$/.test(text.trim())) throw new Error(`${what} must be a number of tokens like 10 or 0.5, not ${JSON.stringify(text)}`);
    try {
        const amount = parseUnits(text.trim(), units.decimals);
        if (amount <= 0n) throw new Error(`${what} must be more than 0`);
        return amount;
    } catch (error) {
        if (error instanceof Error && error.message.startsWith(what)) throw error;
        throw new Error(`${what} ${text} has more decimals than the token (${units.decimals})`);
    }
}

/** A count with thousands separated ("86,998"). */
export function formatCount(count: bigint | number): string {
    return count.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
