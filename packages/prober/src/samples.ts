import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { DisputeFigures, MailboxInfo, MailboxMetadata } from "@postbox/protocol";

/** A mailbox as the registry describes it (refreshed from its events). */
export interface TrackedMailbox {
  address: string;
  peerId: string;
  multiaddrs: string[];
  status: number;
  stake: bigint;
  pricePerQuery: bigint;
  pricePerMessage: bigint;
  pendingPricePerQuery: bigint;
  pendingPricePerMessage: bigint;
  priceEffectiveAt: number;
  registeredAt: number;
  withdrawableAt: number;
  /** The operator's metadata URI ("" for none; absent in entries stored by an earlier version). */
  metadataURI?: string;
}

/** The metadata document last read for a mailbox, or why it could not be read. */
export interface MetadataRecord {
  /** The URI it was read from. */
  uri: string;
  /** When (ms). */
  at: number;
  metadata: MailboxMetadata | null;
  error: string | null;
}

/** Which chain and deployment a database describes (see {@link SampleStore.open}). */
export interface Deployment {
  /** Hash of the chain's block 0: a restarted local chain has a new one. */
  genesis: string;
  registry: string;
  /** The chain's latest block: a database from before deployments were recorded that has read past it is another chain's. */
  head: bigint;
}

export type SampleKind = "probe" | "canary";

export interface Sample {
  mailbox: string;
  at: number;
  kind: SampleKind;
  ok: boolean;
  /** Round trip of ping + info (probes), or of the canary query (canaries), ms. */
  latencyMs: number | null;
  detail: string;
}

/** A dispute against a mailbox, as the Disputes contract's events told it (docs/contracts.md). */
export interface DisputeRecord {
  /** The dispute id (the receipt's or the commitment's EIP-712 digest), 0x-hex. */
  id: string;
  /** The operator disputed, lower case. */
  mailbox: string;
  kind: "custody" | "omission";
  state: "open" | "answered" | "upheld";
  /** SNT slashed when upheld (token base units). */
  slashed: bigint;
  /** When it was opened (custody) or proved (omission): the block's time, ms. */
  openedAt: number;
  /** When it was answered or upheld (ms), or null while open. */
  resolvedAt: number | null;
}

/** Upheld disputes listed in a report's `upheldAt` (the newest): beyond this the factor is at its floor anyway. */
export const UPHELD_LISTED = 100;
/** How far back `upheldAt` goes (ms): the score's memory (`DISPUTE_MEMORY_MS`). */
export const UPHELD_MEMORY_MS = 365 * 86_400_000;

