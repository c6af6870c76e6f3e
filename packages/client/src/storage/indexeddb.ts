import { compareMessages, compareReceipts, isBefore, markMoves, owesAck, provesOmission } from "./common.js";
import { StorageBusyError, StorageError, storageError } from "./errors.js";
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

/** The database a browser client uses unless told otherwise. */
export const DEFAULT_DATABASE = "postbox";
/** 2: receipts' evidence indexed by operator, kept page commitments and what each proves (issue 20). */
export const DATABASE_VERSION = 2;
/** Messages per segment at most. */
export const SEGMENT_SIZE = 256;
/** A segment of fewer messages is small: compaction merges runs of small segments. */
const SMALL_SEGMENT = 64;
/** Small segments written to one conversation before it is compacted in the background. */
const COMPACT_AFTER = 32;

/**
 * A run of one conversation's messages, (timestamp, id) ordered: what one `saveMessages` wrote
 * (≤ {@link SEGMENT_SIZE}), or a merge of small ones. Segments of a conversation may overlap in
 * time (a catch-up page and a live message); readers merge them.
 */
interface Segment {
  conversation: string;
  firstTs: number;
  firstId: string;
  lastTs: number;
  lastId: string;
  messages: StoredMessage[];
  /** The message ids still owed an ack, and `owed` = conversation while there are any (an index). */
  owedIds?: string[];
  owed?: string;
  /** = conversation while the segment is small (an index). */
  small?: string;
}

type SegmentKey = [string, number, string];

function segment(conversation: string, messages: StoredMessage[], owedIds: readonly string[]): Segment {
  const first = messages[0]!;
  const last = messages.at(-1)!;
  const s: Segment = {
    conversation,
    firstTs: first.timestamp,
    firstId: first.id,
    lastTs: last.timestamp,
    lastId: last.id,
    messages,
  };
  if (owedIds.length > 0) {
    s.owedIds = [...owedIds];
    s.owed = conversation;
  }
  if (messages.length < SMALL_SEGMENT) s.small = conversation;
  return s;
}

const keyOf = (s: Segment): SegmentKey => [s.conversation, s.firstTs, s.firstId];

/** Every key of a conversation in a store or index whose keys start with the conversation. */
const within = (prefix: string) => IDBKeyRange.bound([prefix], [prefix, []]);

/**
 * The receipts with evidence a page commitment proves omitted (`provesOmission`), oldest first:
 * looked up by operator, topic and time span in the `evidence` index.
 */
async function covered(tx: IDBTransaction, c: StoredCommitment): Promise<StoredReceipt[]> {
  const index = tx.objectStore("receipts").index("evidence");
  const clamp = (v: bigint) => Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : v);
  if (c.timeStart > c.timeEnd) return [];
  const listed = new Set(c.ids);
  const found: StoredReceipt[] = [];
  for (const topic of new Set(c.contentTopics)) {
    const range = IDBKeyRange.bound(
      [c.operator, topic, clamp(c.timeStart)],
      [c.operator, topic, clamp(c.timeEnd)],
    );
    // Keys first ([envelope id, mailbox]): a receipt the page lists is never read.
    for (const key of (await request(index.getAllKeys(range))) as [string, string][]) {
      if (listed.has(key[0])) continue;
      const r = (await request(tx.objectStore("receipts").get(key))) as StoredReceipt | undefined;
      if (r) found.push(r);
    }
  }
  return found.filter((r) => provesOmission(c, r)).sort(compareReceipts);
}

/**
 * The database's schema, a step per version: `DATABASE_UPGRADES[v]` takes a database at version
 * `v` to `v + 1`, inside the version change's transaction. An older database runs the steps it
 * lacks, in order, and keeps what it held.
 */
export const DATABASE_UPGRADES: readonly ((db: IDBDatabase, tx: IDBTransaction) => void)[] = [
  // 0 → 1: the client's stores and the channel records.
  (db) => {
    db.createObjectStore("kv");
    db.createObjectStore("contacts", { keyPath: "name" }).createIndex("publicKey", "publicKey", {
      unique: true,
    });
    db.createObjectStore("feeds", { keyPath: "feed" });
    const segments = db.createObjectStore("segments", {
      keyPath: ["conversation", "firstTs", "firstId"],
    });
    segments.createIndex("last", ["conversation", "lastTs", "lastId"]);
    segments.createIndex("owed", "owed");
    segments.createIndex("small", "small");
    db.createObjectStore("conversations", { keyPath: "conversation" });
    const outgoing = db.createObjectStore("outgoing", { keyPath: "messageId" });
    outgoing.createIndex("conversation", ["conversation", "timestamp"]);
    outgoing.createIndex("state", ["state", "timestamp"]);
    db.createObjectStore("receipts", { keyPath: ["envelopeId", "mailbox"] });
    db.createObjectStore("acks", { keyPath: ["messageId", "from"] });
    db.createObjectStore("certificates", { keyPath: "digest" });
    db.createObjectStore("health", { keyPath: "mailbox" });
    db.createObjectStore("channels");
  },
  // 1 → 2: receipts' evidence, and the page commitments that prove an omission.
  (db, tx) => {
    // A receipt without evidence has no operator: it is not in the index.
    tx.objectStore("receipts").createIndex("evidence", [
      "evidence.operator",
      "evidence.contentTopic",
      "evidence.timestamp",
    ]);
    db.createObjectStore("commitments", { keyPath: "signature" });
    db.createObjectStore("omissions", { keyPath: ["envelopeId", "operator"] }).createIndex(
      "commitment",
      "commitment",
    );
  },
];

