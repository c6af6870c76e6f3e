import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { deserialize, serialize } from "node:v8";
import { compareMessages, compareReceipts, owesAck, provesOmission } from "./common.js";
import { StorageError, storageError } from "./errors.js";
import type {
  CachedCertificate,
  ClientStorage,
  Contact,
  ConversationSummary,
  Feed,
  FeedInit,
  FeedMark,
  MailboxHealth,
  MessageQuery,
  OutgoingQuery,
  OutgoingRecord,
  StoredAck,
  StoredCommitment,
  StoredMessage,
  StoredReceipt,
} from "./types.js";

/**
 * Opens an SQLite file of the data folder the way every Postbox client file is kept: the folder
 * 0700 when it is created, the file 0600 (set on an existing one too: earlier versions left
 * `client.db` to the umask; SQLite gives its -wal and -shm files the database's mode), WAL, a
 * 5 s busy timeout for the other processes of the same folder.
 */
export function openDatabaseFile(dataDir: string, file: string): DatabaseSync {
  const path = join(dataDir, file);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(path, "", { mode: 0o600, flag: "wx" });
    } catch (err) {
      if ((err as { code?: unknown }).code !== "EEXIST") throw err;
    }
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        chmodSync(f, 0o600);
      } catch {
        // Absent, or not ours to change: SQLite opens it or says why.
      }
    }
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    return db;
  } catch (err) {
    throw storageError(`cannot open ${path}`, err);
  }
}

/** Runs `fn` in one `BEGIN IMMEDIATE` transaction (rolled back if it throws). */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/**
 * `client.db`'s schema, one migration per version (`PRAGMA user_version`). Version 1 is the schema
 * of the client before issue 18 (`chat/local-store.ts`), which left user_version at 0: its
 * `CREATE … IF NOT EXISTS` finds such a file's tables in place.
 */
