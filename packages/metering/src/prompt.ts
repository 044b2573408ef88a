import { IMAGE_TOKENS } from "./tokenizer";
import type { PromptParts } from "./tokenizer";
import type { JsonObject, JsonValue } from "./json";

/** Says whether a JSON object inside a prompt is an image (counted as {@link IMAGE_TOKENS}). */
export type ImageTest = (object: JsonObject) => boolean;

/**
 * Gathers the prompt text of some parts of a request body: every string value anywhere
 * inside them (message text, tool definitions and arguments, schemas, system prompts), except
 * images, which `isImage` recognises and which count as a fixed allowance, and numbers in
 * arrays (token arrays of `/v1/completions` and `/v1/embeddings`), one token each. Counting every
 * string over-estimates a little (roles, type tags), never under-estimates. Iterative, so a
 * deeply nested body cannot exhaust the stack.
 */
export function collectPrompt(parts: readonly (JsonValue | undefined)[], isImage: ImageTest, fixedTokens = 0): PromptParts {
    const texts: string[] = [];
    let fixed = fixedTokens;
    const pending: JsonValue[] = [];
    for (const part of parts) if (part !== undefined) pending.push(part);
    while (pending.length > 0) {
        const value = pending.pop()!;
        if (typeof value === "string") {
            if (value.length > 0) texts.push(value);
        } else if (Array.isArray(value)) {
            for (let i = value.length - 1; i >= 0; i--) {
                // A number in an array is a pre-tokenised prompt's token (one token each).
                if (typeof value[i] === "number") fixed += 1;
                else pending.push(value[i]);
            }
        } else if (value !== null && typeof value === "object") {
            if (isImage(value)) {
                fixed += IMAGE_TOKENS;
                continue;
            }
            const values = Object.values(value);
            for (let i = values.length - 1; i >= 0; i--) pending.push(values[i]);
        }
    }
    return { text: texts.join("\n"), fixedTokens: fixed };
}

/** Adds tokens to a prompt estimate. */
export function withFixedTokens(prompt: PromptParts, tokens: number): PromptParts {
    return { text: prompt.text, fixedTokens: prompt.fixedTokens + tokens };
}
