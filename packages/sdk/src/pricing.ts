import { SdkError } from "./errors";
import type { ChargeCheck } from "./paid-request";

/**
 * What the client needs of the gateway's published prices (GET /zkapi/v2/pricing) to check a
 * charge: every price and charge sits on a coarse grid, so a provider cannot add a unique tiny
 * amount to each charge and later read, from the `spent` a withdrawal reveals, which requests
 * were one user's (issue 11). A charge off the grid is such a tag.
 */
export interface PublishedPricing {
    readonly grid: bigint;
    readonly maxCost: bigint;
}

/** Reads the grid and maxCost of a pricing document; undefined if it publishes no grid. */
export function parsePublishedPricing(json: unknown): PublishedPricing | undefined {
    if (json === null || typeof json !== "object") return undefined;
    const { grid, maxCost } = json as Record<string, unknown>;
    const big = (value: unknown): bigint | undefined => (typeof value === "string" && /^[0-9]+$/.test(value) ? BigInt(value) : undefined);
    const g = big(grid);
    const m = big(maxCost);
    if (g === undefined || m === undefined || g <= 0n) return undefined;
    return { grid: g, maxCost: m };
}

/** A charge check refusing any cost off the published grid (reported as "charge-disputed"). */
export function gridChargeCheck(pricing: PublishedPricing): ChargeCheck {
    return (charge) => {
        if (charge.cost % pricing.grid !== 0n) {
            throw new SdkError("INVALID_CHARGE", `ticket ${charge.index} was charged ${charge.cost}, off the published price grid of ${pricing.grid}: a charge that can tag a request`);
        }
    };
}
