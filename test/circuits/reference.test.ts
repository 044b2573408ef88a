import { createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { addPoint, Base8, inCurve, mulPointEscalar } from "@zk-kit/baby-jubjub";
import { derivePublicKey as zkKitPublicKey, signMessage as zkKitSign, verifySignature as zkKitVerify } from "@zk-kit/eddsa-poseidon";
import { LeanIMT } from "@zk-kit/lean-imt";
import { poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6 } from "poseidon-lite";
import {
    AMOUNT_BITS,
    BABYJUB_SUBORDER,
    baseBlinding,
    baseMessage,
    BLINDING_BITS,
    BPS_DENOMINATOR,
    canSpend,
    chargeMessage,
    chargePoint,
    commitAccount,
    commitBase,
    commitTicket,
    committedValue,
    COMMITTED_VALUE_BITS,
    domainTag,
    EdDSAPoseidonSigner,
    ephemeralKeyBinding,
    FOLD_SIZE,
    foldBase,
    foldNullifier,
    GENESIS_BASE,
    GENESIS_CHECKPOINT,
    HIGH_SHIFT,
    Identity,
    INDEX_BITS,
    isSafePublicKey,
    hasSafeRequestKeyEncoding,
    isSafeRequestKey,
    MAX_AMOUNT,
    MAX_INDEX,
    MID_SHIFT,
    nextCheckpoint,
    openTicketLimit,
    packAccounting,
    packRegistryTerms,
    poseidon,
    poseidonBackend,
    POSEIDON_LITE,
    randomScalar,
    recoverSecret,
    registryContext,
    RegistryTree,
    requestKeyBytes,
    RequestKey,
    requestMessageBytes,
    requestSigner,
    reserveOf,
    rlnShare,
    slotNullifiersHash,
    SNARK_SCALAR_FIELD,
    spendableOf,
    STATE_GENERATORS,
    TAGS,
    ticketBlinding,
    ticketNullifier,
    TICKET_WINDOW,
    TREE_DEPTH,
    usePoseidonBackend,
    verifyBaseSignature,
    verifyChargeSignature,
    verifyRequestSignature,
    verifySignature
} from "@zk-api-credits/protocol";
import { requestSignatureValid, useWasmPoseidon, WASM_POSEIDON } from "@zk-api-credits/provider";
import type { BaseState, Point } from "@zk-api-credits/protocol";
import { loadConfig } from "../../scripts/circuits/config";
import { DEFAULT_TERMS, TestProvider } from "../helpers/scenario";
import { baseState, forgedSignature, randomBelow, smallOrderPoints } from "./support/fixtures";

const ROOT = path.resolve(__dirname, "../..");
const IDENTITY_POINT: Point<bigint> = [0n, 1n];

/** zk-kit's affine arithmetic: the reference the fast (noble) arithmetic is checked against. */
const affineCommitment = (value: bigint, idc: bigint, blinding: bigint): Point<bigint> => {
    const { G, H, J } = STATE_GENERATORS;
    const term = (base: Point<bigint>, k: bigint): Point<bigint> => (k % BABYJUB_SUBORDER === 0n ? IDENTITY_POINT : mulPointEscalar(base, k % BABYJUB_SUBORDER));
    return addPoint(addPoint(term(G, value), term(J, idc)), term(H, blinding));
};

// The TypeScript reference of protocol v2: constants shared with the circuits, domain tags,
// the commitments and their homomorphism, provider signatures (domain-separated, bound to the
// registry's context, refusing small-order keys), the per-index derivations, RLN, solvency,
// the registry tree and the withdrawal encodings.
describe("Protocol reference (TypeScript, v2)", function () {
    describe("# constants shared with the circuits", function () {
        const circom = readFileSync(path.join(ROOT, "circuits/lib/constants.circom"), "utf8");
        const constant = (name: string): bigint => {
            const found = new RegExp(`function ${name}\\(\\) \\{ return (\\d+); \\}`).exec(circom);
            if (found === null) throw new Error(`constants.circom has no ${name}`);
            return BigInt(found[1]!);
        };
        const point = (name: string): bigint[] => {
            const body = new RegExp(`function ${name}\\(\\) \\{\\s*return \\[\\s*(\\d+),\\s*(\\d+)\\s*\\];`).exec(circom)!;
            return [BigInt(body[1]!), BigInt(body[2]!)];
        };
        const instance = (name: string): string => readFileSync(path.join(ROOT, "circuits/instances", `${name}.circom`), "utf8");

        it("Should use the widths, generators and tags of circuits/lib/constants.circom", function () {
            expect(constant("AMOUNT_BITS")).to.equal(BigInt(AMOUNT_BITS));
            expect(constant("INDEX_BITS")).to.equal(BigInt(INDEX_BITS));
            expect(constant("BLINDING_BITS")).to.equal(BigInt(BLINDING_BITS));
            expect(constant("COMMITTED_VALUE_BITS")).to.equal(BigInt(COMMITTED_VALUE_BITS));
            expect(constant("BPS_DENOMINATOR")).to.equal(BPS_DENOMINATOR);
            expect(constant("BASE_SIGNATURE_TAG")).to.equal(TAGS.base);
            expect(constant("CHARGE_SIGNATURE_TAG")).to.equal(TAGS.charge);
            expect(constant("FOLD_NULLIFIER_TAG")).to.equal(TAGS.fold);
            expect(point("STATE_GENERATOR_G")).to.deep.equal(STATE_GENERATORS.G);
            expect(point("STATE_GENERATOR_H")).to.deep.equal(STATE_GENERATORS.H);
            expect(point("STATE_GENERATOR_J")).to.deep.equal(STATE_GENERATORS.J);
        });

        it("Should label each tag of constants.circom with the string it encodes", function () {
            const labelled = [...circom.matchAll(/\/\/ "([^"]+)"\nfunction (\w+)\(\) \{ return (\d+); \}/g)];
            expect(labelled.map((m) => m[2])).to.deep.equal(["BASE_SIGNATURE_TAG", "CHARGE_SIGNATURE_TAG", "FOLD_NULLIFIER_TAG"]);
            for (const [, label, name, value] of labelled) expect(domainTag(label!), name).to.equal(BigInt(value!));
        });

        it("Should build the instances with TREE_DEPTH, TICKET_WINDOW and FOLD_SIZE, and name them after their parameters", function () {
            expect(instance("spend-32")).to.match(new RegExp(`component main \\{public \\[x\\]\\} = Spend\\(${TREE_DEPTH}, ${TICKET_WINDOW}\\);`));
            expect(instance("fold-2")).to.match(new RegExp(`component main = Fold\\(${FOLD_SIZE}\\);`));
            expect(instance("withdraw-2-8")).to.match(new RegExp(`component main \\{public \\[recipient\\]\\} = Withdraw\\(${FOLD_SIZE}, ${TICKET_WINDOW}\\);`));
            expect(instance("slash")).to.match(/component main \{public \[receiverBinding\]\} = Slash\(\);/);
            expect([TREE_DEPTH, TICKET_WINDOW, FOLD_SIZE]).to.deep.equal([32, 8, 2]);
            expect(loadConfig().circuits.map((c) => [c.name, c.publicSignals.length])).to.deep.equal([
                [`spend-${TREE_DEPTH}`, 7],
                [`fold-${FOLD_SIZE}`, 4],
                [`withdraw-${FOLD_SIZE}-${TICKET_WINDOW}`, 6],
                ["slash", 2]
            ]);
        });

        it("Should size the committed value to fit below l, and the blinding range to cover l", function () {
            expect(2 * AMOUNT_BITS + INDEX_BITS).to.equal(COMMITTED_VALUE_BITS);
            expect([MID_SHIFT, HIGH_SHIFT]).to.deep.equal([BigInt(INDEX_BITS), BigInt(INDEX_BITS + AMOUNT_BITS)]);
            expect(1n << BigInt(COMMITTED_VALUE_BITS) < BABYJUB_SUBORDER).to.equal(true);
            expect(BABYJUB_SUBORDER < 1n << BigInt(BLINDING_BITS)).to.equal(true);
            expect([MAX_AMOUNT, MAX_INDEX]).to.deep.equal([(1n << 96n) - 1n, (1n << 48n) - 1n]);
        });
    });

    describe("# domain tags", function () {
        it("Should read a label's UTF-8 bytes as a big-endian integer, at most 31 bytes", function () {
            expect(domainTag("ab")).to.equal(0x6162n);
            expect(domainTag("é")).to.equal(0xc3a9n);
            expect(TAGS.base).to.equal(BigInt(`0x${Buffer.from("zk-api-credits/v2/base").toString("hex")}`));
            expect(domainTag("x".repeat(31))).to.equal(BigInt(`0x${"78".repeat(31)}`));
            expect(() => domainTag("x".repeat(32))).to.throw(RangeError);
        });

        it("Should give seven distinct tags, each a field element below 2^248, with the spec's labels", function () {
            const labels = {
                base: "zk-api-credits/v2/base",
                charge: "zk-api-credits/v2/charge",
                fold: "zk-api-credits/v2/fold",
                requestKey: "zk-api-credits/v2/request-key",
                ticketBlinding: "zk-api-credits/v2/ticket-rand",
                baseBlinding: "zk-api-credits/v2/base-rand",
                lookup: "zk-api-credits/v2/lookup"
            };
            expect(Object.keys(TAGS)).to.have.members(Object.keys(labels));
            for (const [name, label] of Object.entries(labels)) expect(TAGS[name as keyof typeof TAGS], name).to.equal(domainTag(label));
            expect(new Set(Object.values(TAGS)).size).to.equal(7);
            for (const tag of Object.values(TAGS)) expect(tag < 1n << 248n && tag < SNARK_SCALAR_FIELD).to.equal(true);
        });
    });

    describe("# generators G, H, J", function () {
        it("Should be circomlib's Pedersen-hash bases 0, 1 and 2", function () {
            const pedersen = readFileSync(path.join(ROOT, "node_modules/circomlib/circuits/pedersen.circom"), "utf8");
            const bases = [...pedersen.matchAll(/\[\s*(\d{20,}),\s*(\d{20,})\s*\]/g)].map((m) => [BigInt(m[1]!), BigInt(m[2]!)]);
            expect(bases.slice(0, 3)).to.deep.equal([STATE_GENERATORS.G, STATE_GENERATORS.H, STATE_GENERATORS.J]);
        });

        it("Should lie on Baby Jubjub, have prime order l and differ from each other", function () {
            const { G, H, J } = STATE_GENERATORS;
            for (const generator of [G, H, J]) {
                expect(inCurve(generator)).to.equal(true);
                expect(generator).to.not.deep.equal(IDENTITY_POINT);
                expect(mulPointEscalar(generator, BABYJUB_SUBORDER)).to.deep.equal(IDENTITY_POINT);
                expect(mulPointEscalar(generator, 8n)).to.not.deep.equal(IDENTITY_POINT);
            }
            expect(new Set([G[0], H[0], J[0]]).size).to.equal(3);
            expect(new Set([G[0], H[0], J[0], Base8[0]]).size).to.equal(4);
        });
    });

    describe("# commitments", function () {
        const identity = new Identity();

        it("Should pack v = high·2^144 + mid·2^48 + low and check the ranges", function () {
            expect(committedValue(1_000n, 20n, 4n)).to.equal(1_000n * 2n ** 144n + 20n * 2n ** 48n + 4n);
            expect(committedValue(MAX_AMOUNT, MAX_AMOUNT, MAX_INDEX)).to.equal((1n << 240n) - 1n);
            expect(() => committedValue(0n, 0n, MAX_INDEX + 1n)).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => committedValue(0n, MAX_AMOUNT + 1n, 0n)).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => committedValue(MAX_AMOUNT + 1n, 0n, 0n)).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => commitAccount(0n, 0n, 0n, identity.commitment, 1n << 251n)).to.throw("VALUE_OUT_OF_RANGE");
        });

        it("Should commit exactly as zk-kit's affine arithmetic does (random and extreme values)", function () {
            const values: [bigint, bigint, bigint, bigint][] = [
                [0n, 0n, 0n, 0n],
                [MAX_AMOUNT, MAX_AMOUNT, MAX_INDEX, (1n << 251n) - 1n],
                [0n, 0n, 1n, BABYJUB_SUBORDER],
                [1n, 0n, 0n, BABYJUB_SUBORDER - 1n]
            ];
            for (let i = 0; i < 6; i++) values.push([randomBelow(1n << 96n), randomBelow(1n << 96n), randomBelow(1n << 48n), randomScalar()]);
            for (const [high, mid, low, blinding] of values) {
                const idc = new Identity().commitment;
                expect(commitAccount(high, mid, low, idc, blinding)).to.deep.equal(affineCommitment(committedValue(high, mid, low), idc, blinding));
            }
        });

        it("Should let the provider charge a ticket homomorphically: T_i + (cost·2^144 + penalty·2^48)·G = Com(cost, penalty, i; ρ_i)", function () {
            for (let i = 0; i < 6; i++) {
                const index = randomBelow(1n << 48n);
                const blinding = randomScalar();
                const [cost, penalty] = [randomBelow(1n << 96n), randomBelow(1n << 96n)];
                const ticket = commitTicket(index, identity.commitment, blinding);
                expect(chargePoint(ticket, cost, penalty)).to.deep.equal(commitAccount(cost, penalty, index, identity.commitment, blinding));
                expect(chargePoint(ticket, cost, penalty)).to.deep.equal(addPoint(ticket, mulPointEscalar(STATE_GENERATORS.G, committedValue(cost, penalty, 0n))));
            }
            const ticket = commitTicket(3n, identity.commitment, 5n);
            expect(chargePoint(ticket, 0n, 0n)).to.deep.equal(ticket);
            expect(() => chargePoint([1n, 2n], 1n, 0n)).to.throw("INVALID_POINT");
        });

        it("Should bind the identity: Com(v; r) for two identities differs by (idc − idc')·J", function () {
            const base = baseState(1_000n, 20n, 4n);
            const blinding = randomScalar();
            expect(commitBase(base, identity.commitment, blinding)).to.not.deep.equal(commitBase(base, new Identity().commitment, blinding));
            const difference = addPoint(commitBase(base, 5n, blinding), mulPointEscalar(STATE_GENERATORS.J, BABYJUB_SUBORDER - 3n));
            expect(difference).to.deep.equal(commitBase(base, 2n, blinding));
        });

        it("Should fold charges into the totals and the count, and refuse totals of 2^96", function () {
            const charges = [{ cost: 10n, penalty: 0n }, { cost: 20n, penalty: 500n }];
            expect(foldBase(baseState(1n, 2n, 4n), charges)).to.deep.equal(baseState(31n, 502n, 6n));
            expect(foldBase(GENESIS_BASE, [])).to.deep.equal(GENESIS_BASE);
            expect(() => foldBase(baseState(MAX_AMOUNT, 0n, 2n), [{ cost: 1n, penalty: 0n }])).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => foldBase(baseState(0n, 0n, MAX_INDEX), [{ cost: 0n, penalty: 0n }])).to.throw("VALUE_OUT_OF_RANGE");
        });
    });

    describe("# provider signatures", function () {
        const provider = new TestProvider();
        const context = registryContext(provider.binding());
        const commitment = commitBase(baseState(1n, 0n, 2n), new Identity().commitment, randomScalar());

        it("Should sign exactly as @zk-kit/eddsa-poseidon and verify the same signatures", function () {
            for (let i = 0; i < 8; i++) {
                const key = i % 2 === 0 ? randomBytes(32) : `0x${randomBytes(32).toString("hex")}`;
                const message = BigInt(`0x${randomBytes(31).toString("hex")}`);
                const ours = new EdDSAPoseidonSigner(key).signMessage(message);
                const reference = zkKitSign(key, message);
                expect(ours).to.deep.equal({ R8: [reference.R8[0], reference.R8[1]], S: reference.S });
                expect(new EdDSAPoseidonSigner(key).publicKey).to.deep.equal(zkKitPublicKey(key));
                expect(zkKitVerify(message, ours, zkKitPublicKey(key))).to.equal(true);
                expect(verifySignature(message, reference, zkKitPublicKey(key))).to.equal(true);
                expect(verifySignature(message + 1n, reference, zkKitPublicKey(key))).to.equal(false);
                expect(verifySignature(message, { ...reference, S: reference.S + 1n }, zkKitPublicKey(key))).to.equal(false);
                expect(verifySignature(message, { ...reference, S: reference.S + BABYJUB_SUBORDER }, zkKitPublicKey(key))).to.equal(false);
            }
        });

        it("Should sign Poseidon(TAG, context, C.x, C.y) and keep base and charge signatures apart", function () {
            expect(baseMessage(context, commitment)).to.equal(poseidon4([TAGS.base, context, commitment[0], commitment[1]]));
            expect(chargeMessage(context, commitment)).to.equal(poseidon4([TAGS.charge, context, commitment[0], commitment[1]]));
            const base = provider.signer.signBase(context, commitment);
            const charge = provider.signer.signCharge(context, commitment);
            expect(verifyBaseSignature(context, commitment, base, provider.publicKey)).to.equal(true);
            expect(verifyChargeSignature(context, commitment, charge, provider.publicKey)).to.equal(true);
            expect(verifyChargeSignature(context, commitment, base, provider.publicKey)).to.equal(false);
            expect(verifyBaseSignature(context, commitment, charge, provider.publicKey)).to.equal(false);
        });

        it("Should bind the registry's context: a signature for registry A is not valid for registry B (same key)", function () {
            const elsewhere = registryContext(provider.binding(DEFAULT_TERMS, 1n));
            const otherTerms = registryContext(provider.binding({ ...DEFAULT_TERMS, reserveBps: 0n }));
            const signature = provider.signer.signBase(context, commitment);
            for (const other of [elsewhere, otherTerms]) {
                expect(verifyBaseSignature(other, commitment, signature, provider.publicKey)).to.equal(false);
                expect(verifyBaseSignature(other, commitment, provider.signer.signBase(other, commitment), provider.publicKey)).to.equal(true);
            }
            expect(verifyBaseSignature(context, commitment, signature, new TestProvider().publicKey)).to.equal(false);
            expect(verifyBaseSignature(context, [1n, 2n], signature, provider.publicKey)).to.equal(false);
            expect(verifyBaseSignature(context + SNARK_SCALAR_FIELD, commitment, signature, provider.publicKey)).to.equal(false);
        });

        it("Should refuse small-order keys (order 1, 2, 4, 8), under which anyone signs anything (issue 10, item 8)", function () {
            const keys = { order1: IDENTITY_POINT, ...smallOrderPoints() };
            const message = baseMessage(context, commitment);
            for (const [name, key] of Object.entries(keys)) {
                expect(inCurve(key), name).to.equal(true);
                expect(mulPointEscalar(key, 8n), name).to.deep.equal(IDENTITY_POINT);
                expect(isSafePublicKey(key), name).to.equal(false);
                const forged = forgedSignature();
                // The forgery satisfies circomlib's equation S·B8 = R8 + h·8·A, and zk-kit's verifier accepts it...
                expect(mulPointEscalar(Base8, forged.S)).to.deep.equal(addPoint(forged.R8, mulPointEscalar(key, 8n * 12_345n)));
                expect(zkKitVerify(message, forged, key), name).to.equal(true);
                // ... ours refuses the key.
                expect(verifySignature(message, forged, key), name).to.equal(false);
                expect(verifyBaseSignature(context, commitment, forged, key), name).to.equal(false);
                expect(verifyChargeSignature(context, commitment, forged, key), name).to.equal(false);
            }
        });

        it("Should accept real keys (also with a small-order component: 8·A' = 8·A) and refuse off-curve or non-canonical ones", function () {
            const { order4 } = smallOrderPoints();
            expect(isSafePublicKey(provider.publicKey)).to.equal(true);
            expect(isSafePublicKey(addPoint(provider.publicKey, order4))).to.equal(true);
            expect(isSafePublicKey([1n, 2n])).to.equal(false);
            expect(isSafePublicKey([provider.publicKey[0] + SNARK_SCALAR_FIELD, provider.publicKey[1]])).to.equal(false);
        });
    });

    describe("# per-index derivations (deterministic in k)", function () {
        const identity = new Identity();
        const scope = 12_345n;

        it("Should derive ρ_i and r_f as Poseidon(TAG, k, scope, n) mod l, apart from each other", function () {
            expect(ticketBlinding(identity.secret, scope, 3n)).to.equal(poseidon4([TAGS.ticketBlinding, identity.secret, scope, 3n]) % BABYJUB_SUBORDER);
            expect(baseBlinding(identity.secret, scope, 4n)).to.equal(poseidon4([TAGS.baseBlinding, identity.secret, scope, 4n]) % BABYJUB_SUBORDER);
            const all = new Set<bigint>();
            for (let n = 0n; n < 16n; n++) {
                for (const value of [ticketBlinding(identity.secret, scope, n), baseBlinding(identity.secret, scope, n), ticketBlinding(identity.secret, scope + 1n, n)]) {
                    expect(value < BABYJUB_SUBORDER).to.equal(true);
                    all.add(value);
                }
            }
            expect(all.size).to.equal(48);
            expect(ticketBlinding(new Identity(identity.secret).secret, scope, 3n)).to.equal(ticketBlinding(identity.secret, scope, 3n));
        });

        it("Should derive the request key of ticket i from Poseidon(TAG_REQUEST_KEY, k, scope, i) (32 bytes, big-endian), and x from it", function () {
            const bytes = requestKeyBytes(identity.secret, scope, 7n);
            expect(bytes).to.have.length(32);
            expect(BigInt(`0x${Buffer.from(bytes).toString("hex")}`)).to.equal(poseidon4([TAGS.requestKey, identity.secret, scope, 7n]));
            const signer = requestSigner(identity.secret, scope, 7n);
            expect(signer.publicKey).to.deep.equal(new RequestKey(bytes).publicKey);
            const key = BigInt(`0x${Buffer.from(signer.publicKey).toString("hex")}`);
            expect(ephemeralKeyBinding(signer.publicKey)).to.equal(poseidon2([key >> 128n, key & ((1n << 128n) - 1n)]));
            expect(requestSigner(identity.secret, scope, 8n).publicKey).to.not.deep.equal(signer.publicKey);
            expect(requestSigner(identity.secret, scope, 7n).publicKey).to.deep.equal(signer.publicKey);
        });
    });

    describe("# request keys (Ed25519)", function () {
        /** Node's own Ed25519 key for a 32-byte seed (PKCS#8, RFC 8410), to compare with. */
        const nodeKey = (seed: Uint8Array) => createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
        const nodePublicKey = (seed: Uint8Array): Uint8Array => Buffer.from(createPublicKey(nodeKey(seed)).export({ format: "jwk" }).x!, "base64url");
        /** The eight points of small order (the torsion subgroup of Edwards25519), as encoded. */
        const SMALL_ORDER_KEYS = [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"
        ].map((hex) => Uint8Array.from(Buffer.from(hex, "hex")));
        const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
        const le32 = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, "0"), "hex").reverse();

        it("Should make the same keys and signatures as Node's Ed25519 (RFC 8032), over the field element's 32 big-endian bytes", function () {
            for (let i = 0; i < 8; i++) {
                const seed = randomBytes(32);
                const key = new RequestKey(seed);
                expect(Buffer.from(key.publicKey).equals(Buffer.from(nodePublicKey(seed)))).to.equal(true);
                const message = BigInt(`0x${randomBytes(31).toString("hex")}`);
                const bytes = requestMessageBytes(message);
                expect(BigInt(`0x${Buffer.from(bytes).toString("hex")}`)).to.equal(message);
                const signature = key.signMessage(message);
                expect(Buffer.from(signature).equals(nodeSign(null, bytes, nodeKey(seed)))).to.equal(true);
                expect(requestSignatureValid(message, signature, key.publicKey)).to.equal(true);
                expect(verifyRequestSignature(message, signature, key.publicKey)).to.equal(true);
                expect(requestSignatureValid(message + 1n, signature, key.publicKey)).to.equal(false);
                expect(verifyRequestSignature(message + 1n, signature, key.publicKey)).to.equal(false);
                expect(requestSignatureValid(message, signature, new RequestKey(randomBytes(32)).publicKey)).to.equal(false);
            }
            expect(() => new RequestKey(new Uint8Array(31))).to.throw(RangeError);
            expect(() => requestMessageBytes(SNARK_SCALAR_FIELD)).to.throw();
        });

        it("Should refuse S + l (a second encoding of the same signature), flipped bits and wrong lengths", function () {
            const key = new RequestKey(randomBytes(32));
            const message = 1234567n;
            const signature = key.signMessage(message);
            const S = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString("hex")}`);
            const malleated = Buffer.concat([signature.subarray(0, 32), le32(S + ORDER)]);
            expect(requestSignatureValid(message, malleated, key.publicKey)).to.equal(false);
            expect(verifyRequestSignature(message, malleated, key.publicKey)).to.equal(false);
            for (let bit = 0; bit < 512; bit += 37) {
                const flipped = Uint8Array.from(signature);
                flipped[bit >> 3]! ^= 1 << (bit & 7);
                expect(requestSignatureValid(message, flipped, key.publicKey)).to.equal(false);
            }
            expect(requestSignatureValid(message, signature.subarray(0, 63), key.publicKey)).to.equal(false);
            expect(requestSignatureValid(message, signature, key.publicKey.subarray(0, 31))).to.equal(false);
        });

        it("Should refuse small-order keys, under which Node's check alone accepts a forged signature of any message", function () {
            // A = the neutral element, R = the neutral element, S = 0: S·B = R + h·A for every message.
            const forged = Buffer.concat([Buffer.from(SMALL_ORDER_KEYS[0]!), Buffer.alloc(32)]);
            const spki = (key: Uint8Array) => ({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), key]), format: "der" as const, type: "spki" as const });
            for (const message of [1n, 2n, 99999n]) {
                expect(nodeVerify(null, requestMessageBytes(message), spki(SMALL_ORDER_KEYS[0]!), forged)).to.equal(true);
                expect(requestSignatureValid(message, forged, SMALL_ORDER_KEYS[0]!)).to.equal(false);
                expect(verifyRequestSignature(message, forged, SMALL_ORDER_KEYS[0]!)).to.equal(false);
            }
            for (const key of SMALL_ORDER_KEYS) expect(isSafeRequestKey(key)).to.equal(false);
            expect(isSafeRequestKey(new RequestKey(randomBytes(32)).publicKey)).to.equal(true);
        });

        it("Should refuse with the gateway's cheaper key check (encoding, then OpenSSL's decoding) exactly the keys isSafeRequestKey refuses", function () {
            const P = 2n ** 255n - 19n;
            const pow = (base: bigint, exponent: bigint): bigint => {
                let result = 1n;
                for (let b = base % P, e = exponent; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) result = (result * b) % P;
                return result;
            };
            // RFC 8032 decoding, as a reference: x² = (y² − 1)/(d·y² + 1) must be a square (Euler's criterion), and x = 0 has no odd twin.
            const D = (((P - 121665n) % P) * pow(121666n, P - 2n)) % P;
            const onCurve = (key: Uint8Array): boolean => {
                const sign = key[31]! >> 7;
                const y = BigInt(`0x${Buffer.from(key).reverse().toString("hex")}`) & ((1n << 255n) - 1n);
                if (y >= P) return false;
                const x2 = (((y * y - 1n + P) % P) * pow((D * y * y + 1n) % P, P - 2n)) % P;
                if (x2 === 0n) return sign === 0;
                return pow(x2, (P - 1n) / 2n) === 1n;
            };
            const signer = new RequestKey(randomBytes(32));
            const message = 424242n;
            const signature = signer.signMessage(message);
            for (const key of SMALL_ORDER_KEYS) expect(hasSafeRequestKeyEncoding(key)).to.equal(false);
            // y = p and y = p + 1: second encodings of small-order points; y = p + 2: of an ordinary y.
            for (const y of [P, P + 1n, P + 2n]) expect(hasSafeRequestKeyEncoding(le32(y))).to.equal(false);
            const keys = [
                ...Array.from({ length: 400 }, () => Uint8Array.from(randomBytes(32))),
                ...Array.from({ length: 40 }, () => new RequestKey(randomBytes(32)).publicKey),
                le32(2n),
                le32(3n)
            ];
            let offCurve = 0;
            for (const key of keys) {
                expect(isSafeRequestKey(key), Buffer.from(key).toString("hex")).to.equal(hasSafeRequestKeyEncoding(key) && onCurve(key));
                if (hasSafeRequestKeyEncoding(key) && !onCurve(key)) {
                    offCurve++;
                    // OpenSSL decodes the key and refuses it (no exception either), whatever the signature.
                    expect(requestSignatureValid(message, signature, key)).to.equal(false);
                    expect(requestSignatureValid(message, Buffer.concat([Buffer.from(key), Buffer.alloc(32)]), key)).to.equal(false);
                }
            }
            expect(offCurve, "keys off the curve with a safe encoding were tried").to.be.greaterThan(50);
            expect(requestSignatureValid(message, signature, signer.publicKey)).to.equal(true);
        });

        it("Should refuse keys that are not the canonical encoding of a curve point, and bind every key to its own x", function () {
            // y = p + 1 (the encoding of y = 1 plus p): not canonical.
            const P = 2n ** 255n - 19n;
            expect(isSafeRequestKey(le32(P + 1n))).to.equal(false);
            // y = 2 is not the y of any point of Edwards25519 (x² = (y² − 1)/(d·y² + 1) has no root).
            expect(isSafeRequestKey(le32(2n))).to.equal(false);
            expect(isSafeRequestKey(le32(3n))).to.equal(true);
            expect(isSafeRequestKey(new Uint8Array(33))).to.equal(false);
            const xs = new Set<bigint>();
            for (let i = 0; i < 16; i++) xs.add(ephemeralKeyBinding(new RequestKey(randomBytes(32)).publicKey));
            expect(xs.size).to.equal(16);
            expect(() => ephemeralKeyBinding(new Uint8Array(31))).to.throw(RangeError);
        });
    });

    describe("# Poseidon backends", function () {
        const LITE = [poseidon1, poseidon2, poseidon3, poseidon4, poseidon5, poseidon6];
        let saved: ReturnType<typeof poseidonBackend>;
        beforeEach(() => (saved = poseidonBackend()));
        afterEach(() => usePoseidonBackend(saved));

        it("circomlibjs' WebAssembly Poseidon, which the gateway installs, is poseidon-lite bit for bit (1 to 6 inputs)", async function () {
            usePoseidonBackend(POSEIDON_LITE);
            await useWasmPoseidon();
            expect(poseidonBackend().name).to.equal(WASM_POSEIDON);
            for (let n = 1; n <= 6; n++) {
                for (let round = 0; round < 50; round++) {
                    const inputs = Array.from({ length: n }, () => randomBelow(SNARK_SCALAR_FIELD));
                    expect(poseidon(inputs)).to.equal(LITE[n - 1]!(inputs));
                }
            }
            // The checks before any backend stay: non-canonical inputs and arities the circuits never use.
            expect(() => poseidon([SNARK_SCALAR_FIELD])).to.throw(/poseidon input 0/);
            expect(() => poseidon([1n, 2n, 3n, 4n, 5n, 6n, 7n])).to.throw(RangeError);
        });

        it("refuses a backend that disagrees with poseidon-lite on any known answer, and keeps the one in use", function () {
            usePoseidonBackend(POSEIDON_LITE);
            // Right everywhere but at the top of the field with six inputs.
            const top = SNARK_SCALAR_FIELD - 1n;
            const subtlyWrong = { name: "subtly wrong", hash: (inputs: bigint[]) => POSEIDON_LITE.hash(inputs) + (inputs.length === 6 && inputs[0] === top ? 1n : 0n) };
            expect(() => usePoseidonBackend(subtlyWrong)).to.throw(/subtly wrong disagrees with poseidon-lite on 6 input/);
            const reduced = { name: "reduces mod 2^253", hash: (inputs: bigint[]) => POSEIDON_LITE.hash(inputs.map((v) => v % (1n << 253n))) };
            expect(() => usePoseidonBackend(reduced)).to.throw(/reduces mod 2\^253 disagrees/);
            expect(poseidonBackend()).to.equal(POSEIDON_LITE);
            expect(poseidon([1n, 2n])).to.equal(poseidon2([1n, 2n]));
        });
    });

    describe("# RLN and nullifiers", function () {
        it("Should recover the secret from any two shares of one ticket and refuse equal x", function () {
            for (let i = 0; i < 12; i++) {
                const identity = new Identity();
                const scope = BigInt(i + 1);
                const first = rlnShare(identity.secret, scope, BigInt(i), BigInt(1000 + i));
                const second = rlnShare(identity.secret, scope, BigInt(i), BigInt(7 ** (i + 2)));
                expect(first.nullifier).to.equal(second.nullifier);
                expect(recoverSecret(first, second)).to.equal(identity.secret);
            }
            const share = rlnShare(1n, 2n, 3n, 4n);
            expect(() => recoverSecret(share, share)).to.throw("INVALID_SHARES");
        });

        it("Should define a_i = Poseidon(k, scope, i), N_i = Poseidon(a_i), F_f = Poseidon(TAG_FOLD, k, scope, f), all distinct", function () {
            const identity = new Identity();
            const { slope, nullifier } = ticketNullifier(identity.secret, 9n, 4n);
            expect(slope).to.equal(poseidon3([identity.secret, 9n, 4n]));
            expect(nullifier).to.equal(poseidon1([slope]));
            expect(foldNullifier(identity.secret, 9n, 4n)).to.equal(poseidon4([TAGS.fold, identity.secret, 9n, 4n]));
            const values = new Set<bigint>();
            for (let n = 0n; n < 10n; n++) {
                const ticket = ticketNullifier(identity.secret, 9n, n);
                values.add(ticket.slope).add(ticket.nullifier).add(foldNullifier(identity.secret, 9n, n));
            }
            expect(values.size).to.equal(30);
        });
    });

    describe("# solvency", function () {
        it("Should define canSpend as the Spend circuit does, and openTicketLimit as the number of tickets it allows", function () {
            for (let run = 0; run < 200; run++) {
                const terms = { maxCost: 1n + randomBelow(2_000n), policyPenalty: randomBelow(1_000n), reserveBps: randomBelow(10_001n) };
                const deposit = randomBelow(50_000n);
                const folded = randomBelow(100n);
                const spendable = spendableOf(deposit, terms.reserveBps);
                const total = randomBelow(spendable + 2n);
                const base: BaseState = folded === 0n ? GENESIS_BASE : baseState(total - total / 3n, total / 3n, folded);
                let allowed = 0;
                for (let offset = -2n; offset < BigInt(TICKET_WINDOW) + 2n; offset++) {
                    const index = folded + offset;
                    if (index < 0n) continue;
                    const expected =
                        offset >= 0n && offset < BigInt(TICKET_WINDOW) && base.spent + base.burned + (offset + 1n) * (terms.maxCost + terms.policyPenalty) <= spendable;
                    expect(canSpend(base, index, deposit, terms), `run ${run}, offset ${offset}`).to.equal(expected);
                    if (expected) allowed++;
                }
                expect(openTicketLimit(base, deposit, terms)).to.equal(allowed);
            }
        });

        it("Should round the reserve down", function () {
            expect(reserveOf(123_457n, 1_000n)).to.equal(12_345n);
            expect(spendableOf(123_457n, 1_000n)).to.equal(111_112n);
            expect(reserveOf(MAX_AMOUNT, 10_000n)).to.equal(MAX_AMOUNT);
            expect(spendableOf(MAX_AMOUNT, 0n)).to.equal(MAX_AMOUNT);
        });
    });

    describe("# registry", function () {
        it("Should pack terms injectively, check their ranges and change the context with each part", function () {
            expect(packRegistryTerms({ maxCost: 1n, policyPenalty: 2n, reserveBps: 3n })).to.equal(1n + 2n * 2n ** 96n + 3n * 2n ** 192n);
            expect(() => packRegistryTerms({ ...DEFAULT_TERMS, reserveBps: 10_001n })).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => packRegistryTerms({ ...DEFAULT_TERMS, maxCost: 1n << 96n })).to.throw("VALUE_OUT_OF_RANGE");
            expect(() => packRegistryTerms({ ...DEFAULT_TERMS, policyPenalty: 1n << 96n })).to.throw("VALUE_OUT_OF_RANGE");
            const provider = new TestProvider();
            const binding = provider.binding();
            const context = registryContext(binding);
            expect(context).to.equal(poseidon4([binding.scope, binding.providerKey[0], binding.providerKey[1], packRegistryTerms(binding.terms)]));
            const variants = [
                provider.binding({ ...DEFAULT_TERMS, maxCost: 1_001n }),
                provider.binding({ ...DEFAULT_TERMS, policyPenalty: 501n }),
                provider.binding({ ...DEFAULT_TERMS, reserveBps: 1_001n }),
                provider.binding(DEFAULT_TERMS, 1n),
                new TestProvider().binding()
            ];
            expect(new Set([context, ...variants.map(registryContext)]).size).to.equal(6);
        });

        it("Should build the same tree as zk-kit's LeanIMT and pad proofs to the circuit depth (32)", function () {
            const tree = new RegistryTree();
            const reference = new LeanIMT<bigint>((a, b) => poseidon2([a, b]));
            for (let i = 0; i < 37; i++) {
                const idc = new Identity().commitment;
                tree.insert(idc, BigInt(i + 1));
                reference.insert(poseidon2([idc, BigInt(i + 1)]));
                expect(tree.root).to.equal(reference.root);
            }
            const proof = tree.merkleProof(17, TREE_DEPTH);
            expect(proof.siblings).to.have.length(TREE_DEPTH);
            expect(proof.depth).to.equal(reference.generateProof(17).siblings.length);
            expect(proof.siblings.slice(proof.depth).every((s) => s === 0n)).to.equal(true);
            expect(() => tree.merkleProof(17, 3)).to.throw("TREE_TOO_DEEP");
            expect(() => tree.merkleProof(17, TREE_DEPTH + 1)).to.throw("TREE_TOO_DEEP");
        });

        it("Should remove a leaf by zeroing it (as zk-kit's update to 0), and keep the other proofs valid", function () {
            const tree = new RegistryTree();
            const reference = new LeanIMT<bigint>((a, b) => poseidon2([a, b]));
            const members = Array.from({ length: 9 }, (_, i) => ({ identityCommitment: new Identity().commitment, deposit: BigInt(100 + i) }));
            tree.insertMany(members);
            reference.insertMany(members.map((m) => poseidon2([m.identityCommitment, m.deposit])));
            for (const index of [0, 4, 8]) {
                tree.remove(index);
                reference.update(index, 0n);
                expect(tree.root).to.equal(reference.root);
                expect(tree.leaf(index)).to.equal(0n);
            }
            const root = tree.root;
            tree.remove(4);
            expect(tree.root).to.equal(root);
            expect(tree.merkleProof(5, TREE_DEPTH).root).to.equal(tree.root);
            expect(tree.indexOf(members[5]!.identityCommitment, members[5]!.deposit)).to.equal(5);
            expect(() => tree.indexOf(members[4]!.identityCommitment, members[4]!.deposit)).to.throw("LEAF_NOT_FOUND");
        });

        it("Should chain checkpoints over (idc, deposit) from the zero hash", function () {
            const first = nextCheckpoint(GENESIS_CHECKPOINT, 1n, 2n);
            expect(first).to.match(/^0x[0-9a-f]{64}$/);
            expect(nextCheckpoint(first, 3n, 4n)).to.not.equal(nextCheckpoint(GENESIS_CHECKPOINT, 3n, 4n));
            expect(nextCheckpoint(GENESIS_CHECKPOINT, 1n, 3n)).to.not.equal(first);
        });
    });

    describe("# withdrawal encodings", function () {
        it("Should pack accounting = spent + burned·2^96 + mask·2^192", function () {
            expect(packAccounting(1n, 2n, 3)).to.equal(1n + 2n * 2n ** 96n + 3n * 2n ** 192n);
            expect(packAccounting(MAX_AMOUNT, MAX_AMOUNT, 255) < SNARK_SCALAR_FIELD).to.equal(true);
        });

        it("Should hash the disclosed nullifiers as Poseidon(Poseidon(n0..n3), Poseidon(n4..n7))", function () {
            const disclosed = Array.from({ length: 8 }, (_, i) => (i % 3 === 0 ? 0n : BigInt(i) * 1_000_003n));
            expect(slotNullifiersHash(disclosed)).to.equal(poseidon2([poseidon4(disclosed.slice(0, 4)), poseidon4(disclosed.slice(4))]));
            expect(() => slotNullifiersHash(disclosed.slice(0, 6))).to.throw(RangeError);
            expect(() => slotNullifiersHash([])).to.throw(RangeError);
        });
    });
});
