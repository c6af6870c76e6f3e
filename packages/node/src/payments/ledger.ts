import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { threadPool } from "@postbox/net/worker";
import { WorkerError, type WorkerPool } from "@postbox/protocol/pool";
import type pg from "pg";
import { ArchiveError } from "../errors.js";
import type { LedgerWriterInit } from "./ledger-writer.worker.js";

/**
 * What the mailbox knows about one channel it is paid through. Amounts in token base units;
 * always `settledAmount ≤ spent ≤ authorizedAmount` (the ledger refuses a write that breaks it).
 */
export interface ChannelAccount {
  channelId: Uint8Array;
  /** Cumulative cost of everything served on this channel (as of this write). */
  spent: bigint;
  /** The highest voucher accepted (authorises up to this much). */
  authorizedAmount: bigint;
  authorizedSignature: Uint8Array;
  /** The highest voucher whose amount is at most `spent`: what the redeemer claims. */
  settledAmount: bigint;
  settledSignature: Uint8Array;
  /** What the channel had paid on-chain when last seen. */
  redeemed: bigint;
  updatedAt: number;
}

/**
 * The mailbox's record of vouchers and charges, one row per channel, each write one transaction.
 * What is durable when (the channel meter decides, see `ChannelMeter`):
 * - a newly accepted voucher, with the spent amount after the page it pays, is committed before
 *   that page is sent, so an accepted voucher survives a crash and is never accepted twice;
 * - pages drawn from a voucher's credit are charged in the meter's memory (and reported in each
 *   response), and committed with the next voucher or settlement, on close, or shortly after;
 *   a crash loses at most those charges — pages served and not paid for, never a payer's loss;
 * - a settlement (a voucher for exactly the spent amount) is committed before it is answered.
 * The redeemer claims only what a committed row proves: its settled voucher, which is never above
 * the spent amount committed with it, so a payer never pays for a page the ledger does not hold.
 * A ledger several nodes share (PostgreSQL) commits every page's charge with one conditional
 * statement instead (`charge`, below): nothing is held in memory.
 */
export interface Ledger {
  get(channelId: Uint8Array): Promise<ChannelAccount | undefined>;
  /**
   * Writes the account (insert or replace) in one transaction; refuses (`ArchiveError`) one whose
   * settled voucher is above its spent amount, or whose spent amount is above its voucher.
   */
  put(account: ChannelAccount): Promise<void>;
  /** Records what the channel has paid on-chain. */
  markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void>;
  /** Accounts with a settled voucher above what was redeemed: what the redeemer can claim. */
  redeemable(): Promise<ChannelAccount[]>;
  /** Waits for the writes under way (before the database closes). */
  close(): Promise<void>;
  /**
   * Present on a ledger that several mailbox nodes share (PostgreSQL): each page's charge is one
   * conditional statement on the channel's row, so the database, not a process, decides. See
   * {@link SharedCharge}; resolves with the account after the charge, or undefined when the
   * voucher does not cover it (its credit was drawn, by this node or another).
   */
  charge?(c: SharedCharge): Promise<ChannelAccount | undefined>;
  /**
   * Shared ledgers: records a settlement voucher for exactly the spent amount, atomically;
   * resolves with the account after it, or undefined when the spent amount is not `amount`.
   */
  settle?(
    channelId: Uint8Array,
    amount: bigint,
    signature: Uint8Array,
    now: number,
  ): Promise<ChannelAccount | undefined>;
}

/**
 * One page's charge on a shared ledger: `cost` is added to the channel's spent amount only if the
 * spent amount after it is within `amount`, the voucher the query carried (checked by the node:
 * signed by the channel's signer). A voucher above the one accepted so far becomes the accepted
 * one; the one it replaces becomes the settled (redeemable) one once the spending reaches it, and
 * so does the paying voucher when the spending reaches it exactly. So two nodes given the same
 * voucher cannot both spend its credit: the second's statement finds it used.
 */
