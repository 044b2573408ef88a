import { FOLD_SIZE, foldBase, foldInputs, packProof, parseFoldSignals } from "@zk-api-credits/protocol";
import type { CircuitProver, RegistryBinding } from "@zk-api-credits/protocol";
import { Mutex } from "./account-lock";
import type { AccountBook } from "./account-book";
import type { AccountRecord, HeldCharge, InFlightFold } from "./account-record";
import { verifyFoldAnswer } from "./charges";
import type { ProviderTerms } from "./charges";
import { SdkError } from "./errors";
import type { GatewayClient } from "./gateway-client";
import type { ProvingQueue } from "./proving-queue";
import type { TicketKeyring } from "./ticket-keys";
import type { ProvingProgress } from "./ticket-pool";
import { foldableCharges } from "./ticket-window";

export interface FolderOptions {
    readonly book: AccountBook;
    readonly keyring: TicketKeyring;
    readonly gateway: GatewayClient;
    readonly queue: ProvingQueue;
    readonly foldProver: () => CircuitProver;
    readonly binding: RegistryBinding;
    readonly provider: ProviderTerms;
    readonly onProgress: (progress: ProvingProgress) => void;
    readonly onFolded: (from: bigint, to: bigint) => void;
    readonly onProviderFault: (message: string) => void;
    readonly onError: (error: unknown) => void;
    readonly retryMs: number;
}

/**
 * Folds in the background (docs/protocol.md, "Fold"): whenever the charges of f … f+K−1 are
 * held, proves Fold(K) into base f+K with the deterministic blinding r_{f+K}, records the fold
 * (a retry, from any process, sends the same new base), sends it to the free fold route,
 * checks the provider's base signature and advances the base, dropping what it folded.
 */
export class Folder {
    private running?: Promise<void>;
    private again = false;
    private stopped = false;
    private readonly mutex = new Mutex();

    constructor(private readonly options: FolderOptions) {}

    /** Folds what can be folded, in the background (errors go to onError and are retried). */
    kick(): void {
        if (this.stopped) return;
        if (this.running !== undefined) {
            this.again = true;
            return;
        }
        this.running = this.loop().finally(() => {
            this.running = undefined;
            if (this.again) {
                this.again = false;
                this.kick();
            }
        });
    }

    /** Waits for the background folds to finish. */
    async idle(): Promise<void> {
        while (this.running !== undefined) await this.running;
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.running;
    }

    private async loop(): Promise<void> {
        for (let failures = 0; !this.stopped; ) {
            try {
                await this.foldAll();
                return;
            } catch (error) {
                if (error instanceof SdkError && (error.code === "PROVIDER_FAULT" || error.code === "ACCOUNT_CLOSED")) return;
                this.options.onError(error);
                failures++;
                await new Promise((resolve) => setTimeout(resolve, this.options.retryMs * 2 ** Math.min(failures, 6)));
            }
        }
    }

    /**
     * Folds until fewer than K contiguous charges are held beyond the base (resending a fold in
     * flight first). Throws what stops it: the gateway unreachable, a refusal, a provider fault.
     */
    foldAll(): Promise<void> {
        return this.mutex.run(() => this.foldWhilePossible());
    }

    private async foldWhilePossible(): Promise<void> {
        for (;;) {
            const record = await this.options.book.require();
            if (record.providerFault !== undefined) throw new SdkError("PROVIDER_FAULT", record.providerFault);
            if (record.withdrawal !== undefined && record.withdrawal.phase !== "resolving") return;
            let fold = record.fold?.from === record.base.state.folded ? record.fold : undefined;
            if (fold === undefined) {
                const charges = foldableCharges(record);
                if (charges === undefined) return;
                fold = await this.options.book.beginFold(await this.prove(record, charges));
                if (fold === undefined) continue; // the base moved on meanwhile
            }
            await this.send(fold);
        }
    }

    private async prove(record: AccountRecord, charges: readonly HeldCharge[]): Promise<InFlightFold> {
        const { keyring, binding } = this.options;
        const base = record.base.state;
        const to = base.folded + BigInt(FOLD_SIZE);
        const progress: ProvingProgress = { circuit: "fold", phase: "start", index: base.folded };
        this.options.onProgress(progress);
        const inputs = foldInputs({
            secret: keyring.secret,
            base: { base, blinding: keyring.baseBlinding(base.folded), signature: record.base.signature },
            charges: charges.map((charge, s) => ({ ...charge, blinding: keyring.keys(base.folded + BigInt(s)).blinding })),
            newBlinding: keyring.baseBlinding(to),
            registry: binding
        });
        const { proof, publicSignals } = await this.options.queue.prove(this.options.foldProver(), inputs, "fold");
        const signals = parseFoldSignals(publicSignals);
        if (signals.foldNullifier !== keyring.foldNullifier(base.folded)) throw new Error(`the Fold proof of base ${base.folded} shows another fold nullifier`);
        this.options.onProgress({ ...progress, phase: "done" });
        return { from: base.folded, newState: foldBase(base, charges), newBase: signals.newBase, foldNullifier: signals.foldNullifier, proof: packProof(proof) };
    }

    private async send(fold: InFlightFold): Promise<void> {
        const { gateway, book, provider } = this.options;
        const outcome = await gateway.fold({ version: 2, context: provider.context, foldNullifier: fold.foldNullifier, newBase: fold.newBase, proof: fold.proof });
        if (outcome.kind === "refused") {
            if (outcome.code === "FOLD_ALREADY_USED") {
                const message = `the gateway says base ${fold.from} was folded into another new base than the one this account proves (FOLD_ALREADY_USED): a provider fault; the charges are kept, withdraw from base ${fold.from}`;
                await book.recordProviderFault(message);
                this.options.onProviderFault(message);
                throw new SdkError("PROVIDER_FAULT", message);
            }
            if (outcome.code === "FOLD_CLOSED") throw new SdkError("ACCOUNT_CLOSED", `the fold of base ${fold.from} was closed by a withdrawal`);
            throw new SdkError("GATEWAY_REJECTED", `the gateway refused the fold of base ${fold.from} (${outcome.code}): ${outcome.message}`, outcome.code);
        }
        try {
            verifyFoldAnswer(outcome.answer, fold, provider);
        } catch (error) {
            if (error instanceof SdkError && error.code === "PROVIDER_FAULT") {
                await book.recordProviderFault(error.message);
                this.options.onProviderFault(error.message);
            }
            throw error;
        }
        await book.completeFold(fold, outcome.answer.signature);
        this.options.onFolded(fold.from, fold.newState.folded);
    }
}
