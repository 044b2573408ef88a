import { expect } from "chai";
import { randomBytes } from "node:crypto";
import {
    chargePoint,
    commitBase,
    EdDSAPoseidonSigner,
    Identity,
    registryContext,
    registryScope,
    ticketNullifier
} from "@zk-api-credits/protocol";
import type { ChargeReceipt, RegistryBinding, RegistryTerms } from "@zk-api-credits/protocol";
import { PriceTable, TOKENIZER_ENCODING } from "@zk-api-credits/metering";
import { parsePublishedPricing, publishedPriceCheck, SdkError, TicketKeyring, verifyCharge, verifyFoldAnswer } from "@zk-api-credits/sdk";
import type { InFlightFold, ProviderTerms } from "@zk-api-credits/sdk";

const TERMS: RegistryTerms = { maxCost: 1_000n, policyPenalty: 500n, reserveBps: 1_000n };
const REGISTRY_A = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const REGISTRY_B = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

function setup(registry = REGISTRY_A, signer = new EdDSAPoseidonSigner(randomBytes(32))): { provider: ProviderTerms; binding: RegistryBinding; signer: EdDSAPoseidonSigner } {
    const binding: RegistryBinding = { scope: registryScope(31337n, registry), providerKey: signer.publicKey, terms: TERMS };
    return { binding, signer, provider: { context: registryContext(binding), providerKey: signer.publicKey, terms: TERMS } };
}

function expectCode(run: () => unknown, code: string): void {
    let error: unknown;
    try {
        run();
    } catch (e) {
        error = e;
    }
    expect(error, `expected ${code}`).to.be.instanceOf(SdkError).with.property("code", code);
}

