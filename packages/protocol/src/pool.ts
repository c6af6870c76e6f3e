// One small typed pool for every worker: the client's page openers (worker_threads in Node, Web
// Workers in a browser) and the mailbox's page reader, ledger writer and voucher recovery. No
// platform import here: the platform gives the pool its workers (`@postbox/net/worker` in Node).
import { BaseError } from "./errors.js";

/** A few workers that run one kind of job (Web Workers in a browser, worker_threads in Node). */
export interface WorkerPool<Req, Res> {
  /** Workers (0: jobs run on the calling thread). */
  readonly size: number;
  /**
   * Set once a worker has failed in a pool without a fallback: every job fails with it from then
   * on. A caller that has another way to do the job (the archive's own connection) checks it.
   */
  readonly failure: WorkerError | undefined;
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
  /** `onError` is called when the worker fails (it cannot load, it crashed, it exited). */
  listen(onMessage: (message: unknown) => void, onError: (error: unknown) => void): void;
  terminate(): Promise<void>;
  /**
   * Where a worker can keep its process alive (Node): the pool refers to it while it has jobs,
   * and lets go of it while it is idle, so an idle pool never holds a process open.
   */
  ref?(): void;
  unref?(): void;
}

/** The worker's side of the channel, as the platform's worker entry sees it. */
export interface PoolPort {
  post(message: unknown, transfer: ArrayBuffer[]): void;
  listen(onMessage: (message: unknown) => void): void;
}

export type WorkerErrorReason =
  /** The worker could not load, crashed or exited: its jobs fail, and (without a fallback) every later one. */
  | "worker failed"
  /** The job's handler threw in the worker; `details` carries its error. */
  | "job failed"
  /** The job could not be posted (a value that cannot be cloned). */
  | "cannot post"
  /** The pool was closed. */
  | "closed";

const MESSAGES: Record<WorkerErrorReason, string> = {
  "worker failed": "a worker failed",
  "job failed": "a worker's job failed",
  "cannot post": "cannot hand a job to a worker",
  closed: "the worker pool is closed",
};

/** A job did not complete on a worker; `reason` says why. */
export class WorkerError extends BaseError {
  override name = "WorkerError" as const;
  readonly reason: WorkerErrorReason;

  constructor(reason: WorkerErrorReason, args: { details?: string; cause?: unknown } = {}) {
    super(MESSAGES[reason], args);
    this.reason = reason;
  }
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
   * every later one (see {@link WorkerPool.failure}).
   */
  fallback?: JobHandler<Req, Res>;
}

/** Jobs on the calling thread: the pool of size 0. */
export function inlinePool<Req, Res>(handler: JobHandler<Req, Res>): WorkerPool<Req, Res> {
  return {
    size: 0,
    failure: undefined,
    run: async (job) => (await handler(job)).result,
    close: async () => undefined,
  };
}

const describe = (err: unknown): string =>
  err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);

/**
 * A pool of `size` workers, spawned at once. Each job goes to the worker with the fewest jobs in
 * flight; replies are matched by id, so a worker may run several at a time. A stateful worker (its
 * own database connection) is a pool of size 1 whose spawn passes the worker its settings.
 */
export function workerPool<Req, Res>(o: WorkerPoolOptions<Req, Res>): WorkerPool<Req, Res> {
  if (o.size < 1) throw new RangeError("a worker pool needs at least one worker (use inlinePool)");
  let next = 0;
  let failure: WorkerError | undefined;
  let closed = false;
  const slots: Slot<Req, Res>[] = [];
  const fail = (slot: Slot<Req, Res>, err: unknown) => {
    if (slot.dead || closed) return;
    slot.dead = true;
    const error = new WorkerError("worker failed", { details: describe(err), cause: err });
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
        if (slot.busy.size === 0) slot.worker.unref?.();
        if ("error" in reply) p.reject(new WorkerError("job failed", { details: reply.error }));
        else p.resolve(reply.result);
      },
      (err) => fail(slot, err),
    );
    slots.push(slot);
  }
  return {
    size: o.size,
    get failure() {
      return failure;
    },
    run(job, transfer = []) {
      if (closed) return Promise.reject(new WorkerError("closed"));
      if (failure) return Promise.reject(failure);
      let slot: Slot<Req, Res> | undefined;
      for (const s of slots) if (!s.dead && (!slot || s.busy.size < slot.busy.size)) slot = s;
      if (!slot) return o.fallback!(job).then((r) => r.result);
      const chosen = slot;
      const id = ++next;
      return new Promise<Res>((resolve, reject) => {
        chosen.busy.set(id, { job, resolve, reject });
        if (chosen.busy.size === 1) chosen.worker.ref?.();
        try {
          chosen.worker.post({ id, job } satisfies Request<Req>, transfer);
        } catch (err) {
          chosen.busy.delete(id);
          if (chosen.busy.size === 0) chosen.worker.unref?.();
          reject(new WorkerError("cannot post", { details: describe(err), cause: err }));
        }
      });
    },
    async close() {
      closed = true;
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
