import { GATEWAY_PATHS } from "@zk-api-credits/protocol";
import type { AccountRecord, Balance, ZkApiClient } from "@zk-api-credits/sdk";
import { depositStatusName, formatTime } from "./failures";
import type { Session } from "./profile";
import { formatCount, formatTokens } from "./token-amounts";

/** A model's prices as GET /zkapi/v2/pricing publishes them (token base units per million tokens). */
export interface PublishedPrice {
    readonly model?: string;
    readonly inputPerMillion: bigint;
    readonly outputPerMillion: bigint;
}

/** What the command line reads of GET /zkapi/v2/pricing. */
export interface PublishedPrices {
    readonly grid: bigint;
    readonly maxCost: bigint;
    readonly models: readonly PublishedPrice[];
    readonly fallback?: PublishedPrice;
}

/** The size of "a typical request" when the account has no charge yet. */
export const TYPICAL_REQUEST = { inputTokens: 500, outputTokens: 500 } as const;

const digits = (value: unknown): bigint | undefined => (typeof value === "string" && /^[0-9]+$/.test(value) ? BigInt(value) : undefined);

function priceOf(value: unknown, model?: string): PublishedPrice | undefined {
    if (value === null || typeof value !== "object") return undefined;
    const record = value as Record<string, unknown>;
    const input = digits(record.inputPerMillion);
    const output = digits(record.outputPerMillion);
    if (input === undefined || output === undefined) return undefined;
    return { model: model ?? (typeof record.model === "string" ? record.model : undefined), inputPerMillion: input, outputPerMillion: output };
}

/** The gateway's published prices; undefined if it is unreachable or publishes none. */
export async function fetchPrices(client: ZkApiClient): Promise<PublishedPrices | undefined> {
    let json: unknown;
    try {
        const response = await client.fetchFree(GATEWAY_PATHS.pricing);
        if (!response.ok) return undefined;
        json = await response.json();
    } catch {
        return undefined;
    }
    if (json === null || typeof json !== "object") return undefined;
    const record = json as Record<string, unknown>;
    const grid = digits(record.grid);
    const maxCost = digits(record.maxCost);
    if (grid === undefined || maxCost === undefined || grid === 0n) return undefined;
    const models = Array.isArray(record.models) ? record.models.map((m) => priceOf(m)).filter((m): m is PublishedPrice => m !== undefined) : [];
    return { grid, maxCost, models, fallback: priceOf(record.default, "any other model") };
}

/** The published formula: the exact price rounded up to a grid step, at most maxCost. */
export function publishedCost(prices: PublishedPrices, price: PublishedPrice, usage: { inputTokens: number; outputTokens: number }): bigint {
    const exact = BigInt(usage.inputTokens) * price.inputPerMillion + BigInt(usage.outputTokens) * price.outputPerMillion;
    const step = 1_000_000n * prices.grid;
    const cost = ((exact + step - 1n) / step) * prices.grid;
    return cost > prices.maxCost ? prices.maxCost : cost;
}

/** The price of `model` (or of the gateway's first listed model, else its default). */
export function modelPrice(prices: PublishedPrices, model?: string): PublishedPrice | undefined {
    if (model !== undefined) return prices.models.find((m) => m.model === model) ?? (prices.fallback === undefined ? undefined : { ...prices.fallback, model });
    return prices.models[0] ?? prices.fallback;
}

/** The cost the estimate of "more requests" is made with, and how it is described. */
export interface CostBasis {
    readonly cost: bigint;
    readonly label: string;
}

/**
 * What "a request of this size" costs: the account's last charge beyond its base; else its
 * average over the requests settled so far; else a typical request (500 tokens in, 500 out)
 * at the published price of `model`.
 */
