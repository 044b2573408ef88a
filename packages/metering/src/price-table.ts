import { readFileSync } from "node:fs";
import { formatUnits, parseUnits } from "ethers";
import { isJsonObject } from "./json";
import type { JsonObject, JsonValue } from "./json";
import { paidRoute } from "./routes";
import type { ApiRequest } from "./route";
import { countPromptTokens, promptTokenUpperBound, TOKENIZER_ENCODING } from "./tokenizer";
import type { TokenUsage } from "./usage";

/**
 * Prices per model, in token base units (the ERC-20's smallest unit) per million tokens.
 *
 * Anti-tagging: a provider that could add a unique tiny amount to each charge would read,
 * from the `spent` a withdrawal reveals, which requests were one user's. So every price and
 * `maxCost` sit on a coarse **grid** (at most {@link MAX_GRID_STEPS} steps up to `maxCost`),
 * every charge is rounded **up** to a grid step by one published formula
 * ({@link tokenCost}). The client rebuilds this table from the published document
 * ({@link PriceTable.fromView}) and recomputes every charge from the usage it saw with the same
 * code (the SDK's charge audit), refusing anything else.
 *
 * What remains: (1) the usage itself comes from the upstream the provider runs, so a provider
 * may shade the tokens an answer reports; the grid makes small shadings invisible (a charge
 * moves only when the price crosses a step), and a shading that moves the charge shows in the
 * answer the user holds; (2) the price table is published over HTTP, not on-chain: a provider
 * could show different tables to different clients, so a client must keep the table it first saw and
 * refuse a change mid-account (binding a hash of the table into the registry terms would
 * close this); (3) a request's charge still depends on its size, so very unusual sizes remain
 * distinguishable — the grid only removes the free low-order bits.
 */

/** At most this many grid steps up to `maxCost`: charges take at most this many values. */
export const MAX_GRID_STEPS = 10_000n;

/** Output tokens the gateway allows a request that names no limit, unless the table says otherwise. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4_096;

const MILLION = 1_000_000n;

/** The price of one model, in token base units per million tokens. */
export interface ModelPrice {
    readonly inputPerMillion: bigint;
    readonly outputPerMillion: bigint;
    /** Output tokens allowed when a request names no limit (also capped to what `maxCost` pays). */
    readonly maxOutputTokens: number;
}

/** The registry terms a price table lives under. */
export interface PricingTerms {
    /** The token's decimals (read from the ERC-20). */
    readonly decimals: number;
    readonly maxCost: bigint;
    readonly policyPenalty: bigint;
}

/**
 * The published charge formula: `grid · ⌈(input·inputPerMillion + output·outputPerMillion) /
 * (10⁶·grid)⌉`, i.e. the exact price rounded up to a grid step (zero usage costs zero). The
 * gateway then caps it at `maxCost`, which is itself a grid step.
 */
export function tokenCost(price: Pick<ModelPrice, "inputPerMillion" | "outputPerMillion">, usage: TokenUsage, grid: bigint): bigint {
    const exact = BigInt(usage.inputTokens) * price.inputPerMillion + BigInt(usage.outputTokens) * price.outputPerMillion;
    const step = MILLION * grid;
    return ((exact + step - 1n) / step) * grid;
}

/** A refusal of a price file, with what is wrong. */
export class PriceTableError extends Error {
    constructor(message: string) {
        super(`pricing: ${message}`);
        this.name = "PriceTableError";
    }
}

/** A decimal amount of tokens ("0.15") in base units, with no more decimals than the token has. */
function tokens(value: unknown, what: string, decimals: number): bigint {
    if (typeof value !== "string" || !/^\d{1,30}(\.\d{1,30})?$/.test(value)) {
        throw new PriceTableError(`${what} must be a decimal string of tokens like "0.15", not ${JSON.stringify(value)}`);
    }
    try {
        return parseUnits(value, decimals);
    } catch {
        throw new PriceTableError(`${what} ${value} has more decimals than the token (${decimals})`);
    }
}

