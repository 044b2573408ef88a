import type * as O200kBase from "gpt-tokenizer/cjs/encoding/o200k_base";

/**
 * Token counting where an upstream reports no usage (a broken stream, a server that omits
 * it) and for the worst-case estimate of a prompt. The encoding is o200k_base (GPT-4o and
 * later) from `gpt-tokenizer`, whose ranks ship inside the npm package: nothing is
 * downloaded. Other model families tokenize differently (Llama, Claude: typically within
 * ±30%), so a count is an estimate; the SDK must count with the same encoding to check a
 * charge made from counted usage.
 */
export const TOKENIZER_ENCODING = "o200k_base";

let encoding: typeof O200kBase | undefined;

/** Loaded on first use (about 0.3 s): importing the gateway does not pay for it. */
function o200k(): typeof O200kBase {
    encoding ??= require("gpt-tokenizer/cjs/encoding/o200k_base") as typeof O200kBase;
    return encoding;
}

/**
 * Loads the encoding now: a gateway does so before it serves, so that its first paid request
 * (or, worse, one in the middle of a burst) does not wait for it.
 */
export function loadTokenizer(): void {
    o200k();
}

/** Special-token strings (`<|endoftext|>`) in user text are ordinary text, never an error. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/** The number of o200k_base tokens of `text`. */
export function countTokens(text: string): number {
    return text.length === 0 ? 0 : o200k().countTokens(text, PLAIN_TEXT);
}

/**
 * An upper bound on the tokens of `text` that costs nothing to compute: its UTF-8 length.
 * Every byte-level BPE token stands for at least one byte.
 */
export function tokenUpperBound(text: string): number {
    return Buffer.byteLength(text, "utf8");
}

/** Tokens a chat prompt spends per message beyond its text (role, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens a chat prompt spends once (the assistant's priming). */
export const REQUEST_OVERHEAD_TOKENS = 3;
/**
 * The allowance for one image in a prompt. Upstreams resize images, so an image costs a
 * bounded number of tokens (OpenAI: at most about 1,100 to 2,500 depending on the model;
 * Anthropic: about 1,600). Any other attachment (a PDF, audio) is counted as its text.
 */
export const IMAGE_TOKENS = 2_500;

/** The prompt of a request as the gateway estimates it. */
export interface PromptParts {
    /** Text counted with the tokenizer (joined with newlines). */
    readonly text: string;
    /** Tokens added without counting: message overheads, images, pre-tokenised input. */
    readonly fixedTokens: number;
}

/** The tokenizer's estimate of a prompt. */
export function countPromptTokens(prompt: PromptParts): number {
    return countTokens(prompt.text) + prompt.fixedTokens;
}

/** A bound on a prompt's tokens that needs no tokenizer (see {@link tokenUpperBound}). */
export function promptTokenUpperBound(prompt: PromptParts): number {
    return tokenUpperBound(prompt.text) + prompt.fixedTokens;
}
