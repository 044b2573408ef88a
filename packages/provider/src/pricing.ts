/** Token usage of a chat completion, as OpenAI-compatible APIs report it. */
export interface ChatUsage {
    readonly promptTokens: number;
    readonly completionTokens: number;
}

/** What the gateway knows of a served request when it prices it. */
export interface ServedRequest {
    readonly method: string;
    readonly path: string;
    readonly status: number;
    readonly usage?: ChatUsage;
}

/** Prices a served request in token units; the gateway caps the result at maxCost. */
export type PriceFunction = (served: ServedRequest) => bigint;

/**
 * Per-token pricing for chat: prompt and completion tokens at their own prices, plus a
 * fixed fee per request. Requests without usage pay the fixed fee only.
 */
export function perTokenPrice(prices: { readonly perRequest: bigint; readonly perPromptToken: bigint; readonly perCompletionToken: bigint }): PriceFunction {
    return (served) => {
        const usage = served.usage;
        if (usage === undefined) return prices.perRequest;
        return prices.perRequest + BigInt(usage.promptTokens) * prices.perPromptToken + BigInt(usage.completionTokens) * prices.perCompletionToken;
    };
}