/**
 * Opens the `postbox` database (creating its stores, or upgrading older ones): the client's
 * storage and the channel records share it. A connection closes itself when another tab needs to
 * upgrade the database. `version` is for tests that make an older database.
 */
export function openPostboxDatabase(
  name = DEFAULT_DATABASE,
  version = DATABASE_VERSION,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === "undefined") {
      reject(
        new StorageError("this browser has no IndexedDB", { details: "private windows of some browsers" }),
      );
      return;
    }
    const open = indexedDB.open(name, version);
    open.onupgradeneeded = (event) => {
      for (let v = event.oldVersion; v < version; v++) DATABASE_UPGRADES[v]!(open.result, open.transaction!);
    };
    open.onsuccess = () => {
      const db = open.result;
      db.onversionchange = () => db.close();
      resolve(db);
    };
    open.onerror = () => reject(storageError(`cannot open the browser database ${name}`, open.error));
    open.onblocked = () =>
      reject(
        new StorageBusyError(`cannot open the browser database ${name}`, {
          details: "an older version of the page is open in another tab",
        }),
      );
  });
}

export function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/**
 * Runs `fn` in one transaction and resolves once it has committed. If `fn` throws (a value that
 * cannot be cloned, a failed request), the transaction is aborted: nothing of it is kept.
 */
export async function transact<T>(
  db: IDBDatabase,
  stores: string[],
  mode: IDBTransactionMode,
  fn: (tx: IDBTransaction) => T | Promise<T>,
  options?: IDBTransactionOptions,
): Promise<T> {
  const tx = db.transaction(stores, mode, options);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException("The transaction was aborted.", "AbortError"));
  });
  let result: T;
  try {
    result = await fn(tx);
  } catch (err) {
    try {
      tx.abort();
    } catch {
      // Already aborted by the failed request.
    }
    await done.catch(() => undefined);
    throw err;
  }
  await done;
  return result;
}

/** Holds the Web Lock of database `name` until the returned function is called. */
async function lockDatabase(name: string, timeoutMs: number): Promise<() => void> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return () => undefined; // not a secure context: no Web Locks (and no WebCrypto either)
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await new Promise<void>((resolve, reject) => {
    locks
      .request(`postbox-storage:${name}`, { signal: AbortSignal.timeout(timeoutMs) }, () => {
        resolve();
        return held;
      })
      .catch((err: unknown) => {
        const n = (err as { name?: unknown }).name;
        reject(
          n === "TimeoutError" || n === "AbortError"
            ? new StorageBusyError("the chat is open in another tab", {
                details: `the storage ${name} stayed locked for ${timeoutMs} ms`,
              })
            : storageError(`cannot lock the storage ${name}`, err),
        );
      });
  });
  return release;
}

/** What one conversation's deduplication knows: every message with a timestamp ≥ `from`. */
interface Seen {
  ids: Map<string, number>;
  messageIds: Map<string, number>;
  from: number;
}

export interface IndexedDbStorageOptions {
  /** How long to wait for another tab to release the storage (ms; default 5,000). */
  lockTimeoutMs?: number;
  /**
   * Ids kept in memory per conversation for deduplication (default 50,000): beyond it, the older
   * half is dropped, and a batch older than what is kept reads the segments it reaches again.
   */
  seenLimit?: number;
}

/**
 * The client's storage in a browser: IndexedDB database `postbox` (or `name`), behind
 * {@link ClientStorage}. Messages are kept in segments of up to 256 (one record per saved page,
 * not one per message: 10k messages save in ≈ 0.5 s instead of 6–8 s); one `saveMessages` is one
 * `readwrite` transaction (durability "relaxed") with the feed's mark. Deduplication uses an
 * in-memory set of ids per conversation that covers every message from a timestamp on, seeded
 * from the segments that reach the oldest message of a batch (a catch-up that restarts at
 * `mark − 30 s` reads only the segments since then). Runs of small segments (live messages) are
 * merged in the background.
 *
 * Holds a Web Lock on the database while open: a second tab waits, then fails with
 * {@link StorageBusyError}.
 */
