import { chargePoint, verifyBaseSignature, verifyChargeSignature } from "@zk-api-credits/protocol";
import type { ChargeReceipt, FoldAnswer, Point, RegistryTerms } from "@zk-api-credits/protocol";
import type { HeldCharge, InFlightFold } from "./account-record";
import { SdkError } from "./errors";
import type { TicketKeys } from "./ticket-keys";

/** What the client checks provider signatures against: the registry's context, the provider key, the terms. */
export interface ProviderTerms {
    readonly context: bigint;
    readonly providerKey: Point<bigint>;
    readonly terms: RegistryTerms;
}

const samePoint = (a: Point<bigint>, b: Point<bigint>): boolean => a[0] === b[0] && a[1] === b[1];

/**
 * Checks a charge the gateway signed for ticket `keys.index` (docs/protocol.md, "A request",
 * step 3): it names the ticket's nullifier; cost ≤ maxCost; penalty is 0 or exactly
 * policyPenalty; Δ = T_i + (cost·2^144 + penalty·2^48)·G; the provider's signature with the
 * charge tag under the registry's context. Anything else is refused (INVALID_CHARGE): such a
 * charge could not be folded, and adopting it would be a tag the provider chose.
 */
export function verifyCharge(receipt: ChargeReceipt, keys: TicketKeys, provider: ProviderTerms): HeldCharge {
    const { terms } = provider;
    if (receipt.nullifier !== keys.nullifier) throw new SdkError("INVALID_CHARGE", `the charge is for another ticket than ${keys.index}`);
    if (receipt.cost > terms.maxCost) throw new SdkError("INVALID_CHARGE", `cost ${receipt.cost} exceeds maxCost ${terms.maxCost}`);
    if (receipt.penalty !== 0n && receipt.penalty !== terms.policyPenalty) {
        throw new SdkError("INVALID_CHARGE", `penalty ${receipt.penalty} is neither 0 nor the registry's policyPenalty ${terms.policyPenalty}`);
    }
    const expected = chargePoint(keys.ticketCommitment, receipt.cost, receipt.penalty);
    if (!samePoint(expected, receipt.charge)) throw new SdkError("INVALID_CHARGE", `the charge point of ticket ${keys.index} is not T + cost and penalty`);
    if (!verifyChargeSignature(provider.context, receipt.charge, receipt.signature, provider.providerKey)) {
        throw new SdkError("INVALID_CHARGE", `the provider's signature on the charge of ticket ${keys.index} does not verify`);
    }
    return { cost: receipt.cost, penalty: receipt.penalty, signature: receipt.signature };
}

/**
 * Checks the gateway's answer to a fold: it names our fold nullifier and our new base (else the
 * provider claims another base for the same fold: PROVIDER_FAULT), and the base signature
 * verifies under the registry's context (else INVALID_FOLD_ANSWER).
 */
export function verifyFoldAnswer(answer: FoldAnswer, fold: InFlightFold, provider: ProviderTerms): void {
    if (answer.foldNullifier !== fold.foldNullifier) throw new SdkError("INVALID_FOLD_ANSWER", `the fold answer is for another fold than base ${fold.from}`);
    if (!samePoint(answer.newBase, fold.newBase)) {
        throw new SdkError("PROVIDER_FAULT", `the gateway answered the fold of base ${fold.from} with another new base than the one proved`);
    }
    if (!verifyBaseSignature(provider.context, answer.newBase, answer.signature, provider.providerKey)) {
        throw new SdkError("INVALID_FOLD_ANSWER", `the provider's base signature on base ${fold.newState.folded} does not verify`);
    }
}