const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS contacts (name TEXT PRIMARY KEY, public_key TEXT NOT NULL UNIQUE);
  CREATE TABLE IF NOT EXISTS feeds (
    feed TEXT PRIMARY KEY, topic TEXT NOT NULL, key TEXT, since INTEGER NOT NULL,
    last_ts INTEGER, last_id TEXT);
  CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, conversation TEXT NOT NULL, ts INTEGER NOT NULL, sender TEXT NOT NULL,
    text TEXT NOT NULL, outgoing INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, ts, id);
  CREATE TABLE IF NOT EXISTS receipts (
    envelope_id TEXT NOT NULL, mailbox TEXT NOT NULL, stored_at INTEGER NOT NULL,
    retain_until INTEGER NOT NULL, PRIMARY KEY (envelope_id, mailbox));
  CREATE TABLE IF NOT EXISTS mailbox_health (
    mailbox TEXT PRIMARY KEY, failures INTEGER NOT NULL, graylisted_until INTEGER NOT NULL);`,
  // v2 messages (message id, format), the acks this client owes (earlier messages owe none),
  // delivery states, received acks, device certificates, the last success of a mailbox.
  `ALTER TABLE messages ADD COLUMN message_id TEXT;
  ALTER TABLE messages ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE messages ADD COLUMN acked INTEGER NOT NULL DEFAULT 1;
  CREATE UNIQUE INDEX messages_by_message_id ON messages (message_id, conversation);
  CREATE INDEX messages_owing_acks ON messages (conversation, ts, id) WHERE acked = 0;
  ALTER TABLE mailbox_health ADD COLUMN last_ok INTEGER;
  CREATE TABLE objects (key TEXT PRIMARY KEY, value BLOB NOT NULL);
  CREATE TABLE outgoing (
    message_id TEXT PRIMARY KEY, envelope_id TEXT NOT NULL, conversation TEXT NOT NULL,
    ts INTEGER NOT NULL, state TEXT NOT NULL, stored_by TEXT NOT NULL, delivered_to TEXT NOT NULL,
    error TEXT, attempts INTEGER NOT NULL);
  CREATE INDEX outgoing_by_conversation ON outgoing (conversation, ts);
  CREATE INDEX outgoing_by_state ON outgoing (state, ts);
  CREATE TABLE acks (
    message_id TEXT NOT NULL, sender TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (message_id, sender));
  CREATE TABLE certificates (
    digest TEXT PRIMARY KEY, sender TEXT NOT NULL, device_key TEXT NOT NULL,
    not_before INTEGER NOT NULL, not_after INTEGER NOT NULL);`,
  // Evidence (issue 20): a receipt's EIP-712 fields, signature and envelope; the page commitments
  // that prove an omission, and which receipt's envelope each is kept for (one per operator).
  `ALTER TABLE receipts ADD COLUMN operator TEXT;
  ALTER TABLE receipts ADD COLUMN topic TEXT;
  ALTER TABLE receipts ADD COLUMN ts INTEGER;
  ALTER TABLE receipts ADD COLUMN signature TEXT;
  ALTER TABLE receipts ADD COLUMN envelope BLOB;
  CREATE INDEX receipts_by_operator ON receipts (operator, topic, ts) WHERE operator IS NOT NULL;
  CREATE TABLE commitments (
    signature TEXT PRIMARY KEY, mailbox TEXT NOT NULL, operator TEXT NOT NULL, topics TEXT NOT NULL,
    time_start TEXT NOT NULL, time_end TEXT NOT NULL, ids TEXT NOT NULL, next_cursor TEXT NOT NULL,
    served_at INTEGER NOT NULL);
  CREATE TABLE omissions (
    envelope_id TEXT NOT NULL, operator TEXT NOT NULL, commitment TEXT NOT NULL,
    PRIMARY KEY (envelope_id, operator));`,
  // Presence answers' evidence, kept as receipts: the ids the signed answer lists (JSON).
  `ALTER TABLE receipts ADD COLUMN presence TEXT;`,
];

/** WAL pages (4 KiB) between automatic checkpoints of `client.db` (SQLite's default: 1,000). */
export const WAL_AUTOCHECKPOINT_PAGES = 8_192;

/** The schema version this code writes. */
export const CLIENT_DB_VERSION = MIGRATIONS.length;

function migrate(db: DatabaseSync, path: string): void {
  transaction(db, () => {
    const { user_version: from } = db.prepare("PRAGMA user_version").get() as { user_version: number };
    if (from > MIGRATIONS.length)
      throw new StorageError(`${path} was written by a newer version of Postbox`, {
        details: `schema ${from}, this version reads up to ${MIGRATIONS.length}`,
      });
    for (const sql of MIGRATIONS.slice(from)) db.exec(sql);
    if (from < MIGRATIONS.length) db.exec(`PRAGMA user_version = ${MIGRATIONS.length}`);
  });
}

const INSERT_MESSAGE = `INSERT OR IGNORE INTO messages
  (id, message_id, version, conversation, ts, sender, text, outgoing, acked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const MOVE_MARK = `UPDATE feeds SET last_ts = ?, last_id = ? WHERE feed = ? AND
  (last_ts IS NULL OR last_id IS NULL OR last_ts < ? OR (last_ts = ? AND last_id < ?))`;

type Row = Record<string, SQLInputValue>;

function toMessage(r: Row): StoredMessage {
  return {
    id: r.id as string,
    messageId: (r.message_id as string | null) ?? "",
    version: Number(r.version) === 2 ? 2 : 1,
    conversation: r.conversation as string,
    timestamp: Number(r.ts),
    sender: r.sender as string,
    text: r.text as string,
    outgoing: Number(r.outgoing) === 1,
  };
}

function toOutgoing(r: Row): OutgoingRecord {
  const o: OutgoingRecord = {
    messageId: r.message_id as string,
    envelopeId: r.envelope_id as string,
    conversation: r.conversation as string,
    timestamp: Number(r.ts),
    state: r.state as OutgoingRecord["state"],
    storedBy: JSON.parse(r.stored_by as string) as string[],
    deliveredTo: JSON.parse(r.delivered_to as string) as string[],
    attempts: Number(r.attempts),
  };
  if (r.error !== null) o.error = r.error as string;
  return o;
}

function toReceipt(r: Row): StoredReceipt {
  const receipt: StoredReceipt = {
    envelopeId: r.envelope_id as string,
    mailbox: r.mailbox as string,
    storedAt: Number(r.stored_at),
    retainUntil: Number(r.retain_until),
  };
  if (r.operator !== null && r.operator !== undefined)
    receipt.evidence = {
      operator: r.operator as StoredCommitment["operator"],
      contentTopic: r.topic as string,
      timestamp: Number(r.ts),
      signature: r.signature as StoredCommitment["signature"],
      envelope: new Uint8Array(r.envelope as Uint8Array),
    };
  if (receipt.evidence && typeof r.presence === "string")
    receipt.evidence.presence = { ids: JSON.parse(r.presence) as string[] };
  return receipt;
}

function toCommitment(r: Row): StoredCommitment {
  return {
    mailbox: r.mailbox as string,
    operator: r.operator as StoredCommitment["operator"],
    contentTopics: JSON.parse(r.topics as string) as string[],
    timeStart: BigInt(r.time_start as string),
    timeEnd: BigInt(r.time_end as string),
    ids: JSON.parse(r.ids as string) as string[],
    nextCursor: r.next_cursor as StoredCommitment["nextCursor"],
    servedAt: Number(r.served_at),
    signature: r.signature as StoredCommitment["signature"],
  };
}

/** SQLite's INTEGER is 64-bit signed: a span's end of 2^64 − 1 compares as the largest safe ms. */
const clampMs = (v: bigint) => Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : v);