export interface SharedCharge {
  channelId: Uint8Array;
  amount: bigint;
  signature: Uint8Array;
  cost: bigint;
  /** What the channel had paid on-chain when last seen. */
  paid: bigint;
  now: number;
}

const COLUMNS =
  "channel_id, spent, authorized_amount, authorized_signature, settled_amount, settled_signature, redeemed, updated_at";

interface Row {
  channel_id: Uint8Array;
  spent: string;
  authorized_amount: string;
  authorized_signature: Uint8Array;
  settled_amount: string;
  settled_signature: Uint8Array;
  redeemed: string;
  updated_at: number | string;
}

function fromRow(r: Row): ChannelAccount {
  const u8 = (b: Uint8Array) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return {
    channelId: u8(r.channel_id),
    spent: BigInt(r.spent),
    authorizedAmount: BigInt(r.authorized_amount),
    authorizedSignature: u8(r.authorized_signature),
    settledAmount: BigInt(r.settled_amount),
    settledSignature: u8(r.settled_signature),
    redeemed: BigInt(r.redeemed),
    updatedAt: Number(r.updated_at),
  };
}

/** Why an account may not be written (see {@link ChannelAccount}), or undefined. */
function unprovable(a: ChannelAccount): ArchiveError | undefined {
  if (a.settledAmount <= a.spent && a.spent <= a.authorizedAmount) return undefined;
  return new ArchiveError(
    `ledger write refused: settled ${a.settledAmount} ≤ spent ${a.spent} ≤ authorised ${a.authorizedAmount} does not hold`,
  );
}

/** Amounts are stored as decimal text: uint96 does not fit a 64-bit column. */
function params(a: ChannelAccount) {
  return [
    a.channelId,
    a.spent.toString(),
    a.authorizedAmount.toString(),
    a.authorizedSignature,
    a.settledAmount.toString(),
    a.settledSignature,
    a.redeemed.toString(),
    a.updatedAt,
  ] as const;
}

const key = (id: Uint8Array) => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");

/** One row of a commit: the index of its statement, then the statement's parameters. */
export type CommitRow = [statement: number, ...values: SQLInputValue[]];

/**
 * A ledger batch in one transaction: on the ledger's own connection in memory, and on the writer
 * thread's (`ledger-writer.worker.ts`) for a file. Throws (after rolling back) when it fails.
 */
