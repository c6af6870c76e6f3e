import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { PoolWorker } from "../../core/pool.js";
import type { NodeCryptoOptions } from "./crypto.js";

/** One worker per core, at most 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * The worker module next to this one. Built, it is `open-page.worker.js`; run from the TypeScript
 * sources (the tests), it is the `.ts` file, loaded with a resolve hook that maps the sources'
 * `.js` imports to their `.ts` files, so a test runs the code it sees.
 */
function workerModule(): { url: URL; execArgv: string[] } {
  if (import.meta.url.endsWith(".ts"))
    return {
      url: new URL("./open-page.worker.ts", import.meta.url),
      execArgv: ["--import", new URL("./source-hooks.ts", import.meta.url).href],
    };
  return { url: new URL("./open-page.worker.js", import.meta.url), execArgv: [] };
}

/**
 * A worker thread that opens catch-up pages (`open-page.worker.ts`), with the crypto options of the
 * client that starts it.
 */
export function spawnOpenPageWorker(crypto: NodeCryptoOptions = {}): PoolWorker {
  const { url, execArgv } = workerModule();
  const worker = new Worker(url, { execArgv, workerData: crypto });
  worker.unref(); // a client that is not stopped does not keep the process alive
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onError) {
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", (code) => {
        if (code !== 0) onError(new Error(`exited with code ${code}`));
      });
    },
    terminate: async () => {
      await worker.terminate();
    },
  };
}
