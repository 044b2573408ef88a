import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { parseUnits } from "ethers";
import fc from "fast-check";
import { countPromptTokens, defaultGrid, MAX_GRID_STEPS, paidRoute, PriceTable, PriceTableError, tokenCost } from "../../packages/provider/src/api";
import type { ApiRequest, PaidRouteId, PricingTerms } from "../../packages/provider/src/api";

const units = (tokens: string, decimals = 18): bigint => parseUnits(tokens, decimals);
/** The local deployment's terms (deploy/parameters/local.json): maxCost 0.05, penalty 0.1 tokens. */
const TERMS: PricingTerms = { decimals: 18, maxCost: units("0.05"), policyPenalty: units("0.1") };

const TABLE = {
    decimals: 18,
    grid: "0.0001",
    models: {
        "gpt-test": { input: "10", output: "40", maxOutputTokens: 8192 },
        "cheap-embed": { input: "0.02", output: "0" }
    },
    default: { input: "1", output: "2" }
};

const table = (): PriceTable => PriceTable.parse(TABLE, TERMS);
const request = (id: PaidRouteId, body: unknown): ApiRequest => paidRoute(id).parse(Buffer.from(JSON.stringify(body)));

function refused(fn: () => unknown, words: RegExp): void {
    expect(fn).to.throw(PriceTableError, words);
}

