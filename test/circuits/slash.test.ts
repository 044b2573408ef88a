import { expect } from "chai";
import {
    flattenSlashSignals,
    Identity,
    slashInputs,
    slashPublicSignals,
    slashReceiverBinding,
    SNARK_SCALAR_FIELD
} from "@zk-api-credits/protocol";
import { CircuitUnderTest } from "../helpers/circuits";
import { TEST_CHAIN_ID, TEST_REGISTRY } from "../helpers/scenario";
import { freeSignalSweep } from "./support/fixtures";
import { pooledProof, SLASH_RECEIVER } from "./support/proofs";

// Slash: knowledge of k with Poseidon(k) = idc, bound to receiverBinding =
// keccak256(abi.encode(chainId, registry, receiver)) >> 8, which the registry recomputes.
describe("Slash circuit", function () {
    const circuit = CircuitUnderTest.load("slash");
    const binding = slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, SLASH_RECEIVER);

    it("Should prove knowledge of the secret behind an identity commitment (differential)", async function () {
        for (let run = 0; run < 4; run++) {
            const identity = new Identity();
            const witness = { secret: identity.secret, receiverBinding: run === 0 ? binding : slashReceiverBinding(BigInt(run), TEST_REGISTRY, SLASH_RECEIVER) };
            const values = await circuit.witness(slashInputs(witness));
            expect(values.slice(1, 3)).to.deep.equal(flattenSlashSignals(slashPublicSignals(witness)));
            expect(values[1]).to.equal(identity.commitment);
            expect(await circuit.satisfies(values)).to.equal(true);
        }
    });

    it("Should reject a tampered identity commitment or receiver binding", async function () {
        const values = await circuit.witness(slashInputs({ secret: new Identity().secret, receiverBinding: binding }));
        for (const [index, value] of [[1, new Identity().commitment], [2, binding + 1n], [2, 0n]] as const) {
            expect(await circuit.satisfies(CircuitUnderTest.tamper(values, new Map([[index, value]]))), `signal ${index}`).to.equal(false);
        }
    });

    it("Should let no signal change alone, except the explained ones, and agree with snarkjs", async function () {
        const values = await circuit.witness(slashInputs({ secret: new Identity().secret, receiverBinding: binding }));
        expect(freeSignalSweep(circuit, values)).to.deep.equal({ free: ["main.receiverBinding"], unexplained: [] });
        expect(await circuit.snarkjsSatisfies(values)).to.equal(true);
        expect(await circuit.snarkjsSatisfies(CircuitUnderTest.tamper(values, new Map([[1, values[1]! + 1n]])))).to.equal(false);
    });

    it("Should give a different binding for each receiver, registry and chain, below the field modulus", function () {
        expect(binding < SNARK_SCALAR_FIELD).to.equal(true);
        expect(binding < 1n << 248n).to.equal(true);
        expect(slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, TEST_REGISTRY)).to.not.equal(binding);
        expect(slashReceiverBinding(TEST_CHAIN_ID, SLASH_RECEIVER, SLASH_RECEIVER)).to.not.equal(binding);
        expect(slashReceiverBinding(1n, TEST_REGISTRY, SLASH_RECEIVER)).to.not.equal(binding);
    });

    it("Should bind the receiver: a copied proof does not verify for another receiver", async function () {
        const { proof, publicSignals, expected } = await pooledProof("slash");
        expect(publicSignals).to.deep.equal(expected);
        expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
        const [idc, receiverBinding] = publicSignals as [bigint, bigint];
        const stolen = slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
        expect(await circuit.prover.verify(proof, [idc, stolen])).to.equal(false);
        expect(await circuit.prover.verify(proof, [idc, SNARK_SCALAR_FIELD - receiverBinding])).to.equal(false);
        expect(await circuit.prover.verify(proof, [new Identity().commitment, receiverBinding])).to.equal(false);
        expect(await circuit.prover.verify(proof, [idc + SNARK_SCALAR_FIELD, receiverBinding])).to.equal(false);
        expect(await circuit.prover.verify(proof, [idc, receiverBinding + SNARK_SCALAR_FIELD])).to.equal(false);
    });
});
