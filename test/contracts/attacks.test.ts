import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { addPoint, Base8, inCurve, mulPointEscalar, subOrder } from "@zk-kit/baby-jubjub";
import type { Point } from "@zk-kit/baby-jubjub";
import { verifySignature as zkKitVerifySignature } from "@zk-kit/eddsa-poseidon";
import {
    baseMessage,
    commitBase,
    foldBase,
    GENESIS_BASE,
    isSafePublicKey,
    poseidon,
    registryContext,
    registryLeaf,
    SNARK_SCALAR_FIELD,
    spendInputs,
    ticketBlinding,
    TREE_DEPTH,
    verifyBaseSignature,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { ChargeAmounts, MerkleProofInput } from "@zk-api-credits/protocol";
import type { BlocklistToken } from "../../typechain-types";
import { witnessFailure } from "../helpers/circuits";
import { prover } from "../helpers/provers";
import {
    BURN_ADDRESS,
    ChallengeKind,
    deployRegistry,
    fixedIdentity,
    folding,
    register,
    registryFor,
    setLeafCount,
    settlement,
    signedBase,
    signedCharges,
    slashing,
    spending,
    Status,
    ticketX,
    treeFromEvents,
    withdrawal
} from "../helpers/registry";
import type { Member, RegistryFixture } from "../helpers/registry";

/**
 * The attacks on protocol v1 that v2 defeats (docs/protocol.md, "What changed from v1, and
 * why"), each against the deployed registry with real proofs. Each test names what v1 did.
 */

const P = SNARK_SCALAR_FIELD;
const DEPOSIT = 100_000n;
const MAX_COST = 1_000n;
/** Two requests that burned the policy penalty: spent 1000, burned 1000 after the fold. */
const PENALISED: ChargeAmounts[] = [
    { cost: 1_000n, penalty: 500n },
    { cost: 0n, penalty: 500n }
];

interface AttackFixture extends RegistryFixture {
    /** Registry B: another registry of the same provider key. */
    other: RegistryFixture;
    alice: Member;
    aliceInOther: Member;
    withheld: Member;
    cheat: Member;
}

async function attackFixture(): Promise<AttackFixture> {
    const fx = await deployRegistry();
    const other = await deployRegistry({}, fx.provider);
    const aliceIdentity = fixedIdentity("attacks/alice");
    const alice = await register(fx, fx.users[0]!, DEPOSIT, aliceIdentity);
    const aliceInOther = await register(other, fx.users[0]!, DEPOSIT, aliceIdentity);
    const withheld = await register(fx, fx.users[1]!, DEPOSIT, fixedIdentity("attacks/withheld"));
    const cheat = await register(fx, fx.users[2]!, DEPOSIT, fixedIdentity("attacks/cheat"));
    return { ...fx, other, alice, aliceInOther, withheld, cheat };
}

describe("Attacks on protocol v1 that v2 defeats", function () {
    describe("(1) a base signed for registry A is worthless in registry B of the same provider key", function () {
        it("Should bind every base signature to the registry's context: neither Spend nor Withdraw can use A's base in B", async function () {
            const fx = await loadFixture(attackFixture);
            expect(fx.other.binding.providerKey).to.deep.equal(fx.binding.providerKey);
            expect(registryContext(fx.other.binding)).to.not.equal(registryContext(fx.binding));
            // Base 2 of the same identity, signed by the same key for registry A.
            const history = foldBase(GENESIS_BASE, PENALISED);
            const inA = signedBase(fx, fx.alice, history);
            const commitment = commitBase(history, fx.alice.identity.commitment, inA.blinding);
            expect(verifyBaseSignature(registryContext(fx.binding), commitment, inA.signature!, fx.provider.publicKey)).to.equal(true);
            expect(verifyBaseSignature(registryContext(fx.other.binding), commitment, inA.signature!, fx.provider.publicKey)).to.equal(false);
            // v1 signed Poseidon(C) alone, so the signature held in both; v2 signs Poseidon(TAG_BASE, context, C).
            expect(baseMessage(registryContext(fx.binding), commitment)).to.not.equal(baseMessage(registryContext(fx.other.binding), commitment));

            const b = fx.other;
            const spend = spendInputs({
                secret: fx.alice.identity.secret,
                deposit: DEPOSIT,
                merkleProof: (await treeFromEvents(b.registry)).merkleProof(fx.aliceInOther.leafIndex, TREE_DEPTH),
                base: inA,
                index: 2n,
                ticketBlinding: ticketBlinding(fx.alice.identity.secret, b.binding.scope, 2n),
                registry: b.binding,
                x: ticketX(fx.aliceInOther, b.binding, 2n)
            });
            expect(await witnessFailure(prover("spend-32").prove(spend))).to.match(/Assert Failed/);
            const withdraw = withdrawInputs({
                secret: fx.alice.identity.secret,
                base: inA,
                charges: [],
                declared: new Array<boolean>(8).fill(false),
                registry: b.binding,
                recipient: BigInt(fx.users[0]!.address)
            });
            expect(await witnessFailure(prover("withdraw-2-8").prove(withdraw))).to.match(/Assert Failed/);

            // The control: the same base signed for B is accepted in B.
            const inB = signedBase(b, fx.aliceInOther, history);
            const made = await withdrawal(b, fx.aliceInOther, { base: inB, recipient: fx.users[0]!.address });
            await expect(b.registry.requestWithdrawal(fx.aliceInOther.identity.commitment, made.request, made.proof)).to.emit(b.registry, "WithdrawalRequested");
        });
    });

    describe("(2) a provider that withholds a charge cannot take the deposit", function () {
        it("Should let the user declare the unanswered ticket: the provider's challenge with its Spend proof fails, the user pays exactly maxCost", async function () {
            const fx = await loadFixture(attackFixture);
            const user = fx.withheld;
            const idc = user.identity.commitment;
            // Tickets 0 and 1 were charged (the user holds both charges); ticket 2 was served, its charge withheld.
            const charges = signedCharges(fx, user, 0n, [
                { cost: 400n, penalty: 0n },
                { cost: 600n, penalty: 0n }
            ]);
            const genesis = signedBase(fx, user, GENESIS_BASE);
            const ticket2 = await spending(fx, user, genesis, 2n);
            const made = await withdrawal(fx, user, { base: genesis, charges, declared: [0], recipient: user.signer.address });
            expect(made.effectiveFolded).to.equal(2n);
            await fx.registry.requestWithdrawal(idc, made.request, made.proof);

            // v1: the provider challenged the withdrawal with this ticket's own proof and took the deposit.
            await expect(fx.registry.challengeUndeclaredTicket(idc, made.request, 0, ticket2.signals, ticket2.proof))
                .to.be.revertedWithCustomError(fx.registry, "SlotDeclared")
                .withArgs(idc, 0n);
            for (let slot = 1; slot < 8; slot++) {
                await expect(fx.registry.challengeUndeclaredTicket(idc, made.request, slot, ticket2.signals, ticket2.proof))
                    .to.be.revertedWithCustomError(fx.registry, "InvalidChallengeProof")
                    .withArgs(idc, ChallengeKind.UndeclaredTicket);
            }
            await time.increase(fx.parameters.challengeWindow);
            const charged = 400n + 600n + MAX_COST;
            await expect(fx.registry.finalizeWithdrawal(idc, made.request))
                .to.emit(fx.registry, "WithdrawalFinalized")
                .withArgs(idc, user.signer.address, DEPOSIT - charged, charged, 0n);
        });
    });

    describe("(3) slashing a deposit under withdrawal pays no bounty", function () {
        it("Should leave a cheat who front-runs the stale-base challenge with a self-slash nothing of its reserve", async function () {
            const fx = await loadFixture(attackFixture);
            const cheat = fx.cheat;
            const idc = cheat.identity.commitment;
            // The cheat folded genesis into base 2, then withdraws from genesis (nothing spent).
            const charges = signedCharges(fx, cheat, 0n, PENALISED);
            const genesis = signedBase(fx, cheat, GENESIS_BASE);
            const fold = await folding(fx, cheat, genesis, charges);
            const stale = await withdrawal(fx, cheat, { base: genesis, recipient: cheat.signer.address });
            expect(stale.request.foldNullifier).to.equal(fold.foldNullifier);
            await fx.registry.requestWithdrawal(idc, stale.request, stale.proof);

            // Seeing the provider's challenge in the mempool, the cheat slashes itself to its own account first.
            const own = fx.users[10]!.address;
            const selfSlash = fx.registry.slashWithdrawal(idc, stale.request, own, await slashing(fx, cheat.identity.secret, own));
            // v1 paid the reserve to the receiver of any slash.
            await expect(selfSlash).to.emit(fx.registry, "Slashed").withArgs(idc, own, 0n, DEPOSIT, 0n);
            await expect(selfSlash).to.changeTokenBalances(fx.token, [own, cheat.signer.address], [0n, 0n]);
            await expect(fx.registry.challengeStaleBase(idc, stale.request, fold.newBase, fold.proof))
                .to.be.revertedWithCustomError(fx.registry, "UnexpectedDepositStatus")
                .withArgs(idc, Status.Slashed);
            expect(await fx.registry.pendingTreasury()).to.equal(DEPOSIT);
        });
    });

    describe("(4) a withdrawal never reverts on its totals", function () {
        it("Should finalize totals plus declared slots above the deposit: refund 0, the whole deposit to the treasury", async function () {
            const fx = await loadFixture(attackFixture);
            const minimum = await fx.registry.minimumDeposit();
            const small = await register(fx, fx.users[3]!, minimum, fixedIdentity("attacks/small"));
            const made = await withdrawal(fx, small, { base: signedBase(fx, small, GENESIS_BASE), declared: [0, 1, 2, 3, 4, 5, 6, 7], recipient: fx.users[3]!.address });
            expect(8n * MAX_COST).to.be.greaterThan(minimum);
            // v1 refused a request whose totals exceeded the deposit (TotalsExceedDeposit) and could not pay it out.
            await fx.registry.requestWithdrawal(small.identity.commitment, made.request, made.proof);
            await time.increase(fx.parameters.challengeWindow);
            await expect(fx.registry.finalizeWithdrawal(small.identity.commitment, made.request))
                .to.emit(fx.registry, "WithdrawalFinalized")
                .withArgs(small.identity.commitment, made.request.recipient, 0n, minimum, 0n);
            expect(settlement(minimum, made.request, MAX_COST)).to.deep.equal({ refund: 0n, toTreasury: minimum, toBurn: 0n });
        });
    });

    describe("(5) burned penalties go to the burn address on a challenge and on slashing a withdrawal", function () {
        async function staleFromBase2() {
            const fx = await loadFixture(attackFixture);
            const user = fx.cheat;
            const charges = signedCharges(fx, user, 0n, [...PENALISED, { cost: 1n, penalty: 0n }, { cost: 2n, penalty: 0n }]);
            const base2 = signedBase(fx, user, foldBase(GENESIS_BASE, PENALISED));
            const fold = await folding(fx, user, base2, charges.slice(2, 4));
            const stale = await withdrawal(fx, user, { base: base2, recipient: user.signer.address });
            expect([stale.request.spent, stale.request.burned]).to.deep.equal([1_000n, 1_000n]);
            await fx.registry.requestWithdrawal(user.identity.commitment, stale.request, stale.proof);
            return { fx, idc: user.identity.commitment, fold, stale };
        }

        it("Should send the request's burned part to the burn address when a challenge forfeits the deposit", async function () {
            const { fx, idc, fold, stale } = await staleFromBase2();
            // v1 sent the whole forfeited deposit to the treasury, burned penalties included.
            await expect(fx.registry.challengeStaleBase(idc, stale.request, fold.newBase, fold.proof))
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(idc, fx.deployer.address, ChallengeKind.StaleBase, DEPOSIT - 1_000n, 1_000n);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.token, [fx.treasury.address, BURN_ADDRESS], [DEPOSIT - 1_000n, 1_000n]);
        });

        it("Should send the request's burned part to the burn address when a withdrawal is slashed", async function () {
            const { fx, idc, stale } = await staleFromBase2();
            const receiver = fx.users[11]!.address;
            // v1 sent a slashed deposit under withdrawal to the treasury (and a bounty to the receiver).
            await expect(fx.registry.slashWithdrawal(idc, stale.request, receiver, await slashing(fx, fx.cheat.identity.secret, receiver)))
                .to.emit(fx.registry, "Slashed")
                .withArgs(idc, receiver, 0n, DEPOSIT - 1_000n, 1_000n);
            await expect(fx.registry.sweep()).to.changeTokenBalances(fx.token, [fx.treasury.address, BURN_ADDRESS], [DEPOSIT - 1_000n, 1_000n]);
        });
    });

    describe("(6) a recipient the token refuses does not lock the provider's revenue", function () {
        it("Should finalize, sweep the treasury's share and owe the refund, paid by claimRefund once the recipient is accepted", async function () {
            const base = await loadFixture(attackFixture);
            const blocklist = (await ethers.deployContract("BlocklistToken")) as unknown as BlocklistToken;
            const fx = await registryFor(base, blocklist);
            const user = await register(fx, fx.users[4]!, DEPOSIT, fixedIdentity("attacks/blocked"));
            const made = await withdrawal(fx, user, {
                base: signedBase(fx, user, foldBase(GENESIS_BASE, PENALISED)),
                declared: [3],
                recipient: fx.users[4]!.address
            });
            await fx.registry.requestWithdrawal(user.identity.commitment, made.request, made.proof);
            await time.increase(fx.parameters.challengeWindow);
            const { refund, toTreasury, toBurn } = settlement(DEPOSIT, made.request, MAX_COST);
            expect([toTreasury, toBurn]).to.deep.equal([2_000n, 1_000n]);
            await blocklist.setBlocked(made.request.recipient, true);
            // v1: finalizeWithdrawal reverted while the token refused the recipient, and the spent part stayed locked with it.
            await expect(fx.registry.finalizeWithdrawal(user.identity.commitment, made.request))
                .to.emit(fx.registry, "RefundDeferred")
                .withArgs(user.identity.commitment, made.request.recipient, refund);
            await expect(fx.registry.sweep()).to.changeTokenBalances(blocklist, [fx.treasury.address, BURN_ADDRESS], [toTreasury, toBurn]);
            await expect(fx.registry.claimRefund(made.request.recipient)).to.be.revertedWithCustomError(fx.registry, "RefundRefused").withArgs(made.request.recipient, refund);
            await blocklist.setBlocked(made.request.recipient, false);
            await expect(fx.registry.claimRefund(made.request.recipient)).to.changeTokenBalance(blocklist, made.request.recipient, refund);
            expect(await blocklist.balanceOf(fx.registryAddress)).to.equal(0n);
        });
    });

    describe("(7) the capacity is 2^32, bound to the Spend circuit (no tree depth parameter)", function () {
        /** A depth-32 Merkle path to leaf 2^32 − 1 (siblings arbitrary): the root it proves. */
        function lastLeafPath(leaf: bigint): MerkleProofInput {
            const index = (1n << 32n) - 1n;
            const siblings = Array.from({ length: TREE_DEPTH }, (_, i) => poseidon([BigInt(i + 1)]));
            let node = leaf;
            for (let i = 0; i < TREE_DEPTH; i++) node = (index >> BigInt(i)) & 1n ? poseidon([siblings[i]!, node]) : poseidon([node, siblings[i]!]);
            return { root: node, depth: TREE_DEPTH, index, siblings };
        }

        it("Should take a deposit at leaf 2^32 − 1, accept proofs of membership there, and refuse the next registration", async function () {
            const fx = await loadFixture(attackFixture);
            expect(await fx.registry.treeDepth()).to.equal(32n);
            expect(await fx.registry.capacity()).to.equal(1n << 32n);
            // v1 took the depth as a deployment parameter (20 by default: a million deposits).
            await setLeafCount(fx, (1n << 32n) - 1n);
            const last = await register(fx, fx.users[5]!, DEPOSIT, fixedIdentity("attacks/last leaf"));
            expect(last.leafIndex).to.equal(2 ** 32 - 1);
            await fx.token.mint(fx.users[6]!.address, DEPOSIT);
            await fx.token.connect(fx.users[6]!).approve(fx.registryAddress, DEPOSIT);
            await expect(fx.registry.connect(fx.users[6]!).register(fixedIdentity("attacks/one too many").commitment, DEPOSIT))
                .to.be.revertedWithCustomError(fx.registry, "RegistryFull")
                .withArgs(1n << 32n);

            // The Spend circuit proves membership at depth 32, index 2^32 − 1; the registry's verifier takes it.
            const path = lastLeafPath(registryLeaf(last.identity.commitment, DEPOSIT));
            const genesis = signedBase(fx, last, GENESIS_BASE);
            const spend = await spending(fx, last, genesis, 0n, { merkleProof: path });
            expect(spend.signals.root).to.equal(path.root);
            const made = await withdrawal(fx, last, { base: genesis, recipient: fx.users[5]!.address });
            await fx.registry.requestWithdrawal(last.identity.commitment, made.request, made.proof);
            await expect(fx.registry.challengeUndeclaredTicket(last.identity.commitment, made.request, 0, spend.signals, spend.proof))
                .to.emit(fx.registry, "WithdrawalChallenged")
                .withArgs(last.identity.commitment, fx.deployer.address, ChallengeKind.UndeclaredTicket, DEPOSIT, 0n);
        });
    });

    describe("(8) small-order provider keys are refused", function () {
        /** circomlib's generator of the whole Baby Jubjub group (order 8·l). */
        const FULL_ORDER_GENERATOR: Point<bigint> = [
            995203441582195749578291179787384436505546430278305826713579947235728471134n,
            5472060717959818805561601436314318772137091100104008585924551046643952123905n
        ];

        it("Should refuse keys of order 2, 4 and 8, under which any signature of any message verifies", async function () {
            const fx = await loadFixture(attackFixture);
            const order8 = mulPointEscalar(FULL_ORDER_GENERATOR, subOrder);
            const order4 = addPoint(order8, order8);
            const order2 = addPoint(order4, order4);
            expect(order2).to.deep.equal([0n, P - 1n]);
            const factory = await ethers.getContractFactory("CreditRegistry", { libraries: fx.libraries });
            const config = {
                token: await fx.token.getAddress(),
                treasury: fx.parameters.treasury,
                providerKeyX: 0n,
                providerKeyY: 0n,
                maxCost: fx.parameters.maxCost,
                policyPenalty: fx.parameters.policyPenalty,
                reserveBps: fx.parameters.reserveBps,
                challengeWindow: fx.parameters.challengeWindow,
                depositTerm: fx.parameters.depositTerm,
                epochBlocks: fx.parameters.epochBlocks,
                spendVerifier: fx.verifiers.spend,
                foldVerifier: fx.verifiers.fold,
                withdrawVerifier: fx.verifiers.withdraw,
                slashVerifier: fx.verifiers.slash,
                owner: fx.parameters.owner
            };
            for (const [order, key] of [
                [8, order8],
                [4, order4],
                [2, order2]
            ] as const) {
                expect(inCurve(key), `order ${order}`).to.equal(true);
                let multiple = key;
                for (let k = 1; k < order; k++) {
                    expect(multiple, `order ${order}: ${k}·A is the neutral element`).to.not.deep.equal([0n, 1n]);
                    multiple = addPoint(multiple, key);
                }
                expect(multiple, `order ${order}: ${order}·A`).to.deep.equal([0n, 1n]);
                // Why: with 8·A = O, the EdDSA check S·B8 = R8 + 8·h·A is S·B8 = R8 — a forgery for every message.
                for (const message of [1n, 2n, 123_456_789n]) {
                    const S = 42n + message;
                    expect(zkKitVerifySignature(message, { R8: mulPointEscalar(Base8, S), S }, key), `order ${order}`).to.equal(true);
                }
                expect(isSafePublicKey(key)).to.equal(false);
                // v1 checked only that the key was a canonical curve point other than (0, 1).
                await expect(factory.deploy({ ...config, providerKeyX: key[0], providerKeyY: key[1] }))
                    .to.be.revertedWithCustomError(factory, "InvalidProviderKey")
                    .withArgs(key[0], key[1]);
            }
            // A real provider key is accepted, and a forgery under it fails.
            expect(zkKitVerifySignature(1n, { R8: mulPointEscalar(Base8, 43n), S: 43n }, fx.provider.publicKey)).to.equal(false);
            await expect(factory.deploy({ ...config, providerKeyX: fx.parameters.providerKeyX, providerKeyY: fx.parameters.providerKeyY })).to.not.be.reverted;
        });
    });
});
