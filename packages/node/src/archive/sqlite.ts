import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { threadPool } from "@postbox/net/worker";
import { bytesEqual, compareEnvelopes } from "@postbox/protocol";
import type { WorkerPool } from "@postbox/protocol/pool";
import { ArchiveError } from "../errors.js";
import type { PageJob, PageReaderInit } from "./page-reader.worker.js";
import type {
  Archive,
  ArchivePage,
  ArchiveQuery,
  ArchiveStats,
  Position,
  PositionBatch,
  RetentionPolicy,
  StoredEnvelope,
} from "./types.js";

/**
 * Schema (version 2). Topics are interned to small integers.
 *
 * Order: envelopes are indexed by (epoch, topic, timestamp, id), where the epoch is the timestamp's
 * hour (`ep`, a virtual column). Live envelopes carry timestamps within ±20 s of now, so a commit's
 * index entries all land in the current hour's small slice of the index instead of at one end of
 * every topic's run (with 1,000 busy topics, that rewrote about a thousand index pages per commit).
 * A topic's page is read through `topic_epochs`, the hours in which the topic has envelopes: for
 * each, one range seek, in order, until the page is full, so ordering by (epoch, timestamp, id)
 * is ordering by (timestamp, id). The index is UNIQUE: an envelope's id fixes its topic and
 * timestamp, so it also drops duplicates.
 *
 * Ids: lookups by id alone (cursors, presence) go through the ids' first 8 bytes, in two tables,
 * LSM-style: each commit adds its ids to the small `ids_recent`, and moves as many of the oldest
 * keys of a rolling slice of `ids_recent` into the large `ids` in key order, so a commit touches
 * `ids` only in one narrow key range instead of all over (ids are hashes). Both are read on a
 * lookup; a hit is confirmed against the envelope's full id.
 *
 * Retention deletes in insertion order (`seq`): the mailbox accepts only envelopes within ±20 s
 * of its clock, so insertion order is time order to within 40 s.
 */
const SCHEMA_VERSION = 3;
/** The width of an epoch, in ms. Fixed in the schema: the `ep` column computes it. */
export const EPOCH_MS = 3_600_000n;
const TABLES = `
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
  received_at INTEGER NOT NULL,
  ep INTEGER GENERATED ALWAYS AS (ts / ${EPOCH_MS}) VIRTUAL
);
`;
/**
 * The archive's envelope count and payload bytes, kept in the transactions that change them, so
 * that a start does not sum the whole table (at 1M envelopes a read of ≈ 1.2 GB: a cold start).
 */
