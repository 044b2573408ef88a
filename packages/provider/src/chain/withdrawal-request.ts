import type { ICreditRegistry } from "@zk-api-credits/contracts";

/** A withdrawal request as the registry stores its hash and emits it (JSON-safe: numbers as decimal strings). */
export interface WithdrawalRequestJson {
    readonly recipient: string;
    readonly spent: string;
    readonly burned: string;
    readonly declaredSlots: number;
    readonly foldNullifier: string;
    readonly slotNullifiersHash: string;
    readonly slotNullifiers: readonly string[];
}

/** The request from a WithdrawalRequested event's arguments. */
export function requestFromEvent(args: {
    recipient: string;
    spent: bigint;
    burned: bigint;
    declaredSlots: bigint;
    foldNullifier: bigint;
    slotNullifiersHash: bigint;
    slotNullifiers: readonly bigint[];
}): WithdrawalRequestJson {
    return {
        recipient: args.recipient,
        spent: args.spent.toString(),
        burned: args.burned.toString(),
        declaredSlots: Number(args.declaredSlots),
        foldNullifier: args.foldNullifier.toString(),
        slotNullifiersHash: args.slotNullifiersHash.toString(),
        slotNullifiers: args.slotNullifiers.map(String)
    };
}

/** The request as the registry's functions take it. */
export function requestStruct(request: WithdrawalRequestJson): ICreditRegistry.WithdrawalRequestStruct {
    return {
        recipient: request.recipient,
        spent: BigInt(request.spent),
        burned: BigInt(request.burned),
        declaredSlots: request.declaredSlots,
        foldNullifier: BigInt(request.foldNullifier),
        slotNullifiersHash: BigInt(request.slotNullifiersHash),
        slotNullifiers: request.slotNullifiers.map(BigInt)
    };
}

/** The pending withdrawal request of a deposit, from its WithdrawalRequested event. */
export async function pendingRequest(registry: ICreditRegistry, identityCommitment: bigint, fromBlock: number): Promise<WithdrawalRequestJson | undefined> {
    const events = await registry.queryFilter(registry.filters.WithdrawalRequested(identityCommitment), fromBlock);
    const last = events[events.length - 1];
    return last === undefined ? undefined : requestFromEvent(last.args);
}
