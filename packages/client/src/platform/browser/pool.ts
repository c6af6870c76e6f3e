import type { PoolWorker } from "../../core/pool.js";

/** Workers for a page: one fewer than its cores (the page keeps one), 1 to 4. */
export function defaultWorkers(): number {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
  return Math.max(1, Math.min(4, cores - 1));
}

/**
 * A Web Worker that opens catch-up pages (`open-page.worker.ts`). The `new Worker(new URL(…,
 * import.meta.url), { type: "module" })` form is the one bundlers (Turbopack, webpack, Vite)
 * recognise and ship as a worker chunk; an app that serves the package unbundled serves
 * `open-page.worker.js` beside `pool.js`.
 */
export function spawnOpenPageWorker(): PoolWorker {
  const worker = new Worker(new URL("./open-page.worker.js", import.meta.url), { type: "module" });
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onError) {
      worker.onmessage = (e) => onMessage(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        onError(new Error(e.message || "the worker did not load"));
      };
      worker.onmessageerror = () => onError(new Error("a message from the worker could not be read"));
    },
    terminate: async () => worker.terminate(),
  };
}
