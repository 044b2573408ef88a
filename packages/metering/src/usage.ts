/** Tokens a request consumed, as upstreams report them (or as the gateway counted them). */
export interface TokenUsage {
    /** Prompt tokens (for Anthropic: input plus cache creation plus cache read tokens). */
    readonly inputTokens: number;
    /** Generated tokens (reasoning or thinking tokens included). */
    readonly outputTokens: number;
}

/** What an upstream reported so far; a missing side is counted by the gateway. */
export interface ReportedUsage {
    readonly inputTokens?: number;
    readonly outputTokens?: number;
}

/**
 * Where metered usage came from: `upstream` (both sides reported), `counted` (neither: the
 * gateway's tokenizer counted the prompt and the relayed output), `partial` (one side each).
 */
export type UsageSource = "upstream" | "counted" | "partial";

/** Usage as the gateway prices it. */
export interface MeteredUsage extends TokenUsage {
    readonly source: UsageSource;
}
