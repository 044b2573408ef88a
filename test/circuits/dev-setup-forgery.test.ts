import { readFileSync } from "node:fs";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { groth16 } from "snarkjs";
import type { Bn128Engine } from "ffjavascript";
import { GENESIS_BASE, slashReceiverBinding, slotNullifiersHash, TICKET_WINDOW } from "@zk-api-credits/protocol";
import { VERIFIERS_DIR } from "../../scripts/circuits/config";
import { loadArtifactSet } from "../../scripts/ceremony/artifact-set";
import type { SetCircuit } from "../../scripts/ceremony/artifact-set";
import { verifierArtifact } from "../../scripts/ceremony/verifier-contracts";
import { beaconDelta, bn128, deltaMatches, Groth16Forger, publicBeacons, randomSignals, solidityArguments } from "../ceremony/support/forgery";
import type { Groth16VerificationKey } from "../ceremony/support/forgery";
import { ChallengeKind, deployRegistry, fixedIdentity, register, signedBase, Status, withdrawal } from "../helpers/registry";
import type { Groth16Proof, WithdrawalRequest } from "../helpers/registry";

/** The generated verifier's `verifyProof(pA, pB, pC, pubSignals)`. */
interface GeneratedVerifier {
    verifyProof(...args: [...ReturnType<typeof solidityArguments>, bigint[]]): Promise<boolean>;
}

// Why the development keys must never hold money (issue 9; docs/trusted-setup.md): from the
// committed manifest's public data alone (each circuit's phase-2 beacon and its verification
// key) anyone recomputes delta and forges a proof of ANY public signals that snarkjs and the
// generated Solidity verifiers accept. test/ceremony/ceremony.test.ts shows a ceremony's
// verifiers reject the same forgeries.
describe("Development setup: proofs forged from public data", function () {
    const set = loadArtifactSet();
    let curve: Bn128Engine;

    before(async function () {
        curve = await bn128();
    });

    after(async function () {
        await curve.terminate();
    });

    it("Should be the development setup (the manifest says so)", function () {
        expect(set.insecureDevelopmentSetup).to.equal(true);
        expect(set.circuits.length).to.be.greaterThan(0);
    });

    for (const circuit of set.circuits) {
        describe(`# ${circuit.name}`, function () {
            let vkey: Groth16VerificationKey;
            let forger: Groth16Forger;

            before(function () {
                vkey = JSON.parse(readFileSync(circuit.verificationKey, "utf8")) as Groth16VerificationKey;
            });

            it("Should recompute delta from the manifest's phase-2 beacon exactly as snarkjs' zkey beacon does", function () {
                const beacons = publicBeacons(circuit.entry.setup.phase2);
                expect(beacons, "every phase-2 step is a public beacon").to.not.equal(undefined);
                const delta = beaconDelta(curve, beacons!);
                expect(deltaMatches(curve, vkey, delta), "delta·G2 equals the key's delta_2").to.equal(true);
                expect(deltaMatches(curve, vkey, delta + 1n)).to.equal(false);
                forger = new Groth16Forger(curve, vkey, delta);
            });

            it("Should forge proofs of arbitrary public signals that snarkjs accepts", async function () {
                for (let round = 0; round < 3; round++) {
                    const signals = randomSignals(curve, vkey.nPublic);
                    const proof = forger.forge(signals);
                    expect(await groth16.verify(vkey, signals.map(String), proof), `round ${round}`).to.equal(true);
                    // Not a vacuous verifier: the forgery is bound to the signals it was made for.
                    const other = signals.map((s, i) => (i === 0 ? (s + 1n) % curve.r : s));
                    expect(await groth16.verify(vkey, other.map(String), proof)).to.equal(false);
                }
            });

            it(`Should have the generated Solidity verifier (${circuit.verifierContract}) accept the forgeries`, async function () {
                const verifier = await deployVerifier(circuit);
                for (let round = 0; round < 3; round++) {
                    const signals = randomSignals(curve, vkey.nPublic);
                    expect(await verifier.verifyProof(...solidityArguments(forger.forge(signals)), signals), `round ${round}`).to.equal(true);
                }
                const signals = randomSignals(curve, vkey.nPublic);
                const proof = forger.forge(signals);
                expect(await verifier.verifyProof(...solidityArguments(proof), signals.map((s, i) => (i === 0 ? (s + 1n) % curve.r : s)))).to.equal(false);
            });
        });
    }
});


