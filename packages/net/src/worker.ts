import { parentPort, Worker } from "node:worker_threads";
import {
  type JobHandler,
  type PoolWorker,
  serveJobs,
  type WorkerPool,
  workerPool,
} from "@postbox/protocol/pool";

/**
 * The worker module `NAME.worker` beside the module at `base` (its `import.meta.url`): the built
 * `.js` file, or, when the caller runs from its TypeScript sources (the tests), the `.ts` file, so
 * that a test runs the code it sees.
 */
export function workerModule(base: string, name: string): URL {
  return new URL(`./${name}.worker.${base.endsWith(".ts") ? "ts" : "js"}`, base);
}

/** The resolve hook a `.ts` worker needs (see `source-hooks.ts`), itself built or a source. */
const SOURCE_HOOKS = new URL(
  `./source-hooks.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`,
  import.meta.url,
);

export interface SpawnWorkerOptions {
  /** What the worker reads as `workerData` (its settings: a database path, a backend). */
  workerData?: unknown;
  /** The thread's name in profiles and the inspector. */
  name?: string;
}

/**
 * A worker thread on `module` (see {@link workerModule}), as a pool drives it. It does not keep the
 * process alive while it is idle (the pool refers to it while it has jobs), and it inherits the
 * process's Node options (`--cpu-prof` profiles every thread). A `.ts` module runs under Node's
 * type stripping with a resolve hook that maps the sources' `.js` imports to their `.ts` files.
 * An error, an unreadable message or an exit that `terminate` did not ask for fails the worker.
 */
export function spawnWorker(module: URL, options: SpawnWorkerOptions = {}): PoolWorker {
  const worker = new Worker(module, {
    workerData: options.workerData,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(module.pathname.endsWith(".ts") ? { execArgv: ["--import", SOURCE_HOOKS.href] } : {}),
  });
  let terminating = false;
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onError) {
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("messageerror", onError);
      worker.on("exit", (code) => {
        if (!terminating) onError(new Error(`exited with code ${code}`));
      });
      // After the listeners: a "message" listener refers to the worker's port again.
      worker.unref();
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: async () => {
      terminating = true;
      await worker.terminate();
    },
  };
}

export interface ThreadPoolOptions<Req, Res> extends SpawnWorkerOptions {
  /** Threads (default 1: a stateful worker, such as one with its own database connection). */
  size?: number;
  /** Runs the jobs on the calling thread once a worker has failed (see `WorkerPoolOptions`). */
  fallback?: JobHandler<Req, Res>;
}

/**
 * A pool of worker threads on the module `NAME.worker` beside `base` (the caller's
 * `import.meta.url`; see {@link workerModule}), each given `workerData`.
 */
export function threadPool<Req, Res>(
  base: string,
  name: string,
  options: ThreadPoolOptions<Req, Res> = {},
): WorkerPool<Req, Res> {
  const module = workerModule(base, name);
  const { size = 1, fallback, ...spawn } = options;
  return workerPool<Req, Res>({
    size,
    spawn: () => spawnWorker(module, spawn),
    ...(fallback ? { fallback } : {}),
  });
}

/**
 * The worker's side, in a `*.worker.ts` module: serves the jobs its pool sends over `parentPort`.
 * Throws outside a worker thread.
 */
export function serveParent<Req, Res>(handler: JobHandler<Req, Res>): void {
  const port = parentPort;
  if (!port) throw new Error("serveParent runs in a worker thread");
  serveJobs(
    {
      post: (message, transfer) => port.postMessage(message, transfer),
      listen: (on) => port.on("message", on),
    },
    handler,
  );
}
