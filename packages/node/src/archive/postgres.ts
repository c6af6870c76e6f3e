import { compareEnvelopes } from "@postbox/protocol";
import pg from "pg";
import { ArchiveError } from "../errors.js";
import { cut } from "./sqlite.js";
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
 * The archive is partitioned by the envelope's timestamp, one partition per UTC day
 * (`envelopes_dYYYYMMDD`, [day, next day) in ms). A unique constraint on a partitioned table must
 * include the partition key, so the key is (ts, id): an envelope's id is a hash over its fields,
 * its timestamp among them, so one id never comes with two timestamps and (ts, id) is unique
 * exactly when id is. Lookups by id alone (cursors, presence, disputes) use a per-partition index
 * on id.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS envelopes (
  id BYTEA NOT NULL,
  topic TEXT NOT NULL,
  ts BIGINT NOT NULL,
  version INTEGER NOT NULL,
  payload BYTEA NOT NULL,
  size INTEGER NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (ts, id)
) PARTITION BY RANGE (ts);
CREATE INDEX IF NOT EXISTS envelopes_topic_ts_id ON envelopes (topic, ts, id);
CREATE INDEX IF NOT EXISTS envelopes_id ON envelopes (id);
`;

/** One day in ms: the span of a partition. */
export const PARTITION_MS = 86_400_000;

/** The name of the day partition holding `ts` (ms). */
export function partitionName(day: number): string {
  return `envelopes_d${new Date(day * PARTITION_MS).toISOString().slice(0, 10).replaceAll("-", "")}`;
}

/** Serialises partition changes (creation, drop, migration) among the nodes sharing the schema. */
const PARTITION_LOCK =
  "SELECT pg_advisory_xact_lock(hashtextextended('postbox:partitions:' || current_schema(), 0))";

/** How many days ahead of today a partition exists (created at open and by each retention pass). */
const DAYS_AHEAD = 2;

interface Row {
  id: Buffer;
  topic: string;
  ts: string;
  version: number;
  payload: Buffer;
  received_at: string;
}

export interface PostgresArchiveOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Hears each step of a migration from an unpartitioned table. */
  onUpgrade?: (step: string, ms: number) => void;
  /** Clock (ms) for the partitions created ahead; default Date.now. */
  now?: () => number;
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * The archive for a mailbox that outgrows one SQLite file, and the one several nodes of a mailbox
 * share: PostgreSQL through a connection pool, partitioned by day (see {@link SCHEMA}); retention
 * by age drops whole partitions. Inserts are idempotent by (timestamp, id), so nodes that hear the
 * same envelope store it once. The totals ({@link stats}) count this node's changes at once and are
 * read again from the database at most every {@link STATS_TTL_MS}, so other nodes' inserts show.
 */
export class PostgresArchive implements Archive {
  readonly kind = "postgres" as const;
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #now: () => number;
  /** Day partitions known to exist (a miss creates one; a drop elsewhere is caught by a retry). */
  readonly #days = new Set<number>();
  #count = 0;
  #bytes = 0;
  #statsAt = 0;
  #refreshing: Promise<void> | undefined;

  private constructor(pool: pg.Pool, url: string, now: () => number) {
    this.#pool = pool;
    this.#url = url;
    this.#now = now;
  }

  /**
   * Connects, creates the schema if needed (or migrates an unpartitioned `envelopes` table of an
   * earlier version, in one transaction), creates the partitions ahead and reads the totals.
   */
  static async open(options: PostgresArchiveOptions): Promise<PostgresArchive> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    pool.on("error", () => {
      // An idle client failing (server restart) must not crash the process; the next query
      // gets a fresh client or a typed error.
    });
    const archive = new PostgresArchive(pool, options.url, options.now ?? Date.now);
    try {
      await archive.#migrate(options.onUpgrade);
      await archive.#ahead();
      await archive.#refreshStats();
    } catch (cause) {
      await pool.end().catch(() => undefined);
      if (cause instanceof ArchiveError) throw cause;
      throw new ArchiveError("cannot open the PostgreSQL archive", cause);
    }
    return archive;
  }

  /** The connection string (the leader lock opens its own connection with it). */
  get url(): string {
    return this.#url;
  }

  /**
   * An `envelopes` table from before partitioning (an ordinary table) is moved into the
   * partitioned one in one transaction, under the partition lock so that two nodes starting at
   * once do not both try: renamed, copied day partition by day partition, dropped. On failure
   * nothing changes (the transaction rolls back) and opening fails with an `ArchiveError` that
   * says what to do.
   */
  async #migrate(onUpgrade?: (step: string, ms: number) => void): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(PARTITION_LOCK);
      const kind = await client.query<{ relkind: string }>(
        "SELECT relkind FROM pg_class WHERE relname = 'envelopes' AND relnamespace = current_schema()::regnamespace",
      );
      if (kind.rows[0]?.relkind !== "r") {
        // Created under the lock: two nodes starting at once would otherwise race on the types.
        await client.query(SCHEMA);
        await client.query("COMMIT");
        return;
      }
      const started = performance.now();
      await client.query(`ALTER TABLE envelopes RENAME TO envelopes_unpartitioned;
        ALTER INDEX IF EXISTS envelopes_topic_ts_id RENAME TO envelopes_unpartitioned_topic_ts_id;`);
      await client.query(SCHEMA);
      const days = await client.query<{ day: string }>(
        "SELECT DISTINCT floor(ts::numeric / 86400000)::bigint AS day FROM envelopes_unpartitioned",
      );
      for (const { day } of days.rows) await client.query(createPartition(Number(day)));
      const moved = await client.query(
        `INSERT INTO envelopes (id, topic, ts, version, payload, size, received_at)
         SELECT id, topic, ts, version, payload, size, received_at FROM envelopes_unpartitioned
         ON CONFLICT (ts, id) DO NOTHING`,
      );
      await client.query("DROP TABLE envelopes_unpartitioned");
      await client.query("COMMIT");
      onUpgrade?.(
        `moved ${moved.rowCount} envelopes into the partitioned archive (${days.rowCount} day partitions)`,
        performance.now() - started,
      );
    } catch (cause) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw new ArchiveError(
        "cannot migrate the PostgreSQL archive to day partitions; nothing was changed. Free disk for a second copy of the envelopes table (the move holds both until it commits), or move it by hand as docs/operators.md (Scaling out) shows, then start again",
        cause,
      );
    } finally {
      client.release();
    }
  }

  /** Creates the day partitions of `days` that are not known to exist, under the partition lock. */
  async #ensure(days: Iterable<number>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.#days.has(d));
    if (missing.length === 0) return;
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(PARTITION_LOCK);
      for (const day of missing) await client.query(createPartition(day));
      await client.query("COMMIT");
      for (const day of missing) this.#days.add(day);
    } catch (cause) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw cause;
    } finally {
      client.release();
    }
  }

  /** Today's partition and {@link DAYS_AHEAD} after it. */
  async #ahead(): Promise<void> {
    const today = Math.floor(this.#now() / PARTITION_MS);
    await this.#ensure(Array.from({ length: DAYS_AHEAD + 1 }, (_, i) => today + i));
  }

  /** The day partitions there are, oldest first. */
  async partitions(): Promise<{ name: string; day: number }[]> {
    const r = await this.#pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'envelopes'::regclass ORDER BY c.relname`,
    );
    return r.rows
      .filter((row) => /^envelopes_d\d{8}$/.test(row.name))
      .map((row) => ({
        name: row.name,
        day:
          Date.parse(
            `${row.name.slice(11, 15)}-${row.name.slice(15, 17)}-${row.name.slice(17, 19)}T00:00:00Z`,
          ) / PARTITION_MS,
      }));
  }

  async insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]> {
    if (envelopes.length === 0) return [];
    try {
      await this.#ensure(envelopes.map((e) => dayOf(e.timestamp)));
      return await this.#insert(envelopes);
    } catch (cause) {
      // A partition this node knew of was dropped by another node's retention: learn again, once.
      if ((cause as { code?: string }).code === "23514") {
        this.#days.clear();
        try {
          await this.#ensure(envelopes.map((e) => dayOf(e.timestamp)));
          return await this.#insert(envelopes);
        } catch (again) {
          throw new ArchiveError("insert failed", again);
        }
      }
      throw new ArchiveError("insert failed", cause);
    }
  }

  async #insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]> {
    {
      const r = await this.#pool.query<{ id: Buffer; size: number }>(
        `INSERT INTO envelopes (id, topic, ts, version, payload, size, received_at)
         SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::int[], $5::bytea[], $6::int[], $7::bigint[])
         ON CONFLICT (ts, id) DO NOTHING RETURNING id, size`,
        [
          envelopes.map((e) => buf(e.id)),
          envelopes.map((e) => e.contentTopic),
          envelopes.map((e) => e.timestamp.toString()),
          envelopes.map((e) => e.version),
          envelopes.map((e) => buf(e.payload)),
          envelopes.map((e) => e.payload.length),
          envelopes.map((e) => e.receivedAt),
        ],
      );
      this.#count += r.rowCount ?? 0;
      for (const row of r.rows) this.#bytes += row.size;
      return r.rows.map((row) => u8(row.id));
    }
  }

  async query(q: ArchiveQuery): Promise<ArchivePage> {
    const rows: StoredEnvelope[] = [];
    try {
      const results = await Promise.all(
        [...new Set(q.topics)].map((topic) => {
          const params: unknown[] = [topic];
          const where = ["topic = $1"];
          if (q.timeStart !== undefined) where.push(`ts >= $${params.push(q.timeStart.toString())}`);
          if (q.timeEnd !== undefined) where.push(`ts <= $${params.push(q.timeEnd.toString())}`);
          if (q.after) {
            const a = params.push(q.after.timestamp.toString());
            const b = params.push(buf(q.after.id));
            where.push(q.forward ? `(ts, id) > ($${a}, $${b})` : `(ts, id) < ($${a}, $${b})`);
          }
          const order = q.forward ? "ts ASC, id ASC" : "ts DESC, id DESC";
          const limit = params.push(q.limit + 1);
          // Named (prepared once per connection): the page query's shapes are few, and planning it
          // over the day partitions cost more than running it.
          const shape = `${+(q.timeStart !== undefined)}${+(q.timeEnd !== undefined)}${+!!q.after}${+q.forward}`;
          return this.#pool.query<Row>({
            name: `postbox_page_${shape}`,
            text: `SELECT id, topic, ts, version, payload, received_at FROM envelopes WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT $${limit}`,
            values: params,
          });
        }),
      );
      for (const r of results) for (const row of r.rows) rows.push(toEnvelope(row));
    } catch (cause) {
      throw new ArchiveError("query failed", cause);
    }
    if (q.topics.length > 1) rows.sort(q.forward ? compareEnvelopes : (a, b) => compareEnvelopes(b, a));
    return cut(rows, q);
  }

  async position(id: Uint8Array): Promise<Position | undefined> {
    try {
      const r = await this.#pool.query<{ ts: string }>({
        name: "postbox_position",
        text: "SELECT ts FROM envelopes WHERE id = $1",
        values: [buf(id)],
      });
      return r.rows[0] ? { timestamp: BigInt(r.rows[0].ts), id } : undefined;
    } catch (cause) {
      throw new ArchiveError("position lookup failed", cause);
    }
  }

  async get(id: Uint8Array): Promise<StoredEnvelope | undefined> {
    try {
      const r = await this.#pool.query<Row>(
        "SELECT id, topic, ts, version, payload, received_at FROM envelopes WHERE id = $1",
        [buf(id)],
      );
      return r.rows[0] ? toEnvelope(r.rows[0]) : undefined;
    } catch (cause) {
      throw new ArchiveError("envelope lookup failed", cause);
    }
  }

  async presence(ids: Uint8Array[]): Promise<Position[]> {
    if (ids.length === 0) return [];
    try {
      const r = await this.#pool.query<{ id: Buffer; ts: string }>(
        "SELECT id, ts FROM envelopes WHERE id = ANY($1::bytea[])",
        [ids.map(buf)],
      );
      const held = new Map(r.rows.map((row) => [row.id.toString("hex"), BigInt(row.ts)]));
      return ids.flatMap((id) => {
        const timestamp = held.get(buf(id).toString("hex"));
        return timestamp === undefined ? [] : [{ timestamp, id }];
      });
    } catch (cause) {
      throw new ArchiveError("presence query failed", cause);
    }
  }

  /**
   * Retention. By age: every day partition wholly older than the cutoff is dropped (one cheap DROP
   * however many envelopes it holds; they all count in the result), then up to `batch` envelopes
   * older than the cutoff in the partition it falls in are deleted. By count or size: the oldest
   * envelopes by (timestamp, id), `batch` at a time, against totals read from the database (other
   * nodes insert too). Creates the partitions ahead on the way.
   */
  async prune(policy: RetentionPolicy, nowMs: number, batch: number): Promise<number> {
    try {
      await this.#ahead();
      const cutoff = policy.maxAgeMs === undefined ? undefined : nowMs - policy.maxAgeMs;
      let deleted = 0;
      if (cutoff !== undefined) {
        deleted += await this.#dropBefore(cutoff);
        deleted += await this.#deleteRows(
          "DELETE FROM envelopes WHERE (ts, id) IN (SELECT ts, id FROM envelopes WHERE ts < $1 ORDER BY ts, id LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING size",
          [cutoff.toString(), batch],
        );
        if (deleted >= batch) return deleted;
      }
      if (policy.maxCount === undefined && policy.maxBytes === undefined) return deleted;
      await this.#refreshStats();
      const tooMany = policy.maxCount !== undefined && this.#count > policy.maxCount;
      const tooBig = policy.maxBytes !== undefined && this.#bytes > policy.maxBytes;
      if (!tooMany && !tooBig) return deleted;
      const candidates = await this.#pool.query<{ ts: string; id: Buffer; size: number }>(
        "SELECT ts, id, size FROM envelopes ORDER BY ts, id LIMIT $1",
        [batch - deleted],
      );
      let count = this.#count;
      let bytes = this.#bytes;
      const doomed: { ts: string; id: Buffer }[] = [];
      for (const c of candidates.rows) {
        const many = policy.maxCount !== undefined && count > policy.maxCount;
        const big = policy.maxBytes !== undefined && bytes > policy.maxBytes;
        if (!many && !big) break;
        doomed.push(c);
        count -= 1;
        bytes -= c.size;
      }
      if (doomed.length > 0)
        deleted += await this.#deleteRows(
          "DELETE FROM envelopes WHERE (ts, id) IN (SELECT * FROM unnest($1::bigint[], $2::bytea[])) RETURNING size",
          [doomed.map((d) => d.ts), doomed.map((d) => d.id)],
        );
      return deleted;
    } catch (cause) {
      throw new ArchiveError("prune failed", cause);
    }
  }

  async #deleteRows(sql: string, params: unknown[]): Promise<number> {
    const r = await this.#pool.query<{ size: number }>(sql, params);
    this.#count -= r.rowCount ?? 0;
    for (const row of r.rows) this.#bytes -= row.size;
    return r.rowCount ?? 0;
  }

  /** Drops the day partitions that end at or before `cutoff`; returns the envelopes they held. */
  async #dropBefore(cutoff: number): Promise<number> {
    const old = (await this.partitions()).filter((p) => (p.day + 1) * PARTITION_MS <= cutoff);
    let dropped = 0;
    for (const p of old) {
      const client = await this.#pool.connect();
      try {
        await client.query("BEGIN");
        // Dropping a partition locks the whole table for an instant; behind a long query it would
        // hold every new query back while it waits, so it gives up after a while (the next pass
        // tries again).
        await client.query("SET LOCAL lock_timeout = '3s'");
        await client.query(PARTITION_LOCK);
        const held = await client.query<{ n: string; bytes: string }>(
          `SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM ${p.name}`,
        );
        await client.query(`DROP TABLE IF EXISTS ${p.name}`);
        await client.query("COMMIT");
        this.#days.delete(p.day);
        const n = Number(held.rows[0]!.n);
        this.#count -= n;
        this.#bytes -= Number(held.rows[0]!.bytes);
        dropped += n;
      } catch (cause) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw cause;
      } finally {
        client.release();
      }
    }
    return dropped;
  }

  /** Reads the totals from the database (every node's inserts and deletes). */
  #refreshStats(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        const r = await this.#pool.query<{ n: string; bytes: string }>(
          "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM envelopes",
        );
        this.#count = Number(r.rows[0]!.n);
        this.#bytes = Number(r.rows[0]!.bytes);
        this.#statsAt = Date.now();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  /** The pool, for stores that must commit in the same database (the payment ledger). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  async stats(): Promise<ArchiveStats> {
    // Other nodes' changes show within STATS_TTL_MS; this node's at once.
    if (Date.now() - this.#statsAt > STATS_TTL_MS) void this.#refreshStats().catch(() => undefined);
    return { envelopes: this.#count, payloadBytes: this.#bytes };
  }

  /**
   * Positions through a server-side cursor over the table, in the table's order (one snapshot, on
   * one pooled connection held for the scan).
   */
  async *scan(batch: number): AsyncIterable<import("./types.js").PositionBatch> {
    const client = await this.#pool.connect();
    let open = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      open = true;
      await client.query(
        "DECLARE postbox_scan NO SCROLL CURSOR FOR SELECT ts::float8 AS ts, id FROM envelopes",
      );
      for (;;) {
        const r = await client.query<{ ts: number; id: Buffer }>(
          `FETCH ${Math.max(1, Math.floor(batch))} FROM postbox_scan`,
        );
        const n = r.rows.length;
        if (n === 0) break;
        const ts = new Float64Array(n);
        const ids = new Uint8Array(n * 32);
        r.rows.forEach((row, i) => {
          ts[i] = row.ts;
          ids.set(row.id.subarray(0, 32), i * 32);
        });
        yield { count: n, ts, ids };
        if (n < batch) break;
      }
      await client.query("COMMIT");
      open = false;
    } catch (cause) {
      throw new ArchiveError("scan failed", cause);
    } finally {
      if (open) await client.query("ROLLBACK").catch(() => undefined);
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

function toEnvelope(r: Row): StoredEnvelope {
  return {
    id: u8(r.id),
    version: r.version,
    contentTopic: r.topic,
    timestamp: BigInt(r.ts),
    payload: u8(r.payload),
    receivedAt: Number(r.received_at),
  };
}

/** How long the totals read from the database are used before they are read again (ms). */
const STATS_TTL_MS = 30_000;

/** The day (since the epoch, UTC) of a timestamp in ms. */
function dayOf(ts: bigint): number {
  return Math.floor(Number(ts) / PARTITION_MS);
}

/** Creates the partition of `day` if it does not exist (run under the partition lock). */
function createPartition(day: number): string {
  const from = BigInt(day) * BigInt(PARTITION_MS);
  return `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF envelopes FOR VALUES FROM (${from}) TO (${from + BigInt(PARTITION_MS)})`;
}
