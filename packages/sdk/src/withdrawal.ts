import { getAddress } from "ethers";
import type { Signer } from "ethers";
import type { ICreditRegistry } from "@zk-api-credits/contracts";
import {
    FOLD_SIZE,
    flattenWithdrawSignals,
    TICKET_WINDOW,
    toSolidityProof,
    withdrawalClaim,
    withdrawInputs,
    withdrawPublicSignals
} from "@zk-api-credits/protocol";
import type { CircuitProver, RegistryBinding, WithdrawWitness } from "@zk-api-credits/protocol";
import type { AccountBook } from "./account-book";
import { indicesOf, key } from "./account-record";
import type { AccountRecord, TicketOwner, WithdrawalClaimRecord, WithdrawalRecord } from "./account-record";
import { verifyCharge } from "./charges";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import type { Folder } from "./folder";
import { GatewayUnreachable, pause } from "./gateway-client";
import type { GatewayClient } from "./gateway-client";
import type { PaidRequests } from "./paid-request";
import type { ProvingQueue } from "./proving-queue";
import type { TicketKeyring } from "./ticket-keys";
import type { ProvingProgress } from "./ticket-pool";
import type { TicketResolver } from "./ticket-resolver";
import { contiguousCharges, foldableCharges } from "./ticket-window";

export interface WithdrawalFlowOptions {
    readonly book: AccountBook;
    readonly keyring: TicketKeyring;
    readonly gateway: GatewayClient;
    readonly resolver: TicketResolver;
    readonly folder: Folder;
    readonly paid: PaidRequests;
    readonly owner: TicketOwner;
    readonly queue: ProvingQueue;
    readonly withdrawProver: () => CircuitProver;
    readonly binding: RegistryBinding;
    readonly provider: ProviderTerms;
    /** The registry for reads and event queries. */
    readonly registry: ICreditRegistry;
    readonly signer: () => Signer;
    readonly pollIntervalMs: number;
    readonly onProgress: (progress: ProvingProgress) => void;
    readonly onCharged: (index: bigint) => void;
}

/** Options of a withdrawal request. */
export interface WithdrawalRequestOptions {
    /**
     * Withdraw even if some tickets could not be resolved (the gateway unreachable, a ticket
     * pending for good): each such slot is declared and costs maxCost. Without it, the request
     * fails with UNRESOLVED and lists them.
     */
    readonly force?: boolean;
    /** Resolution rounds before giving up (each waits pollIntervalMs when something is pending). */
    readonly rounds?: number;
}

/** Deposit statuses of the registry (ICreditRegistry.DepositStatus). */
const STATUS = { none: 0n, active: 1n, withdrawing: 2n, withdrawn: 3n, slashed: 4n, expired: 5n } as const;

/** The registry's WithdrawalRequest struct, from a recorded claim. */
export function withdrawalRequestOf(recipient: string, claim: WithdrawalClaimRecord): ICreditRegistry.WithdrawalRequestStruct {
    return {
        recipient,
        spent: claim.spent,
        burned: claim.burned,
        declaredSlots: claim.declaredSlots,
        foldNullifier: claim.foldNullifier,
        slotNullifiersHash: claim.slotNullifiersHash,
        slotNullifiers: [...claim.slotNullifiers]
    };
}

/** A fingerprint of what resolution can change (to know when it has converged). */
function progressOf(record: AccountRecord): string {
    const tickets = indicesOf(record.tickets).map((i) => `${i}:${record.tickets[key(i)]!.status}`);
    return `${record.base.state.folded}|${Object.keys(record.charges).length}|${record.fold?.from ?? "-"}|${tickets.join(",")}`;
}

