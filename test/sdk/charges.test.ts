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
import { gridChargeCheck, parsePublishedPricing, SdkError, TicketKeyring, verifyCharge, verifyFoldAnswer } from "@zk-api-credits/sdk";
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

    describe("# price grid", function () {
        it("Should dispute a charge off the published grid (a unique tiny amount tags a request)", async function () {
            const pricing = parsePublishedPricing({ version: 1, decimals: 18, grid: "100000000000000", maxCost: "50000000000000000" })!;
            expect(pricing).to.deep.equal({ grid: 10n ** 14n, maxCost: 5n * 10n ** 16n });
            const check = gridChargeCheck(pricing);
            const exchange = { request: { method: "POST", path: "/v1/chat/completions", headers: {}, body: "" }, status: 200 };
            await check({ index: 1n, cost: 3n * 10n ** 14n, penalty: 0n, signature: { R8: [0n, 1n], S: 0n } }, exchange);
            let error: unknown;
            try {
                await check({ index: 2n, cost: 3n * 10n ** 14n + 7n, penalty: 0n, signature: { R8: [0n, 1n], S: 0n } }, exchange);
            } catch (e) {
                error = e;
            }
            expect(error).to.be.instanceOf(SdkError).with.property("code", "INVALID_CHARGE");
            expect(parsePublishedPricing({ maxCost: "5" })).to.equal(undefined);
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
