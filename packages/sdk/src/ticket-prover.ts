import { canSpend, packProof, parseSpendSignals, spendInputs, TREE_DEPTH } from "@zk-api-credits/protocol";
import type { CircuitProver, RegistryBinding, RegistrySync } from "@zk-api-credits/protocol";
import type { AccountRecord, PreparedTicket } from "./account-record";
import type { AccountBook } from "./account-book";
import { verifyCharge } from "./charges";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import type { GatewayClient } from "./gateway-client";
import { pause } from "./gateway-client";
import type { ProvingPriority, ProvingQueue } from "./proving-queue";
import type { TicketKeyring } from "./ticket-keys";
import type { ProvingProgress } from "./ticket-pool";

/** Attempts of a registry sync before its RPC failure is reported (a node that drops a connection under load). */
const RPC_ATTEMPTS = 4;

/** Something the client waits for, said in words a user understands. */
export interface WaitNotice {
    readonly reason: "epoch" | "window" | "pending-ticket" | "gateway-root";
    readonly message: string;
}

export interface TicketProverOptions {
    readonly keyring: TicketKeyring;
    readonly book: AccountBook;
    readonly sync: RegistrySync;
    readonly gateway: GatewayClient;
    readonly queue: ProvingQueue;
    readonly spendProver: () => CircuitProver;
    readonly binding: RegistryBinding;
    readonly provider: ProviderTerms;
    readonly epochBlocks: number;
    readonly pollIntervalMs: number;
    readonly onWait: (notice: WaitNotice) => void;
    readonly onProgress: (progress: ProvingProgress) => void;
    /** A charge adopted from a look-up (the index was used by another copy of the account). */
    readonly onAdopted: (index: bigint) => void;
}

/**
 * Proves Spend tickets against the current epoch root, and looks an index up at the gateway
 * before this account file first uses it: an index another copy of the account (a restored
 * backup, another device) already used is adopted, with its charge, instead of being reused.
 */
export class TicketProver {
    constructor(private readonly options: TicketProverOptions) {}

    /** Syncs the registry tree (the current and previous epoch roots), retrying a failed RPC call a few times. */
    async sync(): Promise<void> {
        for (let attempt = 1; ; attempt++) {
            try {
                await this.options.sync.sync();
                return;
            } catch (error) {
                if ((error as { code?: unknown }).code === "CHECKPOINT_MISMATCH" || attempt >= RPC_ATTEMPTS) throw error;
                await pause(this.options.pollIntervalMs * 2 ** attempt);
            }
        }
    }

    /** Syncs once if this process has not synced yet (so tickets prepared by another process can be judged). */
    async ensureSynced(): Promise<void> {
        if (this.options.sync.current === undefined) await this.sync();
    }

    /** True if a prepared ticket's root is still accepted (the current or the previous epoch root, as this client sees the chain). */
    isUsable(prepared: PreparedTicket | undefined): prepared is PreparedTicket {
        return prepared !== undefined && this.options.sync.acceptedRoots().includes(prepared.root);
    }

    /** The current epoch root this client proves against. */
    currentRoot(): bigint | undefined {
        return this.options.sync.current?.root;
    }

    /**
     * Waits until the deposit is in the current epoch tree (a deposit registered after the last
     * boundary becomes provable at the next one). NOT_IN_EPOCH if it left the tree.
     */
    async waitForEpoch(record: AccountRecord): Promise<void> {
        const { sync, epochBlocks, keyring } = this.options;
        let told = false;
        for (;;) {
            await this.sync();
            if (sync.inCurrentEpoch(keyring.identityCommitment)) return;
            const index = sync.leafIndexOf(keyring.identityCommitment);
            if (index !== undefined && index < sync.tree.size) {
                throw new SdkError("NOT_IN_EPOCH", "the deposit's leaf left the tree (withdrawn, slashed or expired): no ticket can be proved");
            }
            if (!told) {
                const boundary = Math.ceil(record.registrationBlock / epochBlocks) * epochBlocks;
                this.options.onWait({
                    reason: "epoch",
                    message: `the deposit (block ${record.registrationBlock}) joins the tree at the epoch boundary, block ${boundary}; the chain is at block ${sync.block}: waiting`
                });
                told = true;
            }
            await pause(this.options.pollIntervalMs);
        }
    }

    /**
     * Looks ticket `index` up before its first use by this account file: "free" if the gateway
     * never recorded it; "used" if it did (its charge is verified and adopted, or it was already
     * settled here). Waits while the gateway is still serving it.
     */
    async checkUnused(index: bigint): Promise<"free" | "used"> {
        const keys = this.options.keyring.keys(index);
        let told = false;
        for (;;) {
            const found = await this.options.gateway.lookup(keys);
            if (found.status === "unknown") return "free";
            if (found.status === "complete") {
                const charge = verifyCharge(found.charge, keys, this.options.provider);
                await this.options.book.settle(index, charge, { nullifier: keys.nullifier, adopted: true });
                this.options.onAdopted(index);
                return "used";
            }
            if (!told) {
                this.options.onWait({ reason: "pending-ticket", message: `ticket ${index} is being served for another copy of this account: waiting for its charge` });
                told = true;
            }
            await pause(this.options.pollIntervalMs);
        }
    }

    /**
     * Proves ticket `index` on the account's newest base, against the current epoch root, with
     * the index's deterministic x (so a re-proof of the same index shows the same share).
     */
    async prove(index: bigint, record: AccountRecord, priority: ProvingPriority, slot?: { position: number; total: number }): Promise<PreparedTicket> {
        const { keyring, binding } = this.options;
        const base = record.base.state;
        if (!canSpend(base, index, record.deposit, binding.terms)) {
            throw new SdkError("INSOLVENT", `ticket ${index} is outside the window of base ${base.folded} or the deposit cannot reserve it`);
        }
        await this.waitForEpoch(record);
        const { sync } = this.options;
        const epoch = sync.current!;
        const keys = keyring.keys(index);
        const inputs = spendInputs({
            secret: keyring.secret,
            deposit: record.deposit,
            merkleProof: sync.tree.merkleProof(record.leafIndex, TREE_DEPTH),
            base: { base, blinding: keyring.baseBlinding(base.folded), signature: record.base.signature },
            index,
            ticketBlinding: keys.blinding,
            registry: binding,
            x: keys.x
        });
        const progress: ProvingProgress = { circuit: "spend", phase: "start", index, ...slot };
        this.options.onProgress(progress);
        const { proof, publicSignals } = await this.options.queue.prove(this.options.spendProver(), inputs, priority);
        this.options.onProgress({ ...progress, phase: "done" });
        const signals = parseSpendSignals(publicSignals);
        if (signals.nullifier !== keys.nullifier || signals.x !== keys.x || signals.ticketCommitment[0] !== keys.ticketCommitment[0] || signals.root !== epoch.root) {
            throw new Error(`the Spend proof of ticket ${index} does not show the expected public signals`);
        }
        return {
            root: signals.root,
            epoch: epoch.epoch,
            baseFolded: base.folded,
            x: signals.x,
            y: signals.y,
            nullifier: signals.nullifier,
            ticketCommitment: signals.ticketCommitment,
            proof: packProof(proof)
        };
    }
}