/**
 * The withdrawal (docs/protocol.md, "Withdrawal"): stops new tickets in every process, resolves
 * everything first (the fold in flight, every written-down ticket without a charge is looked up,
 * re-sent or voided, every slot of the final window is looked up so an old copy of the account
 * catches up, what can be folded is folded), then proves Withdraw(K, W) on the newest base plus
 * the m ≤ K charges held beyond it, declaring every slot of [e, e+W) that was shown to the
 * gateway without being folded in, and sends requestWithdrawal; later finalizeWithdrawal and,
 * if the token refused the refund, claimRefund.
 */
export class WithdrawalFlow {
    constructor(private readonly options: WithdrawalFlowOptions) {}

    async request(recipient: string, requestOptions: WithdrawalRequestOptions = {}): Promise<WithdrawalRecord> {
        const { book } = this.options;
        const to = getAddress(recipient);
        let record = await book.setWithdrawal((current) => {
            if (current.withdrawal === undefined) return { phase: "resolving", recipient: to };
            if (current.withdrawal.phase === "resolving" && current.withdrawal.recipient !== to) return { ...current.withdrawal, recipient: to };
            return undefined;
        });
        if (record.withdrawal!.phase !== "resolving") return record.withdrawal!;
        const adopted = await this.adoptOnChainRequest(record);
        if (adopted !== undefined) return adopted;

        await this.options.paid.idle();
        const unresolved = await this.resolve(requestOptions.rounds ?? 40);
        if (unresolved.length > 0 && requestOptions.force !== true) {
            throw new SdkError(
                "UNRESOLVED",
                `tickets ${unresolved.join(", ")} could not be resolved (gateway unreachable or still serving them); retry later, or withdraw with force (each is declared at maxCost)`
            );
        }
        record = await book.require();
        return this.send(record, to);
    }

    /**
     * Resolves the account before a withdrawal; returns the indices left unresolved. Converges when
     * a round changes nothing and nothing is pending.
     */
    private async resolve(rounds: number): Promise<bigint[]> {
        const { book, folder, resolver, paid, owner } = this.options;
        let unresolved: bigint[] = [];
        for (let round = 0; round < rounds; round++) {
            const before = progressOf(await book.require());
            unresolved = [];
            try {
                await folder.foldAll();
            } catch (error) {
                if (!(error instanceof SdkError) || !["PROVIDER_FAULT", "GATEWAY_UNREACHABLE", "GATEWAY_REJECTED"].includes(error.code)) throw error;
            }
            unresolved.push(...(await resolver.resolveAbandoned((index) => paid.isActive(index), (o) => o?.id === owner.id, true)));
            unresolved.push(...(await this.lookUpWindow()));
            const after = await book.require();
            const settled = progressOf(after) === before && after.fold === undefined && (after.providerFault !== undefined || foldableCharges(after) === undefined);
            if (settled && unresolved.length === 0) return [];
            if (progressOf(after) === before) await pause(this.options.pollIntervalMs);
        }
        return [...new Set(unresolved)].sort((a, b) => (a < b ? -1 : 1));
    }

    /**
     * Looks up every slot of the final window this file knows nothing of: a slot another copy of
     * the account used is adopted (and then folded or declared), never disclosed as unused.
     */
    private async lookUpWindow(): Promise<bigint[]> {
        const { book, keyring, gateway, provider } = this.options;
        const record = await book.require();
        const pending: bigint[] = [];
        const first = record.base.state.folded;
        for (let index = first; index < first + BigInt(TICKET_WINDOW + FOLD_SIZE); index++) {
            if (record.tickets[key(index)] !== undefined) continue;
            const keys = keyring.keys(index);
            try {
                const found = await gateway.lookup(keys);
                if (found.status === "pending") pending.push(index);
                if (found.status === "complete") {
                    await book.settle(index, verifyCharge(found.charge, keys, provider), { nullifier: keys.nullifier, adopted: true });
                    this.options.onCharged(index);
                }
            } catch (error) {
                if (error instanceof GatewayUnreachable) pending.push(index);
                else throw error;
            }
        }
        return pending;
    }

