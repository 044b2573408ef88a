import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import {
    baseBlinding,
    chargePoint,
    decodeCharge,
    encodeTicket,
    ephemeralKeyBinding,
    GENESIS_BASE,
    Identity,
    packProof,
    registryContext,
    RegistrySync,
    requestHash,
    requestSigner,
    spendInputs,
    ticketBlinding,
    TREE_DEPTH,
    verifyChargeSignature
} from "@zk-api-credits/protocol";
import type { ChargeReceipt, CircuitProver, RegistryBinding, RegistryDeployment, RequestKey } from "@zk-api-credits/protocol";
import { devWallet } from "../../../scripts/lib/stack";

/** A proved ticket (genesis base), with the request key that signs its requests. */
export interface CeremonyTicket {
    readonly index: bigint;
    readonly root: bigint;
    readonly ticketCommitment: [bigint, bigint];
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
    readonly proof: bigint[];
    readonly signer: RequestKey;
}

/**
 * A user of a registry deployed from another artifact set (a ceremony's): registers with the
 * real contracts and proves its tickets with the prover it is given, then pays requests over
 * real HTTP and checks each charge as a client must.
 */
export class CeremonyUser {
    readonly identity = new Identity();
    readonly binding: RegistryBinding;
    readonly context: bigint;
    private readonly sync: RegistrySync;

    private constructor(
        readonly deployment: RegistryDeployment,
        readonly chain: JsonRpcProvider,
        readonly spendProver: CircuitProver,
        readonly deposit: bigint
    ) {
        const { parameters } = deployment;
        this.binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        this.context = registryContext(this.binding);
        this.sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(deployment.contracts.registry, chain),
            fromBlock: deployment.deploymentBlock,
            epochBlocks: Number(parameters.epochBlocks)
        });
    }

    /** Mints (the test token), approves and registers a fresh identity from dev account `accountIndex`. */
    static async register(chainUrl: string, deployment: RegistryDeployment, spendProver: CircuitProver, accountIndex: number, deposit: bigint): Promise<CeremonyUser> {
        const chain = new JsonRpcProvider(chainUrl, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        const user = new CeremonyUser(deployment, chain, spendProver, deposit);
        const wallet = new NonceManager(devWallet(accountIndex).connect(chain));
        const token = TestToken__factory.connect(deployment.contracts.token, wallet);
        const registry = ICreditRegistry__factory.connect(deployment.contracts.registry, wallet);
        await (await token.mint(await wallet.getAddress(), deposit)).wait();
        await (await token.approve(deployment.contracts.registry, deposit)).wait();
        await (await registry.register(user.identity.commitment, deposit)).wait();
        return user;
    }

    /** Proves ticket `index` on the genesis base against the current epoch root, for its own key or `requestKey` (a double-spend). */
    async prove(index: bigint, requestKey?: RequestKey): Promise<CeremonyTicket> {
        const tree = await this.sync.sync();
        const leafIndex = this.sync.leafIndexOf(this.identity.commitment);
        if (leafIndex === undefined || !this.sync.inCurrentEpoch(this.identity.commitment)) throw new Error("the deposit is not in the current epoch tree");
        const { scope } = this.binding;
        const signer = requestKey ?? requestSigner(this.identity.secret, scope, index);
        const inputs = spendInputs({
            secret: this.identity.secret,
            deposit: this.deposit,
            merkleProof: tree.merkleProof(leafIndex, TREE_DEPTH),
            base: { base: GENESIS_BASE, blinding: baseBlinding(this.identity.secret, scope, 0n) },
            index,
            ticketBlinding: ticketBlinding(this.identity.secret, scope, index),
            registry: this.binding,
            x: ephemeralKeyBinding(signer.publicKey)
        });
        const { proof, publicSignals } = await this.spendProver.prove(inputs);
        const [root, , tx, ty, nullifier, y, x] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
        return { index, root, ticketCommitment: [tx, ty], nullifier, y, x, proof: packProof(proof), signer };
    }

    /** Sends a paid POST with `ticket`; returns the status, the error code and the checked charge. */
    async send(gatewayUrl: string, ticket: CeremonyTicket, path: string, body: object): Promise<{ status: number; code: string | null; charge?: ChargeReceipt }> {
        const bytes = Buffer.from(JSON.stringify(body));
        const header = encodeTicket({
            version: 2,
            root: ticket.root,
            context: this.context,
            ticketCommitment: ticket.ticketCommitment,
            nullifier: ticket.nullifier,
            y: ticket.y,
            x: ticket.x,
            proof: ticket.proof,
            ephemeralKey: ticket.signer.publicKey,
            requestSignature: ticket.signer.signMessage(requestHash("POST", path, bytes))
        });
        const response = await fetch(new URL(path, gatewayUrl), { method: "POST", headers: { "content-type": "application/json", "zkapi-ticket": header }, body: bytes });
        await response.text();
        const value = response.headers.get("zkapi-charge");
        const charge = value === null ? undefined : decodeCharge(value);
        if (charge !== undefined) {
            const expected = chargePoint(ticket.ticketCommitment, charge.cost, charge.penalty);
            if (charge.nullifier !== ticket.nullifier || expected[0] !== charge.charge[0] || expected[1] !== charge.charge[1]) throw new Error("the charge is not T + amounts·G");
            if (!verifyChargeSignature(this.context, charge.charge, charge.signature, this.binding.providerKey)) throw new Error("bad charge signature");
        }
        return { status: response.status, code: response.headers.get("zkapi-error"), charge };
    }

    close(): void {
        this.chain.destroy();
    }
}