export class IndexedDbStorage implements ClientStorage {
  readonly name: string;
  readonly #db: IDBDatabase;
  readonly #release: () => void;
  readonly #seenLimit: number;
  readonly #feeds: Map<string, Feed>;
  readonly #summaries: Map<string, ConversationSummary>;
  readonly #seen = new Map<string, Seen>();
  readonly #smallWrites = new Map<string, number>();
  #compacting: ReturnType<typeof setTimeout> | undefined;
  /** Writes that read or change the in-memory state above, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(
    name: string,
    db: IDBDatabase,
    release: () => void,
    feeds: Feed[],
    summaries: ConversationSummary[],
    seenLimit: number,
  ) {
    this.name = name;
    this.#db = db;
    this.#release = release;
    this.#seenLimit = seenLimit;
    this.#feeds = new Map(feeds.map((f) => [f.feed, f]));
    this.#summaries = new Map(summaries.map((s) => [s.conversation, s]));
  }

  static async open(
    name = DEFAULT_DATABASE,
    options: IndexedDbStorageOptions = {},
  ): Promise<IndexedDbStorage> {
    const release = await lockDatabase(name, options.lockTimeoutMs ?? 5_000);
    try {
      const db = await openPostboxDatabase(name);
      const [feeds, summaries] = await transact(db, ["feeds", "conversations"], "readonly", (tx) =>
        Promise.all([
          request(tx.objectStore("feeds").getAll() as IDBRequest<Feed[]>),
          request(tx.objectStore("conversations").getAll() as IDBRequest<ConversationSummary[]>),
        ]),
      );
      return new IndexedDbStorage(name, db, release, feeds, summaries, options.seenLimit ?? 50_000);
    } catch (err) {
      release();
      throw storageError(`cannot open the browser database ${name}`, err);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #read<T>(stores: string[], fn: (tx: IDBTransaction) => T | Promise<T>): Promise<T> {
    return transact(this.#db, stores, "readonly", fn).catch((err: unknown) => {
      throw storageError("cannot read the browser database", err);
    });
  }

  #write<T>(
    what: string,
    stores: string[],
    fn: (tx: IDBTransaction) => T | Promise<T>,
    options?: IDBTransactionOptions,
  ): Promise<T> {
    return transact(this.#db, stores, "readwrite", fn, options).catch((err: unknown) => {
      throw storageError(what, err);
    });
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.#read(["kv"], (tx) => request(tx.objectStore("kv").get(key)));
    return typeof value === "string" ? value : undefined;
  }

  async set(key: string, value: string | undefined): Promise<void> {
    await this.#write(`cannot save ${key}`, ["kv"], (tx) => {
      if (value === undefined) tx.objectStore("kv").delete(key);
      else tx.objectStore("kv").put(value, key);
    });
  }

  async getObject<T>(key: string): Promise<T | undefined> {
    return (await this.#read(["kv"], (tx) => request(tx.objectStore("kv").get(["object", key])))) as
      | T
      | undefined;
  }

  async setObject(key: string, value: unknown): Promise<void> {
    await this.#write(`cannot save ${key}`, ["kv"], (tx) => {
      if (value === undefined) tx.objectStore("kv").delete(["object", key]);
      else tx.objectStore("kv").put(value, ["object", key]);
    });
  }

  async contacts(): Promise<Contact[]> {
    return this.#read(["contacts"], (tx) =>
      request(tx.objectStore("contacts").getAll() as IDBRequest<Contact[]>),
    );
  }

  async addContact(c: Contact): Promise<void> {
    await this.#write(`cannot save the contact ${c.name}`, ["contacts"], async (tx) => {
      const store = tx.objectStore("contacts");
      const other = await request(store.index("publicKey").getKey(c.publicKey));
      if (other !== undefined && other !== c.name) store.delete(other);
      store.put({ name: c.name, publicKey: c.publicKey });
    });
  }

  async removeContact(name: string): Promise<void> {
    await this.#write(`cannot remove the contact ${name}`, ["contacts"], (tx) =>
      tx.objectStore("contacts").delete(name),
    );
  }

  async feeds(): Promise<Feed[]> {
    return [...this.#feeds.values()].sort((a, b) => (a.feed < b.feed ? -1 : 1)).map((f) => ({ ...f }));
  }

  follow(f: FeedInit): Promise<void> {
    return this.#serial(async () => {
      const known = this.#feeds.get(f.feed);
      const feed: Feed = known
        ? { ...known, key: f.key ?? null }
        : {
            feed: f.feed,
            topic: f.topic,
            key: f.key ?? null,
            since: f.since,
            lastTimestamp: null,
            lastId: null,
          };
      await this.#write(`cannot follow ${f.feed}`, ["feeds"], (tx) => tx.objectStore("feeds").put(feed));
      this.#feeds.set(f.feed, feed);
    });
  }

  unfollow(feed: string): Promise<void> {
    return this.#serial(async () => {
      await this.#write(`cannot unfollow ${feed}`, ["feeds"], (tx) => tx.objectStore("feeds").delete(feed));
      this.#feeds.delete(feed);
    });
  }

  /** The deduplication state of a conversation (one with no messages is covered entirely). */
  #seenOf(conversation: string): Seen {
    let seen = this.#seen.get(conversation);
    if (!seen) {
      seen = {
        ids: new Map(),
        messageIds: new Map(),
        from: this.#summaries.has(conversation) ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
      };
      this.#seen.set(conversation, seen);
    }
    return seen;
  }

  /** Makes the conversation's set cover every message from `from` on: reads the segments that reach it. */
  async #cover(conversation: string, from: number): Promise<Seen> {
    const seen = this.#seenOf(conversation);
    if (from >= seen.from) return seen;
    const segments = await this.#read(["segments"], (tx) =>
      request(
        tx
          .objectStore("segments")
          .index("last")
          .getAll(IDBKeyRange.bound([conversation, from], [conversation, []])) as IDBRequest<Segment[]>,
      ),
    );
    for (const s of segments) for (const m of s.messages) remember(seen, m);
    seen.from = from;
    return seen;
  }

  saveMessages(batch: readonly StoredMessage[], mark?: FeedMark): Promise<StoredMessage[]> {
    return this.#serial(async () => {
      const byConversation = new Map<string, StoredMessage[]>();
      for (const m of batch) {
        const list = byConversation.get(m.conversation);
        if (list) list.push(m);
        else byConversation.set(m.conversation, [m]);
      }
      const fresh = new Map<string, StoredMessage[]>();
      for (const [conversation, list] of byConversation) {
        let from = Number.POSITIVE_INFINITY;
        for (const m of list) if (m.timestamp < from) from = m.timestamp;
        const seen = await this.#cover(conversation, from);
        const ids = new Set<string>();
        const messageIds = new Set<string>();
        const kept: StoredMessage[] = [];
        for (const m of list) {
          if (seen.ids.has(m.id) || ids.has(m.id)) continue;
          if (m.messageId !== "" && (seen.messageIds.has(m.messageId) || messageIds.has(m.messageId)))
            continue;
          ids.add(m.id);
          if (m.messageId !== "") messageIds.add(m.messageId);
          kept.push(m);
        }
        if (kept.length > 0) fresh.set(conversation, kept.sort(compareMessages));
      }
      const feed = mark ? this.#feeds.get(mark.feed) : undefined;
      const moved =
        mark && feed && markMoves(feed, mark)
          ? { ...feed, lastTimestamp: mark.timestamp, lastId: mark.id }
          : undefined;
      if (fresh.size === 0 && !moved) return [];
      const summaries: ConversationSummary[] = [];
      await this.#write(
        "cannot save messages",
        ["segments", "conversations", "feeds"],
        (tx) => {
          const segments = tx.objectStore("segments");
          for (const [conversation, list] of fresh) {
            for (let i = 0; i < list.length; i += SEGMENT_SIZE) {
              const chunk = list.slice(i, i + SEGMENT_SIZE);
              segments.put(segment(conversation, chunk, owedIds(chunk)));
            }
            const known = this.#summaries.get(conversation);
            const newest = list.at(-1)!;
            const last = known && compareMessages(known.last, newest) > 0 ? known.last : newest;
            const summary = {
              conversation,
              count: (known?.count ?? 0) + list.length,
              lastTimestamp: last.timestamp,
              last,
            };
            tx.objectStore("conversations").put(summary);
            summaries.push(summary);
          }
          if (moved) tx.objectStore("feeds").put(moved);
        },
        { durability: "relaxed" },
      );
      // Committed: only now does the in-memory state learn of it.
      for (const s of summaries) this.#summaries.set(s.conversation, s);
      if (moved) this.#feeds.set(moved.feed, moved);
      const saved: StoredMessage[] = [];
      for (const [conversation, list] of fresh) {
        const seen = this.#seenOf(conversation);
        for (const m of list) remember(seen, m);
        if (seen.ids.size > this.#seenLimit) forgetOldest(seen);
        if (list.length < SMALL_SEGMENT) this.#wroteSmall(conversation);
        saved.push(...list);
      }
      return fresh.size > 1 ? saved.sort(compareMessages) : saved;
    });
  }

  async messages(conversation: string, q: MessageQuery = {}): Promise<StoredMessage[]> {
    const { limit, before } = q;
    if (limit !== undefined && limit <= 0) return [];
    const keep = (m: StoredMessage) => !before || isBefore(m, before);
    return this.#read(["segments"], async (tx) => {
      const store = tx.objectStore("segments");
      if (limit === undefined) {
        const all = await request(store.getAll(within(conversation)) as IDBRequest<Segment[]>);
        return all.flatMap((s) => s.messages.filter(keep)).sort(compareMessages);
      }
      const found: StoredMessage[] = [];
      const byLast = store.index("last");
      if (before) {
        // Segments ending at or after `before` can still hold earlier messages (segments overlap).
        const keys = (await request(
          byLast.getAllKeys(
            IDBKeyRange.bound([conversation, before.timestamp, before.id], [conversation, []]),
          ),
        )) as SegmentKey[];
        for (const key of keys) {
          if (!isBefore({ timestamp: key[1], id: key[2] }, before)) continue;
          const s = (await request(store.get(key))) as Segment;
          for (const m of s.messages) if (keep(m)) found.push(m);
        }
      }
      // The others, latest end first, until `limit` messages are later than every segment left.
      const range = before
        ? IDBKeyRange.bound([conversation], [conversation, before.timestamp, before.id], false, true)
        : within(conversation);
      await new Promise<void>((resolve, reject) => {
        const r = byLast.openCursor(range, "prev");
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const cursor = r.result;
          if (!cursor) return resolve();
          const [, lastTs, lastId] = cursor.key as SegmentKey;
          let later = 0;
          for (const m of found) if (compareMessages(m, { timestamp: lastTs, id: lastId }) > 0) later++;
          if (later >= limit) return resolve();
          for (const m of (cursor.value as Segment).messages) if (keep(m)) found.push(m);
          cursor.continue();
        };
      });
      return found.sort(compareMessages).slice(-limit);
    });
  }

  async conversations(): Promise<ConversationSummary[]> {
    return [...this.#summaries.values()]
      .sort(
        (a, b) =>
          b.lastTimestamp - a.lastTimestamp ||
          (a.conversation < b.conversation ? -1 : a.conversation > b.conversation ? 1 : 0),
      )
      .map((s) => ({ ...s }));
  }

  forget(conversation: string): Promise<void> {
    return this.#serial(async () => {
      const feed = this.#feeds.get(conversation);
      const reset = feed ? { ...feed, lastTimestamp: null, lastId: null } : undefined;
      await this.#write(
        `cannot forget ${conversation}`,
        ["segments", "conversations", "feeds", "outgoing"],
        async (tx) => {
          tx.objectStore("segments").delete(within(conversation));
          tx.objectStore("conversations").delete(conversation);
          if (reset) tx.objectStore("feeds").put(reset);
          const outgoing = tx.objectStore("outgoing");
          const keys = await request(outgoing.index("conversation").getAllKeys(within(conversation)));
          for (const key of keys) outgoing.delete(key);
        },
      );
      this.#summaries.delete(conversation);
      this.#seen.set(conversation, { ids: new Map(), messageIds: new Map(), from: Number.NEGATIVE_INFINITY });
      this.#smallWrites.delete(conversation);
      if (reset) this.#feeds.set(conversation, reset);
    });
  }

  deleteMessage(id: string): Promise<void> {
    return this.#serial(async () => {
      let hint: { conversation: string; timestamp: number } | undefined;
      for (const [conversation, seen] of this.#seen) {
        const timestamp = seen.ids.get(id);
        if (timestamp !== undefined) hint = { conversation, timestamp };
      }
      const removed = await this.#write(
        `cannot delete the message ${id}`,
        ["segments", "conversations"],
        async (tx) => {
          const store = tx.objectStore("segments");
          const s =
            (hint && (await segmentAt(store, hint.conversation, hint.timestamp, id))) ||
            (await scanFor(store, id));
          if (!s) return undefined;
          const message = s.messages.find((m) => m.id === id)!;
          const rest = s.messages.filter((m) => m !== message);
          store.delete(keyOf(s));
          if (rest.length > 0)
            store.put(
              segment(
                s.conversation,
                rest,
                (s.owedIds ?? []).filter((x) => x !== message.messageId),
              ),
            );
          const known = this.#summaries.get(s.conversation)!;
          let summary: ConversationSummary | undefined;
          if (known.count > 1) {
            let last = known.last;
            if (last.id === id) {
              const top = await request(store.index("last").openCursor(within(s.conversation), "prev"));
              last = (top!.value as Segment).messages.at(-1)!;
            }
            summary = {
              conversation: s.conversation,
              count: known.count - 1,
              lastTimestamp: last.timestamp,
              last,
            };
            tx.objectStore("conversations").put(summary);
          } else tx.objectStore("conversations").delete(s.conversation);
          return { message, summary };
        },
      );
      if (!removed) return;
      const { message, summary } = removed;
      if (summary) this.#summaries.set(message.conversation, summary);
      else this.#summaries.delete(message.conversation);
      const seen = this.#seen.get(message.conversation);
      seen?.ids.delete(message.id);
      if (message.messageId !== "") seen?.messageIds.delete(message.messageId);
    });
  }

  async putOutgoing(o: OutgoingRecord, replaces?: string): Promise<void> {
    await this.#write(`cannot save the state of ${o.messageId}`, ["outgoing"], (tx) => {
      const store = tx.objectStore("outgoing");
      if (replaces !== undefined && replaces !== o.messageId) store.delete(replaces);
      store.put(o);
    });
  }

  async outgoing(q: OutgoingQuery = {}): Promise<OutgoingRecord[]> {
    const records = await this.#read(["outgoing"], async (tx) => {
      const store = tx.objectStore("outgoing");
      if (q.messageIds !== undefined) {
        const got = await Promise.all([...new Set(q.messageIds)].map((id) => request(store.get(id))));
        return got.filter((o) => o !== undefined) as OutgoingRecord[];
      }
      if (q.conversation !== undefined)
        return request(
          store.index("conversation").getAll(within(q.conversation)) as IDBRequest<OutgoingRecord[]>,
        );
      if (q.state !== undefined)
        return request(store.index("state").getAll(within(q.state)) as IDBRequest<OutgoingRecord[]>);
      return request(store.getAll() as IDBRequest<OutgoingRecord[]>);
    });
    return records
      .filter(
        (o) =>
          (q.conversation === undefined || o.conversation === q.conversation) &&
          (q.state === undefined || o.state === q.state),
      )
      .sort(
        (a, b) =>
          a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0),
      );
  }

  async saveReceipt(r: StoredReceipt): Promise<void> {
    await this.#write(`cannot save the receipt of ${r.envelopeId}`, ["receipts"], async (tx) => {
      const store = tx.objectStore("receipts");
      if (r.evidence?.presence) {
        // A presence answer never replaces a push receipt with evidence.
        const kept = (await request(store.get([r.envelopeId, r.mailbox]))) as StoredReceipt | undefined;
        if (kept?.evidence && !kept.evidence.presence) return;
      }
      store.put({ ...r });
    });
  }

  async receipts(envelopeId: string): Promise<StoredReceipt[]> {
    return this.#read(["receipts"], (tx) =>
      request(tx.objectStore("receipts").getAll(within(envelopeId)) as IDBRequest<StoredReceipt[]>),
    );
  }

  async evidenceReceipts(): Promise<StoredReceipt[]> {
    const all = await this.#read(["receipts"], (tx) =>
      request(tx.objectStore("receipts").index("evidence").getAll() as IDBRequest<StoredReceipt[]>),
    );
    return all.sort(compareReceipts);
  }

  async saveCommitment(c: StoredCommitment): Promise<string[]> {
    // Most pages prove nothing: a read-only look first (a read-write transaction costs more).
    if ((await this.#read(["receipts"], (tx) => covered(tx, c))).length === 0) return [];
    return this.#write(
      "cannot save a page commitment",
      ["receipts", "commitments", "omissions"],
      async (tx) => {
        const receipts = await covered(tx, c);
        const omissions = tx.objectStore("omissions");
        const commitments = tx.objectStore("commitments");
        const proves: string[] = [];
        /** The commitments this one replaces. */
        const replaced = new Set<string>();
        for (const r of receipts) {
          if (proves.includes(r.envelopeId)) continue;
          const link = (await request(omissions.get([r.envelopeId, c.operator]))) as
            | { commitment: string }
            | undefined;
          if (link) {
            const kept = (await request(commitments.get(link.commitment))) as StoredCommitment | undefined;
            if (kept && kept.servedAt >= c.servedAt) continue;
            replaced.add(link.commitment);
          }
          proves.push(r.envelopeId);
        }
        if (proves.length === 0) return [];
        commitments.put({ ...c });
        for (const envelopeId of proves)
          omissions.put({ envelopeId, operator: c.operator, commitment: c.signature });
        // A replaced commitment that proves nothing else is dropped.
        for (const signature of replaced)
          if (
            signature !== c.signature &&
            (await request(omissions.index("commitment").count(signature))) === 0
          )
            commitments.delete(signature);
        return proves;
      },
    );
  }

  async omissionProofs(envelopeId: string): Promise<StoredCommitment[]> {
    return this.#read(["omissions", "commitments"], async (tx) => {
      const links = await request(
        tx.objectStore("omissions").getAll(within(envelopeId)) as IDBRequest<{ commitment: string }[]>,
      );
      const out: StoredCommitment[] = [];
      for (const l of links) {
        const c = await request(
          tx.objectStore("commitments").get(l.commitment) as IDBRequest<StoredCommitment>,
        );
        if (c) out.push(c);
      }
      return out;
    });
  }

  async omissions(): Promise<{ envelopeId: string; commitment: StoredCommitment }[]> {
    return this.#read(["omissions", "commitments"], async (tx) => {
      // Keyed [envelope id, operator]: in that order already.
      const links = await request(
        tx.objectStore("omissions").getAll() as IDBRequest<{ envelopeId: string; commitment: string }[]>,
      );
      const out: { envelopeId: string; commitment: StoredCommitment }[] = [];
      for (const l of links) {
        const c = await request(
          tx.objectStore("commitments").get(l.commitment) as IDBRequest<StoredCommitment>,
        );
        if (c) out.push({ envelopeId: l.envelopeId, commitment: c });
      }
      return out;
    });
  }

  async saveAcks(acks: readonly StoredAck[]): Promise<number> {
    return this.#write("cannot save acks", ["acks"], async (tx) => {
      const store = tx.objectStore("acks");
      let added = 0;
      for (const a of acks) {
        if ((await request(store.getKey([a.messageId, a.from]))) !== undefined) continue;
        store.put({ messageId: a.messageId, from: a.from, at: a.at });
        added++;
      }
      return added;
    });
  }

  async acks(messageId: string): Promise<StoredAck[]> {
    return this.#read(["acks"], (tx) =>
      request(tx.objectStore("acks").getAll(within(messageId)) as IDBRequest<StoredAck[]>),
    );
  }

  async unacked(conversation: string, limit: number): Promise<string[]> {
    const segments = await this.#read(["segments"], (tx) =>
      request(
        tx.objectStore("segments").index("owed").getAll(IDBKeyRange.only(conversation)) as IDBRequest<
          Segment[]
        >,
      ),
    );
    const owed: StoredMessage[] = [];
    for (const s of segments) {
      const ids = new Set(s.owedIds);
      for (const m of s.messages) if (ids.has(m.messageId)) owed.push(m);
    }
    return owed
      .sort(compareMessages)
      .slice(0, Math.max(0, limit))
      .map((m) => m.messageId);
  }

  markAcked(messageIds: readonly string[]): Promise<void> {
    const acked = new Set(messageIds);
    if (acked.size === 0) return Promise.resolve();
    // Serial: a segment rewritten here must not race a compaction or a deletion of the same one.
    return this.#serial(() =>
      this.#write(
        "cannot record sent acks",
        ["segments"],
        (tx) =>
          new Promise<void>((resolve, reject) => {
            const r = tx.objectStore("segments").index("owed").openCursor();
            r.onerror = () => reject(r.error);
            r.onsuccess = () => {
              const cursor = r.result;
              if (!cursor) return resolve();
              const s = cursor.value as Segment;
              const owed = (s.owedIds ?? []).filter((id) => !acked.has(id));
              if (owed.length !== s.owedIds?.length) cursor.update(segment(s.conversation, s.messages, owed));
              cursor.continue();
            };
          }),
      ),
    );
  }

  async certificates(): Promise<CachedCertificate[]> {
    return this.#read(["certificates"], (tx) =>
      request(tx.objectStore("certificates").getAll() as IDBRequest<CachedCertificate[]>),
    );
  }

  async saveCertificates(certificates: readonly CachedCertificate[]): Promise<void> {
    await this.#write("cannot save certificates", ["certificates"], (tx) => {
      for (const c of certificates) tx.objectStore("certificates").put({ ...c });
    });
  }

  async mailboxFailed(mailbox: string, now: number, graylistMs: number): Promise<boolean> {
    return this.#write(`cannot record the failure of ${mailbox}`, ["health"], async (tx) => {
      const store = tx.objectStore("health");
      const known = (await request(store.get(mailbox))) as MailboxHealth | undefined;
      const failures = (known?.failures ?? 0) + 1;
      const graylistedUntil = failures >= 2 ? now + graylistMs : 0;
      store.put({
        mailbox,
        failures,
        graylistedUntil,
        lastOkAt: known?.lastOkAt ?? null,
      } satisfies MailboxHealth);
      return graylistedUntil > 0;
    });
  }

  async mailboxSucceeded(mailbox: string, now: number): Promise<void> {
    await this.#write(`cannot record the success of ${mailbox}`, ["health"], (tx) =>
      tx
        .objectStore("health")
        .put({ mailbox, failures: 0, graylistedUntil: 0, lastOkAt: now } satisfies MailboxHealth),
    );
  }

  async mailboxHealth(): Promise<MailboxHealth[]> {
    return this.#read(["health"], (tx) =>
      request(tx.objectStore("health").getAll() as IDBRequest<MailboxHealth[]>),
    );
  }

  /** Counts a small segment written to `conversation`; enough of them schedule a compaction. */
  #wroteSmall(conversation: string): void {
    const n = (this.#smallWrites.get(conversation) ?? 0) + 1;
    this.#smallWrites.set(conversation, n);
    if (n < COMPACT_AFTER || this.#compacting) return;
    this.#compacting = setTimeout(() => {
      this.#compacting = undefined;
      for (const [c, count] of this.#smallWrites) {
        if (count < COMPACT_AFTER) continue;
        this.#smallWrites.set(c, 0);
        // In the background: a compaction that fails changed nothing (one transaction).
        this.#serial(() => this.compact(c)).catch(() => undefined);
      }
    }, 0);
  }

  /**
   * Merges each run of adjacent small segments of a conversation into segments of up to
   * {@link SEGMENT_SIZE}, in one transaction. Returns how many segments it replaced. Runs by
   * itself after live traffic; callable (e.g. by a test) at any time.
   */
  async compact(conversation: string): Promise<number> {
    return this.#write(`cannot compact ${conversation}`, ["segments"], async (tx) => {
      const store = tx.objectStore("segments");
      const [keys, smalls] = await Promise.all([
        request(store.getAllKeys(within(conversation))) as Promise<SegmentKey[]>,
        request(store.index("small").getAll(IDBKeyRange.only(conversation)) as IDBRequest<Segment[]>),
      ]);
      const small = new Map(smalls.map((s) => [`${s.firstTs}\u0000${s.firstId}`, s]));
      let replaced = 0;
      let run: Segment[] = [];
      const merge = () => {
        if (run.length > 1) {
          const messages = run.flatMap((s) => s.messages).sort(compareMessages);
          const owed = new Set(run.flatMap((s) => s.owedIds ?? []));
          for (const s of run) store.delete(keyOf(s));
          for (let i = 0; i < messages.length; i += SEGMENT_SIZE) {
            const chunk = messages.slice(i, i + SEGMENT_SIZE);
            store.put(
              segment(
                conversation,
                chunk,
                chunk.filter((m) => owed.has(m.messageId)).map((m) => m.messageId),
              ),
            );
          }
          replaced += run.length;
        }
        run = [];
      };
      for (const [, ts, id] of keys) {
        const s = small.get(`${ts}\u0000${id}`);
        if (s) run.push(s);
        else merge();
      }
      merge();
      return replaced;
    });
  }

  /** Finishes pending writes, closes the database and releases its lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#compacting) clearTimeout(this.#compacting);
    await this.#queue;
    this.#db.close();
    this.#release();
  }
}

function remember(seen: Seen, m: StoredMessage): void {
  seen.ids.set(m.id, m.timestamp);
  if (m.messageId !== "") seen.messageIds.set(m.messageId, m.timestamp);
}

/** Drops the older half of what a conversation's set holds (it then covers from a later timestamp). */
function forgetOldest(seen: Seen): void {
  const times = Float64Array.from(seen.ids.values()).sort();
  const from = times[times.length >> 1]!;
  if (from <= seen.from) return;
  for (const [id, t] of seen.ids) if (t < from) seen.ids.delete(id);
  for (const [id, t] of seen.messageIds) if (t < from) seen.messageIds.delete(id);
  seen.from = from;
}

