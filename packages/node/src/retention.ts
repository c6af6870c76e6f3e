import type { Logger } from "pino";
import type { Archive, RetentionPolicy } from "./archive/types.js";
import type { Metrics } from "./metrics.js";

/**
 * Applies the retention policy in the background: every `intervalMs`, deletes expired or excess
 * envelopes in batches, yielding to the event loop between batches so that queries keep flowing.
 */
export class RetentionTask {
  readonly #archive: Archive;
  readonly #policy: RetentionPolicy;
  readonly #intervalMs: number;
  readonly #batch: number;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;
  #armed = false;
  readonly #beforePass: (() => Promise<void>) | undefined;

  constructor(init: {
    archive: Archive;
    policy: RetentionPolicy;
    intervalMs: number;
    batch: number;
    log: Logger;
    metrics: Metrics;
    /** Runs before each pass (the dispute watcher copies disputed envelopes aside); a failure is logged. */
    beforePass?: () => Promise<void>;
  }) {
    this.#beforePass = init.beforePass;
    this.#archive = init.archive;
    this.#policy = init.policy;
    this.#intervalMs = init.intervalMs;
    this.#batch = init.batch;
    this.#log = init.log;
    this.#metrics = init.metrics;
  }

  start(): void {
    this.#stopped = false;
    this.#armed = true;
    this.#arm(1_000);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Runs one full pass now; resolves with how many envelopes were deleted. */
  async runOnce(now: number = Date.now()): Promise<number> {
    if (this.#running) return this.#running;
    this.#running = (async () => {
      let total = 0;
      if (this.#beforePass)
        await this.#beforePass().catch((err) =>
          this.#log.warn({ err }, "the dispute pass before retention failed; pruning all the same"),
        );
      for (;;) {
        const n = await this.#archive.prune(this.#policy, now, this.#batch);
        total += n;
        this.#metrics.retentionDeleted.inc(n);
        if (n < this.#batch || this.#stopped) break;
        await new Promise((r) => setImmediate(r));
      }
      if (total > 0) this.#log.info({ deleted: total }, "retention pass");
      return total;
    })();
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  #arm(delay: number): void {
    if (this.#stopped || !this.#armed) return;
    this.#timer = setTimeout(() => {
      this.runOnce()
        .catch((err) => this.#log.error({ err }, "retention pass failed"))
        .finally(() => this.#arm(this.#intervalMs));
    }, delay);
    this.#timer.unref();
  }
}