const TOTALS = `
CREATE TABLE IF NOT EXISTS archive_totals (
  k INTEGER PRIMARY KEY CHECK (k = 0),
  envelopes INTEGER NOT NULL,
  bytes INTEGER NOT NULL
);
`;
const INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS envelopes_order ON envelopes (ep, tid, ts, id);
CREATE TABLE IF NOT EXISTS topic_epochs (
  tid INTEGER NOT NULL,
  ep INTEGER NOT NULL,
  PRIMARY KEY (tid, ep)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ids (
  idh INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (idh, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ids_recent (
  idh INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (idh, seq)
) WITHOUT ROWID;
`;
/** Version 1 (indexes on (topic, timestamp, id) and on the id prefix) to version 2, in place. */
const UPGRADE_FROM_1: [string, string][] = [
  [
    "add the epoch column",
    `ALTER TABLE envelopes ADD COLUMN ep INTEGER GENERATED ALWAYS AS (ts / ${EPOCH_MS}) VIRTUAL`,
  ],
  ["drop the order index", "DROP INDEX envelopes_order"],
  ["create the epoch indexes", INDEXES],
  [
    "list each topic's epochs",
    "INSERT OR IGNORE INTO topic_epochs (tid, ep) SELECT DISTINCT tid, ep FROM envelopes",
  ],
  ["index the ids", "INSERT INTO ids (idh, seq) SELECT idh, seq FROM envelopes ORDER BY idh, seq"],
  ["drop the id-prefix index", "DROP INDEX envelopes_idh"],
];
/** Version 2 to version 3: the totals are counted once, then kept. */
const UPGRADE_FROM_2: [string, string][] = [
  [
    "count the archive once (later starts read the count)",
    `${TOTALS} INSERT INTO archive_totals (k, envelopes, bytes) SELECT 0, COUNT(*), COALESCE(SUM(size), 0) FROM envelopes`,
  ],
];
/** The sync index's scan, in the order index's order from a key: a batch, and its last key. */
const SCAN_AFTER =
  "FROM envelopes INDEXED BY envelopes_order WHERE (ep, tid, ts, id) > (?, ?, ?, ?) ORDER BY ep, tid, ts, id";
export const SCAN_BATCH_SQL = `SELECT count(*) AS n, CAST(group_concat(id, x'') AS BLOB) AS ids, group_concat(ts) AS stamps FROM (SELECT ts, id ${SCAN_AFTER} LIMIT ?)`;
export const SCAN_LAST_SQL = `SELECT ep, tid, ts, id ${SCAN_AFTER} LIMIT 1 OFFSET ?`;
/** Page size of new archives: large rows append cheaply, and a page read stays small. */
const PAGE_SIZE = 32_768;
const MIN_KEY = -(2n ** 63n);
/** SQLite's default ceiling for mmap_size (SQLITE_MAX_MMAP_SIZE); a larger value is clamped to it. */
const MMAP_BYTES = 0x7fff0000;

/**
 * The first 8 bytes of an id as a signed 64-bit integer, big-endian (the id-lookup key). Read by
 * hand: a `DataView` per id cost ≈ 8 % of an insert batch.
 */
function idHead(id: Uint8Array): bigint {
  if (id.byteLength < 8) throw new RangeError("an id has 32 bytes");
  const high = (id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!; // signed
  const low = ((id[4]! << 24) | (id[5]! << 16) | (id[6]! << 8) | id[7]!) >>> 0;
  return (BigInt(high) << 32n) | BigInt(low);
}

/**
 * An envelope's (ts, id) by the first 8 bytes of its id (bound once as ?1), through both id
 * tables; the caller confirms the full id.
 */
export const ID_LOOKUP_SQL = `SELECT e.ts AS ts, e.id AS id FROM ids_recent r JOIN envelopes e ON e.seq = r.seq WHERE r.idh = ?1
  UNION ALL
  SELECT e.ts AS ts, e.id AS id FROM ids m JOIN envelopes e ON e.seq = m.seq WHERE m.idh = ?1`;

/** An envelope by its id, through the id tables (as {@link ID_LOOKUP_SQL}). */
const GET_SQL = `SELECT e.tid AS tid, e.ts AS ts, e.id AS id, e.version AS version, e.payload AS payload, e.received_at AS receivedAt
  FROM ids_recent r JOIN envelopes e ON e.seq = r.seq WHERE r.idh = ?1
  UNION ALL
  SELECT e.tid, e.ts, e.id, e.version, e.payload, e.received_at FROM ids m JOIN envelopes e ON e.seq = m.seq WHERE m.idh = ?1`;

/** A key of the id tables. */
type IdKey = { idh: bigint; seq: bigint };

/**
 * One topic's page, aggregated by {@link pageSql}: the rows' ids and payloads each concatenated
 * into one blob, and their sizes, timestamps, versions and arrival times as comma-separated text.
 */
export interface PageRow {
  n: number;
  ids: Uint8Array | null;
  payloads: Uint8Array | null;
  sizes: string | null;
  stamps: string | null;
  versions: string | null;
  received: string | null;
}

const ID_BYTES = 32;

/**
 * Splits an aggregated page back into envelopes (their ids and payloads are views of the page's
 * two blobs) and appends them to `out`, in order.
 */
function unpack(page: PageRow, contentTopic: string, forward: boolean, out: StoredEnvelope[]): void {
  const n = Number(page.n);
  if (n === 0) return;
  const { ids, payloads } = page;
  const sizes = page.sizes?.split(",") ?? [];
  const stamps = page.stamps?.split(",") ?? [];
  const versions = page.versions?.split(",") ?? [];
  const received = page.received?.split(",") ?? [];
  if (
    !ids ||
    !payloads ||
    ids.byteLength !== n * ID_BYTES ||
    sizes.length !== n ||
    stamps.length !== n ||
    versions.length !== n ||
    received.length !== n
  ) {
    throw new ArchiveError("page read failed: its columns do not line up (a corrupt row?)");
  }
  const first = out.length;
  let at = 0;
  for (let i = 0; i < n; i++) {
    const size = Number(sizes[i]);
    out.push({
      id: ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES),
      version: Number(versions[i]),
      contentTopic,
      timestamp: BigInt(stamps[i]!),
      payload: payloads.subarray(at, at + size),
      receivedAt: Number(received[i]),
    });
    at += size;
  }
  if (at !== payloads.byteLength) throw new ArchiveError("page read failed: payload sizes do not add up");
  // SQLite aggregates a subquery's rows in the order it yields them, which the subquery's ORDER BY
  // fixes; SQL does not promise it, so check (one pass) and sort if it ever differs.
  const compare = forward
    ? compareEnvelopes
    : (a: StoredEnvelope, b: StoredEnvelope) => compareEnvelopes(b, a);
  for (let i = first + 1; i < out.length; i++) {
    if (compare(out[i - 1]!, out[i]!) > 0) {
      const sorted = out.splice(first).sort(compare);
      out.push(...sorted);
      return;
    }
  }
}

export interface SqliteArchiveOptions {
  /** Database file; ":memory:" for a throwaway archive. */
  path: string;
  /**
   * `FULL` (default) fsyncs the WAL on every commit: a stored envelope survives power loss.
   * `NORMAL` survives a crash of the process but not of the machine, and is faster on slow disks.
   */
  synchronous?: "FULL" | "NORMAL";
  /**
   * How many ids `ids_recent` holds before commits start moving them into `ids` (default: an
   * eighth of the archive, at least 65,536 and at most 1,048,576). Tests set it small.
   */
  recentIds?: number;
  /**
   * Read pages on a worker thread with its own read-only connection (default: true for a file).
   * The main thread then only hands a page's statement over and unpacks its result: on two cores,
   * with the clients beside it, the mailbox served 394 pages/s on average against 342 without
   * (four alternating pairs; docs/BENCHMARKS.md), and more cores widen the gap.
   */
  readerThread?: boolean;
  /** Told each step of a schema upgrade, with how long it took; upgrades run when the archive opens. */
  onUpgrade?: (step: string, ms: number) => void;
}

/**
 * The default archive: one SQLite file (`node:sqlite`, no native build) in WAL mode. Pages come
 * from per-topic range seeks over an (epoch, topic, timestamp, id) index, merged when a query names
 * several topics; see the schema above.
 */
export class SqliteArchive implements Archive {
  readonly kind = "sqlite" as const;
  /** The database file (or ":memory:") and its durability setting, as opened. */
  readonly path: string;
  readonly synchronous: "FULL" | "NORMAL";
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #lastSeq: StatementSync;
  readonly #indexIds: StatementSync;
  readonly #indexEpoch: StatementSync;
  readonly #lookup: StatementSync;
  readonly #topicInsert: StatementSync;
  readonly #topicGet: StatementSync;
  readonly #pages = new Map<string, StatementSync>();
  readonly #tids = new Map<string, number>();
  readonly #topics = new Map<number, string>();
  #get: StatementSync | undefined;
  readonly #recentIds: number | undefined;
  readonly #oldest: StatementSync;
  readonly #vacated: StatementSync;
  readonly #ids: {
    nth: StatementSync;
    last: StatementSync;
    move: StatementSync;
    drop: StatementSync;
    forget: [StatementSync, StatementSync];
  };
  /** Rows in `ids_recent`, and where the next slice to move into `ids` starts. */
  #recent = 0;
  #slice: IdKey = { idh: MIN_KEY, seq: -1n };
  #count = 0;
  #bytes = 0;
  #addTotals: StatementSync;
  #closed = false;
  /** Page statements on a worker thread (`page-reader.worker.ts`), a pool of one. */
  readonly #reader: WorkerPool<PageJob, PageRow> | undefined;

  constructor(options: SqliteArchiveOptions) {
    this.path = options.path;
    this.synchronous = options.synchronous ?? "FULL";
    this.#recentIds = options.recentIds;
    try {
      if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
      this.#db = new DatabaseSync(options.path);
      // page_size and encoding take effect only on a new file (before WAL is set); an old file keeps its own.
      this.#db.exec(`PRAGMA page_size = ${PAGE_SIZE}; PRAGMA encoding = 'UTF-8';`);
      // Pages are read through group_concat, which keeps a blob's bytes only in a UTF-8 database.
      const { encoding } = this.#db.prepare("PRAGMA encoding").get() as { encoding: string };
      if (encoding !== "UTF-8") throw new ArchiveError(`archive text encoding is ${encoding}, not UTF-8`);
      this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${this.synchronous};`);
      this.#db.exec(
        "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 4000;",
      );
      // Reads through a memory map of the file (up to SQLite's limit, just under 2 GiB): a page's
      // 100 envelopes sit in as many table pages, and copying each out with a read() call cost
      // more than the query itself (measured: page p50 1.7-2.1 ms without, 0.7 ms with).
      this.#db.exec(`PRAGMA mmap_size = ${MMAP_BYTES};`);
      this.#migrate(options.onUpgrade);
      this.#insert = this.#db.prepare(
        "INSERT OR IGNORE INTO envelopes (tid, ts, id, idh, version, payload, size, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      );
      this.#lastSeq = this.#db.prepare("SELECT COALESCE(MAX(seq), 0) AS seq FROM envelopes");
      this.#lastSeq.setReadBigInts(true);
      // After a batch: its ids into ids_recent (one statement over the batch's rows).
      this.#indexIds = this.#db.prepare(
        "INSERT OR IGNORE INTO ids_recent (idh, seq) SELECT idh, seq FROM envelopes WHERE seq > ?",
      );
      this.#indexEpoch = this.#db.prepare("INSERT OR IGNORE INTO topic_epochs (tid, ep) VALUES (?, ?)");
      this.#lookup = this.#db.prepare(ID_LOOKUP_SQL);
      // Retention: the oldest rows in insertion order (a range scan of the rowid, the cheapest
      // there is), and a (topic, epoch) pair that goes when its last envelope does.
      this.#oldest = this.#db.prepare(
        "SELECT seq, ts, size, idh, tid, ep FROM envelopes ORDER BY seq LIMIT ?",
      );
      this.#oldest.setReadBigInts(true);
      this.#vacated = this.#db.prepare(
        "DELETE FROM topic_epochs WHERE tid = ?1 AND ep = ?2 AND NOT EXISTS (SELECT 1 FROM envelopes WHERE ep = ?2 AND tid = ?1)",
      );
      const range = "(idh, seq) > (?, ?) AND (idh, seq) <= (?, ?)";
      this.#ids = {
        nth: this.#db.prepare(
          "SELECT idh, seq FROM ids_recent WHERE (idh, seq) > (?, ?) ORDER BY idh, seq LIMIT 1 OFFSET ?",
        ),
        last: this.#db.prepare(
          "SELECT idh, seq FROM ids_recent WHERE (idh, seq) > (?, ?) ORDER BY idh DESC, seq DESC LIMIT 1",
        ),
        move: this.#db.prepare(
          `INSERT OR IGNORE INTO ids (idh, seq) SELECT idh, seq FROM ids_recent WHERE ${range}`,
        ),
        drop: this.#db.prepare(`DELETE FROM ids_recent WHERE ${range}`),
        forget: [
          this.#db.prepare("DELETE FROM ids_recent WHERE idh = ? AND seq = ?"),
          this.#db.prepare("DELETE FROM ids WHERE idh = ? AND seq = ?"),
        ],
      };
      this.#ids.nth.setReadBigInts(true);
      this.#ids.last.setReadBigInts(true);
      this.#topicInsert = this.#db.prepare("INSERT OR IGNORE INTO topics (topic) VALUES (?)");
      this.#topicGet = this.#db.prepare("SELECT tid FROM topics WHERE topic = ?");
      this.#loadTopics();
      const totals = this.#db.prepare("SELECT envelopes, bytes FROM archive_totals WHERE k = 0").get() as
        | { envelopes: number; bytes: number }
        | undefined;
      if (!totals) throw new ArchiveError("the archive's totals row is missing (a damaged archive?)");
      this.#count = Number(totals.envelopes);
      this.#bytes = Number(totals.bytes);
      this.#addTotals = this.#db.prepare(
        "UPDATE archive_totals SET envelopes = envelopes + ?, bytes = bytes + ? WHERE k = 0",
      );
      this.#recent = Number(
        (this.#db.prepare("SELECT COUNT(*) AS n FROM ids_recent").get() as { n: number }).n,
      );
      if ((options.readerThread ?? true) && options.path !== ":memory:") {
        const init: PageReaderInit = { path: options.path, mmap: MMAP_BYTES };
        // It does not keep the process alive while no page is asked for.
        this.#reader = threadPool(import.meta.url, "page-reader", {
          workerData: init,
          name: "postbox page reader",
        });
      }
    } catch (cause) {
      if (cause instanceof ArchiveError) throw cause;
      throw new ArchiveError(`cannot open SQLite archive at ${options.path}`, cause);
    }
  }

  async insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]> {
    this.#checkOpen();
    const fresh: Uint8Array[] = [];
    let added = 0;
    let recent = this.#recent;
    let slice = this.#slice;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      const before = (this.#lastSeq.get() as { seq: bigint }).seq;
      const lastEpoch = new Map<number, bigint>(); // per topic, in this batch
      for (const e of envelopes) {
        const tid = this.#tid(e.contentTopic);
        const r = this.#insert.run(
          tid,
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
          // A topic's envelopes in a batch mostly share an hour: list each (topic, hour) once.
          const ep = e.timestamp / EPOCH_MS;
          if (lastEpoch.get(tid) !== ep) {
            lastEpoch.set(tid, ep);
            this.#indexEpoch.run(tid, ep);
          }
        }
      }
      if (fresh.length > 0) {
        this.#addTotals.run(fresh.length, added);
        recent += Number(this.#indexIds.run(before).changes);
        [recent, slice] = this.#moveIds(recent, slice, this.#count + fresh.length);
      }
      this.#db.exec("COMMIT");
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#loadTopics(); // topics interned in the rolled-back transaction are gone
      throw new ArchiveError("insert failed", cause);
    }
    this.#count += fresh.length;
    this.#bytes += added;
    this.#recent = recent;
    this.#slice = slice;
    return fresh;
  }

  async query(q: ArchiveQuery): Promise<ArchivePage> {
    this.#checkOpen();
    const want = q.limit + 1;
    const rows: StoredEnvelope[] = [];
    for (const topic of new Set(q.topics)) {
      const tid = this.#tids.get(topic);
      if (tid === undefined) continue; // never seen: nothing to return
      const params = this.#params(q, tid, want);
      const statement = this.#page(q);
      // A reader thread that died (it should not) leaves the main connection to serve pages.
      const page =
        this.#reader && !this.#reader.failure
          ? await this.#reader.run({ sql: statement.sourceSQL, params }).catch((err: unknown) => {
              throw new ArchiveError("page read failed", err);
            })
          : (statement.get(...params) as unknown as PageRow);
      unpack(page, this.#topics.get(tid)!, q.forward, rows);
    }
    if (q.topics.length > 1) rows.sort(q.forward ? compareEnvelopes : (a, b) => compareEnvelopes(b, a));
    return cut(rows, q);
  }

  async position(id: Uint8Array): Promise<Position | undefined> {
    this.#checkOpen();
    const r = this.#find(id);
    return r ? { timestamp: BigInt(r.ts), id } : undefined;
  }

  async get(id: Uint8Array): Promise<StoredEnvelope | undefined> {
    this.#checkOpen();
    if (id.length !== 32) return undefined;
    this.#get ??= this.#db.prepare(GET_SQL);
    const rows = this.#get.all(idHead(id)) as {
      tid: number;
      ts: number;
      id: Uint8Array;
      version: number;
      payload: Uint8Array;
      receivedAt: number;
    }[];
    const r = rows.find((row) => bytesEqual(row.id, id));
    const topic = r && this.#topics.get(Number(r.tid));
    if (!r || topic === undefined) return undefined;
    return {
      id: new Uint8Array(r.id),
      version: r.version,
      contentTopic: topic,
      timestamp: BigInt(r.ts),
      payload: new Uint8Array(r.payload),
      receivedAt: Number(r.receivedAt),
    };
  }

  async presence(ids: Uint8Array[]): Promise<Position[]> {
    this.#checkOpen();
    const held: Position[] = [];
    for (const id of ids) {
      const r = this.#find(id);
      if (r) held.push({ timestamp: BigInt(r.ts), id });
    }
    return held;
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
    let recent = this.#recent;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      const candidates = this.#oldest.all(batch) as {
        seq: bigint;
        ts: bigint;
        size: bigint;
        idh: bigint;
        tid: bigint;
        ep: bigint;
      }[];
      let bytes = this.#bytes;
      let count = this.#count;
      const doomed: typeof candidates = [];
      for (const c of candidates) {
        const old = cutoff !== undefined && c.ts < cutoff;
        const tooMany = policy.maxCount !== undefined && count > policy.maxCount;
        const tooBig = policy.maxBytes !== undefined && bytes > policy.maxBytes;
        if (!old && !tooMany && !tooBig) break;
        doomed.push(c);
        bytes -= Number(c.size);
        count -= 1;
      }
      if (doomed.length > 0) {
        this.#db
          .prepare(`DELETE FROM envelopes WHERE seq IN (${doomed.map(() => "?").join(",")})`)
          .run(...doomed.map((d) => d.seq));
        const [inRecent, inIds] = this.#ids.forget;
        for (const d of doomed) {
          if (Number(inRecent.run(d.idh, d.seq).changes) === 1) recent -= 1;
          else inIds.run(d.idh, d.seq);
        }
        const pairs = new Map(doomed.map((d) => [`${d.tid},${d.ep}`, d]));
        for (const d of pairs.values()) this.#vacated.run(d.tid, d.ep);
        this.#addTotals.run(count - this.#count, bytes - this.#bytes);
      }
      this.#db.exec("COMMIT");
      this.#bytes = bytes;
      this.#count = count;
      this.#recent = recent;
      return doomed.length;
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw new ArchiveError("prune failed", cause);
    }
  }

  /**
   * Positions in the order index's order (epoch, topic, timestamp, id), a batch per statement: its
   * ids concatenated into one blob and its timestamps as text (one allocation a batch instead of
   * one a row). It reads only `envelopes_order`, which holds both (≈ 60 bytes an envelope), never
   * the table and its payloads: a start after the page cache was dropped reads ≈ 60 MB at 1M
   * envelopes, not ≈ 1.2 GB.
   */
  async *scan(batch: number): AsyncIterable<PositionBatch> {
    this.#checkOpen();
    const statement = this.#db.prepare(SCAN_BATCH_SQL);
    // A batch's last key, where the next one starts.
    const last = this.#db.prepare(SCAN_LAST_SQL);
    last.setReadBigInts(true);
    let key: [bigint, bigint, bigint, Uint8Array] = [MIN_KEY, MIN_KEY, MIN_KEY, new Uint8Array(0)];
    for (;;) {
      this.#checkOpen();
      const r = statement.get(...key, batch) as {
        n: number;
        ids: Uint8Array | null;
        stamps: string | null;
      };
      const n = Number(r.n);
      if (n === 0 || !r.ids || !r.stamps) return;
      if (r.ids.byteLength !== n * 32)
        throw new ArchiveError("scan failed: ids do not line up (a corrupt row?)");
      const ts = new Float64Array(n);
      const stamps = r.stamps.split(",");
      for (let i = 0; i < n; i++) ts[i] = Number(stamps[i]);
      // The batch's last key, read before anything else can write (node:sqlite is synchronous).
      const k =
        n < batch
          ? undefined
          : (last.get(...key, n - 1) as { ep: bigint; tid: bigint; ts: bigint; id: Uint8Array } | undefined);
      yield { count: n, ts, ids: r.ids };
      if (!k) return;
      key = [k.ep, k.tid, k.ts, k.id];
      // Other work (pages, commits) runs between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The connection: the ledger imports its accounts from it once (from an earlier version); tests inspect it. */
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
    await this.#reader?.close();
    this.#db.close();
  }

  /** Creates the schema, or upgrades an older one in one transaction. */
  #migrate(onUpgrade: SqliteArchiveOptions["onUpgrade"]): void {
    const version = Number(
      (this.#db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    );
    const hasTables =
      this.#db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'envelopes'").get() !== undefined;
    if (!hasTables) {
      this.#db.exec(
        `BEGIN; ${TABLES} ${INDEXES} ${TOTALS} INSERT INTO archive_totals (k, envelopes, bytes) VALUES (0, 0, 0); PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`,
      );
      return;
    }
    if (version === SCHEMA_VERSION) return;
    if (version !== 1 && version !== 2) {
      throw new ArchiveError(
        `archive schema version ${version} is not ${SCHEMA_VERSION}; this build cannot read it`,
      );
    }
    const steps: [number, [string, string][]][] = [
      [1, UPGRADE_FROM_1],
      [2, UPGRADE_FROM_2],
    ];
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const [from, upgrade] of steps) {
        if (from < version) continue;
        for (const [step, sql] of upgrade) {
          const started = performance.now();
          this.#db.exec(sql);
          onUpgrade?.(`schema ${from} → ${from + 1}: ${step}`, performance.now() - started);
        }
      }
      this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw new ArchiveError(
        `cannot upgrade the archive schema from version ${version} to ${SCHEMA_VERSION}`,
        cause,
      );
    }
  }

  /**
   * Moves ids from `ids_recent` into `ids` once the former holds more than its share: as many as
   * it holds too many, taken in key order from where the last move stopped (wrapping around), so
   * each commit writes one narrow key range of `ids`. Returns the new count and slice start.
   */
  #moveIds(recent: number, slice: IdKey, envelopes: number): [number, IdKey] {
    const share = this.#recentIds ?? Math.max(65_536, Math.min(1_048_576, envelopes >> 3));
    let excess = recent - share;
    for (let pass = 0; excess > 0 && pass < 2; pass++) {
      const end = (this.#ids.nth.get(slice.idh, slice.seq, excess - 1) ??
        this.#ids.last.get(slice.idh, slice.seq)) as IdKey | undefined;
      if (end) {
        this.#ids.move.run(slice.idh, slice.seq, end.idh, end.seq);
        const moved = Number(this.#ids.drop.run(slice.idh, slice.seq, end.idh, end.seq).changes);
        recent -= moved;
        excess -= moved;
        slice = { idh: end.idh, seq: end.seq };
      }
      if (excess > 0) slice = { idh: MIN_KEY, seq: -1n }; // reached the top of the key space
    }
    return [recent, slice];
  }

  /** The held envelope with this id, through both id tables. */
  #find(id: Uint8Array): { ts: number | bigint } | undefined {
    if (id.length < 8) return undefined;
    return (this.#lookup.all(idHead(id)) as { ts: number; id: Uint8Array }[]).find((row) =>
      bytesEqual(row.id, id),
    );
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

  #checkOpen(): void {
    if (this.#closed) throw new ArchiveError("archive is closed");
  }

  #page(q: ArchiveQuery): StatementSync {
    const shape: PageShape = {
      forward: q.forward,
      cursor: q.after !== undefined,
      start: q.timeStart !== undefined,
      end: q.timeEnd !== undefined,
    };
    const key = `${shape.forward ? "f" : "b"}${shape.cursor ? "c" : ""}${shape.start ? "s" : ""}${shape.end ? "e" : ""}`;
    let stmt = this.#pages.get(key);
    if (!stmt) {
      stmt = this.#db.prepare(pageSql(shape));
      this.#pages.set(key, stmt);
    }
    return stmt;
  }

  #params(q: ArchiveQuery, tid: number, limit: number): (bigint | Uint8Array | number)[] {
    const p: (bigint | Uint8Array | number)[] = [tid];
    const after = q.after?.timestamp;
    const lower = q.forward ? max(q.timeStart, after) : q.timeStart;
    const upper = q.forward ? q.timeEnd : min(q.timeEnd, after);
    if (lower !== undefined) p.push(lower / EPOCH_MS);
    if (upper !== undefined) p.push(upper / EPOCH_MS);
    if (q.timeStart !== undefined) p.push(q.timeStart);
    if (q.timeEnd !== undefined) p.push(q.timeEnd);
    if (q.after) p.push(q.after.timestamp, q.after.id);
    p.push(limit);
    return p;
  }
}