function owedIds(messages: readonly StoredMessage[]): string[] {
  const ids: string[] = [];
  for (const m of messages) if (owesAck(m)) ids.push(m.messageId);
  return ids;
}

/** The segment of `conversation` holding message `id` of time `timestamp`. */
async function segmentAt(
  store: IDBObjectStore,
  conversation: string,
  timestamp: number,
  id: string,
): Promise<Segment | undefined> {
  const reaching = (await request(
    store.index("last").getAll(IDBKeyRange.bound([conversation, timestamp], [conversation, []])),
  )) as Segment[];
  return reaching.find((s) => s.firstTs <= timestamp && s.messages.some((m) => m.id === id));
}

/** The segment holding message `id`, by reading them all (a message this session has not seen). */
function scanFor(store: IDBObjectStore, id: string): Promise<Segment | undefined> {
  return new Promise((resolve, reject) => {
    const r = store.openCursor();
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const cursor = r.result;
      if (!cursor) return resolve(undefined);
      const s = cursor.value as Segment;
      if (s.messages.some((m) => m.id === id)) return resolve(s);
      cursor.continue();
    };
  });
}

/** Opens the client's storage in IndexedDB database `name` (default `postbox`). */
export function openIndexedDbStorage(
  name = DEFAULT_DATABASE,
  options: IndexedDbStorageOptions = {},
): Promise<IndexedDbStorage> {
  return IndexedDbStorage.open(name, options);
}
