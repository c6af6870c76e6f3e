import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";

/** A message as the client keeps and shows it. */
export interface StoredMessage {
  /** Envelope id (hex). */
  id: string;
  /** `dm:<peer public key hex>`, `room:<name>` or `group:<id>`. */
  conversation: string;
  timestamp: number;
  /** Sender's public key (hex). */
  sender: string;
  text: string;
  outgoing: boolean;
}

/** What a client follows: its inbox, the rooms it joined, the groups it is in. */
export interface Feed {
  /** `inbox`, `room:<name>` or `group:<id>`. */
  feed: string;
  topic: string;
  /** Group key (hex) for groups. */
  key: string | null;
  /** Catch-up starts here when nothing was seen yet (ms). */
  since: number;
  /** The last message seen, by (timestamp, id). */
  lastTimestamp: number | null;
  lastId: string | null;
}

export interface StoredReceipt {
  envelopeId: string;
  mailbox: string;
  storedAt: number;
  retainUntil: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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
  mailbox TEXT PRIMARY KEY, failures INTEGER NOT NULL, graylisted_until INTEGER NOT NULL);
`;

/**
 * The client's own database (`client.db` in its data folder, node:sqlite in WAL mode): identity,
 * contacts, followed feeds with their last-seen marks, messages (deduplicated by envelope id),
 * store receipts and mailbox health. A batch of caught-up messages and the feed's new mark are
 * written in one transaction, so a crash mid-catch-up never skips a message.
 */
export class LocalStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.#db = new DatabaseSync(join(dataDir, "client.db"));
    this.#db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
    this.#db.exec(SCHEMA);
    this.#insert = this.#db.prepare(
      "INSERT OR IGNORE INTO messages (id, conversation, ts, sender, text, outgoing) VALUES (?, ?, ?, ?, ?, ?)",
    );
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  get(key: string): string | undefined {
    return (this.#db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined)
      ?.value;
  }

  set(key: string, value: string | undefined): void {
    if (value === undefined) this.#db.prepare("DELETE FROM kv WHERE key = ?").run(key);
    else this.#db.prepare("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)").run(key, value);
  }

  addContact(name: string, publicKey: string): void {
    this.#db.prepare("INSERT OR REPLACE INTO contacts (name, public_key) VALUES (?, ?)").run(name, publicKey);
  }

  contacts(): { name: string; publicKey: string }[] {
    return (
      this.#db.prepare("SELECT name, public_key FROM contacts ORDER BY name").all() as {
        name: string;
        public_key: string;
      }[]
    ).map((r) => ({ name: r.name, publicKey: r.public_key }));
  }

  follow(feed: string, topic: string, since: number, key: string | null = null): void {
    this.#db
      .prepare(
        "INSERT INTO feeds (feed, topic, key, since) VALUES (?, ?, ?, ?) ON CONFLICT (feed) DO UPDATE SET key = excluded.key",
      )
      .run(feed, topic, key, since);
  }

  unfollow(feed: string): void {
    this.#db.prepare("DELETE FROM feeds WHERE feed = ?").run(feed);
  }

  deleteMessage(id: string): void {
    this.#db.prepare("DELETE FROM messages WHERE id = ?").run(id);
  }

  /** Deletes a conversation's messages and, for the feed of that name, its last-seen mark. */
  forget(conversation: string): void {
    this.#db.prepare("DELETE FROM messages WHERE conversation = ?").run(conversation);
    this.#db.prepare("UPDATE feeds SET last_ts = NULL, last_id = NULL WHERE feed = ?").run(conversation);
  }

  feeds(): Feed[] {
    return (this.#db.prepare("SELECT * FROM feeds ORDER BY feed").all() as Record<string, unknown>[]).map(
      (r) => ({
        feed: r.feed as string,
        topic: r.topic as string,
        key: (r.key as string | null) ?? null,
        since: Number(r.since),
        lastTimestamp: r.last_ts === null ? null : Number(r.last_ts),
        lastId: (r.last_id as string | null) ?? null,
      }),
    );
  }

  /**
   * Saves messages and, in the same transaction, moves the feed's last-seen mark forward (never
   * back). Returns how many were new.
   */
  saveMessages(
    messages: readonly StoredMessage[],
    feed?: { feed: string; timestamp: number; id: string },
  ): number {
    let added = 0;
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const m of messages) {
        added += Number(
          this.#insert.run(m.id, m.conversation, m.timestamp, m.sender, m.text, m.outgoing ? 1 : 0).changes,
        );
      }
      if (feed) {
        this.#db
          .prepare(
            `UPDATE feeds SET last_ts = ?, last_id = ? WHERE feed = ? AND
             (last_ts IS NULL OR last_ts < ? OR (last_ts = ? AND last_id < ?))`,
          )
          .run(feed.timestamp, feed.id, feed.feed, feed.timestamp, feed.timestamp, feed.id);
      }
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw err;
    }
    return added;
  }

  /** A conversation's messages in (timestamp, id) order; the last `limit` when given. */
  messages(conversation: string, limit?: number): StoredMessage[] {
    const rows = (
      limit === undefined
        ? this.#db.prepare("SELECT * FROM messages WHERE conversation = ? ORDER BY ts, id").all(conversation)
        : this.#db
            .prepare(
              "SELECT * FROM (SELECT * FROM messages WHERE conversation = ? ORDER BY ts DESC, id DESC LIMIT ?) ORDER BY ts, id",
            )
            .all(conversation, limit)
    ) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r.id as string,
      conversation: r.conversation as string,
      timestamp: Number(r.ts),
      sender: r.sender as string,
      text: r.text as string,
      outgoing: r.outgoing === 1,
    }));
  }

  conversations(): { conversation: string; count: number; lastTimestamp: number }[] {
    return (
      this.#db
        .prepare(
          "SELECT conversation, COUNT(*) AS n, MAX(ts) AS last FROM messages GROUP BY conversation ORDER BY last DESC",
        )
        .all() as { conversation: string; n: number; last: number }[]
    ).map((r) => ({ conversation: r.conversation, count: Number(r.n), lastTimestamp: Number(r.last) }));
  }

  saveReceipt(r: StoredReceipt): void {
    this.#db
      .prepare(
        "INSERT OR REPLACE INTO receipts (envelope_id, mailbox, stored_at, retain_until) VALUES (?, ?, ?, ?)",
      )
      .run(r.envelopeId, r.mailbox, r.storedAt, r.retainUntil);
  }

  receipts(envelopeId: string): StoredReceipt[] {
    return (
      this.#db
        .prepare("SELECT * FROM receipts WHERE envelope_id = ? ORDER BY mailbox")
        .all(envelopeId) as Record<string, unknown>[]
    ).map((r) => ({
      envelopeId: r.envelope_id as string,
      mailbox: r.mailbox as string,
      storedAt: Number(r.stored_at),
      retainUntil: Number(r.retain_until),
    }));
  }

  /** Records a failure; the second in a row graylists the mailbox until `now + graylistMs`. */
  mailboxFailed(mailbox: string, now: number, graylistMs: number): boolean {
    const row = this.#db.prepare("SELECT failures FROM mailbox_health WHERE mailbox = ?").get(mailbox) as
      | { failures: number }
      | undefined;
    const failures = (row?.failures ?? 0) + 1;
    const until = failures >= 2 ? now + graylistMs : 0;
    this.#db
      .prepare("INSERT OR REPLACE INTO mailbox_health (mailbox, failures, graylisted_until) VALUES (?, ?, ?)")
      .run(mailbox, failures, until);
    return until > 0;
  }

  mailboxSucceeded(mailbox: string): void {
    this.#db.prepare("DELETE FROM mailbox_health WHERE mailbox = ?").run(mailbox);
  }

  graylisted(now: number): Set<string> {
    return new Set(
      (
        this.#db.prepare("SELECT mailbox FROM mailbox_health WHERE graylisted_until > ?").all(now) as {
          mailbox: string;
        }[]
      ).map((r) => r.mailbox),
    );
  }
}