/** Which bounds a page query has: its statement's shape. */
export interface PageShape {
  forward: boolean;
  cursor: boolean;
  start: boolean;
  end: boolean;
}

/**
 * The page statement for one topic: the topic's epochs in order (bounded by the time range and
 * the cursor), and in each a range seek of the order index, until LIMIT. `CROSS JOIN` keeps
 * `topic_epochs` the outer loop, so rows come in index order and SQLite never sorts.
 * Parameters: topic, [lowest epoch], [highest epoch], [start], [end], [cursor ts, id], limit.
 *
 * The page comes back as one row ({@link PageRow}): `node:sqlite` copies every blob it returns into
 * a new `ArrayBuffer`, and for a page of 100 payloads those 200 allocations cost more than the
 * query (measured: 0.74-1.1 ms a page row by row, 0.43-0.46 ms aggregated). `group_concat` keeps a
 * blob's bytes as they are (in a UTF-8 database, which the archive checks when it opens) and
 * `CAST(… AS BLOB)` gives them back unchanged.
 */
export function pageSql(shape: PageShape): string {
  const where = ["t.tid = ?"];
  if (shape.start || (shape.forward && shape.cursor)) where.push("t.ep >= ?");
  if (shape.end || (!shape.forward && shape.cursor)) where.push("t.ep <= ?");
  if (shape.start) where.push("e.ts >= ?");
  if (shape.end) where.push("e.ts <= ?");
  if (shape.cursor) where.push(shape.forward ? "(e.ts, e.id) > (?, ?)" : "(e.ts, e.id) < (?, ?)");
  const dir = shape.forward ? "ASC" : "DESC";
  const rows = `SELECT e.id AS id, e.ts AS ts, e.version AS version, e.payload AS payload, e.received_at AS received_at
    FROM topic_epochs t CROSS JOIN envelopes e ON e.ep = t.ep AND e.tid = t.tid
    WHERE ${where.join(" AND ")} ORDER BY t.ep ${dir}, e.ts ${dir}, e.id ${dir} LIMIT ?`;
  return `SELECT count(*) AS n, CAST(group_concat(id, x'') AS BLOB) AS ids,
    CAST(group_concat(payload, x'') AS BLOB) AS payloads, group_concat(length(payload)) AS sizes,
    group_concat(ts) AS stamps, group_concat(version) AS versions, group_concat(received_at) AS received
    FROM (${rows})`;
}

const max = (a?: bigint, b?: bigint) => (a === undefined ? b : b === undefined || a > b ? a : b);
const min = (a?: bigint, b?: bigint) => (a === undefined ? b : b === undefined || a < b ? a : b);

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