function onlyKeys(object: Record<string, unknown>, keys: readonly string[], what: string): void {
    const unknown = Object.keys(object).filter((key) => !keys.includes(key));
    if (unknown.length > 0) throw new PriceTableError(`${what} has unknown field(s) ${unknown.join(", ")} (allowed: ${keys.join(", ")})`);
}

/**
 * The largest power of ten (in base units) dividing `maxCost` with at least 100 steps up to
 * it: the grid of a table that names none.
 */
export function defaultGrid(maxCost: bigint): bigint {
    let grid = 1n;
    while (maxCost % (grid * 10n) === 0n && (grid * 10n) * 100n <= maxCost) grid *= 10n;
    return grid;
}

/** The free `GET /zkapi/v2/pricing` document. Amounts are decimal strings of base units. */
export type PricingView = {
    readonly version: 1;
    readonly decimals: number;
    readonly grid: string;
    readonly maxCost: string;
    readonly policyPenalty: string;
    readonly tokenizer: string;
    readonly formula: string;
    readonly models: readonly PricingViewModel[];
    /** The price of any model not listed; null: unlisted models are refused. */
    readonly default: Omit<PricingViewModel, "model"> | null;
};

export interface PricingViewModel {
    readonly model: string;
    readonly inputPerMillion: string;
    readonly outputPerMillion: string;
    readonly maxOutputTokens: number;
}

/**
 * Why a request cannot be served within `maxCost` (4xx before it is served): the model has no
 * price, or its worst case (the prompt alone, or the prompt and one output token) costs more.
 */
export type FitRefusalCode = "MODEL_NOT_PRICED" | "WORST_CASE_EXCEEDS_MAX_COST";

/**
 * The worst-case verdict on a request: serve it as it is; serve it with its output limited to
 * `maxOutputTokens` per choice (apply `route.withMaxOutputTokens`); or refuse it.
 */
export type Fit =
    | { readonly kind: "ok"; readonly worstCost: bigint }
    | { readonly kind: "cap"; readonly maxOutputTokens: number; readonly worstCost: bigint }
    | { readonly kind: "refuse"; readonly code: FitRefusalCode; readonly message: string };

/** What to do with a request whose own output limit costs more than `maxCost` at worst. */
export type OverflowPolicy = "cap" | "refuse";

/**
 * A per-model price table on a coarse grid. Load it with {@link PriceTable.load} (the file
 * given to `provider start --pricing`), or {@link PriceTable.parse}.
 *
 * File format (prices in tokens per million tokens, decimal strings):
 * ```json
 * {
 *   "decimals": 18,
 *   "grid": "0.0001",
 *   "models": { "gpt-4o-mini": { "input": "0.15", "output": "0.6", "maxOutputTokens": 16384 } },
 *   "default": { "input": "1", "output": "2" }
 * }
 * ```
 * `decimals` is optional and, when present, must be the token's; `grid` (tokens) defaults to
 * {@link defaultGrid}; `default` prices every unlisted model (without it they are refused);
 * `maxOutputTokens` defaults to {@link DEFAULT_MAX_OUTPUT_TOKENS}.
 */
export class PriceTable {
    private constructor(
        readonly terms: PricingTerms,
        readonly grid: bigint,
        private readonly models: ReadonlyMap<string, ModelPrice>,
        readonly fallback: ModelPrice | undefined
    ) {}

    /** Reads a price file. */
    static load(file: string, terms: PricingTerms): PriceTable {
        let text: string;
        try {
            text = readFileSync(file, "utf8");
        } catch (error) {
            throw new PriceTableError(`cannot read ${file}: ${(error as Error).message}`);
        }
        let json: unknown;
        try {
            json = JSON.parse(text);
        } catch {
            throw new PriceTableError(`${file} is not JSON`);
        }
        return PriceTable.parse(json, terms);
    }