// Prices per model on a coarse grid, the published charge formula, and the worst-case check
// that stops a request from being served beyond maxCost.
describe("API pricing", function () {
    describe("# the price file", function () {
        it("Should read prices in tokens per million, with the token's decimals", function () {
            const prices = table();
            expect(prices.grid).to.equal(units("0.0001"));
            expect(prices.priceOf("gpt-test")).to.deep.equal({ inputPerMillion: units("10"), outputPerMillion: units("40"), maxOutputTokens: 8192 });
            expect(prices.priceOf("cheap-embed")?.inputPerMillion).to.equal(units("0.02"));
            expect(prices.priceOf("anything-else")).to.deep.equal({ inputPerMillion: units("1"), outputPerMillion: units("2"), maxOutputTokens: 4096 });
        });

        it("Should respect a 6-decimal token", function () {
            const usdc = PriceTable.parse({ grid: "0.0001", models: { m: { input: "0.15", output: "0.6" } } }, { decimals: 6, maxCost: 50_000n, policyPenalty: 0n });
            expect(usdc.priceOf("m")?.inputPerMillion).to.equal(150_000n);
            refused(() => PriceTable.parse({ grid: "0.0000001", models: { m: { input: "1", output: "1" } } }, { decimals: 6, maxCost: 50_000n, policyPenalty: 0n }), /more decimals than the token/);
        });

        it("Should load the file given to provider start --pricing", function () {
            const file = path.join(mkdtempSync(path.join(os.tmpdir(), "zkapi-pricing-")), "pricing.json");
            writeFileSync(file, JSON.stringify(TABLE));
            expect(PriceTable.load(file, TERMS).view()).to.deep.equal(table().view());
            refused(() => PriceTable.load(`${file}.missing`, TERMS), /cannot read/);
            writeFileSync(file, "{ prices: 1 }");
            refused(() => PriceTable.load(file, TERMS), /not JSON/);
        });

        it("Should refuse a price that is not on the grid", function () {
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: "0.15001", output: "1" } } }, TERMS), /models\.m\.input 0\.15001 is not a multiple of the grid 0\.0001/);
            refused(() => PriceTable.parse({ ...TABLE, default: { input: "1", output: "2.00005" } }, TERMS), /default\.output/);
        });

        it("Should refuse a grid that is too fine or does not divide maxCost", function () {
            refused(() => PriceTable.parse({ ...TABLE, grid: "0.000001" }, TERMS), /too fine: at most 10000 steps/);
            refused(() => PriceTable.parse({ ...TABLE, grid: "0.03" }, TERMS), /maxCost 0\.05 is not a multiple of the grid 0\.03/);
            refused(() => PriceTable.parse({ ...TABLE, grid: "0" }, TERMS), /grid must be positive/);
            expect(MAX_GRID_STEPS).to.equal(10_000n);
        });

        it("Should refuse a table written for other decimals, unknown fields, bad amounts, no model", function () {
            refused(() => PriceTable.parse({ ...TABLE, decimals: 6 }, TERMS), /written for 6 decimals but the token has 18/);
            refused(() => PriceTable.parse({ ...TABLE, gird: "0.0001" }, TERMS), /unknown field\(s\) gird/);
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: "1", output: "1", maxTokens: 5 } } }, TERMS), /unknown field\(s\) maxTokens/);
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: 1, output: "1" } } }, TERMS), /decimal string/);
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: "-1", output: "1" } } }, TERMS), /decimal string/);
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: "1e3", output: "1" } } }, TERMS), /decimal string/);
            refused(() => PriceTable.parse({ ...TABLE, models: { m: { input: "1", output: "1", maxOutputTokens: 0 } } }, TERMS), /maxOutputTokens/);
            refused(() => PriceTable.parse({ grid: "0.0001" }, TERMS), /prices no model/);
        });

        it("Should default the grid to a power of ten with at least 100 steps", function () {
            expect(defaultGrid(units("0.05"))).to.equal(units("0.0001"));
            expect(defaultGrid(50_000n)).to.equal(100n);
            expect(PriceTable.uniform(TERMS, "10", "20").grid).to.equal(units("0.0001"));
        });

        it("Should publish a view for GET /zkapi/v1/pricing", function () {
            const view = table().view();
            expect(view).to.deep.include({
                version: 1,
                decimals: 18,
                grid: units("0.0001").toString(),
                maxCost: units("0.05").toString(),
                policyPenalty: units("0.1").toString(),
                tokenizer: "o200k_base"
            });
            expect(view.models).to.deep.equal([
                { model: "cheap-embed", inputPerMillion: units("0.02").toString(), outputPerMillion: "0", maxOutputTokens: 4096 },
                { model: "gpt-test", inputPerMillion: units("10").toString(), outputPerMillion: units("40").toString(), maxOutputTokens: 8192 }
            ]);
            expect(view.default).to.deep.equal({ inputPerMillion: units("1").toString(), outputPerMillion: units("2").toString(), maxOutputTokens: 4096 });
            expect(JSON.parse(JSON.stringify(view))).to.deep.equal(view);
        });
    });

    describe("# charges", function () {
        it("Should price usage and round every charge up to a grid step", function () {
            const prices = table();
            // 1,000 in at 10/M = 0.01, 500 out at 40/M = 0.02: exactly 0.03.
            expect(prices.charge("gpt-test", { inputTokens: 1000, outputTokens: 500 })).to.equal(units("0.03"));
            // One token at 10/M = 0.00001: rounded up to one step of 0.0001.
            expect(prices.charge("gpt-test", { inputTokens: 1, outputTokens: 0 })).to.equal(units("0.0001"));
            // 0.01001 rounds up to 0.0101.
            expect(prices.charge("gpt-test", { inputTokens: 1001, outputTokens: 0 })).to.equal(units("0.0101"));
            expect(prices.charge("gpt-test", { inputTokens: 0, outputTokens: 0 })).to.equal(0n);
            expect(prices.charge("unlisted", { inputTokens: 1_000_000, outputTokens: 0 })).to.equal(units("0.05"));
        });

        it("Should cap a charge at maxCost", function () {
            expect(table().charge("gpt-test", { inputTokens: 1_000_000, outputTokens: 1_000_000 })).to.equal(TERMS.maxCost);
        });

        it("Should answer no charge for a model it does not price", function () {
            const listed = PriceTable.parse({ grid: "0.0001", models: { only: { input: "1", output: "1" } } }, TERMS);
            expect(listed.charge("other", { inputTokens: 1, outputTokens: 1 })).to.equal(undefined);
        });

        it("Should make many usages share one charge: no unique tiny amounts", function () {
            const prices = table();
            // Every request of up to 10 prompt tokens and no output costs the same single step.
            const charges = new Set(Array.from({ length: 10 }, (_, i) => prices.charge("gpt-test", { inputTokens: i + 1, outputTokens: 0 })));
            expect([...charges]).to.deep.equal([units("0.0001")]);
        });

        it("Should keep every charge on the grid, at or above the exact price and less than a step above it", function () {
            const prices = table();
            const price = prices.priceOf("gpt-test")!;
            fc.assert(
                fc.property(fc.nat(5_000_000), fc.nat(5_000_000), (inputTokens, outputTokens) => {
                    const cost = tokenCost(price, { inputTokens, outputTokens }, prices.grid);
                    const exactTimesMillion = BigInt(inputTokens) * price.inputPerMillion + BigInt(outputTokens) * price.outputPerMillion;
                    expect(cost % prices.grid).to.equal(0n);
                    expect(cost * 1_000_000n >= exactTimesMillion).to.equal(true);
                    expect((cost - prices.grid) * 1_000_000n < exactTimesMillion).to.equal(true);
                    const charge = prices.charge("gpt-test", { inputTokens, outputTokens })!;
                    expect(charge).to.equal(cost > TERMS.maxCost ? TERMS.maxCost : cost);
                }),
                { numRuns: 500 }
            );
        });
    });

    describe("# worst case against maxCost", function () {
        it("Should refuse a 1 MB prompt with max_tokens 100000 (issue 11: it was served and charged 0.05)", function () {
            const prompt = "The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil((1 << 20) / 45)).slice(0, 1 << 20);
            const big = request("openai.chat", { model: "gpt-test", max_tokens: 100_000, messages: [{ role: "user", content: prompt }] });
            const fit = table().fit(big);
            expect(fit.kind).to.equal("refuse");
            if (fit.kind !== "refuse") return;
            expect(fit.code).to.equal("WORST_CASE_EXCEEDS_MAX_COST");
            expect(fit.message).to.match(/costs more than maxCost 0\.05/);
            // Its worst case at list price: the prompt and 100,000 output tokens.
            const worst = table().charge("gpt-test", { inputTokens: countPromptTokens(big.prompt), outputTokens: 100_000 });
            expect(worst).to.equal(TERMS.maxCost); // capped: the true worst case is far above it
            const uncapped = tokenCost(table().priceOf("gpt-test")!, { inputTokens: countPromptTokens(big.prompt), outputTokens: 100_000 }, table().grid);
            expect(uncapped > units("5")).to.equal(true);
        });

        it("Should cap max_tokens to what maxCost pays when the prompt fits", function () {
            const small = request("openai.chat", { model: "gpt-test", max_tokens: 100_000, messages: [{ role: "user", content: "Write a long story." }] });
            const promptTokens = countPromptTokens(small.prompt);
            const fit = table().fit(small);
            // (0.05·10⁶ − prompt·10) / 40 output tokens, in base units.
            const expected = Number((units("0.05") * 1_000_000n - BigInt(promptTokens) * units("10")) / units("40"));
            expect(fit).to.deep.equal({ kind: "cap", maxOutputTokens: expected, worstCost: TERMS.maxCost });
            const capped = paidRoute("openai.chat").withMaxOutputTokens(small, expected);
            expect(table().fit(capped).kind).to.equal("ok");
            // One more token would not fit.
            const over = paidRoute("openai.chat").withMaxOutputTokens(small, expected + 1);
            expect(table().fit(over).kind).to.equal("cap");
        });

        it("Should refuse instead of capping when the policy says so", function () {
            const small = request("anthropic.messages", { model: "gpt-test", max_tokens: 100_000, messages: [{ role: "user", content: "Hi" }] });
            const fit = table().fit(small, "refuse");
            expect(fit.kind).to.equal("refuse");
            if (fit.kind === "refuse") {
                expect(fit.code).to.equal("WORST_CASE_EXCEEDS_MAX_COST");
                expect(fit.message).to.match(/ask for at most \d+/);
            }
        });

        it("Should accept a request whose worst case fits, without tokenizing a prompt that fits by its length", function () {
            const fine = request("openai.chat", { model: "gpt-test", max_tokens: 100, messages: [{ role: "user", content: "Hello" }] });
            const fit = table().fit(fine);
            expect(fit.kind).to.equal("ok");
            if (fit.kind === "ok") expect(fit.worstCost <= TERMS.maxCost).to.equal(true);
        });

        it("Should set a limit on a request that names none: the model's maxOutputTokens, bounded by maxCost", function () {
            const unbounded = request("openai.chat", { model: "gpt-test", messages: [{ role: "user", content: "Hi" }] });
            const fit = table().fit(unbounded);
            expect(fit.kind).to.equal("cap");
            if (fit.kind === "cap") expect(fit.maxOutputTokens).to.be.lessThan(8192).and.greaterThan(1000);
            // A cheap model: its own maxOutputTokens is the bound.
            const cheap = PriceTable.parse({ grid: "0.0001", models: { c: { input: "0.1", output: "0.2", maxOutputTokens: 2048 } } }, TERMS);
            expect(cheap.fit(request("ollama.chat", { model: "c", messages: [{ role: "user", content: "Hi" }] }))).to.deep.include({ kind: "cap", maxOutputTokens: 2048 });
        });

        it("Should write the completions default of 16 tokens explicitly", function () {
            const completion = request("openai.completions", { model: "gpt-test", prompt: "Say hi" });
            expect(table().fit(completion)).to.deep.include({ kind: "cap", maxOutputTokens: 16 });
        });

        it("Should multiply the output limit by the number of choices", function () {
            const one = table().fit(request("openai.chat", { model: "gpt-test", messages: [{ role: "user", content: "Hi" }] }));
            const four = table().fit(request("openai.chat", { model: "gpt-test", n: 4, messages: [{ role: "user", content: "Hi" }] }));
            expect(one.kind).to.equal("cap");
            expect(four.kind).to.equal("cap");
            if (one.kind === "cap" && four.kind === "cap") expect(four.maxOutputTokens).to.be.closeTo(one.maxOutputTokens / 4, 1);
            expect(table().fit(request("openai.chat", { model: "gpt-test", n: 4, max_tokens: 400, messages: [{ role: "user", content: "Hi" }] })).kind).to.equal("cap");
            expect(table().fit(request("openai.chat", { model: "gpt-test", n: 1, max_tokens: 400, messages: [{ role: "user", content: "Hi" }] })).kind).to.equal("ok");
        });

        it("Should price embeddings by their input alone", function () {
            expect(table().fit(request("openai.embeddings", { model: "cheap-embed", input: "x ".repeat(100_000) })).kind).to.equal("ok");
            const costly = table().fit(request("openai.embeddings", { model: "gpt-test", input: "word ".repeat(10_000) }));
            expect(costly).to.deep.include({ kind: "refuse", code: "WORST_CASE_EXCEEDS_MAX_COST" });
        });

        it("Should refuse a model it does not price", function () {
            const listed = PriceTable.parse({ grid: "0.0001", models: { only: { input: "1", output: "1" } } }, TERMS);
            expect(listed.fit(request("openai.chat", { model: "other", messages: [{ role: "user", content: "Hi" }] }))).to.deep.include({ kind: "refuse", code: "MODEL_NOT_PRICED" });
        });
    });
});
