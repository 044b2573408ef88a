import { TICKET_WINDOW } from "./constants";
import { assertBaseState } from "./commitment";
import type { BaseState } from "./commitment";
import { spendableOf } from "./registry";
import type { RegistryTerms } from "./registry";

/**
 * True if ticket `index` may be spent on `base`: it lies in the window
 * base.folded <= index < base.folded + W, and every ticket of the window up to it is
 * reserved at its worst case:
 *     spent + burned + (index - folded + 1) * (maxCost + policyPenalty) <= deposit - reserve.
 * Exactly what the Spend circuit checks.
 */
export function canSpend(base: BaseState, index: bigint, deposit: bigint, terms: RegistryTerms, window: number = TICKET_WINDOW): boolean {
    assertBaseState(base);
    const offset = index - base.folded;
    if (offset < 0n || offset >= BigInt(window)) return false;
    const reserved = (offset + 1n) * (terms.maxCost + terms.policyPenalty);
    return base.spent + base.burned + reserved <= spendableOf(deposit, terms.reserveBps);
}

/** How many tickets of the window of `base` the deposit can reserve (0 … W). */
export function openTicketLimit(base: BaseState, deposit: bigint, terms: RegistryTerms, window: number = TICKET_WINDOW): number {
    assertBaseState(base);
    const perTicket = terms.maxCost + terms.policyPenalty;
    const room = spendableOf(deposit, terms.reserveBps) - base.spent - base.burned;
    if (perTicket === 0n) return room >= 0n ? window : 0;
    if (room <= 0n) return 0;
    const affordable = room / perTicket;
    return affordable >= BigInt(window) ? window : Number(affordable);
}