export function costBasis(record: AccountRecord, balance: Balance, session: Session, prices: PublishedPrices | undefined, model?: string): CostBasis | undefined {
    const held = Object.keys(record.charges)
        .map((key) => BigInt(key))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const last = held.at(-1);
    if (last !== undefined) {
        const charge = record.charges[last.toString()]!;
        return { cost: charge.cost, label: `like the last one (${formatTokens(charge.cost, session.token)})` };
    }
    if (balance.requests > 0n) {
        const average = balance.spent / balance.requests;
        return { cost: average, label: `at this account's average of ${formatTokens(average, session.token)} per request` };
    }
    if (prices === undefined) return undefined;
    const price = modelPrice(prices, model);
    if (price === undefined) return undefined;
    const cost = publishedCost(prices, price, TYPICAL_REQUEST);
    return {
        cost,
        label: `of ${TYPICAL_REQUEST.inputTokens} tokens in and ${TYPICAL_REQUEST.outputTokens} out${price.model ? ` with ${price.model}` : ""} (${formatTokens(cost, session.token)} each at the published prices)`
    };
}

/** "about 86,998 more requests like the last one (0.0001 ZKAPI-TEST)". */
export async function moreRequests(client: ZkApiClient, basis: CostBasis): Promise<string> {
    const count = await client.estimateRequests(basis.cost);
    return `about ${formatCount(count)} more request${count === 1n ? "" : "s"} ${basis.label}`;
}

/** The balance as lines of `label  value  explanation`. */
export async function balanceReport(session: Session, client: ZkApiClient, options: { model?: string } = {}): Promise<string[]> {
    const record = (await client.refresh())!;
    const balance = await client.balance();
    const t = (amount: bigint): string => formatTokens(amount, session.token);
    const { maxCost, policyPenalty, reserveBps } = session.deployment.parameters;
    const status = depositStatusName((await session.registry.deposits(record.identityCommitment)).status);
    const lines: [string, string][] = [
        ["deposit", `${t(balance.deposit)} (${status}, leaf ${record.leafIndex} of registry ${session.deployment.contracts.registry})`],
        ["spent", `${t(balance.spent)} over ${formatCount(balance.requests)} request${balance.requests === 1n ? "" : "s"}`],
        ["burned", `${t(balance.burned)} (policy penalties)`],
        ["reserve", `${t(balance.reserve)} (${Number(reserveBps) / 100} % of the deposit, never spent: refunded by a withdrawal)`],
        [
            "in flight",
            `${t(balance.reservedByOpenTickets)} reserved by ${balance.openTickets} open ticket${balance.openTickets === 1 ? "" : "s"} (each reserves maxCost ${t(maxCost)} + penalty ${t(policyPenalty)} until its charge arrives)`
        ],
        ["available", `${t(balance.available)}: what the next requests can really spend`]
    ];
    if (!balance.canPay && record.withdrawal === undefined) {
        lines.push(["", `the deposit cannot pay one more request (each needs ${t(maxCost + policyPenalty)} free while open): withdraw the rest with zkapi withdraw request`]);
    }
    if (status !== "active" && record.withdrawal === undefined) lines.push(["", `the deposit is ${status} on-chain: no more requests`]);
    if (record.withdrawal !== undefined) {
        const w = record.withdrawal;
        const when = w.finalizableAt === undefined ? "" : `, finalizable from ${formatTime(w.finalizableAt)}`;
        const refund = w.refund === undefined ? "" : `, refunded ${t(w.refund)}${w.refundOwed ? " (owed: zkapi withdraw claim-refund)" : ""}`;
        lines.push(["withdrawal", `${w.phase} to ${w.recipient}${when}${refund}`]);
    } else if (balance.canPay) {
        const prices = await fetchPrices(client);
        const basis = costBasis(record, balance, session, prices, options.model);
        if (basis !== undefined) lines.push(["", await moreRequests(client, basis)]);
        else lines.push(["", "(the gateway's prices are unavailable: no estimate of the requests left)"]);
    }
    const width = Math.max(...lines.map(([label]) => label.length));
    return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}
