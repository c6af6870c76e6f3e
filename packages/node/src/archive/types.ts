import type { IdentifiedEnvelope } from "@postbox/protocol";

/** A position in the archive's order: (timestamp, id). */
export interface Position {
  timestamp: bigint;
  id: Uint8Array;
}

/** An envelope as the archive keeps it. */
export interface StoredEnvelope extends IdentifiedEnvelope {
  /** When this mailbox stored it (ms since the epoch). */
  receivedAt: number;
}

export interface ArchiveQuery {
  /** 1..10 content topics. */
  topics: string[];
  /** Inclusive bounds on the envelope timestamp (ms). */
  timeStart?: bigint;
  timeEnd?: bigint;
  /** Exclusive: the page starts after (forward) or before (backward) this position. */
  after?: Position;
  /** Ascending (true) or descending order of (timestamp, id). */
  forward: boolean;
  /** Most envelopes to return. */
  limit: number;
  /** Stop before the page's payloads exceed this many bytes (at least one envelope is returned). */
  maxBytes?: number;
}

export interface ArchivePage {
  /** In the query's order. */
  envelopes: StoredEnvelope[];
  /** True when more envelopes match after the last one returned. */
  more: boolean;
}

export interface RetentionPolicy {
  /** Delete envelopes whose timestamp is older than this many ms. */
  maxAgeMs?: number;
  /** Keep at most this many envelopes (oldest deleted first). */
  maxCount?: number;
  /** Keep at most this many payload bytes (oldest deleted first). */
  maxBytes?: number;
}

/** A batch of positions from {@link Archive.scan}: `count` timestamps, and their ids back to back. */
export interface PositionBatch {
  count: number;
  /** Timestamps in ms (exact as doubles up to 2^53). */
  ts: Float64Array;
  /** `count` ids of 32 bytes each. */
  ids: Uint8Array;
}

export interface ArchiveStats {
  envelopes: number;
  payloadBytes: number;
}

/**
 * The mailbox's store of envelopes. Two backends implement it and pass one shared test suite:
 * SQLite (`node:sqlite`, the default) and PostgreSQL.
 *
 * Durability: `insert` resolves only after the rows are committed (SQLite WAL with
 * `synchronous=FULL`; PostgreSQL's commit), so a receipt given after it survives a crash.
 */
export interface Archive {
  readonly kind: "sqlite" | "postgres";
  /** Stores envelopes (ignoring ones already held) in one transaction; returns the ids that were new. */
  insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]>;
  /** A page of envelopes over up to ten topics, in (timestamp, id) order. */
  query(q: ArchiveQuery): Promise<ArchivePage>;
  /** The position of an envelope held here (to resume from a cursor), or undefined. */
  position(id: Uint8Array): Promise<Position | undefined>;
  /** The envelope with this id, if held here (a custody dispute's answer). */
  get(id: Uint8Array): Promise<StoredEnvelope | undefined>;
  /** Which of these ids are held here, with their timestamps, in the order asked. */
  presence(ids: Uint8Array[]): Promise<Position[]>;
  /** Deletes up to `batch` envelopes that the policy no longer keeps, oldest first; returns how many. */
  prune(policy: RetentionPolicy, nowMs: number, batch: number): Promise<number>;
  stats(): Promise<ArchiveStats>;
  /**
   * Every envelope's position, in batches of at most `batch`, in no particular order: what the
   * sync index loads at start (`services/sync`). Envelopes stored or deleted during the scan may
   * or may not be included.
   */
  scan(batch: number): AsyncIterable<PositionBatch>;
  close(): Promise<void>;
}
