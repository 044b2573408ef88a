import type { ProvingProgress, ZkApiClient } from "@zk-api-credits/sdk";
import { describeFailure } from "./failures";

/** What a proof is, in words: "ticket 1/8 (index 0)", "the fold of tickets 4 and 5", "the withdrawal". */
function subject(progress: ProvingProgress): string {
    if (progress.circuit === "fold") return progress.index === undefined ? "a fold" : `the fold of tickets ${progress.index} and ${progress.index + 1n} into a new base`;
    if (progress.circuit === "withdraw") return "the withdrawal";
    const index = progress.index === undefined ? "" : ` (index ${progress.index})`;
    if (progress.position !== undefined && progress.total !== undefined) return `ticket ${progress.position}/${progress.total}${index}`;
    return `the ticket of this request${index}`;
}

/**
 * Reports what a client does in the background, one line each: "proving ticket 1/8 (index 0)…",
 * "proved ticket 1/8 (index 0) in 2.1 s", waits (the epoch, a full window), disputes and faults.
 * Repeated notices are said once.
 */
export function reportProgress(client: ZkApiClient, notice: (line: string) => void): void {
    const started = new Map<string, number>();
    let lastWait = "";
    const said = new Set<string>();
    client.on("proving", (progress) => {
        const what = subject(progress);
        const key = `${progress.circuit}:${progress.index ?? ""}`;
        if (progress.phase === "start") {
            started.set(key, Date.now());
            notice(`proving ${what}…`);
        } else {
            const since = started.get(key);
            started.delete(key);
            notice(`proved ${what}${since === undefined ? "" : ` in ${((Date.now() - since) / 1000).toFixed(1)} s`}`);
        }
    });
    client.on("waiting", (wait) => {
        if (wait.message === lastWait) return;
        lastWait = wait.message;
        notice(`waiting: ${wait.message}`);
    });
    client.on("charge-disputed", ({ index, error }) => notice(`warning: the charge of ticket ${index} does not match the published prices: ${error instanceof Error ? error.message : String(error)}`));
    client.on("provider-fault", (message) => notice(`warning: the gateway misbehaved (${message}); withdraw the deposit (zkapi withdraw request)`));
    client.on("background-error", (error) => {
        void describeFailure(error).then((message) => {
            if (said.has(message)) return;
            said.add(message);
            notice(`background work failed, retrying: ${message}`);
        });
    });
}
