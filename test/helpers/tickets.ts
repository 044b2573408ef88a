import { JsonRpcProvider, NonceManager } from "ethers";
import { ICreditRegistry__factory, TestToken__factory } from "@zk-api-credits/contracts";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import {
    baseBlinding,
    chargePoint,
    commitTicket,
    decodeCharge,
    encodeTicket,
    ephemeralKeyBinding,
    foldBase,
    foldInputs,
    foldNullifier,
    foldPublicSignals,
    foldRequestBody,
    GATEWAY_PATHS,
    GENESIS_BASE,
    Identity,
    lookupMessage,
    lookupRequestBody,
    packProof,
    parseFoldAnswer,
    registryContext,
    RegistrySync,
    requestHash,
    RequestKey,
    requestSigner,
    spendInputs,
    TICKET_WINDOW,
    ticketBlinding,
    toSolidityProof,
    TREE_DEPTH,
    verifyBaseSignature,
    verifyChargeSignature,
    withdrawalClaim,
    withdrawInputs
} from "@zk-api-credits/protocol";
import type { BaseState, ChargeReceipt, RegistryBinding, RegistryDeployment, SignedBase, SignedCharge, TicketEnvelope } from "@zk-api-credits/protocol";
import type { DeployedStack } from "../../scripts/lib/stack";
import { devWallet } from "../../scripts/lib/stack";
import { prover } from "./provers";

/** A proved ticket: the Spend proof's public values; requests are signed per request. */
export interface ProvedTicket {
    readonly index: bigint;
    readonly root: bigint;
    readonly ticketCommitment: [bigint, bigint];
    readonly nullifier: bigint;
    readonly y: bigint;
    readonly x: bigint;
    readonly proof: bigint[];
    /** A request key other than the ticket's own (a double-spend's). */
    readonly requestKey?: RequestKey;
}

/** A raw HTTP answer with its charge decoded (if any). */
export interface RawAnswer {
    readonly status: number;
    readonly code: string | null;
    readonly body: string;
    readonly headers: Headers;
    readonly charge?: ChargeReceipt;
}

/**
 * A user driving the gateway with hand-made tickets (no SDK): registers a deposit with the
 * real contracts, syncs the epoch tree, proves tickets for chosen indices with the committed
 * artifacts, and sends requests, voids, look-ups and folds over real HTTP. Gateway tests use
 * it to control exactly what the gateway sees.
 */
export class RawUser {
    readonly identity = new Identity();
    readonly binding: RegistryBinding;
    readonly context: bigint;
    /** The newest signed base the user holds, and the charges it received. */
    base: SignedBase;
    readonly charges = new Map<bigint, SignedCharge>();
    /** Every base the user held, oldest first. */
    readonly history: SignedBase[] = [];
    private readonly sync: RegistrySync;

    private constructor(
        readonly deployment: RegistryDeployment,
        readonly chain: JsonRpcProvider,
        /** The gateway this user talks to (a test may point it at another replica). */
        public gatewayUrl: string,
        readonly deposit: bigint
    ) {
        const { parameters } = deployment;
        this.binding = { scope: parameters.scope, providerKey: parameters.providerKey, terms: parameters };
        this.context = registryContext(this.binding);
        this.base = { base: GENESIS_BASE, blinding: baseBlinding(this.identity.secret, parameters.scope, 0n) };
        this.sync = new RegistrySync({
            registry: ICreditRegistry__factory.connect(deployment.contracts.registry, chain),
            fromBlock: deployment.deploymentBlock,
            epochBlocks: Number(parameters.epochBlocks)
        });
    }

    /** Mints, approves and registers a deposit for a fresh identity from dev account `accountIndex`. */
    static async register(stack: DeployedStack, gatewayUrl: string, accountIndex: number, deposit = 10n ** 19n): Promise<RawUser> {
        const chain = new JsonRpcProvider(stack.node.url, undefined, { staticNetwork: true, pollingInterval: 100, cacheTimeout: -1 });
        const user = new RawUser(stack.deployment, chain, gatewayUrl, deposit);
        const wallet = new NonceManager(devWallet(accountIndex).connect(chain));
        const token = TestToken__factory.connect(stack.deployment.contracts.token, wallet);
        const registry = ICreditRegistry__factory.connect(stack.deployment.contracts.registry, wallet);
        await (await token.mint(await wallet.getAddress(), deposit)).wait();
        await (await token.approve(stack.deployment.contracts.registry, deposit)).wait();
        await (await registry.register(user.identity.commitment, deposit)).wait();
        return user;
    }

