import { PriceTable } from "@zk-api-credits/metering";
import { expectedCharge, readPaidCall } from "./charge-audit";
import { SdkError } from "./errors";
import type { ChargeCheck } from "./paid-request";

/**
 * What the client keeps of the gateway's published prices (GET /zkapi/v2/pricing) to check
 * charges. Every price and charge sits on a coarse grid, so a provider cannot add a unique tiny
 * amount to each charge and later read, from the `spent` a withdrawal reveals, which requests
 * were one user's (issue 11): a charge off the grid is such a tag. With the table itself the
 * client also recomputes each charge from the usage it saw (charge-audit.ts), so a charge on
 * the grid but not the published price of that usage is refused too.
 */
export interface PublishedPricing {
    readonly grid: bigint;
    readonly maxCost: bigint;
    /** The published table, rebuilt and checked against the registry; undefined if it could not be (see `tableError`). */
    readonly table?: PriceTable;
    /** Why charges are checked against the grid only. */
    readonly tableError?: string;
}

/**
 * Reads a pricing document; undefined if it publishes no grid. `registry` is the chain's
 * maxCost and policyPenalty: a table that names others is not used to recompute charges.
 */
export function parsePublishedPricing(json: unknown, registry?: { readonly maxCost: bigint; readonly policyPenalty: bigint }): PublishedPricing | undefined {
    if (json === null || typeof json !== "object") return undefined;
    const { grid, maxCost } = json as Record<string, unknown>;
    const big = (value: unknown): bigint | undefined => (typeof value === "string" && /^[0-9]+$/.test(value) ? BigInt(value) : undefined);
    const g = big(grid);
    const m = big(maxCost);
    if (g === undefined || m === undefined || g <= 0n) return undefined;
    if (registry === undefined) return { grid: g, maxCost: m, tableError: "no registry terms to check the table against" };
    try {
        return { grid: g, maxCost: m, table: PriceTable.fromView(json, registry) };
    } catch (error) {
        return { grid: g, maxCost: m, tableError: error instanceof Error ? error.message : String(error) };
    }
}

/**
 * A charge check against the published prices (a failure is reported as "charge-disputed"):
 * every cost on the grid; and, for a paid API route whose answer the client saw whole (a body,
 * or a stream that completed), exactly the cost the published table gives for that answer's
 * usage.
 */
export function publishedPriceCheck(pricing: PublishedPricing): ChargeCheck {
    return (charge, exchange) => {
        if (charge.cost % pricing.grid !== 0n) {
            throw new SdkError("INVALID_CHARGE", `ticket ${charge.index} was charged ${charge.cost}, off the published price grid of ${pricing.grid}: a charge that can tag a request`);
        }
        if (pricing.table === undefined || exchange.answer === undefined) return;
        const call = readPaidCall(exchange.request);
        if (call === undefined) return;
        const expected = expectedCharge(pricing.table, call, exchange.status, exchange.answer);
        if (expected === undefined) {
            throw new SdkError("INVALID_CHARGE", `ticket ${charge.index} was charged ${charge.cost} for model ${call.request.model}, which the published prices do not list`);
        }
        if (charge.cost !== expected.cost) {
            const { inputTokens, outputTokens, source } = expected.usage;
            throw new SdkError(
                "INVALID_CHARGE",
                `ticket ${charge.index} was charged ${charge.cost}, but the published prices give ${expected.cost} for what it was answered (status ${exchange.status}, ${inputTokens} input and ${outputTokens} output tokens, ${source === "upstream" ? "as the answer reports them" : "counted where the answer reports none"})`
            );
        }
    };
}
