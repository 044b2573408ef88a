/**
 * A verification worker thread: one warm batch-verification engine (batch-verifier.ts) for
 * one verification key, verifying the batches the pool (pool.ts) sends, one at a time.
 */
import "./no-web-worker"; // first: before ffjavascript is loaded
import { parentPort, workerData } from "node:worker_threads";
import { Groth16BatchVerifier } from "../batch-verifier";
import type { WorkerReply, WorkerRequest, WorkerSetup } from "./messages";

const port = parentPort;
if (port === null) throw new Error("verification/worker.ts runs as a worker thread");
const setup = workerData as WorkerSetup;
const post = (reply: WorkerReply): void => port.postMessage(reply);
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

// A worker has no event loop to share: yield only between Miller-loop chunks.
Groth16BatchVerifier.create(setup.verificationKey, { yieldEvery: 1 << 20, ...setup.engine }).then(
    (engine) => {
        port.on("message", (request: WorkerRequest) => {
            engine.verify(request.items).then(
                (results) => post({ kind: "verified", id: request.id, results, stats: engine.stats }),
                (error: unknown) => post({ kind: "error", id: request.id, message: message(error) })
            );
        });
        post({ kind: "ready" });
    },
    (error: unknown) => post({ kind: "failed", message: message(error) })
);