    /**
     * Proves ticket `index` on the user's base (or `base`) against the current epoch root, for
     * the ticket's own request key, or for `requestKey` (a cheater's second key: a double-spend).
     */
    async prove(index: bigint, base: SignedBase = this.base, requestKey?: RequestKey): Promise<ProvedTicket> {
        const tree = await this.sync.sync();
        const leafIndex = this.sync.leafIndexOf(this.identity.commitment);
        if (leafIndex === undefined || !this.sync.inCurrentEpoch(this.identity.commitment)) throw new Error("the deposit is not in the current epoch tree");
        const { scope } = this.binding;
        const x = ephemeralKeyBinding((requestKey ?? requestSigner(this.identity.secret, scope, index)).publicKey);
        const inputs = spendInputs({
            secret: this.identity.secret,
            deposit: this.deposit,
            merkleProof: tree.merkleProof(leafIndex, TREE_DEPTH),
            base,
            index,
            ticketBlinding: ticketBlinding(this.identity.secret, scope, index),
            registry: this.binding,
            x
        });
        const { proof, publicSignals } = await prover("spend-32").prove(inputs);
        const [root, , tx, ty, nullifier, y] = publicSignals as [bigint, bigint, bigint, bigint, bigint, bigint, bigint];
        return { index, root, ticketCommitment: [tx, ty], nullifier, y, x, proof: packProof(proof), requestKey };
    }

    /** The ticket header for `ticket` signing this request (x = the ticket's own key unless `signerIndex` names another). */
    ticketHeader(ticket: ProvedTicket, method: string, path: string, body: Uint8Array, signerIndex: bigint = ticket.index): string {
        const signer = ticket.requestKey ?? requestSigner(this.identity.secret, this.binding.scope, signerIndex);
        const envelope: TicketEnvelope = {
            version: 2,
            root: ticket.root,
            context: this.context,
            ticketCommitment: ticket.ticketCommitment,
            nullifier: ticket.nullifier,
            y: ticket.y,
            x: ticket.x,
            proof: ticket.proof,
            ephemeralKey: signer.publicKey,
            requestSignature: signer.signMessage(requestHash(method, path, body))
        };
        return encodeTicket(envelope);
    }

    /** Sends a paid request with `ticket` and reads the answer (charge from the header or the final stream event). */
    async send(ticket: ProvedTicket, path: string, body: object | string, method = "POST", header?: string): Promise<RawAnswer> {
        const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
        const response = await fetch(new URL(path, this.gatewayUrl), {
            method,
            headers: { "content-type": "application/json", "zkapi-ticket": header ?? this.ticketHeader(ticket, method, path, bytes) },
            body: method === "GET" ? undefined : bytes
        });
        return this.answer(response, ticket);
    }

    /** Voids ticket `ticket` (a ticket whose request never reached the gateway). */
    async void(ticket: ProvedTicket): Promise<RawAnswer> {
        const response = await fetch(new URL(GATEWAY_PATHS.void, this.gatewayUrl), {
            method: "POST",
            headers: { "zkapi-ticket": this.ticketHeader(ticket, "POST", GATEWAY_PATHS.void, new Uint8Array()) }
        });
        return this.answer(response, ticket);
    }