/**
 * The client's storage in Node: `client.db` in its data folder (node:sqlite, WAL, mode 0600),
 * behind the asynchronous {@link ClientStorage}. Opening migrates a `client.db` of an earlier
 * version in place.
 */
export class SqliteStorage implements ClientStorage {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(dataDir: string) {
    this.#db = openDatabaseFile(dataDir, "client.db");
    this.path = join(dataDir, "client.db");
    // A catch-up commits a page at a time, and each commit's random ids touch most of
    // the id indexes' pages: with SQLite's default (a checkpoint, with its fsync, each 1,000 WAL
    // pages) a 10,000-message catch-up checkpointed every few commits. The WAL may grow to ≈ 32 MB
    // before a checkpoint; closing the client checkpoints the rest. Durability is unchanged (WAL,
    // synchronous = NORMAL): a commit is in the WAL either way.
    this.#db.exec(`PRAGMA wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    try {
      migrate(this.#db, this.path);
    } catch (err) {
      this.#db.close();
      throw storageError(`cannot open ${this.path}`, err);
    }
  }

  #sql(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #all(sql: string, ...args: SQLInputValue[]): Row[] {
    try {
      return this.#sql(sql).all(...args) as Row[];
    } catch (err) {
      throw storageError(`cannot read ${this.path}`, err);
    }
  }

  /** Runs a write; a failure becomes a {@link StorageError} saying what was not saved. */
  #write<T>(what: string, fn: () => T): T {
    try {
      return transaction(this.#db, fn);
    } catch (err) {
      throw storageError(what, err);
    }
  }

  async get(key: string): Promise<string | undefined> {
    return this.#all("SELECT value FROM kv WHERE key = ?", key)[0]?.value as string | undefined;
  }

  async set(key: string, value: string | undefined): Promise<void> {
    this.#write(`cannot save ${key}`, () => {
      if (value === undefined) this.#sql("DELETE FROM kv WHERE key = ?").run(key);
      else this.#sql("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)").run(key, value);
    });
  }

  async getObject<T>(key: string): Promise<T | undefined> {
    const row = this.#all("SELECT value FROM objects WHERE key = ?", key)[0];
    return row ? (deserialize(row.value as Uint8Array) as T) : undefined;
  }

  async setObject(key: string, value: unknown): Promise<void> {
    this.#write(`cannot save ${key}`, () => {
      if (value === undefined) this.#sql("DELETE FROM objects WHERE key = ?").run(key);
      else this.#sql("INSERT OR REPLACE INTO objects (key, value) VALUES (?, ?)").run(key, serialize(value));
    });
  }

  async contacts(): Promise<Contact[]> {
    return this.#all("SELECT name, public_key FROM contacts ORDER BY name").map((r) => ({
      name: r.name as string,
      publicKey: r.public_key as string,
    }));
  }

  async addContact(c: Contact): Promise<void> {
    // REPLACE also drops another name that had this public key.
    this.#write(`cannot save the contact ${c.name}`, () =>
      this.#sql("INSERT OR REPLACE INTO contacts (name, public_key) VALUES (?, ?)").run(c.name, c.publicKey),
    );
  }

  async removeContact(name: string): Promise<void> {
    this.#write(`cannot remove the contact ${name}`, () =>
      this.#sql("DELETE FROM contacts WHERE name = ?").run(name),
    );
  }

  async feeds(): Promise<Feed[]> {
    return this.#all("SELECT * FROM feeds ORDER BY feed").map((r) => ({
      feed: r.feed as string,
      topic: r.topic as string,
      key: (r.key as string | null) ?? null,
      since: Number(r.since),
      lastTimestamp: r.last_ts === null ? null : Number(r.last_ts),
      lastId: (r.last_id as string | null) ?? null,
    }));
  }

  async follow(f: FeedInit): Promise<void> {
    this.#write(`cannot follow ${f.feed}`, () =>
      this.#sql(
        "INSERT INTO feeds (feed, topic, key, since) VALUES (?, ?, ?, ?) ON CONFLICT (feed) DO UPDATE SET key = excluded.key",
      ).run(f.feed, f.topic, f.key ?? null, f.since),
    );
  }

  async unfollow(feed: string): Promise<void> {
    this.#write(`cannot unfollow ${feed}`, () => this.#sql("DELETE FROM feeds WHERE feed = ?").run(feed));
  }

  async saveMessages(batch: readonly StoredMessage[], mark?: FeedMark): Promise<StoredMessage[]> {
    const fresh: StoredMessage[] = [];
    this.#write("cannot save messages", () => {
      const insert = this.#sql(INSERT_MESSAGE);
      for (const m of batch) {
        const { changes } = insert.run(
          m.id,
          m.messageId === "" ? null : m.messageId,
          m.version,
          m.conversation,
          m.timestamp,
          m.sender,
          m.text,
          m.outgoing ? 1 : 0,
          owesAck(m) ? 0 : 1,
        );
        if (Number(changes) > 0) fresh.push(m);
      }
      if (mark)
        this.#sql(MOVE_MARK).run(mark.timestamp, mark.id, mark.feed, mark.timestamp, mark.timestamp, mark.id);
    });
    return fresh.sort(compareMessages);
  }

  async messages(conversation: string, q: MessageQuery = {}): Promise<StoredMessage[]> {
    const args: SQLInputValue[] = [conversation];
    let where = "conversation = ?";
    if (q.before) {
      where += " AND (ts < ? OR (ts = ? AND id < ?))";
      args.push(q.before.timestamp, q.before.timestamp, q.before.id);
    }
    const rows =
      q.limit === undefined
        ? this.#all(`SELECT * FROM messages WHERE ${where} ORDER BY ts, id`, ...args)
        : this.#all(
            `SELECT * FROM (SELECT * FROM messages WHERE ${where} ORDER BY ts DESC, id DESC LIMIT ?) ORDER BY ts, id`,
            ...args,
            Math.max(0, q.limit),
          );
    return rows.map(toMessage);
  }

  async conversations(): Promise<ConversationSummary[]> {
    return this.#all(
      `SELECT m.*, c.n FROM (SELECT conversation, COUNT(*) AS n FROM messages GROUP BY conversation) c
       JOIN messages m ON m.rowid = (SELECT rowid FROM messages WHERE conversation = c.conversation
         ORDER BY ts DESC, id DESC LIMIT 1)
       ORDER BY m.ts DESC, m.conversation`,
    ).map((r) => {
      const last = toMessage(r);
      return { conversation: last.conversation, count: Number(r.n), lastTimestamp: last.timestamp, last };
    });
  }

  async forget(conversation: string): Promise<void> {
    this.#write(`cannot forget ${conversation}`, () => {
      this.#sql("DELETE FROM messages WHERE conversation = ?").run(conversation);
      this.#sql("DELETE FROM outgoing WHERE conversation = ?").run(conversation);
      this.#sql("UPDATE feeds SET last_ts = NULL, last_id = NULL WHERE feed = ?").run(conversation);
    });
  }

  async deleteMessage(id: string): Promise<void> {
    this.#write(`cannot delete the message ${id}`, () =>
      this.#sql("DELETE FROM messages WHERE id = ?").run(id),
    );
  }

  async putOutgoing(o: OutgoingRecord, replaces?: string): Promise<void> {
    this.#write(`cannot save the state of ${o.messageId}`, () => {
      if (replaces !== undefined && replaces !== o.messageId)
        this.#sql("DELETE FROM outgoing WHERE message_id = ?").run(replaces);
      this.#sql(
        `INSERT OR REPLACE INTO outgoing (message_id, envelope_id, conversation, ts, state, stored_by,
         delivered_to, error, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        o.messageId,
        o.envelopeId,
        o.conversation,
        o.timestamp,
        o.state,
        JSON.stringify(o.storedBy),
        JSON.stringify(o.deliveredTo),
        o.error ?? null,
        o.attempts,
      );
    });
  }

  async outgoing(q: OutgoingQuery = {}): Promise<OutgoingRecord[]> {
    const where: string[] = [];
    const args: SQLInputValue[] = [];
    if (q.conversation !== undefined) {
      where.push("conversation = ?");
      args.push(q.conversation);
    }
    if (q.state !== undefined) {
      where.push("state = ?");
      args.push(q.state);
    }
    if (q.messageIds !== undefined) {
      where.push("message_id IN (SELECT value FROM json_each(?))");
      args.push(JSON.stringify(q.messageIds));
    }
    return this.#all(
      `SELECT * FROM outgoing ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts, message_id`,
      ...args,
    ).map(toOutgoing);
  }

  async saveReceipt(r: StoredReceipt): Promise<void> {
    const e = r.evidence;
    this.#write(`cannot save the receipt of ${r.envelopeId}`, () =>
      this.#sql(
        `INSERT INTO receipts (envelope_id, mailbox, stored_at, retain_until, operator, topic, ts,
         signature, envelope, presence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (envelope_id, mailbox) DO UPDATE SET stored_at = excluded.stored_at,
         retain_until = excluded.retain_until, operator = excluded.operator, topic = excluded.topic,
         ts = excluded.ts, signature = excluded.signature, envelope = excluded.envelope,
         presence = excluded.presence
         WHERE excluded.presence IS NULL OR receipts.operator IS NULL OR receipts.presence IS NOT NULL`,
      ).run(
        r.envelopeId,
        r.mailbox,
        r.storedAt,
        r.retainUntil,
        e?.operator ?? null,
        e?.contentTopic ?? null,
        e?.timestamp ?? null,
        e?.signature ?? null,
        e?.envelope ?? null,
        e?.presence ? JSON.stringify(e.presence.ids) : null,
      ),
    );
  }

  async receipts(envelopeId: string): Promise<StoredReceipt[]> {
    return this.#all("SELECT * FROM receipts WHERE envelope_id = ? ORDER BY mailbox", envelopeId).map(
      toReceipt,
    );
  }

  async evidenceReceipts(): Promise<StoredReceipt[]> {
    return this.#all(
      "SELECT * FROM receipts WHERE operator IS NOT NULL ORDER BY stored_at, envelope_id, mailbox",
    ).map(toReceipt);
  }

  async saveCommitment(c: StoredCommitment): Promise<string[]> {
    return this.#write("cannot save a page commitment", () => {
      // The receipts it may prove omitted (the operator's, on its topics, in its span, held then)
      // whose kept proof, if any, was served before it.
      const candidates = this.#sql(
        `SELECT r.* FROM receipts r LEFT JOIN omissions o ON o.envelope_id = r.envelope_id AND o.operator = r.operator
         LEFT JOIN commitments k ON k.signature = o.commitment
         WHERE r.operator = ? AND r.topic IN (SELECT value FROM json_each(?)) AND r.ts >= ? AND r.ts <= ?
         AND r.stored_at < ? AND r.retain_until > ? AND (k.served_at IS NULL OR k.served_at < ?)`,
      )
        .all(
          c.operator,
          JSON.stringify(c.contentTopics),
          clampMs(c.timeStart),
          clampMs(c.timeEnd),
          c.servedAt,
          c.servedAt,
          c.servedAt,
        )
        .map((r) => toReceipt(r as Row))
        .filter((r) => provesOmission(c, r))
        .sort(compareReceipts);
      const proves = [...new Set(candidates.map((r) => r.envelopeId))];
      if (proves.length === 0) return [];
      this.#sql(
        `INSERT OR IGNORE INTO commitments (signature, mailbox, operator, topics, time_start, time_end, ids,
         next_cursor, served_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        c.signature,
        c.mailbox,
        c.operator,
        JSON.stringify(c.contentTopics),
        c.timeStart.toString(),
        c.timeEnd.toString(),
        JSON.stringify(c.ids),
        c.nextCursor,
        c.servedAt,
      );
      const link = this.#sql(
        "INSERT OR REPLACE INTO omissions (envelope_id, operator, commitment) VALUES (?, ?, ?)",
      );
      for (const id of proves) link.run(id, c.operator, c.signature);
      // A replaced commitment that proves nothing else is dropped.
      this.#sql(
        `DELETE FROM commitments WHERE operator = ? AND NOT EXISTS
         (SELECT 1 FROM omissions o WHERE o.commitment = commitments.signature)`,
      ).run(c.operator);
      return proves;
    });
  }

  async omissionProofs(envelopeId: string): Promise<StoredCommitment[]> {
    return this.#all(
      `SELECT c.* FROM omissions o JOIN commitments c ON c.signature = o.commitment
       WHERE o.envelope_id = ? ORDER BY o.operator`,
      envelopeId,
    ).map(toCommitment);
  }

  async omissions(): Promise<{ envelopeId: string; commitment: StoredCommitment }[]> {
    return this.#all(
      `SELECT o.envelope_id AS proved, c.* FROM omissions o JOIN commitments c ON c.signature = o.commitment
       ORDER BY o.envelope_id, o.operator`,
    ).map((r) => ({ envelopeId: r.proved as string, commitment: toCommitment(r) }));
  }

  async saveAcks(acks: readonly StoredAck[]): Promise<number> {
    return this.#write("cannot save acks", () => {
      let added = 0;
      const insert = this.#sql("INSERT OR IGNORE INTO acks (message_id, sender, at) VALUES (?, ?, ?)");
      for (const a of acks) added += Number(insert.run(a.messageId, a.from, a.at).changes);
      return added;
    });
  }

  async acks(messageId: string): Promise<StoredAck[]> {
    return this.#all("SELECT * FROM acks WHERE message_id = ? ORDER BY sender", messageId).map((r) => ({
      messageId: r.message_id as string,
      from: r.sender as string,
      at: Number(r.at),
    }));
  }

  async unacked(conversation: string, limit: number): Promise<string[]> {
    return this.#all(
      "SELECT message_id FROM messages WHERE conversation = ? AND acked = 0 ORDER BY ts, id LIMIT ?",
      conversation,
      Math.max(0, limit),
    ).map((r) => r.message_id as string);
  }

  async markAcked(messageIds: readonly string[]): Promise<void> {
    this.#write("cannot record sent acks", () => {
      const update = this.#sql("UPDATE messages SET acked = 1 WHERE message_id = ? AND acked = 0");
      for (const id of messageIds) update.run(id);
    });
  }

  async certificates(): Promise<CachedCertificate[]> {
    return this.#all("SELECT * FROM certificates ORDER BY digest").map((r) => ({
      digest: r.digest as string,
      sender: r.sender as string,
      deviceKey: r.device_key as string,
      notBefore: Number(r.not_before),
      notAfter: Number(r.not_after),
    }));
  }

  async saveCertificates(certificates: readonly CachedCertificate[]): Promise<void> {
    this.#write("cannot save certificates", () => {
      const put = this.#sql(
        "INSERT OR REPLACE INTO certificates (digest, sender, device_key, not_before, not_after) VALUES (?, ?, ?, ?, ?)",
      );
      for (const c of certificates) put.run(c.digest, c.sender, c.deviceKey, c.notBefore, c.notAfter);
    });
  }

  async mailboxFailed(mailbox: string, now: number, graylistMs: number): Promise<boolean> {
    return this.#write(`cannot record the failure of ${mailbox}`, () => {
      const row = this.#all("SELECT failures, last_ok FROM mailbox_health WHERE mailbox = ?", mailbox)[0];
      const failures = Number(row?.failures ?? 0) + 1;
      const until = failures >= 2 ? now + graylistMs : 0;
      this.#sql(
        "INSERT OR REPLACE INTO mailbox_health (mailbox, failures, graylisted_until, last_ok) VALUES (?, ?, ?, ?)",
      ).run(mailbox, failures, until, row?.last_ok ?? null);
      return until > 0;
    });
  }

  async mailboxSucceeded(mailbox: string, now: number): Promise<void> {
    this.#write(`cannot record the success of ${mailbox}`, () =>
      this.#sql(
        "INSERT OR REPLACE INTO mailbox_health (mailbox, failures, graylisted_until, last_ok) VALUES (?, 0, 0, ?)",
      ).run(mailbox, now),
    );
  }

  async mailboxHealth(): Promise<MailboxHealth[]> {
    return this.#all("SELECT * FROM mailbox_health ORDER BY mailbox").map((r) => ({
      mailbox: r.mailbox as string,
      failures: Number(r.failures),
      graylistedUntil: Number(r.graylisted_until),
      lastOkAt: r.last_ok === null ? null : Number(r.last_ok),
    }));
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}

/** Opens (creating or migrating) `client.db` in `dataDir`. */
export async function openSqliteStorage(dataDir: string): Promise<SqliteStorage> {
  return new SqliteStorage(dataDir);
}
