/**
 * Loaded by the verification worker before anything imports ffjavascript. ffjavascript loads
 * the `web-worker` package when it is imported, and that package, loaded on a worker thread,
 * takes the thread for a web worker it spawned itself: it rewrites the global scope, listens
 * on the parent port and requires `workerData.mod`. The engines here are single-threaded and
 * never start web workers, so on a verification worker the package is a stub.
 */
import Module from "node:module";
import path from "node:path";

const id = require.resolve("web-worker", { paths: [path.dirname(require.resolve("ffjavascript"))] });
const stub = new Module(id);
stub.filename = id;
stub.loaded = true;
stub.exports = function UnavailableWorker(): never {
    throw new Error("ffjavascript's web workers are not available on a verification worker (its engines are single-threaded)");
};
require.cache[id] = stub;
