import {
  checkEnvelopeTime,
  type Envelope,
  identify,
  LIMITS,
  toBareHex,
  validateEnvelope,
} from "@postbox/protocol";
import type { Logger } from "pino";
import type { Archive, StoredEnvelope } from "./archive/types.js";
import type { Metrics } from "./metrics.js";

export interface IngestResult {
  id: Uint8Array;
  /** False when the archive already held it. */
  fresh: boolean;
  /** When it was committed (ms since the epoch). */
  storedAt: number;
}

export interface IngestorInit {
  archive: Archive;
  metrics: Metrics;
  log: Logger;
  /** Largest batch committed at once (default 5,000: commit cost grows with the index pages touched, not the rows). */
  maxBatch?: number;
  /** How long a lone envelope waits for companions before its commit (ms, default 2). */
  lingerMs?: number;
  maxClockSkewMs?: number;
  now?: () => number;
}

interface Pending {
  envelope: StoredEnvelope;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Validates envelopes and commits them to the archive in groups: every envelope that arrives
 * while a commit is in flight joins the next one, so one fsync serves many envelopes, and each
 * caller's promise resolves only once its envelope is durably committed.
 */
export class Ingestor {
  readonly #archive: Archive;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #maxBatch: number;
  readonly #lingerMs: number;
  readonly #skew: number;
  readonly #now: () => number;
  #queue: Pending[] = [];
  readonly #inFlight = new Map<string, Promise<IngestResult>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #committing: Promise<void> | undefined;
  #closed = false;

  constructor(init: IngestorInit) {
    this.#archive = init.archive;
    this.#metrics = init.metrics;
    this.#log = init.log;
    this.#maxBatch = init.maxBatch ?? 5_000;
    this.#lingerMs = init.lingerMs ?? 2;
    this.#skew = init.maxClockSkewMs ?? LIMITS.maxClockSkewMs;
    this.#now = init.now ?? Date.now;
  }

  /**
   * Checks an envelope's format, size and timestamp (±skew of this mailbox's clock). Throws the
   * protocol's InvalidEnvelopeError, whose details are safe to send back to a peer.
   */
  validate(envelope: Envelope): void {
    validateEnvelope(envelope);
    checkEnvelopeTime(envelope, this.#now(), this.#skew);
  }

  /** Validates, then archives; resolves after the commit. Duplicates resolve with `fresh: false`. */
  submit(envelope: Envelope, source: "gossip" | "push"): Promise<IngestResult> {
    try {
      this.validate(envelope);
    } catch (err) {
      this.#metrics.ingested.inc({ source, result: "invalid" });
      return Promise.reject(err);
    }
    if (this.#closed) return Promise.reject(new Error("ingest is shut down"));
    const stored: StoredEnvelope = { ...identify(envelope), receivedAt: this.#now() };
    const key = toBareHex(stored.id);
    const existing = this.#inFlight.get(key);
    if (existing) {
      this.#metrics.ingested.inc({ source, result: "duplicate" });
      return existing.then((r) => ({ ...r, fresh: false }));
    }
    const p = new Promise<IngestResult>((resolve, reject) => {
      this.#queue.push({ envelope: stored, resolve, reject });
    });
    this.#inFlight.set(key, p);
    p.then(
      (r) => {
        this.#inFlight.delete(key);
        this.#metrics.ingested.inc({ source, result: r.fresh ? "stored" : "duplicate" });
      },
      () => {
        this.#inFlight.delete(key);
        this.#metrics.ingested.inc({ source, result: "error" });
      },
    );
    this.#schedule();
    return p;
  }

  /** Commits whatever is queued, then refuses new envelopes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#committing || this.#queue.length > 0) {
      if (this.#committing) await this.#committing;
      else await this.#flush();
    }
  }

  #schedule(): void {
    if (this.#committing) return; // the running commit picks the queue up when it finishes
    if (this.#queue.length >= this.#maxBatch) {
      void this.#flush();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.#flush();
      }, this.#lingerMs);
    }
  }

  async #flush(): Promise<void> {
    if (this.#committing || this.#queue.length === 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#queue.splice(0, this.#maxBatch);
    const started = performance.now();
    this.#committing = (async () => {
      try {
        const fresh = new Set((await this.#archive.insert(batch.map((p) => p.envelope))).map(toBareHex));
        const storedAt = this.#now();
        this.#metrics.commitSeconds.observe((performance.now() - started) / 1000);
        for (const p of batch)
          p.resolve({ id: p.envelope.id, fresh: fresh.has(toBareHex(p.envelope.id)), storedAt });
      } catch (err) {
        this.#log.error({ err, batch: batch.length }, "archive commit failed");
        for (const p of batch) p.reject(err);
      }
    })();
    await this.#committing;
    this.#committing = undefined;
    if (this.#queue.length > 0) {
      if (this.#closed) await this.#flush();
      else this.#schedule();
    }
  }
}
