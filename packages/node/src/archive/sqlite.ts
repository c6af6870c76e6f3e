import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { bytesEqual, compareEnvelopes } from "@postbox/protocol";
import { ArchiveError } from "../errors.js";
import type {
  Archive,
  ArchivePage,
  ArchiveQuery,
  ArchiveStats,
  Position,
  RetentionPolicy,
  StoredEnvelope,
} from "./types.js";

/**
 * Schema. Topics are interned to small integers. The order index (topic, timestamp, id) is UNIQUE:
 * an envelope's id determines its topic and timestamp, so it also deduplicates by id, and no
 * second index of random 32-byte keys is needed. Lookups by id (cursors, presence) go through a
 * compact index of the id's first 8 bytes. Retention deletes in insertion order (`seq`): the
 * mailbox accepts only envelopes within ±20 s of its clock, so insertion order is time order to
 * within 40 s.
 */
const SCHEMA_VERSION = 1;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS topics (
  tid INTEGER PRIMARY KEY,
  topic TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS envelopes (
  seq INTEGER PRIMARY KEY,
  tid INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  id BLOB NOT NULL,
  idh INTEGER NOT NULL,
  version INTEGER NOT NULL,
  payload BLOB NOT NULL,
  size INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_order ON envelopes (tid, ts, id);
CREATE INDEX IF NOT EXISTS envelopes_idh ON envelopes (idh);
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** The first 8 bytes of an id as a signed 64-bit integer (the id-lookup key). */
function idHead(id: Uint8Array): bigint {
  return new DataView(id.buffer, id.byteOffset, 8).getBigInt64(0);
}

interface Row {
  id: Uint8Array;
  tid: number;
  ts: number | bigint;
  version: number;
  payload: Uint8Array;
  received_at: number;
}

export interface SqliteArchiveOptions {
  /** Database file; ":memory:" for a throwaway archive. */
  path: string;
  /**
   * `FULL` (default) fsyncs the WAL on every commit: a stored envelope survives power loss.
   * `NORMAL` survives a crash of the process but not of the machine, and is faster on slow disks.
   */
  synchronous?: "FULL" | "NORMAL";
}

/**
 * The default archive: one SQLite file (`node:sqlite`, no native build) in WAL mode, with an
 * index on (topic, timestamp, id) that serves each topic's page in order; pages over several
 * topics are merged from per-topic range scans.
 */
export class SqliteArchive implements Archive {
  readonly kind = "sqlite" as const;
  /** The database file (or ":memory:") and its durability setting, as opened. */
  readonly path: string;
  readonly synchronous: "FULL" | "NORMAL";
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #position: StatementSync;
  readonly #has: StatementSync;
  readonly #topicInsert: StatementSync;
  readonly #topicGet: StatementSync;
  readonly #pages = new Map<string, StatementSync>();
  readonly #tids = new Map<string, number>();
  readonly #topics = new Map<number, string>();
  #count = 0;
  #bytes = 0;
  #closed = false;

  constructor(options: SqliteArchiveOptions) {
    this.path = options.path;
    this.synchronous = options.synchronous ?? "FULL";
    try {
      if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
      this.#db = new DatabaseSync(options.path);
      this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous ?? "FULL"};`);
      this.#db.exec(
        "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000;",
      );
      const version = Number(
        (this.#db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      );
      const hasTables =
        this.#db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'envelopes'").get() !== undefined;
      if (hasTables && version !== SCHEMA_VERSION) {
        throw new ArchiveError(
          `archive schema version ${version} is not ${SCHEMA_VERSION}; this build cannot read it`,
        );
      }
      this.#db.exec(SCHEMA);
      this.#insert = this.#db.prepare(
        "INSERT OR IGNORE INTO envelopes (tid, ts, id, idh, version, payload, size, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      );
      this.#position = this.#db.prepare("SELECT ts, id FROM envelopes WHERE idh = ?");
      this.#has = this.#position;
      this.#topicInsert = this.#db.prepare("INSERT OR IGNORE INTO topics (topic) VALUES (?)");
      this.#topicGet = this.#db.prepare("SELECT tid FROM topics WHERE topic = ?");
      this.#loadTopics();
      const totals = this.#db
        .prepare("SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM envelopes")
        .get() as {
        n: number;
        bytes: number;
      };
      this.#count = Number(totals.n);
      this.#bytes = Number(totals.bytes);
    } catch (cause) {
      throw new ArchiveError(`cannot open SQLite archive at ${options.path}`, cause);
    }
  }

  async insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]> {
    this.#checkOpen();
    const fresh: Uint8Array[] = [];
    let added = 0;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const e of envelopes) {
        const r = this.#insert.run(
          this.#tid(e.contentTopic),
          e.timestamp,
          e.id,
          idHead(e.id),
          e.version,
          e.payload,
          e.payload.length,
          e.receivedAt,
        );
        if (Number(r.changes) === 1) {
          fresh.push(e.id);
          added += e.payload.length;
        }
      }
      this.#db.exec("COMMIT");
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#loadTopics(); // topics interned in the rolled-back transaction are gone
      throw new ArchiveError("insert failed", cause);
    }
    this.#count += fresh.length;
    this.#bytes += added;
    return fresh;
  }

  async query(q: ArchiveQuery): Promise<ArchivePage> {
    this.#checkOpen();
    const want = q.limit + 1;
    const rows: StoredEnvelope[] = [];
    for (const topic of new Set(q.topics)) {
      const tid = this.#tids.get(topic);
      if (tid === undefined) continue; // never seen: nothing to return
      for (const r of this.#page(q).all(...this.#params(q, tid, want)) as unknown as Row[]) {
        rows.push(this.#toEnvelope(r));
      }
    }
    if (q.topics.length > 1) rows.sort(q.forward ? compareEnvelopes : (a, b) => compareEnvelopes(b, a));
    return cut(rows, q);
  }

  async position(id: Uint8Array): Promise<Position | undefined> {
    this.#checkOpen();
    const r = (this.#position.all(idHead(id)) as { ts: number; id: Uint8Array }[]).find((row) =>
      bytesEqual(row.id, id),
    );
    return r ? { timestamp: BigInt(r.ts), id } : undefined;
  }

  async presence(ids: Uint8Array[]): Promise<Uint8Array[]> {
    this.#checkOpen();
    return ids.filter(
      (id) =>
        id.length >= 8 &&
        (this.#has.all(idHead(id)) as { id: Uint8Array }[]).some((row) => bytesEqual(row.id, id)),
    );
  }

  async prune(policy: RetentionPolicy, nowMs: number, batch: number): Promise<number> {
    this.#checkOpen();
    let excess = 0;
    let cutoff: number | undefined;
    if (policy.maxAgeMs !== undefined) cutoff = nowMs - policy.maxAgeMs;
    if (policy.maxCount !== undefined && this.#count > policy.maxCount)
      excess = this.#count - policy.maxCount;
    const overBytes = policy.maxBytes !== undefined && this.#bytes > policy.maxBytes;
    if (cutoff === undefined && excess === 0 && !overBytes) return 0;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      // Oldest first in insertion order: a range scan of the rowid, the cheapest there is.
      const candidates = this.#db
        .prepare("SELECT seq, ts, size FROM envelopes ORDER BY seq LIMIT ?")
        .all(batch) as { seq: number; ts: number; size: number }[];
      let bytes = this.#bytes;
      let count = this.#count;
      const doomed: number[] = [];
      for (const c of candidates) {
        const old = cutoff !== undefined && c.ts < cutoff;
        const tooMany = policy.maxCount !== undefined && count > policy.maxCount;
        const tooBig = policy.maxBytes !== undefined && bytes > policy.maxBytes;
        if (!old && !tooMany && !tooBig) break;
        doomed.push(c.seq);
        bytes -= c.size;
        count -= 1;
      }
      if (doomed.length > 0) {
        const del = this.#db.prepare(
          `DELETE FROM envelopes WHERE seq IN (${doomed.map(() => "?").join(",")})`,
        );
        del.run(...doomed);
      }
      this.#db.exec("COMMIT");
      this.#bytes = bytes;
      this.#count = count;
      return doomed.length;
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw new ArchiveError("prune failed", cause);
    }
  }

  /** The connection, for stores that must commit in the same database (the payment ledger). */
  get database(): DatabaseSync {
    this.#checkOpen();
    return this.#db;
  }

  async stats(): Promise<ArchiveStats> {
    return { envelopes: this.#count, payloadBytes: this.#bytes };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #loadTopics(): void {
    this.#tids.clear();
    this.#topics.clear();
    for (const r of this.#db.prepare("SELECT tid, topic FROM topics").all() as {
      tid: number;
      topic: string;
    }[]) {
      this.#tids.set(r.topic, Number(r.tid));
      this.#topics.set(Number(r.tid), r.topic);
    }
  }

  /** The interned id of a topic (created on first use, inside the caller's transaction). */
  #tid(topic: string): number {
    let tid = this.#tids.get(topic);
    if (tid === undefined) {
      this.#topicInsert.run(topic);
      tid = Number((this.#topicGet.get(topic) as { tid: number }).tid);
      this.#tids.set(topic, tid);
      this.#topics.set(tid, topic);
    }
    return tid;
  }

  #toEnvelope(r: Row): StoredEnvelope {
    return {
      id: r.id,
      version: r.version,
      contentTopic: this.#topics.get(Number(r.tid))!,
      timestamp: BigInt(r.ts),
      payload: r.payload,
      receivedAt: Number(r.received_at),
    };
  }

  #checkOpen(): void {
    if (this.#closed) throw new ArchiveError("archive is closed");
  }

  #page(q: ArchiveQuery): StatementSync {
    const key = `${q.forward ? "f" : "b"}${q.after ? "c" : ""}${q.timeStart !== undefined ? "s" : ""}${q.timeEnd !== undefined ? "e" : ""}`;
    let stmt = this.#pages.get(key);
    if (!stmt) {
      const where = ["tid = ?"];
      if (q.timeStart !== undefined) where.push("ts >= ?");
      if (q.timeEnd !== undefined) where.push("ts <= ?");
      if (q.after) where.push(q.forward ? "(ts, id) > (?, ?)" : "(ts, id) < (?, ?)");
      const order = q.forward ? "ts ASC, id ASC" : "ts DESC, id DESC";
      stmt = this.#db.prepare(
        `SELECT id, tid, ts, version, payload, received_at FROM envelopes WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`,
      );
      this.#pages.set(key, stmt);
    }
    return stmt;
  }

  #params(q: ArchiveQuery, tid: number, limit: number): (bigint | Uint8Array | number)[] {
    const p: (bigint | Uint8Array | number)[] = [tid];
    if (q.timeStart !== undefined) p.push(q.timeStart);
    if (q.timeEnd !== undefined) p.push(q.timeEnd);
    if (q.after) p.push(q.after.timestamp, q.after.id);
    p.push(limit);
    return p;
  }
}

/** Takes the first `limit` rows (already in order) within the byte budget; `more` if any remain. */
export function cut(rows: StoredEnvelope[], q: ArchiveQuery): ArchivePage {
  const envelopes: StoredEnvelope[] = [];
  let bytes = 0;
  for (const r of rows) {
    if (envelopes.length === q.limit) break;
    if (q.maxBytes !== undefined && envelopes.length > 0 && bytes + r.payload.length > q.maxBytes) break;
    envelopes.push(r);
    bytes += r.payload.length;
  }
  return { envelopes, more: rows.length > envelopes.length };
}
