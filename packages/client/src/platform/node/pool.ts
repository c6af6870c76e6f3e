import { availableParallelism } from "node:os";
import { spawnWorker, workerModule } from "@postbox/net/worker";
import type { PoolWorker } from "@postbox/protocol/pool";
import type { NodeCryptoOptions } from "./crypto.js";

/** One worker per core, at most 8. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * A worker thread that opens catch-up pages (`open-page.worker.ts`), with the crypto options of the
 * client that starts it. It does not keep the process alive while it is idle.
 */
export function spawnOpenPageWorker(crypto: NodeCryptoOptions = {}): PoolWorker {
  return spawnWorker(workerModule(import.meta.url, "open-page"), {
    workerData: crypto,
    name: "postbox page opener",
  });
}
