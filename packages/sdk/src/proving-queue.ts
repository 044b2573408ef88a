import type { CircuitInputs, CircuitProver, ProofWithSignals } from "@zk-api-credits/protocol";

/** How soon a proof is needed: a request waiting for it, a fold or withdrawal, or a ticket prepared ahead. */
export type ProvingPriority = "request" | "fold" | "background";

const ORDER: Record<ProvingPriority, number> = { request: 0, fold: 1, background: 2 };

interface Job {
    readonly priority: ProvingPriority;
    readonly run: () => Promise<void>;
}

/**
 * Proves one circuit at a time in this process (a Groth16 proof uses every core snarkjs gets),
 * most urgent first: a request waiting for its ticket goes before a fold, which goes before
 * a ticket proved ahead.
 */
export class ProvingQueue {
    private readonly jobs: Job[] = [];
    private running = false;

    prove(prover: CircuitProver, inputs: CircuitInputs, priority: ProvingPriority): Promise<ProofWithSignals> {
        return new Promise<ProofWithSignals>((resolve, reject) => {
            const job: Job = { priority, run: () => prover.prove(inputs).then(resolve, reject) };
            const at = this.jobs.findIndex((queued) => ORDER[queued.priority] > ORDER[priority]);
            if (at < 0) this.jobs.push(job);
            else this.jobs.splice(at, 0, job);
            void this.drain();
        });
    }

    /** Jobs waiting (not counting the one being proved). */
    get waiting(): number {
        return this.jobs.length;
    }

    private async drain(): Promise<void> {
        if (this.running) return;
        this.running = true;
        try {
            for (let job = this.jobs.shift(); job !== undefined; job = this.jobs.shift()) await job.run();
        } finally {
            this.running = false;
        }
    }
}
