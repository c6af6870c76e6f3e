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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS envelopes (
  seq BIGSERIAL PRIMARY KEY,
  id BYTEA NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  ts BIGINT NOT NULL,
  version INTEGER NOT NULL,
  payload BYTEA NOT NULL,
  size INTEGER NOT NULL,
  received_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS envelopes_topic_ts_id ON envelopes (topic, ts, id);
`;

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
}

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * The archive for a mailbox that outgrows one SQLite file: PostgreSQL through a connection pool,
 * with the same schema and index as the SQLite backend.
 */
export class PostgresArchive implements Archive {
  readonly kind = "postgres" as const;
  readonly #pool: pg.Pool;
  #count = 0;
  #bytes = 0;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects, creates the schema if needed and reads the totals. */
  static async open(options: PostgresArchiveOptions): Promise<PostgresArchive> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    pool.on("error", () => {
      // An idle client failing (server restart) must not crash the process; the next query
      // gets a fresh client or a typed error.
    });
    const archive = new PostgresArchive(pool);
    try {
      await pool.query(SCHEMA);
      const r = await pool.query<{ n: string; bytes: string }>(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM envelopes",
      );
      archive.#count = Number(r.rows[0]!.n);
      archive.#bytes = Number(r.rows[0]!.bytes);
    } catch (cause) {
      await pool.end().catch(() => undefined);
      throw new ArchiveError("cannot open the PostgreSQL archive", cause);
    }
    return archive;
  }

  async insert(envelopes: StoredEnvelope[]): Promise<Uint8Array[]> {
    if (envelopes.length === 0) return [];
    try {
      const r = await this.#pool.query<{ id: Buffer; size: number }>(
        `INSERT INTO envelopes (id, topic, ts, version, payload, size, received_at)
         SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::int[], $5::bytea[], $6::int[], $7::bigint[])
         ON CONFLICT (id) DO NOTHING RETURNING id, size`,
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
    } catch (cause) {
      throw new ArchiveError("insert failed", cause);
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
          return this.#pool.query<Row>(
            `SELECT id, topic, ts, version, payload, received_at FROM envelopes WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT $${limit}`,
            params,
          );
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
      const r = await this.#pool.query<{ ts: string }>("SELECT ts FROM envelopes WHERE id = $1", [buf(id)]);
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

  async presence(ids: Uint8Array[]): Promise<Uint8Array[]> {
    if (ids.length === 0) return [];
    try {
      const r = await this.#pool.query<{ id: Buffer }>(
        "SELECT id FROM envelopes WHERE id = ANY($1::bytea[])",
        [ids.map(buf)],
      );
      const held = new Set(r.rows.map((row) => row.id.toString("hex")));
      return ids.filter((id) => held.has(buf(id).toString("hex")));
    } catch (cause) {
      throw new ArchiveError("presence query failed", cause);
    }
  }

  async prune(policy: RetentionPolicy, nowMs: number, batch: number): Promise<number> {
    const cutoff = policy.maxAgeMs === undefined ? undefined : nowMs - policy.maxAgeMs;
    const tooMany = policy.maxCount !== undefined && this.#count > policy.maxCount;
    const tooBig = policy.maxBytes !== undefined && this.#bytes > policy.maxBytes;
    if (cutoff === undefined && !tooMany && !tooBig) return 0;
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const candidates = await client.query<{ seq: string; ts: string; size: number }>(
        "SELECT seq, ts, size FROM envelopes ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        [batch],
      );
      let count = this.#count;
      let bytes = this.#bytes;
      const doomed: string[] = [];
      for (const c of candidates.rows) {
        const old = cutoff !== undefined && Number(c.ts) < cutoff;
        const many = policy.maxCount !== undefined && count > policy.maxCount;
        const big = policy.maxBytes !== undefined && bytes > policy.maxBytes;
        if (!old && !many && !big) break;
        doomed.push(c.seq);
        count -= 1;
        bytes -= c.size;
      }
      if (doomed.length > 0)
        await client.query("DELETE FROM envelopes WHERE seq = ANY($1::bigint[])", [doomed]);
      await client.query("COMMIT");
      this.#count = count;
      this.#bytes = bytes;
      return doomed.length;
    } catch (cause) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw new ArchiveError("prune failed", cause);
    } finally {
      client.release();
    }
  }

  /** The pool, for stores that must commit in the same database (the payment ledger). */
  get pool(): pg.Pool {
    return this.#pool;
  }

  async stats(): Promise<ArchiveStats> {
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
