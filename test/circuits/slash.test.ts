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

// Slash: knowledge of k with Poseidon(k) = idc, bound to the receiver (and registry).
describe("Slash circuit", function () {
    const circuit = CircuitUnderTest.load("slash");
    const receiver = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

    it("Should prove knowledge of the secret behind an identity commitment", async function () {
        const identity = new Identity();
        const witness = { secret: identity.secret, receiverBinding: slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, receiver) };
        const values = await circuit.witness(slashInputs(witness));
        expect(values.slice(1, 3)).to.deep.equal(flattenSlashSignals(slashPublicSignals(witness)));
        expect(values[1]).to.equal(identity.commitment);
        expect(await circuit.satisfies(values)).to.equal(true);
        const forged = CircuitUnderTest.tamper(values, new Map([[1, new Identity().commitment]]));
        expect(await circuit.satisfies(forged)).to.equal(false);
    });

    it("Should give a different binding for each receiver, registry and chain", function () {
        const base = slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, receiver);
        expect(base < SNARK_SCALAR_FIELD).to.equal(true);
        expect(slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, TEST_REGISTRY)).to.not.equal(base);
        expect(slashReceiverBinding(TEST_CHAIN_ID, receiver, receiver)).to.not.equal(base);
        expect(slashReceiverBinding(1n, TEST_REGISTRY, receiver)).to.not.equal(base);
    });

    it("Should bind the receiver: a copied proof does not verify for another receiver", async function () {
        const identity = new Identity();
        const binding = slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, receiver);
        const { proof, publicSignals } = await circuit.prover.prove(slashInputs({ secret: identity.secret, receiverBinding: binding }));
        expect(publicSignals).to.deep.equal([identity.commitment, binding]);
        expect(await circuit.prover.verify(proof, publicSignals)).to.equal(true);
        const stolen = slashReceiverBinding(TEST_CHAIN_ID, TEST_REGISTRY, "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65");
        expect(await circuit.prover.verify(proof, [identity.commitment, stolen])).to.equal(false);
        expect(await circuit.prover.verify(proof, [new Identity().commitment, binding])).to.equal(false);
        expect(await circuit.prover.verify(proof, [identity.commitment + SNARK_SCALAR_FIELD, binding])).to.equal(false);
    });
});