export function commitRows(db: DatabaseSync, statements: StatementSync[], rows: CommitRow[]): void {
  try {
    db.exec("BEGIN IMMEDIATE");
    for (const [statement, ...values] of rows) statements[statement]!.run(...values);
    db.exec("COMMIT");
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

export interface SqliteLedgerOptions {
  /** The ledger's own database file (next to the archive's), or ":memory:". */
  path: string;
  /** As the archive's: `FULL` (default) fsyncs every commit, so an accepted voucher survives power loss. */
  synchronous?: "FULL" | "NORMAL";
  /** An archive database whose `channel_accounts` table (from an earlier version) is moved here. */
  importFrom?: DatabaseSync;
}

const TABLE = `channel_id BLOB PRIMARY KEY,
  spent TEXT NOT NULL,
  authorized_amount TEXT NOT NULL,
  authorized_signature BLOB NOT NULL,
  settled_amount TEXT NOT NULL,
  settled_signature BLOB NOT NULL,
  redeemed TEXT NOT NULL,
  updated_at INTEGER NOT NULL`;

type Waiter = { resolve: () => void; reject: (e: unknown) => void };
/** A change to one account: the whole row, or only what was redeemed (an UPDATE of one column). */
type Change = { account: ChannelAccount; whole: boolean; waiters: Waiter[] };

/**
 * The SQLite ledger, in its own database file next to the archive's: its commits would otherwise
 * invalidate the archive connection's page cache on every paid page (measured: the page query cost
 * doubled). Writes are group-committed: the accounts changed while the previous commit was running
 * share the next transaction and its fsync. On a file the commits run on a worker thread with its
 * own connection (`ledger-writer.worker.ts`, a pool of one), so the fsync of each commit
 * (`synchronous=FULL`) does not stop the mailbox's event loop; in memory they run inline. Accounts
 * are cached after their first read: the mailbox is the ledger's only writer.
 */
export class SqliteLedger implements Ledger {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #statements: StatementSync[];
  readonly #all: StatementSync;
  readonly #writer: WorkerPool<CommitRow[], null> | undefined;
  /** Changed, not yet handed to a commit. */
  readonly #pending = new Map<string, Change>();
  /** In the commit under way. */
  #inflight = new Map<string, Change>();
  /** Committed accounts (bounded; a miss reads the database). */
  readonly #cache = new Map<string, ChannelAccount>();
  #scheduled = false;
  #closed = false;
  #dead: ArchiveError | undefined;

  constructor(options: SqliteLedgerOptions) {
    const { path } = options;
    let db: DatabaseSync;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      db = new DatabaseSync(path);
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.synchronous ?? "FULL"};
        PRAGMA busy_timeout = 5000;`);
      db.exec(`CREATE TABLE IF NOT EXISTS channel_accounts (${TABLE})`);
    } catch (cause) {
      throw new ArchiveError(`cannot open the ledger at ${path}`, cause);
    }
    this.#db = db;
    const statements = [
      `INSERT OR REPLACE INTO channel_accounts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      "UPDATE channel_accounts SET redeemed = ? WHERE channel_id = ?",
    ];
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM channel_accounts WHERE channel_id = ?`);
    this.#statements = statements.map((sql) => db.prepare(sql));
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM channel_accounts`);
    if (options.importFrom) this.#import(options.importFrom);
    if (path !== ":memory:") {
      const init: LedgerWriterInit = { path, synchronous: options.synchronous ?? "FULL", statements };
      // It does not keep the process alive while it has nothing to commit.
      this.#writer = threadPool(import.meta.url, "ledger-writer", {
        workerData: init,
        name: "postbox ledger writer",
      });
    }
  }

  /**
   * Why writes are refused: a writer that died (it should not) takes no more writes, so what waits
   * is refused, and so is what follows.
   */
  #refusal(): ArchiveError | undefined {
    const failure = this.#writer?.failure;
    if (!this.#dead && failure && !this.#closed)
      this.#dead = new ArchiveError(
        "ledger write failed",
        new Error(`the ledger writer failed: ${failure.details}`),
      );
    return this.#dead;
  }

  /**
   * Moves the accounts an earlier version kept in the archive's database into this ledger (once,
   * in one transaction, before the old table is dropped): no accepted voucher is lost on upgrade.
   */
  #import(archive: DatabaseSync): void {
    const old = archive.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'channel_accounts'",
    );
    if (!old.get()) return;
    const rows = archive.prepare(`SELECT ${COLUMNS} FROM channel_accounts`).all() as unknown as Row[];
    this.#db.exec("BEGIN IMMEDIATE");
    for (const r of rows) {
      if (this.#get.get(r.channel_id)) continue;
      this.#statements[0]!.run(...params(fromRow(r)));
    }
    this.#db.exec("COMMIT");
    archive.exec("DROP TABLE channel_accounts");
  }

  async get(channelId: Uint8Array): Promise<ChannelAccount | undefined> {
    return this.#latest(channelId);
  }

  #latest(channelId: Uint8Array): ChannelAccount | undefined {
    const k = key(channelId);
    const known = this.#pending.get(k)?.account ?? this.#inflight.get(k)?.account ?? this.#cache.get(k);
    if (known) return known;
    const r = this.#get.get(channelId) as Row | undefined;
    if (!r) return undefined;
    const account = fromRow(r);
    this.#remember(k, account);
    return account;
  }

  /**
   * Resolves once the account is committed. Writes that arrive together (other channels' pages
   * served at the same time) share one transaction and one fsync: group commit.
   */
  put(a: ChannelAccount): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const dead = this.#refusal();
      if (this.#closed || dead) {
        reject(dead ?? new ArchiveError("ledger write failed", new Error("the ledger is closed")));
        return;
      }
      const refused = unprovable(a);
      if (refused) {
        reject(refused);
        return;
      }
      this.#change(a, true, { resolve, reject });
    });
  }

  #change(account: ChannelAccount, whole: boolean, waiter: Waiter): void {
    const k = key(account.channelId);
    const entry = this.#pending.get(k);
    if (entry) {
      entry.account = account;
      entry.whole ||= whole;
      entry.waiters.push(waiter);
    } else {
      this.#pending.set(k, { account, whole, waiters: [waiter] });
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight.size > 0 || this.#pending.size === 0) return;
    if (this.#writer) {
      // The worker is idle: commit at once (what arrives meanwhile joins the next commit).
      this.#flush();
      return;
    }
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const dead = this.#refusal();
    if (dead) {
      for (const { waiters } of this.#pending.values()) for (const w of waiters) w.reject(dead);
      this.#pending.clear();
      return;
    }
    if (this.#inflight.size > 0 || this.#pending.size === 0) return;
    this.#inflight = new Map(this.#pending);
    this.#pending.clear();
    const rows = [...this.#inflight.values()].map(
      ({ account, whole }): CommitRow =>
        whole ? [0, ...params(account)] : [1, account.redeemed.toString(), account.channelId],
    );
    if (this.#writer) {
      // Byte fields are often views into a stream's large receive buffer; structured cloning a
      // view copies its whole buffer, so each goes to the worker as a copy of just its bytes.
      const copies = rows.map(
        (row) => row.map((x) => (x instanceof Uint8Array ? x.slice() : x)) as CommitRow,
      );
      this.#writer.run(copies).then(
        () => this.#committed(),
        (err: unknown) => {
          // The writer died: this commit is refused, then (in #flush) what waits.
          if (err instanceof WorkerError && err.reason === "worker failed")
            this.#committed(this.#refusal() ?? err);
          else this.#committed(err);
        },
      );
      return;
    }
    try {
      commitRows(this.#db, this.#statements, rows);
      this.#committed();
    } catch (cause) {
      this.#committed(cause);
    }
  }

  #committed(error?: unknown): void {
    const batch = this.#inflight;
    this.#inflight = new Map();
    if (error === undefined) {
      for (const [k, { account, waiters }] of batch) {
        this.#remember(k, account);
        for (const w of waiters) w.resolve();
      }
    } else {
      const err = new ArchiveError("ledger write failed", error);
      for (const [k, { waiters }] of batch) {
        this.#cache.delete(k);
        for (const w of waiters) w.reject(err);
      }
    }
    this.#schedule();
  }

  #remember(k: string, account: ChannelAccount): void {
    this.#cache.delete(k);
    if (this.#cache.size >= 100_000) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(k, account);
  }

  /** Records what the channel has paid on-chain (through the same ordered, durable writes). */
  markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void> {
    const account = this.#latest(channelId);
    if (!account) return Promise.resolve();
    const dead = this.#refusal();
    if (dead) return Promise.reject(dead);
    // Only the column changes: a charge committed in between keeps its amounts.
    return new Promise((resolve, reject) =>
      this.#change({ ...account, redeemed }, false, { resolve, reject }),
    );
  }

  async redeemable(): Promise<ChannelAccount[]> {
    const rows = this.#all.all() as unknown as Row[];
    const accounts = new Map(rows.map((r) => [key(r.channel_id), fromRow(r)]));
    // Commits under way are not visible to this connection yet.
    for (const [k, { account }] of [...this.#inflight, ...this.#pending]) accounts.set(k, account);
    return [...accounts.values()].filter((a) => a.settledAmount > a.redeemed);
  }

  /** Waits for the writes under way, then stops the writer. */
  async close(): Promise<void> {
    while (this.#pending.size > 0 || this.#inflight.size > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.#closed = true;
    await this.#writer?.close();
    if (this.#db.isOpen) this.#db.close();
  }
}

/**
 * The archive's schema lock (`PARTITION_LOCK` in archive/postgres.ts, not imported: the ledger's
 * writer thread loads this module and needs neither pg nor the archive).
 */
const SCHEMA_LOCK =
  "SELECT pg_advisory_xact_lock(hashtextextended('postbox:partitions:' || current_schema(), 0))";

/** Runs `statements` in one transaction on one pooled connection. */
async function inTransaction(pool: pg.Pool, statements: string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    for (const sql of statements) await client.query(sql);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The columns read back from PostgreSQL (amounts as text: NUMERIC(78, 0) holds any uint256). */
const SELECTED =
  "channel_id, spent::text, authorized_amount::text, authorized_signature, settled_amount::text, settled_signature, redeemed::text, updated_at";

/**
 * The PostgreSQL ledger: one row per channel in the archive's database, shared by every node of
 * the mailbox. The channel meter charges through {@link PostgresLedger.charge} (one conditional
 * statement per page), so no process's memory decides what a voucher may still pay for.
 */
export class PostgresLedger implements Ledger {
  readonly #pool: pg.Pool;
  readonly #ready: Promise<unknown>;
  /** The last write issued per channel (see `#inOrder`). */
  readonly #writes = new Map<string, Promise<unknown>>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    // Under the schema lock: nodes starting at once would otherwise race on the table's types.
    this.#ready = inTransaction(pool, [
      SCHEMA_LOCK,
      `CREATE TABLE IF NOT EXISTS channel_accounts (
      channel_id BYTEA PRIMARY KEY,
      spent NUMERIC(78, 0) NOT NULL,
      authorized_amount NUMERIC(78, 0) NOT NULL,
      authorized_signature BYTEA NOT NULL,
      settled_amount NUMERIC(78, 0) NOT NULL,
      settled_signature BYTEA NOT NULL,
      redeemed NUMERIC(78, 0) NOT NULL,
      updated_at BIGINT NOT NULL
    )`,
    ]);
  }

  async get(channelId: Uint8Array): Promise<ChannelAccount | undefined> {
    await this.#ready;
    // Named statements (prepared once per connection) here and in `charge`: one of each per page.
    const r = await this.#pool.query<Row>({
      name: "postbox_ledger_get",
      text: `SELECT ${SELECTED} FROM channel_accounts WHERE channel_id = $1`,
      values: [Buffer.from(channelId)],
    });
    return r.rows[0] ? fromRow(r.rows[0]) : undefined;
  }

  /**
   * Writes to one channel run in the order they were issued (the pool would otherwise send them on
   * different connections at once): a redemption recorded after a charge never lands before it.
   */
  #inOrder(channelId: Uint8Array, write: () => Promise<unknown>): Promise<void> {
    const k = key(channelId);
    const run = (this.#writes.get(k) ?? this.#ready).then(write, write).then(() => undefined);
    const tail = run.catch(() => undefined);
    this.#writes.set(k, tail);
    void tail.then(() => {
      if (this.#writes.get(k) === tail) this.#writes.delete(k);
    });
    return run;
  }

  put(a: ChannelAccount): Promise<void> {
    const refused = unprovable(a);
    if (refused) return Promise.reject(refused);
    const p = params(a);
    return this.#inOrder(a.channelId, async () => {
      try {
        await this.#pool.query(
          `INSERT INTO channel_accounts (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (channel_id) DO UPDATE SET spent = EXCLUDED.spent, authorized_amount = EXCLUDED.authorized_amount,
             authorized_signature = EXCLUDED.authorized_signature, settled_amount = EXCLUDED.settled_amount,
             settled_signature = EXCLUDED.settled_signature, redeemed = EXCLUDED.redeemed, updated_at = EXCLUDED.updated_at`,
          [Buffer.from(p[0]), p[1], p[2], Buffer.from(p[3]), p[4], Buffer.from(p[5]), p[6], p[7]],
        );
      } catch (cause) {
        throw new ArchiveError("ledger write failed", cause);
      }
    });
  }

  markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void> {
    return this.#inOrder(channelId, () =>
      this.#pool.query(
        "UPDATE channel_accounts SET redeemed = GREATEST(redeemed, $1::numeric) WHERE channel_id = $2",
        [redeemed.toString(), Buffer.from(channelId)],
      ),
    );
  }

  async close(): Promise<void> {}

  /** See {@link Ledger.charge}: one statement, an insert or a conditional update of the row. */
  async charge(c: SharedCharge): Promise<ChannelAccount | undefined> {
    await this.#ready;
    // A first page on a channel inserts the row (the node checked that the voucher covers it);
    // every later one updates it only WHERE the spent amount after the page is within the
    // voucher. In the UPDATE, `a.` columns are the row before it.
    const r = await this.#pool
      .query<Row>({
        name: "postbox_ledger_charge",
        text: `INSERT INTO channel_accounts AS a (${COLUMNS})
         VALUES ($1, $4::numeric, $2::numeric, $3,
           CASE WHEN $4::numeric = $2::numeric THEN $2::numeric ELSE 0 END,
           CASE WHEN $4::numeric = $2::numeric THEN $3 ELSE ''::bytea END, $5::numeric, $6)
         ON CONFLICT (channel_id) DO UPDATE SET
           spent = a.spent + $4::numeric,
           authorized_amount = GREATEST(a.authorized_amount, $2::numeric),
           authorized_signature = CASE WHEN $2::numeric > a.authorized_amount THEN $3 ELSE a.authorized_signature END,
           settled_amount = CASE
             WHEN a.spent + $4::numeric = $2::numeric AND $2::numeric > a.settled_amount THEN $2::numeric
             WHEN $2::numeric > a.authorized_amount AND a.authorized_amount <= a.spent + $4::numeric
               AND a.authorized_amount > a.settled_amount THEN a.authorized_amount
             ELSE a.settled_amount END,
           settled_signature = CASE
             WHEN a.spent + $4::numeric = $2::numeric AND $2::numeric > a.settled_amount THEN $3
             WHEN $2::numeric > a.authorized_amount AND a.authorized_amount <= a.spent + $4::numeric
               AND a.authorized_amount > a.settled_amount THEN a.authorized_signature
             ELSE a.settled_signature END,
           redeemed = GREATEST(a.redeemed, $5::numeric),
           updated_at = $6
         WHERE a.spent + $4::numeric <= $2::numeric
         RETURNING ${SELECTED}`,
        values: [
          Buffer.from(c.channelId),
          c.amount.toString(),
          Buffer.from(c.signature),
          c.cost.toString(),
          c.paid.toString(),
          c.now,
        ],
      })
      .catch((cause: unknown) => {
        throw new ArchiveError("ledger write failed", cause);
      });
    return r.rows[0] ? fromRow(r.rows[0]) : undefined;
  }

  /** See {@link Ledger.settle}. */
  async settle(
    channelId: Uint8Array,
    amount: bigint,
    signature: Uint8Array,
    now: number,
  ): Promise<ChannelAccount | undefined> {
    await this.#ready;
    const r = await this.#pool
      .query<Row>(
        `UPDATE channel_accounts SET
           settled_amount = GREATEST(settled_amount, $2::numeric),
           settled_signature = CASE WHEN $2::numeric > settled_amount THEN $3 ELSE settled_signature END,
           updated_at = $4
         WHERE channel_id = $1 AND spent = $2::numeric RETURNING ${SELECTED}`,
        [Buffer.from(channelId), amount.toString(), Buffer.from(signature), now],
      )
      .catch((cause: unknown) => {
        throw new ArchiveError("ledger write failed", cause);
      });
    return r.rows[0] ? fromRow(r.rows[0]) : undefined;
  }

  async redeemable(): Promise<ChannelAccount[]> {
    await this.#ready;
    const r = await this.#pool.query<Row>(
      `SELECT ${SELECTED} FROM channel_accounts WHERE settled_amount > redeemed`,
    );
    return r.rows.map(fromRow);
  }
}