    /** The Withdraw witness of the account as it stands: newest base, m ≤ K charges, declared slots. */
    witness(record: AccountRecord, recipient: string): WithdrawWitness {
        const { keyring, binding } = this.options;
        const base = record.base.state;
        const charges = contiguousCharges(record, FOLD_SIZE).map((charge, s) => ({ ...charge, blinding: keyring.keys(base.folded + BigInt(s)).blinding }));
        const effective = base.folded + BigInt(charges.length);
        const declared = Array.from({ length: TICKET_WINDOW }, (_, j) => {
            const ticket = record.tickets[key(effective + BigInt(j))];
            // Declared: every slot whose ticket the gateway saw (or may have seen) and that is not folded in.
            return ticket !== undefined && (ticket.status !== "claimed" || ticket.ticketHeader !== undefined);
        });
        return {
            secret: keyring.secret,
            base: { base, blinding: keyring.baseBlinding(base.folded), signature: record.base.signature },
            charges,
            declared,
            registry: binding,
            recipient: BigInt(recipient)
        };
    }

    private async send(record: AccountRecord, recipient: string): Promise<WithdrawalRecord> {
        const { book, queue, registry } = this.options;
        const witness = this.witness(record, recipient);
        const claim = withdrawalClaim(witness);
        const progress: ProvingProgress = { circuit: "withdraw", phase: "start" };
        this.options.onProgress(progress);
        const { proof, publicSignals } = await queue.prove(this.options.withdrawProver(), withdrawInputs(witness), "request");
        this.options.onProgress({ ...progress, phase: "done" });
        const expected = flattenWithdrawSignals(withdrawPublicSignals(witness));
        if (publicSignals.length !== expected.length || publicSignals.some((s, i) => s !== expected[i])) {
            throw new Error("the Withdraw proof does not show the expected public signals");
        }
        const claimRecord: WithdrawalClaimRecord = {
            spent: claim.spent,
            burned: claim.burned,
            declaredSlots: claim.declaredSlots,
            foldNullifier: claim.foldNullifier,
            slotNullifiersHash: claim.slotNullifiersHash,
            slotNullifiers: claim.slotNullifiers
        };
        const { pA, pB, pC } = toSolidityProof(proof);
        const sender = registry.connect(this.options.signer());
        const tx = await sender.requestWithdrawal(record.identityCommitment, withdrawalRequestOf(recipient, claimRecord), { a: pA, b: pB, c: pC });
        const receipt = await tx.wait();
        if (receipt === null || receipt.status !== 1) throw new Error(`requestWithdrawal ${tx.hash} failed`);
        let finalizableAt: bigint | undefined;
        for (const log of receipt.logs) {
            const parsed = registry.interface.parseLog(log);
            if (parsed?.name === "WithdrawalRequested") finalizableAt = parsed.args.finalizableAt as bigint;
        }
        const updated = await book.setWithdrawal((current) => ({
            phase: "requested",
            recipient,
            claim: claimRecord,
            transactionHash: receipt.hash,
            finalizableAt,
            ...(current.withdrawal?.refund === undefined ? {} : { refund: current.withdrawal.refund })
        }));
        return updated.withdrawal!;
    }