    /** Checks and builds a table from its JSON form. */
    static parse(json: unknown, terms: PricingTerms): PriceTable {
        const { decimals, maxCost } = terms;
        if (!Number.isInteger(decimals) || decimals < 0 || decimals > 36) throw new PriceTableError(`decimals ${decimals} is not a token's decimals`);
        if (maxCost <= 0n) throw new PriceTableError("maxCost must be positive");
        if (!isJsonObject(json)) throw new PriceTableError("the table must be a JSON object");
        onlyKeys(json, ["$comment", "decimals", "grid", "models", "default"], "the table");
        if (json.decimals !== undefined && json.decimals !== decimals) {
            throw new PriceTableError(`the table is written for ${String(json.decimals)} decimals but the token has ${decimals}`);
        }
        const grid = json.grid === undefined ? defaultGrid(maxCost) : tokens(json.grid, "grid", decimals);
        if (grid <= 0n) throw new PriceTableError("grid must be positive");
        if (maxCost % grid !== 0n) throw new PriceTableError(`maxCost ${formatUnits(maxCost, decimals)} is not a multiple of the grid ${formatUnits(grid, decimals)}`);
        if (maxCost / grid > MAX_GRID_STEPS) {
            throw new PriceTableError(
                `the grid ${formatUnits(grid, decimals)} is too fine: at most ${MAX_GRID_STEPS} steps up to maxCost (at least ${formatUnits(maxCost / MAX_GRID_STEPS, decimals)})`
            );
        }
        const price = (value: unknown, what: string): ModelPrice => {
            if (!isJsonObject(value)) throw new PriceTableError(`${what} must be an object with input and output prices`);
            onlyKeys(value, ["input", "output", "maxOutputTokens"], what);
            const inputPerMillion = tokens(value.input, `${what}.input`, decimals);
            const outputPerMillion = tokens(value.output, `${what}.output`, decimals);
            for (const [side, amount] of [["input", inputPerMillion], ["output", outputPerMillion]] as const) {
                if (amount % grid !== 0n) throw new PriceTableError(`${what}.${side} ${formatUnits(amount, decimals)} is not a multiple of the grid ${formatUnits(grid, decimals)}`);
                if (amount >= 1n << 96n) throw new PriceTableError(`${what}.${side} is too large`);
            }
            const maxOutputTokens = value.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
            if (typeof maxOutputTokens !== "number" || !Number.isSafeInteger(maxOutputTokens) || maxOutputTokens < 1) {
                throw new PriceTableError(`${what}.maxOutputTokens must be a positive integer`);
            }
            return { inputPerMillion, outputPerMillion, maxOutputTokens };
        };
        const models = new Map<string, ModelPrice>();
        if (json.models !== undefined) {
            if (!isJsonObject(json.models)) throw new PriceTableError("models must be an object of model name to price");
            for (const [model, value] of Object.entries(json.models)) {
                if (model.length === 0 || model.length > 256) throw new PriceTableError(`model name ${JSON.stringify(model)} must have 1 to 256 characters`);
                models.set(model, price(value, `models.${model}`));
            }
        }
        const fallback = json.default === undefined || json.default === null ? undefined : price(json.default, "default");
        if (models.size === 0 && fallback === undefined) throw new PriceTableError("the table prices no model: give models or a default");
        return new PriceTable(terms, grid, models, fallback);
    }