describe("SDK charge checks", function () {
    const identity = new Identity();
    const { provider, binding, signer } = setup();
    const keyring = new TicketKeyring(identity, binding.scope);

    function receipt(index: bigint, cost: bigint, penalty: bigint, changes: Partial<ChargeReceipt> = {}, context = provider.context): ChargeReceipt {
        const keys = keyring.keys(index);
        const charge = chargePoint(keys.ticketCommitment, cost, penalty);
        return { version: 2, nullifier: keys.nullifier, cost, penalty, charge, signature: signer.signCharge(context, charge), ...changes };
    }

    it("Should derive every per-index value deterministically from the identity (another process gets the same)", function () {
        const other = new TicketKeyring(new Identity(identity.secret), binding.scope);
        for (const index of [0n, 1n, 7n, 1000n]) {
            const a = keyring.keys(index);
            const b = other.keys(index);
            expect([a.x, a.blinding, a.nullifier, ...a.ticketCommitment, ...a.ephemeralKey]).to.deep.equal([b.x, b.blinding, b.nullifier, ...b.ticketCommitment, ...b.ephemeralKey]);
            expect(a.nullifier).to.equal(ticketNullifier(identity.secret, binding.scope, index).nullifier);
        }
        expect(keyring.keys(0n).x).to.not.equal(keyring.keys(1n).x);
    });

    it("Should accept a charge the provider signed for this ticket, with cost ≤ maxCost and penalty 0 or policyPenalty", function () {
        expect(verifyCharge(receipt(3n, 250n, 0n), keyring.keys(3n), provider)).to.include({ cost: 250n, penalty: 0n });
        expect(verifyCharge(receipt(3n, 0n, 500n), keyring.keys(3n), provider)).to.include({ cost: 0n, penalty: 500n });
        expect(verifyCharge(receipt(3n, 1_000n, 0n), keyring.keys(3n), provider)).to.include({ cost: 1_000n });
    });

    it("Should refuse a charge above maxCost (it could not be folded)", function () {
        expectCode(() => verifyCharge(receipt(3n, 1_001n, 0n), keyring.keys(3n), provider), "INVALID_CHARGE");
    });

    it("Should refuse a penalty other than 0 or policyPenalty", function () {
        expectCode(() => verifyCharge(receipt(3n, 10n, 499n), keyring.keys(3n), provider), "INVALID_CHARGE");
    });

    it("Should refuse a charge point that is not T_i plus the stated amounts (a tag hidden in the point)", function () {
        const keys = keyring.keys(3n);
        const hidden = chargePoint(keys.ticketCommitment, 11n, 0n);
        expectCode(() => verifyCharge(receipt(3n, 10n, 0n, { charge: hidden, signature: signer.signCharge(provider.context, hidden) }), keys, provider), "INVALID_CHARGE");
    });

    it("Should refuse another ticket's charge", function () {
        expectCode(() => verifyCharge(receipt(4n, 10n, 0n), keyring.keys(3n), provider), "INVALID_CHARGE");
    });

    it("Should refuse a charge signed for another registry with the same provider key (context binding)", function () {
        const other = setup(REGISTRY_B, signer);
        expectCode(() => verifyCharge(receipt(3n, 10n, 0n, {}, other.provider.context), keyring.keys(3n), provider), "INVALID_CHARGE");
    });

    it("Should refuse a charge signed by another key, or a base signature used as a charge signature", function () {
        const keys = keyring.keys(3n);
        const point = chargePoint(keys.ticketCommitment, 10n, 0n);
        const stranger = new EdDSAPoseidonSigner(randomBytes(32));
        expectCode(() => verifyCharge(receipt(3n, 10n, 0n, { signature: stranger.signCharge(provider.context, point) }), keys, provider), "INVALID_CHARGE");
        expectCode(() => verifyCharge(receipt(3n, 10n, 0n, { signature: signer.signBase(provider.context, point) }), keys, provider), "INVALID_CHARGE");
    });

    describe("# published prices", function () {
        const unsigned = { R8: [0n, 1n] as [bigint, bigint], S: 0n };
        const GRID_TERMS = { maxCost: 5n * 10n ** 16n, policyPenalty: 10n ** 17n };
        const table = PriceTable.parse({ grid: "0.0001", models: { "test-model": { input: "10", output: "20" } } }, { decimals: 18, ...GRID_TERMS });
        const view = table.view();
        const request = (body: Record<string, unknown>) => ({ method: "POST", path: "/v1/chat/completions", headers: {}, body: Buffer.from(JSON.stringify(body)).toString("base64") });
        const asked = request({ model: "test-model", max_tokens: 1_000, messages: [{ role: "user", content: "hello" }] });
        const answer = (usage?: Record<string, number>) => ({
            kind: "body" as const,
            body: Buffer.from(JSON.stringify({ choices: [{ index: 0, message: { role: "assistant", content: "hi there" } }], ...(usage ? { usage } : {}) }))
        });
        async function disputed(check: ReturnType<typeof publishedPriceCheck>, cost: bigint, exchange: Parameters<ReturnType<typeof publishedPriceCheck>>[1]): Promise<string | undefined> {
            try {
                await check({ index: 1n, cost, penalty: 0n, signature: unsigned }, exchange);
                return undefined;
            } catch (error) {
                expect(error).to.be.instanceOf(SdkError).with.property("code", "INVALID_CHARGE");
                return (error as Error).message;
            }
        }

        it("Should dispute a charge off the published grid (a unique tiny amount tags a request)", async function () {
            const pricing = parsePublishedPricing({ version: 1, decimals: 18, grid: "100000000000000", maxCost: "50000000000000000" })!;
            expect(pricing.grid).to.equal(10n ** 14n);
            expect(pricing.table).to.equal(undefined);
            const check = publishedPriceCheck(pricing);
            const exchange = { request: { method: "POST", path: "/v1/chat/completions", headers: {}, body: "" }, status: 200 };
            expect(await disputed(check, 3n * 10n ** 14n, exchange)).to.equal(undefined);
            expect(await disputed(check, 3n * 10n ** 14n + 7n, exchange)).to.match(/off the published price grid/);
            expect(parsePublishedPricing({ maxCost: "5" })).to.equal(undefined);
        });

        it("Should rebuild the published table, and refuse one whose terms or tokenizer are not the registry's and the client's", function () {
            const pricing = parsePublishedPricing(view, GRID_TERMS)!;
            expect(pricing.table!.view()).to.deep.equal(view);
            expect(parsePublishedPricing(view, { ...GRID_TERMS, maxCost: 6n * 10n ** 16n })!.tableError).to.match(/not the registry's/);
            expect(parsePublishedPricing({ ...view, tokenizer: "cl100k_base" }, GRID_TERMS)!.tableError).to.match(/counts with "cl100k_base", not o200k_base/);
            expect(view.tokenizer).to.equal(TOKENIZER_ENCODING);
            expect(parsePublishedPricing({ ...view, models: [{ model: "m", inputPerMillion: "123", outputPerMillion: "0", maxOutputTokens: 10 }] }, GRID_TERMS)!.tableError).to.match(/not a multiple of the grid/);
        });

        it("Should recompute a charge from the usage the answer reports, and dispute one a grid step off either way", async function () {
            const check = publishedPriceCheck(parsePublishedPricing(view, GRID_TERMS)!);
            // 1,000 input tokens at 10 and 500 output at 20 per million: 0.02 tokens, 200 grid steps.
            const exchange = { request: asked, status: 200, answer: answer({ prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500 }) };
            const price = 2n * 10n ** 16n;
            expect(await disputed(check, price, exchange)).to.equal(undefined);
            expect(await disputed(check, price + 10n ** 14n, exchange)).to.match(/charged 20100000000000000, but the published prices give 20000000000000000 .*1000 input and 500 output tokens, as the answer reports them/);
            expect(await disputed(check, price - 10n ** 14n, exchange)).to.match(/published prices give 20000000000000000/);
        });

        it("Should count with the published tokenizer what the answer does not report, and expect nothing for a failed answer", async function () {
            const check = publishedPriceCheck(parsePublishedPricing(view, GRID_TERMS)!);
            const unreported = { request: asked, status: 200, answer: answer() };
            const message = await disputed(check, 0n, unreported);
            expect(message).to.match(/counted where the answer reports none/);
            const counted = BigInt(/give (\d+)/.exec(message!)![1]!);
            expect(counted).to.be.greaterThan(0n);
            expect(await disputed(check, counted, unreported)).to.equal(undefined);
            expect(await disputed(check, 0n, { request: asked, status: 502, answer: answer({ prompt_tokens: 10, completion_tokens: 10 }) })).to.equal(undefined);
            expect(await disputed(check, 10n ** 14n, { request: asked, status: 502, answer: answer() })).to.match(/give 0/);
        });

        it("Should dispute a charge for a model the published prices do not list, and leave other paths to the grid check", async function () {
            const check = publishedPriceCheck(parsePublishedPricing(view, GRID_TERMS)!);
            const other = request({ model: "unlisted", messages: [{ role: "user", content: "hello" }] });
            expect(await disputed(check, 10n ** 14n, { request: other, status: 200, answer: answer({ prompt_tokens: 1, completion_tokens: 1 }) })).to.match(/do not list/);
            const custom = { method: "POST", path: "/custom/paid", headers: {}, body: "" };
            expect(await disputed(check, 10n ** 14n, { request: custom, status: 200, answer: answer() })).to.equal(undefined);
        });
    });

    describe("# fold answers", function () {
        const newState = { spent: 300n, burned: 0n, folded: 2n };
        const newBase = commitBase(newState, identity.commitment, keyring.baseBlinding(2n));
        const fold: InFlightFold = { from: 0n, newState, newBase, foldNullifier: keyring.foldNullifier(0n), proof: [] };

        it("Should accept the provider's base signature on the new base the client proved", function () {
            verifyFoldAnswer({ version: 2, foldNullifier: fold.foldNullifier, newBase, signature: signer.signBase(provider.context, newBase) }, fold, provider);
        });

        it("Should report a provider fault when the gateway answers with another new base", function () {
            const other = commitBase({ ...newState, spent: 301n }, identity.commitment, keyring.baseBlinding(2n));
            expectCode(() => verifyFoldAnswer({ version: 2, foldNullifier: fold.foldNullifier, newBase: other, signature: signer.signBase(provider.context, other) }, fold, provider), "PROVIDER_FAULT");
        });

        it("Should refuse a base signature of another registry, or a charge signature on the base", function () {
            const other = setup(REGISTRY_B, signer);
            expectCode(() => verifyFoldAnswer({ version: 2, foldNullifier: fold.foldNullifier, newBase, signature: signer.signBase(other.provider.context, newBase) }, fold, provider), "INVALID_FOLD_ANSWER");
            expectCode(() => verifyFoldAnswer({ version: 2, foldNullifier: fold.foldNullifier, newBase, signature: signer.signCharge(provider.context, newBase) }, fold, provider), "INVALID_FOLD_ANSWER");
        });
    });
});