    /** After a crash between the transaction and the record: adopt the request the chain holds. */
    private async adoptOnChainRequest(record: AccountRecord): Promise<WithdrawalRecord | undefined> {
        const { registry, book } = this.options;
        const deposit = await registry.deposits(record.identityCommitment);
        if (deposit.status === STATUS.active) return undefined;
        if (deposit.status !== STATUS.withdrawing && deposit.status !== STATUS.withdrawn) {
            throw new SdkError("ACCOUNT_CLOSED", `the deposit is ${["none", "active", "withdrawing", "withdrawn", "slashed", "expired"][Number(deposit.status)]}: nothing to withdraw`);
        }
        const events = await registry.queryFilter(registry.filters.WithdrawalRequested(record.identityCommitment), record.registrationBlock);
        const event = events.at(-1);
        if (event === undefined) throw new SdkError("UNRESOLVED", "the deposit is under withdrawal but its WithdrawalRequested event was not found");
        const args = event.args;
        const claim: WithdrawalClaimRecord = {
            spent: args.spent,
            burned: args.burned,
            declaredSlots: Number(args.declaredSlots),
            foldNullifier: args.foldNullifier,
            slotNullifiersHash: args.slotNullifiersHash,
            slotNullifiers: [...args.slotNullifiers]
        };
        const updated = await book.setWithdrawal(() => ({
            phase: deposit.status === STATUS.withdrawn ? "finalized" : "requested",
            recipient: getAddress(args.recipient),
            claim,
            transactionHash: event.transactionHash,
            finalizableAt: args.finalizableAt
        }));
        return updated.withdrawal!;
    }

    /**
     * Gives up a withdrawal that is still resolving (e.g. it failed with UNRESOLVED and the user
     * prefers to go on paying): false if it was already requested on-chain.
     */
    async cancel(): Promise<boolean> {
        const record = await this.options.book.require();
        if (record.withdrawal?.phase !== "resolving") return false;
        if ((await this.options.registry.deposits(record.identityCommitment)).status !== STATUS.active) return false;
        return this.options.book.cancelWithdrawal();
    }

    /** Settles the withdrawal once its challenge window has passed; the refund (owed if the token refused it). */
    async finalize(): Promise<WithdrawalRecord> {
        const { book, registry } = this.options;
        const record = await book.require();
        const withdrawal = record.withdrawal;
        if (withdrawal?.claim === undefined || withdrawal.phase === "resolving") throw new SdkError("NOT_REGISTERED", "no withdrawal was requested");
        if (withdrawal.phase === "finalized") return withdrawal;
        const provider = registry.runner?.provider;
        const latest = provider == null ? null : await provider.getBlock("latest");
        if (latest !== null && withdrawal.finalizableAt !== undefined && BigInt(latest.timestamp) < withdrawal.finalizableAt) {
            throw new SdkError("WITHDRAWAL_PENDING", `the challenge window is open until ${new Date(Number(withdrawal.finalizableAt) * 1000).toISOString()} (chain time now ${new Date(latest.timestamp * 1000).toISOString()})`);
        }
        const sender = registry.connect(this.options.signer());
        const receipt = await (await sender.finalizeWithdrawal(record.identityCommitment, withdrawalRequestOf(withdrawal.recipient, withdrawal.claim))).wait();
        if (receipt === null || receipt.status !== 1) throw new Error("finalizeWithdrawal failed");
        let refund = 0n;
        let owed = false;
        for (const log of receipt.logs) {
            const parsed = registry.interface.parseLog(log);
            if (parsed?.name === "WithdrawalFinalized") refund = parsed.args.refund as bigint;
            if (parsed?.name === "RefundDeferred") owed = true;
        }
        const updated = await book.setWithdrawal((current) => ({ ...current.withdrawal!, phase: "finalized", refund, refundOwed: owed }));
        return updated.withdrawal!;
    }

    /** Claims a refund the token refused at finalization (paid to the recipient). */
    async claimRefund(): Promise<bigint> {
        const { book, registry } = this.options;
        const record = await book.require();
        const withdrawal = record.withdrawal;
        if (withdrawal?.phase !== "finalized") throw new SdkError("WITHDRAWAL_PENDING", "the withdrawal is not finalized");
        const owed = await registry.refundsOwed(withdrawal.recipient);
        if (owed === 0n) return 0n;
        const receipt = await (await registry.connect(this.options.signer()).claimRefund(withdrawal.recipient)).wait();
        if (receipt === null || receipt.status !== 1) throw new Error("claimRefund failed");
        await book.setWithdrawal((current) => ({ ...current.withdrawal!, refundOwed: false }));
        return owed;
    }
}
