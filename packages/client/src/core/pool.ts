import { BaseError } from "../errors.js";

/** A few workers that run one kind of job (Web Workers in a browser, worker_threads in Node). */
export interface WorkerPool<Req, Res> {
  /** Workers (0: jobs run on the calling thread). */
  readonly size: number;
  /** Runs a job on the least busy worker; `transfer` moves those buffers instead of copying them. */
  run(job: Req, transfer?: ArrayBuffer[]): Promise<Res>;
  close(): Promise<void>;
}

/** What a job's handler returns: the result, and the buffers in it to move back. */
export interface JobOutput<Res> {
  result: Res;
  transfer?: ArrayBuffer[];
}

export type JobHandler<Req, Res> = (job: Req) => Promise<JobOutput<Res>>;

/** One worker as a pool drives it: the platform wraps worker_threads or a Web Worker in it. */
export interface PoolWorker {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  /** `onError` is called when the worker fails (it cannot load, or it crashed). */
  listen(onMessage: (message: unknown) => void, onError: (error: unknown) => void): void;
  terminate(): Promise<void>;
}

/** The worker's side of the channel, as the platform's worker entry sees it. */
export interface PoolPort {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  listen(onMessage: (message: unknown) => void): void;
}

interface Request<Req> {
  id: number;
  job: Req;
}

type Reply<Res> = { id: number; result: Res } | { id: number; error: string };

interface Slot<Req, Res> {
  worker: PoolWorker;
  busy: Map<number, { job: Req; resolve: (r: Res) => void; reject: (e: Error) => void }>;
  dead: boolean;
}

export interface WorkerPoolOptions<Req, Res> {
  size: number;
  spawn: () => PoolWorker;
  /**
   * Runs jobs on the calling thread once a worker has failed (a browser page whose bundler did not
   * ship the worker file): slower, but it works. Without it, a failed worker fails its jobs and
   * every later one.
   */
  fallback?: JobHandler<Req, Res>;
}

/** Jobs on the calling thread: the pool of size 0. */
export function inlinePool<Req, Res>(handler: JobHandler<Req, Res>): WorkerPool<Req, Res> {
  return {
    size: 0,
    run: async (job) => (await handler(job)).result,
    close: async () => undefined,
  };
}

/**
 * A pool of `size` workers, spawned at once. Each job goes to the worker with the fewest jobs in
 * flight; replies are matched by id, so a worker may run several at a time.
 */
export function workerPool<Req, Res>(o: WorkerPoolOptions<Req, Res>): WorkerPool<Req, Res> {
  if (o.size < 1) throw new RangeError("a worker pool needs at least one worker (use inlinePool)");
  let next = 0;
  let failure: Error | undefined;
  const slots: Slot<Req, Res>[] = [];
  const fail = (slot: Slot<Req, Res>, err: unknown) => {
    if (slot.dead) return;
    slot.dead = true;
    const error = new BaseError("a worker failed", {
      details: err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err),
      cause: err,
    });
    if (!o.fallback) failure ??= error;
    for (const [, p] of slot.busy) {
      if (o.fallback)
        o.fallback(p.job).then(
          (r) => p.resolve(r.result),
          (e: unknown) => p.reject(e as Error),
        );
      else p.reject(error);
    }
    slot.busy.clear();
    void slot.worker.terminate().catch(() => undefined);
  };
  for (let i = 0; i < o.size; i++) {
    const slot: Slot<Req, Res> = { worker: o.spawn(), busy: new Map(), dead: false };
    slot.worker.listen(
      (message) => {
        const reply = message as Reply<Res>;
        const p = slot.busy.get(reply.id);
        if (!p) return;
        slot.busy.delete(reply.id);
        if ("error" in reply) p.reject(new BaseError("a worker's job failed", { details: reply.error }));
        else p.resolve(reply.result);
      },
      (err) => fail(slot, err),
    );
    slots.push(slot);
  }
  return {
    size: o.size,
    run(job, transfer = []) {
      if (failure) return Promise.reject(failure);
      const live = slots.filter((s) => !s.dead);
      if (live.length === 0) return o.fallback!(job).then((r) => r.result);
      const slot = live.reduce((a, b) => (b.busy.size < a.busy.size ? b : a));
      const id = ++next;
      return new Promise<Res>((resolve, reject) => {
        slot.busy.set(id, { job, resolve, reject });
        try {
          slot.worker.post({ id, job } satisfies Request<Req>, transfer);
        } catch (err) {
          slot.busy.delete(id);
          reject(new BaseError("cannot hand a job to a worker", { cause: err }));
        }
      });
    },
    async close() {
      await Promise.all(slots.map((s) => s.worker.terminate().catch(() => undefined)));
    },
  };
}

/** The worker's loop: each request runs `handler`, and its result or error goes back with its id. */
export function serveJobs<Req, Res>(port: PoolPort, handler: JobHandler<Req, Res>): void {
  port.listen((message) => {
    const { id, job } = message as Request<Req>;
    handler(job).then(
      (out) => port.post({ id, result: out.result } satisfies Reply<Res>, out.transfer ?? []),
      (err: unknown) =>
        port.post(
          {
            id,
            error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          } satisfies Reply<Res>,
          [],
        ),
    );
  });
}