    /**
     * The table a gateway publishes (`GET /zkapi/v2/pricing`, {@link PriceTable.view}), checked
     * as a client must before it recomputes charges with it: amounts in base units on the
     * grid, `maxCost` and `policyPenalty` equal to the registry's (the chain is the authority,
     * not the gateway), and the tokenizer this package counts with.
     */
    static fromView(json: unknown, registry: Pick<PricingTerms, "maxCost" | "policyPenalty">): PriceTable {
        if (!isJsonObject(json)) throw new PriceTableError("the pricing document must be a JSON object");
        if (json.version !== 1) throw new PriceTableError(`pricing document version ${JSON.stringify(json.version)} is not 1`);
        const units = (value: unknown, what: string): bigint => {
            if (typeof value !== "string" || !/^[0-9]{1,40}$/.test(value)) throw new PriceTableError(`${what} must be a decimal string of base units`);
            return BigInt(value);
        };
        const decimals = json.decimals;
        if (typeof decimals !== "number" || !Number.isInteger(decimals) || decimals < 0 || decimals > 36) throw new PriceTableError("decimals is not a token's decimals");
        const maxCost = units(json.maxCost, "maxCost");
        const policyPenalty = units(json.policyPenalty, "policyPenalty");
        if (maxCost !== registry.maxCost || policyPenalty !== registry.policyPenalty) {
            throw new PriceTableError(`the published maxCost ${maxCost} and policyPenalty ${policyPenalty} are not the registry's (${registry.maxCost}, ${registry.policyPenalty})`);
        }
        if (json.tokenizer !== TOKENIZER_ENCODING) throw new PriceTableError(`the gateway counts with ${JSON.stringify(json.tokenizer)}, not ${TOKENIZER_ENCODING}`);
        const asFile = (value: JsonValue, what: string): JsonObject => {
            if (!isJsonObject(value)) throw new PriceTableError(`${what} must be an object with input and output prices`);
            const input = formatUnits(units(value.inputPerMillion, `${what}.inputPerMillion`), decimals);
            const output = formatUnits(units(value.outputPerMillion, `${what}.outputPerMillion`), decimals);
            return { input, output, maxOutputTokens: value.maxOutputTokens };
        };
        if (!Array.isArray(json.models)) throw new PriceTableError("models must be a list");
        const models: JsonObject = {};
        for (const [i, entry] of json.models.entries()) {
            if (!isJsonObject(entry) || typeof entry.model !== "string") throw new PriceTableError(`models[${i}] must name its model`);
            if (Object.prototype.hasOwnProperty.call(models, entry.model)) throw new PriceTableError(`models lists ${entry.model} twice`);
            models[entry.model] = asFile(entry, `models[${i}]`);
        }
        const file: JsonObject = { decimals, grid: formatUnits(units(json.grid, "grid"), decimals), models };
        if (json.default !== null && json.default !== undefined) file.default = asFile(json.default, "default");
        return PriceTable.parse(file, { decimals, maxCost, policyPenalty });
    }

    /** A table pricing every model alike (the demo's default when no file is given). */
    static uniform(terms: PricingTerms, input: string, output: string): PriceTable {
        return PriceTable.parse({ default: { input, output } }, terms);
    }

    /** The price of a model: its own entry, else the default; undefined: not served. */
    priceOf(model: string): ModelPrice | undefined {
        return this.models.get(model) ?? this.fallback;
    }

    /** The cost of a served request: {@link tokenCost} capped at `maxCost`. Undefined for an unpriced model. */
    charge(model: string, usage: TokenUsage): bigint | undefined {
        const price = this.priceOf(model);
        if (price === undefined) return undefined;
        const cost = tokenCost(price, usage, this.grid);
        return cost > this.terms.maxCost ? this.terms.maxCost : cost;
    }