    /** Looks ticket `index` up, signed by its key (or by the key of `signerIndex`). */
    async lookup(nullifier: bigint, signerIndex: bigint): Promise<RawAnswer & { json?: unknown }> {
        const signer = requestSigner(this.identity.secret, this.binding.scope, signerIndex);
        const response = await fetch(new URL(GATEWAY_PATHS.lookup, this.gatewayUrl), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: lookupRequestBody({ version: 2, nullifier, ephemeralKey: signer.publicKey, signature: signer.signMessage(lookupMessage(this.context, nullifier)) })
        });
        const body = await response.text();
        let json: unknown;
        try {
            json = JSON.parse(body);
        } catch {
            json = undefined;
        }
        return { status: response.status, code: response.headers.get("zkapi-error"), body, headers: response.headers, json };
    }

    private async answer(response: Response, ticket: ProvedTicket): Promise<RawAnswer> {
        const body = await response.text();
        let header = response.headers.get("zkapi-charge");
        const event = /^: zkapi-charge ([A-Za-z0-9_-]+)$/m.exec(body) ?? /^\{"zkapi-charge":"([A-Za-z0-9_-]+)"\}$/m.exec(body);
        if (header === null && event !== null) header = event[1]!;
        const charge = header === null ? undefined : decodeCharge(header);
        if (charge !== undefined) this.accept(ticket, charge);
        return { status: response.status, code: response.headers.get("zkapi-error"), body, headers: response.headers, charge };
    }

    /** Checks a charge exactly as a client must, and keeps it. */
    accept(ticket: ProvedTicket, charge: ChargeReceipt): SignedCharge {
        if (charge.nullifier !== ticket.nullifier) throw new Error("the charge is for another ticket");
        const expected = chargePoint(ticket.ticketCommitment, charge.cost, charge.penalty);
        if (expected[0] !== charge.charge[0] || expected[1] !== charge.charge[1]) throw new Error("the charge is not T + amounts·G");
        if (!verifyChargeSignature(this.context, charge.charge, charge.signature, this.binding.providerKey)) throw new Error("bad charge signature");
        const signed: SignedCharge = {
            cost: charge.cost,
            penalty: charge.penalty,
            blinding: ticketBlinding(this.identity.secret, this.binding.scope, ticket.index),
            signature: charge.signature
        };
        this.charges.set(ticket.index, signed);
        return signed;
    }

    /** The T_i the user expects for index i (a check on the gateway's view). */
    ticketCommitment(index: bigint): [bigint, bigint] {
        return commitTicket(index, this.identity.commitment, ticketBlinding(this.identity.secret, this.binding.scope, index)) as [bigint, bigint];
    }

    /** Folds the next K charges into a new base through the gateway; returns the raw answer and, if signed, adopts the base. */
    async fold(base: SignedBase = this.base, newBlinding?: bigint): Promise<RawAnswer & { base?: SignedBase }> {
        const { scope } = this.binding;
        const charges = [0n, 1n].map((s) => {
            const charge = this.charges.get(base.base.folded + s);
            if (charge === undefined) throw new Error(`no charge for ticket ${base.base.folded + s}`);
            return charge;
        });
        const next: BaseState = foldBase(base.base, charges);
        const witness = { secret: this.identity.secret, base, charges, newBlinding: newBlinding ?? baseBlinding(this.identity.secret, scope, next.folded), registry: this.binding };
        const { proof } = await prover("fold-2").prove(foldInputs(witness));
        const signals = foldPublicSignals(witness);
        const response = await fetch(new URL(GATEWAY_PATHS.fold, this.gatewayUrl), {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: foldRequestBody({ version: 2, context: signals.context, foldNullifier: signals.foldNullifier, newBase: signals.newBase, proof: packProof(proof) })
        });
        const text = await response.text();
        const answer = { status: response.status, code: response.headers.get("zkapi-error"), body: text, headers: response.headers };
        if (response.status !== 200) return answer;
        const folded = parseFoldAnswer(text);
        if (!verifyBaseSignature(this.context, folded.newBase, folded.signature, this.binding.providerKey)) throw new Error("bad base signature");
        const signed: SignedBase = { base: next, blinding: witness.newBlinding, signature: folded.signature };
        this.history.push(this.base);
        this.base = signed;
        return { ...answer, base: signed };
    }

    /** Folds while the charges of the next K tickets are held; returns the newest base. */
    async foldAll(): Promise<SignedBase> {
        while (this.charges.has(this.base.base.folded) && this.charges.has(this.base.base.folded + 1n)) {
            const answer = await this.fold();
            if (answer.status !== 200) throw new Error(`fold failed: ${answer.status} ${answer.body}`);
        }
        return this.base;
    }

    /**
     * Requests the withdrawal of the deposit from `base` plus `charges` (default: the user's
     * newest base and the charges beyond it, at most K), declaring the slots flagged in `declared`.
     */
    async withdraw(
        accountIndex: number,
        recipient: string,
        options: { base?: SignedBase; charges?: SignedCharge[]; declared?: boolean[] } = {}
    ): Promise<{ request: ICreditRegistry.WithdrawalRequestStruct; hash: string }> {
        const base = options.base ?? this.base;
        const charges = options.charges ?? [0n, 1n].map((s) => this.charges.get(base.base.folded + s)).filter((c): c is SignedCharge => c !== undefined);
        const witness = {
            secret: this.identity.secret,
            base,
            charges,
            declared: options.declared ?? new Array<boolean>(TICKET_WINDOW).fill(false),
            registry: this.binding,
            recipient: BigInt(recipient)
        };
        const claim = withdrawalClaim(witness);
        const { proof } = await prover("withdraw-2-8").prove(withdrawInputs(witness));
        const { pA, pB, pC } = toSolidityProof(proof);
        const request: ICreditRegistry.WithdrawalRequestStruct = {
            recipient,
            spent: claim.spent,
            burned: claim.burned,
            declaredSlots: claim.declaredSlots,
            foldNullifier: claim.foldNullifier,
            slotNullifiersHash: claim.slotNullifiersHash,
            slotNullifiers: [...claim.slotNullifiers]
        };
        const wallet = new NonceManager(devWallet(accountIndex).connect(this.chain));
        const registry = ICreditRegistry__factory.connect(this.deployment.contracts.registry, wallet);
        const receipt = await (await registry.requestWithdrawal(this.identity.commitment, request, { a: pA, b: pB, c: pC })).wait();
        return { request, hash: receipt!.hash };
    }

    /** F_f of base `folded`. */
    foldNullifier(folded: bigint): bigint {
        return foldNullifier(this.identity.secret, this.binding.scope, folded);
    }

    close(): void {
        this.chain.destroy();
    }
}

/** A chat completion request body. */
export function chat(content: string, extra: Record<string, unknown> = {}): object {
    return { model: "zkapi-echo", messages: [{ role: "user", content }], ...extra };
}