// The same forgeries as real transactions: a stranger who holds no secret and no proof of anyone's
// steals a deposit, takes a slashing bounty and confiscates honest withdrawals, against a registry
// deployed by the LocalCreditRegistry Ignition module (test/helpers/registry.ts).
describe("Development setup: a stranger with forged proofs, on chain", function () {
    const DEPOSIT = 100_000n;
    let curve: Bn128Engine;
    const forgers = new Map<string, Groth16Forger>();

    before(async function () {
        curve = await bn128();
        for (const circuit of loadArtifactSet().circuits) {
            const vkey = JSON.parse(readFileSync(circuit.verificationKey, "utf8")) as Groth16VerificationKey;
            forgers.set(circuit.name, new Groth16Forger(curve, vkey, beaconDelta(curve, publicBeacons(circuit.entry.setup.phase2)!)));
        }
    });

    after(async function () {
        await curve.terminate();
    });

    /** A forged proof of `signals` in the registry's argument shape. */
    function forged(circuit: string, signals: readonly bigint[]): Groth16Proof {
        const [a, b, c] = solidityArguments(forgers.get(circuit)!.forge(signals));
        return { a, b, c };
    }

    /** A random canonical, non-zero field element. */
    const field = (): bigint => randomSignals(curve, 1)[0]! || 1n;

    async function victims() {
        const fx = await deployRegistry();
        const [alice, bob, carol, dave] = await Promise.all(
            ["alice", "bob", "carol", "dave"].map((name, i) => register(fx, fx.users[i]!, DEPOSIT, fixedIdentity(`dev-setup-forgery/${name}`)))
        );
        return { fx, alice: alice!, bob: bob!, carol: carol!, dave: dave!, stranger: fx.users[9]! };
    }

    it("Should let a stranger withdraw someone else's whole deposit to himself", async function () {
        const { fx, alice, stranger } = await loadFixture(victims);
        const idc = alice.identity.commitment;
        const slotNullifiers = Array.from({ length: TICKET_WINDOW }, field);
        const request: WithdrawalRequest = {
            recipient: stranger.address,
            spent: 0n,
            burned: 0n,
            declaredSlots: 0n,
            foldNullifier: field(),
            slotNullifiersHash: slotNullifiersHash(slotNullifiers),
            slotNullifiers
        };
        // (idc, context, spent + burned·2^96 + declared·2^192, foldNullifier, slotNullifiersHash, recipient)
        const signals = [idc, await fx.registry.context(), 0n, request.foldNullifier, request.slotNullifiersHash, BigInt(stranger.address)];
        await (await fx.registry.connect(stranger).requestWithdrawal(idc, request, forged("withdraw-2-8", signals))).wait();
        await time.increase(fx.parameters.challengeWindow);
        await expect(fx.registry.connect(stranger).finalizeWithdrawal(idc, request)).to.changeTokenBalances(fx.token, [stranger], [DEPOSIT]);
        expect((await fx.registry.deposits(idc)).status).to.equal(Status.Withdrawn);
    });

    it("Should let a stranger slash a user who never reused a ticket, and take the bounty", async function () {
        const { fx, bob, stranger } = await loadFixture(victims);
        const idc = bob.identity.commitment;
        const proof = forged("slash", [idc, slashReceiverBinding(fx.chainId, fx.registryAddress, stranger.address)]);
        const bounty = (DEPOSIT * fx.parameters.reserveBps) / 10_000n;
        await expect(fx.registry.connect(stranger).slash(idc, stranger.address, proof)).to.changeTokenBalances(fx.token, [stranger], [bounty]);
        expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
    });

    it("Should let a stranger confiscate honest withdrawals: a forged Spend proof of an undisclosed ticket, a forged Fold proof of the base", async function () {
        const { fx, carol, dave, stranger } = await loadFixture(victims);
        const context = await fx.registry.context();
        for (const [member, kind] of [
            [carol, ChallengeKind.UndeclaredTicket],
            [dave, ChallengeKind.StaleBase]
        ] as const) {
            // An honest withdrawal from genesis with a real proof: nothing used, nothing hidden.
            const honest = await withdrawal(fx, member, { base: signedBase(fx, member, GENESIS_BASE), recipient: member.signer.address });
            const idc = member.identity.commitment;
            await (await fx.registry.connect(member.signer).requestWithdrawal(idc, honest.request, honest.proof)).wait();
            const tx =
                kind === ChallengeKind.UndeclaredTicket
                    ? (() => {
                          const spend = { root: field(), ticketX: field(), ticketY: field(), y: field(), x: field() };
                          const signals = [spend.root, context, spend.ticketX, spend.ticketY, honest.request.slotNullifiers[0]!, spend.y, spend.x];
                          return fx.registry.connect(stranger).challengeUndeclaredTicket(idc, honest.request, 0, spend, forged("spend-32", signals));
                      })()
                    : (() => {
                          const newBase: [bigint, bigint] = [field(), field()];
                          const signals = [context, honest.request.foldNullifier, ...newBase];
                          return fx.registry.connect(stranger).challengeStaleBase(idc, honest.request, newBase, forged("fold-2", signals));
                      })();
            await expect(tx).to.emit(fx.registry, "WithdrawalChallenged").withArgs(idc, stranger.address, kind, DEPOSIT, 0n);
            expect((await fx.registry.deposits(idc)).status).to.equal(Status.Slashed);
        }
    });
});

/** Deploys a set's verifier in the Hardhat network. */
async function deployVerifier(circuit: SetCircuit): Promise<GeneratedVerifier> {
    const artifact = await verifierArtifact(hre, circuit.verifier, circuit.verifierContract, VERIFIERS_DIR);
    const [deployer] = await ethers.getSigners();
    const factory = new ethers.ContractFactory(artifact.abi as never[], artifact.bytecode, deployer);
    const contract = await factory.deploy();
    await contract.waitForDeployment();
    return contract as unknown as GeneratedVerifier;
}