export interface Canary {
  id: string;
  mailbox: string;
  topic: string;
  timestamp: number;
  pushedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailboxes (address TEXT PRIMARY KEY, entry TEXT NOT NULL, first_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
  mailbox TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, ok INTEGER NOT NULL,
  latency_ms REAL, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS samples_by_mailbox ON samples (mailbox, kind, at);
CREATE TABLE IF NOT EXISTS canaries (
  id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, topic TEXT NOT NULL, ts INTEGER NOT NULL,
  pushed_at INTEGER NOT NULL, checked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS canaries_due ON canaries (checked, pushed_at);
CREATE TABLE IF NOT EXISTS disputes (
  id TEXT PRIMARY KEY, mailbox TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
  slashed TEXT NOT NULL, opened_at INTEGER NOT NULL, resolved_at INTEGER);
CREATE INDEX IF NOT EXISTS disputes_by_mailbox ON disputes (mailbox, state, resolved_at);
`;

const toDispute = (r: Record<string, unknown>): DisputeRecord => ({
  id: r.id as string,
  mailbox: r.mailbox as string,
  kind: r.kind as DisputeRecord["kind"],
  state: r.state as DisputeRecord["state"],
  slashed: BigInt(r.slashed as string),
  openedAt: Number(r.opened_at),
  resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
});

const big = (_: string, v: unknown) => (typeof v === "bigint" ? `${v}n` : v);
const unbig = (_: string, v: unknown) =>
  typeof v === "string" && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v;

/**
 * The prober's memory (node:sqlite, WAL): the registry as last seen, every probe and canary
 * sample, and the canaries waiting to be checked. It survives restarts, so the figures it
 * publishes cover its whole history.
 */
export class SampleStore {
  readonly #db: DatabaseSync;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    this.#db.exec(SCHEMA);
  }

  /**
   * Opens the database at `path` for `deployment`. A database that describes another chain (a
   * local chain restarted with the same data folder: same chain id and addresses, new blocks) or
   * another registry is set aside as `<path>.<its genesis hash>.old` and a fresh one begins:
   * its registry entries, block cursor and samples are not this chain's.
   */
  static open(path: string, deployment: Deployment): { store: SampleStore; setAside?: string } {
    const store = new SampleStore(path);
    const genesis = store.get("chain:genesis");
    const registry = store.get("chain:registry");
    const block = store.get("registry:block");
    if (
      (genesis !== undefined && genesis !== deployment.genesis) ||
      (registry !== undefined && registry !== deployment.registry.toLowerCase()) ||
      (genesis === undefined && block !== undefined && BigInt(block) > deployment.head)
    ) {
      store.close();
      const tag = (genesis ?? "unknown").slice(0, 18);
      let setAside = `${path}.${tag}.old`;
      for (let n = 2; existsSync(setAside); n++) setAside = `${path}.${tag}.${n}.old`;
      renameSync(path, setAside);
      for (const suffix of ["-wal", "-shm"])
        if (existsSync(path + suffix)) renameSync(path + suffix, setAside + suffix);
      return { store: SampleStore.open(path, deployment).store, setAside };
    }
    store.set("chain:genesis", deployment.genesis);
    store.set("chain:registry", deployment.registry.toLowerCase());
    return { store };
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  get(key: string): string | undefined {
    return (this.#db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined)
      ?.value;
  }

  set(key: string, value: string): void {
    this.#db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)").run(key, value);
  }

  upsertMailbox(m: TrackedMailbox, now: number): void {
    this.#db
      .prepare(
        "INSERT INTO mailboxes (address, entry, first_seen) VALUES (?, ?, ?) ON CONFLICT (address) DO UPDATE SET entry = excluded.entry",
      )
      .run(m.address, JSON.stringify(m, big), now);
  }

  mailboxes(): (TrackedMailbox & { firstSeen: number })[] {
    return (
      this.#db.prepare("SELECT entry, first_seen FROM mailboxes ORDER BY address").all() as {
        entry: string;
        first_seen: number;
      }[]
    ).map((r) => ({ ...(JSON.parse(r.entry, unbig) as TrackedMailbox), firstSeen: Number(r.first_seen) }));
  }

  addSample(s: Sample): void {
    this.#db
      .prepare("INSERT INTO samples (mailbox, at, kind, ok, latency_ms, detail) VALUES (?, ?, ?, ?, ?, ?)")
      .run(s.mailbox, s.at, s.kind, s.ok ? 1 : 0, s.latencyMs, s.detail);
  }

  samples(mailbox: string, from: number, to: number, limit = 10_000): Sample[] {
    return (
      this.#db
        .prepare("SELECT * FROM samples WHERE mailbox = ? AND at >= ? AND at <= ? ORDER BY at LIMIT ?")
        .all(mailbox, from, to, limit) as Record<string, unknown>[]
    ).map((r) => ({
      mailbox: r.mailbox as string,
      at: Number(r.at),
      kind: r.kind as SampleKind,
      ok: r.ok === 1,
      latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
      detail: r.detail as string,
    }));
  }

  /** Successes and failures of one kind since `from` (up to `to`, inclusive). */
  counts(
    mailbox: string,
    kind: SampleKind,
    from: number,
    to = Number.MAX_SAFE_INTEGER,
  ): { ok: number; failed: number } {
    const r = this.#db
      .prepare(
        "SELECT COALESCE(SUM(ok), 0) AS ok, COUNT(*) - COALESCE(SUM(ok), 0) AS failed FROM samples WHERE mailbox = ? AND kind = ? AND at >= ? AND at <= ?",
      )
      .get(mailbox, kind, from, to) as { ok: number; failed: number };
    return { ok: Number(r.ok), failed: Number(r.failed) };
  }

  /** When the first sample of a kind was taken (ms; up to `to`), or null. */
  firstAt(mailbox: string, kind: SampleKind, to = Number.MAX_SAFE_INTEGER): number | null {
    const r = this.#db
      .prepare("SELECT MIN(at) AS first FROM samples WHERE mailbox = ? AND kind = ? AND at <= ?")
      .get(mailbox, kind, to) as { first: number | null };
    return r.first === null ? null : Number(r.first);
  }

  /** When the mailbox last failed a probe (ms), or null. */
  lastFailedProbe(mailbox: string): number | null {
    const r = this.#db
      .prepare("SELECT MAX(at) AS at FROM samples WHERE mailbox = ? AND kind = 'probe' AND ok = 0")
      .get(mailbox) as { at: number | null };
    return r.at === null ? null : Number(r.at);
  }

  /** Records a mailbox's latest `/postbox/info/1` answer. */
  setInfo(mailbox: string, info: MailboxInfo): void {
    this.set(`info:${mailbox}`, JSON.stringify(info));
  }

  /** The latest `/postbox/info/1` answer recorded, or null. */
  info(mailbox: string): MailboxInfo | null {
    const v = this.get(`info:${mailbox}`);
    return v === undefined ? null : (JSON.parse(v) as MailboxInfo);
  }

  setMetadata(mailbox: string, record: MetadataRecord): void {
    this.set(`metadata:${mailbox}`, JSON.stringify(record));
  }

  metadata(mailbox: string): MetadataRecord | undefined {
    const v = this.get(`metadata:${mailbox}`);
    return v === undefined ? undefined : (JSON.parse(v) as MetadataRecord);
  }

  /** Latencies of successful probes since `from` (up to `to`), ascending. */
  latencies(mailbox: string, from: number, to = Number.MAX_SAFE_INTEGER): number[] {
    return (
      this.#db
        .prepare(
          "SELECT latency_ms FROM samples WHERE mailbox = ? AND kind = 'probe' AND ok = 1 AND at >= ? AND at <= ? AND latency_ms IS NOT NULL ORDER BY latency_ms",
        )
        .all(mailbox, from, to) as { latency_ms: number }[]
    ).map((r) => Number(r.latency_ms));
  }

  /** Uptime per bucket (for sparklines): share of successful probes in each `bucketMs` since `from` (up to `to`). */
  uptimeSeries(
    mailbox: string,
    from: number,
    bucketMs: number,
    to = Number.MAX_SAFE_INTEGER,
  ): { at: number; uptime: number; probes: number }[] {
    return (
      this.#db
        .prepare(
          "SELECT at - at % CAST(? AS INTEGER) AS b, AVG(ok) AS up, COUNT(*) AS n FROM samples WHERE mailbox = ? AND kind = 'probe' AND at >= ? AND at <= ? GROUP BY b ORDER BY b",
        )
        .all(bucketMs, mailbox, from, to) as { b: number; up: number; n: number }[]
    ).map((r) => ({ at: Number(r.b), uptime: Number(r.up), probes: Number(r.n) }));
  }

  /**
   * Records what one event says about a dispute: opened (custody), answered, or upheld (custody or
   * omission: an omission is opened and upheld at once). A later state never goes back (events are
   * applied in chain order, but an answer read twice must not reopen it).
   */
  recordDispute(d: DisputeRecord): void {
    const rank = { open: 0, answered: 1, upheld: 1 } as const;
    const known = this.#db.prepare("SELECT state FROM disputes WHERE id = ?").get(d.id) as
      | { state: DisputeRecord["state"] }
      | undefined;
    if (known && rank[known.state] > rank[d.state]) return;
    this.#db
      .prepare(
        `INSERT INTO disputes (id, mailbox, kind, state, slashed, opened_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, slashed = excluded.slashed, resolved_at = excluded.resolved_at`,
      )
      .run(d.id, d.mailbox, d.kind, d.state, d.slashed.toString(), d.openedAt, d.resolvedAt);
  }

  /** One dispute by id, or undefined. */
  dispute(id: string): DisputeRecord | undefined {
    const r = this.#db.prepare("SELECT * FROM disputes WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return r ? toDispute(r) : undefined;
  }

  /** Every dispute recorded against a mailbox, oldest first. */
  disputes(mailbox: string): DisputeRecord[] {
    return (
      this.#db
        .prepare("SELECT * FROM disputes WHERE mailbox = ? ORDER BY opened_at, id")
        .all(mailbox) as Record<string, unknown>[]
    ).map(toDispute);
  }

  /**
   * A mailbox's dispute figures at `now` (ms): counts by state, SNT slashed, and when each dispute
   * upheld over the last {@link UPHELD_MEMORY_MS} and up to `now` was upheld, newest first (at most
   * {@link UPHELD_LISTED}). A dispute upheld after `now` (a clock behind the chain's) is listed.
   */
  disputeFigures(mailbox: string, now: number): DisputeFigures {
    const counts = { open: 0, answered: 0, upheld: 0 };
    let slashed = 0n;
    for (const d of this.disputes(mailbox)) {
      counts[d.state]++;
      slashed += d.slashed;
    }
    const upheldAt = (
      this.#db
        .prepare(
          "SELECT resolved_at FROM disputes WHERE mailbox = ? AND state = 'upheld' AND resolved_at >= ? ORDER BY resolved_at DESC LIMIT ?",
        )
        .all(mailbox, now - UPHELD_MEMORY_MS, UPHELD_LISTED) as { resolved_at: number }[]
    ).map((r) => Number(r.resolved_at));
    const last = this.#db
      .prepare("SELECT MAX(resolved_at) AS at FROM disputes WHERE mailbox = ? AND state = 'upheld'")
      .get(mailbox) as { at: number | null };
    return {
      ...counts,
      slashed: slashed.toString(),
      upheldAt,
      lastUpheldAt: last.at === null ? null : Number(last.at),
    };
  }

  addCanary(c: Canary): void {
    this.#db
      .prepare("INSERT INTO canaries (id, mailbox, topic, ts, pushed_at) VALUES (?, ?, ?, ?, ?)")
      .run(c.id, c.mailbox, c.topic, c.timestamp, c.pushedAt);
  }

  /**
   * Canaries pushed before `before` and not yet checked: those pushed to this mailbox first, then
   * network canaries (expected here, pushed elsewhere), each oldest first.
   */
  dueCanaries(mailbox: string, before: number, limit = 10): Canary[] {
    return (
      this.#db
        .prepare(
          "SELECT * FROM canaries WHERE mailbox = ? AND checked = 0 AND pushed_at <= ? ORDER BY instr(id, '/') > 0, pushed_at LIMIT ?",
        )
        .all(mailbox, before, limit) as Record<string, unknown>[]
    ).map((r) => ({
      id: r.id as string,
      mailbox: r.mailbox as string,
      topic: r.topic as string,
      timestamp: Number(r.ts),
      pushedAt: Number(r.pushed_at),
    }));
  }

  /** Marks canaries checked and records one canary sample each, in one transaction. */
  checkCanaries(
    results: { canary: Canary; found: boolean; latencyMs: number | null; detail: string }[],
    at: number,
  ) {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const r of results) {
        this.#db.prepare("UPDATE canaries SET checked = 1 WHERE id = ?").run(r.canary.id);
        this.addSample({
          mailbox: r.canary.mailbox,
          at,
          kind: "canary",
          ok: r.found,
          latencyMs: r.latencyMs,
          detail: r.detail,
        });
      }
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
  }
}
