import type { DatabaseSync, StatementSync } from "node:sqlite";
import type pg from "pg";
import { ArchiveError } from "../errors.js";

/** What the mailbox knows about one channel it is paid through. Amounts in token base units. */
export interface ChannelAccount {
  channelId: Uint8Array;
  /** Cumulative cost of everything served on this channel. */
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
 * The mailbox's record of vouchers and charges. It lives in the archive's database so that a
 * voucher and the charge for the page it pays are committed in one transaction, before the page is
 * sent: an accepted voucher survives a crash, and nothing is charged twice.
 */
export interface Ledger {
  get(channelId: Uint8Array): Promise<ChannelAccount | undefined>;
  /** Writes the account (insert or replace) in one transaction. */
  put(account: ChannelAccount): Promise<void>;
  /** Records what the channel has paid on-chain. */
  markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void>;
  /** Accounts with a settled voucher above what was redeemed: what the redeemer can claim. */
  redeemable(): Promise<ChannelAccount[]>;
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

export class SqliteLedger implements Ledger {
  readonly #db: DatabaseSync;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #markRedeemed: StatementSync;
  readonly #all: StatementSync;
  readonly #pending = new Map<
    string,
    { account: ChannelAccount; waiters: { resolve: () => void; reject: (e: unknown) => void }[] }
  >();
  #scheduled = false;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS channel_accounts (
      channel_id BLOB PRIMARY KEY,
      spent TEXT NOT NULL,
      authorized_amount TEXT NOT NULL,
      authorized_signature BLOB NOT NULL,
      settled_amount TEXT NOT NULL,
      settled_signature BLOB NOT NULL,
      redeemed TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM channel_accounts WHERE channel_id = ?`);
    this.#put = db.prepare(
      `INSERT OR REPLACE INTO channel_accounts (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#markRedeemed = db.prepare("UPDATE channel_accounts SET redeemed = ? WHERE channel_id = ?");
    this.#all = db.prepare(`SELECT ${COLUMNS} FROM channel_accounts`);
  }

  async get(channelId: Uint8Array): Promise<ChannelAccount | undefined> {
    const pending = this.#pending.get(key(channelId));
    if (pending) return pending.account;
    const r = this.#get.get(channelId) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /**
   * Resolves once the account is committed. Writes that arrive together (other channels' pages
   * served at the same time) share one transaction and one fsync: group commit.
   */
  put(a: ChannelAccount): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const k = key(a.channelId);
      const entry = this.#pending.get(k);
      if (entry) {
        entry.account = a;
        entry.waiters.push({ resolve, reject });
      } else {
        this.#pending.set(k, { account: a, waiters: [{ resolve, reject }] });
      }
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      for (const { account } of batch) this.#put.run(...params(account));
      this.#db.exec("COMMIT");
      for (const { waiters } of batch) for (const w of waiters) w.resolve();
    } catch (cause) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      const err = new ArchiveError("ledger write failed", cause);
      for (const { waiters } of batch) for (const w of waiters) w.reject(err);
    }
  }

  async markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void> {
    this.#markRedeemed.run(redeemed.toString(), channelId);
  }

  async redeemable(): Promise<ChannelAccount[]> {
    const rows = this.#all.all() as unknown as Row[];
    return rows.map(fromRow).filter((a) => a.settledAmount > a.redeemed);
  }
}

export class PostgresLedger implements Ledger {
  readonly #pool: pg.Pool;
  readonly #ready: Promise<unknown>;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#ready = pool.query(`CREATE TABLE IF NOT EXISTS channel_accounts (
      channel_id BYTEA PRIMARY KEY,
      spent NUMERIC(78, 0) NOT NULL,
      authorized_amount NUMERIC(78, 0) NOT NULL,
      authorized_signature BYTEA NOT NULL,
      settled_amount NUMERIC(78, 0) NOT NULL,
      settled_signature BYTEA NOT NULL,
      redeemed NUMERIC(78, 0) NOT NULL,
      updated_at BIGINT NOT NULL
    )`);
  }

  async get(channelId: Uint8Array): Promise<ChannelAccount | undefined> {
    await this.#ready;
    const r = await this.#pool.query<Row>(
      `SELECT channel_id, spent::text, authorized_amount::text, authorized_signature, settled_amount::text, settled_signature, redeemed::text, updated_at FROM channel_accounts WHERE channel_id = $1`,
      [Buffer.from(channelId)],
    );
    return r.rows[0] ? fromRow(r.rows[0]) : undefined;
  }

  async put(a: ChannelAccount): Promise<void> {
    await this.#ready;
    const p = params(a);
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
  }

  async markRedeemed(channelId: Uint8Array, redeemed: bigint): Promise<void> {
    await this.#ready;
    await this.#pool.query("UPDATE channel_accounts SET redeemed = $1 WHERE channel_id = $2", [
      redeemed.toString(),
      Buffer.from(channelId),
    ]);
  }

  async redeemable(): Promise<ChannelAccount[]> {
    await this.#ready;
    const r = await this.#pool.query<Row>(
      `SELECT channel_id, spent::text, authorized_amount::text, authorized_signature, settled_amount::text, settled_signature, redeemed::text, updated_at FROM channel_accounts WHERE settled_amount > redeemed`,
    );
    return r.rows.map(fromRow);
  }
}