    /**
     * Checks a request's worst case, its prompt (counted with the tokenizer) plus its output
     * limit at list price, against `maxCost` before it is served:
     * - `ok`: the request fits as it is;
     * - `cap`: serve it with `maxOutputTokens` per choice: the request names no limit (the
     *   model's `maxOutputTokens`, or the route's default, bounded by what `maxCost` pays), or
     *   its limit costs too much and `overflow` is "cap" (the default);
     * - `refuse`: the model has no price, the prompt alone costs more than `maxCost`, or not
     *   even one output token fits.
     * A prompt whose UTF-8 length already fits is not tokenized (counting costs about 0.15 s per
     * MB: call this after the ticket's proof is verified).
     */
    fit(request: ApiRequest, overflow: OverflowPolicy = "cap"): Fit {
        const price = this.priceOf(request.model);
        if (price === undefined) return { kind: "refuse", code: "MODEL_NOT_PRICED", message: `the model ${request.model} is not offered` };
        const route = paidRoute(request.routeId);
        const budget = this.terms.maxCost * MILLION;
        const outputs = BigInt(request.outputs);
        const limit = request.maxOutputTokens ?? route.defaultMaxOutputTokens;
        const worst = (promptTokens: number, maxOutput: number): bigint =>
            tokenCost(price, { inputTokens: promptTokens, outputTokens: maxOutput * request.outputs }, this.grid);

        if (request.maxOutputTokens !== undefined) {
            // The UTF-8 length bounds the prompt's tokens: if even that fits, nothing to count.
            const bound = promptTokenUpperBound(request.prompt);
            const exact = BigInt(bound) * price.inputPerMillion + outputs * BigInt(request.maxOutputTokens) * price.outputPerMillion;
            if (exact <= budget) return { kind: "ok", worstCost: worst(bound, request.maxOutputTokens) };
        }
        const promptTokens = countPromptTokens(request.prompt);
        const promptExact = BigInt(promptTokens) * price.inputPerMillion;
        const formatted = (amount: bigint): string => formatUnits(amount, this.terms.decimals);
        if (promptExact > budget) {
            return {
                kind: "refuse",
                code: "WORST_CASE_EXCEEDS_MAX_COST",
                message: `the prompt (about ${promptTokens} tokens) costs more than maxCost ${formatted(this.terms.maxCost)}`
            };
        }
        if (outputs === 0n) return { kind: "ok", worstCost: worst(promptTokens, 0) };
        // The most output tokens per choice that maxCost still pays for.
        const affordable = price.outputPerMillion === 0n ? BigInt(Number.MAX_SAFE_INTEGER) : (budget - promptExact) / (outputs * price.outputPerMillion);
        const fits = Number(affordable > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : affordable);
        if (request.maxOutputTokens !== undefined) {
            if (request.maxOutputTokens <= fits) return { kind: "ok", worstCost: worst(promptTokens, request.maxOutputTokens) };
            if (overflow === "refuse" || fits < 1) {
                return {
                    kind: "refuse",
                    code: "WORST_CASE_EXCEEDS_MAX_COST",
                    message: `the prompt and ${request.maxOutputTokens} output tokens cost more than maxCost ${formatted(this.terms.maxCost)} at worst: ask for at most ${fits}`
                };
            }
            return { kind: "cap", maxOutputTokens: fits, worstCost: worst(promptTokens, fits) };
        }
        const capTo = Math.min(fits, limit ?? price.maxOutputTokens);
        if (capTo < 1) {
            return { kind: "refuse", code: "WORST_CASE_EXCEEDS_MAX_COST", message: `the prompt leaves no output within maxCost ${formatted(this.terms.maxCost)}` };
        }
        return { kind: "cap", maxOutputTokens: capTo, worstCost: worst(promptTokens, capTo) };
    }

    /** The `GET /zkapi/v2/pricing` document. */
    view(): PricingView {
        const describe = (price: ModelPrice): Omit<PricingViewModel, "model"> => ({
            inputPerMillion: price.inputPerMillion.toString(),
            outputPerMillion: price.outputPerMillion.toString(),
            maxOutputTokens: price.maxOutputTokens
        });
        return {
            version: 1,
            decimals: this.terms.decimals,
            grid: this.grid.toString(),
            maxCost: this.terms.maxCost.toString(),
            policyPenalty: this.terms.policyPenalty.toString(),
            tokenizer: TOKENIZER_ENCODING,
            formula: "cost = min(maxCost, grid * ceil((inputTokens * inputPerMillion + outputTokens * outputPerMillion) / (1000000 * grid)))",
            models: [...this.models.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([model, price]) => ({ model, ...describe(price) })),
            default: this.fallback === undefined ? null : describe(this.fallback)
        };
    }
}
