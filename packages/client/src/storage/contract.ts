/**
 * The behaviour every {@link ClientStorage} and {@link ChannelStore} must have, as plain cases that
 * need no test framework: `storage/sqlite.test.ts` runs them under vitest on SQLite, and
 * `test/browser/storage.test.ts` runs them in Chromium on IndexedDB. A case throws on the first
 * difference; it may return a line to print (the timed one does).
 */
import type { Address, Hex } from "viem";
import { channelKey, compareMessages } from "./common.js";
import type {
  ArchivedChannelRecord,
  CachedCertificate,
  ChannelDeployment,
  ChannelRecord,
  ChannelStore,
  ClientStorage,
  OutgoingRecord,
  ReceiptEvidence,
  StoredCommitment,
  StoredMessage,
  StoredReceipt,
} from "./types.js";

export interface Case {
  name: string;
  run(): Promise<string | undefined>;
}

/**
 * Opens the store called `name` (a folder, a database name): a case opens a name of its own, and
 * opens it again to check what survives a reopen (after closing it).
 */
export type Open<T> = (name: string) => Promise<T>;

export class ContractError extends Error {
  override name = "ContractError";
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "bigint"
      ? `${v}n`
      : v instanceof Uint8Array
        ? `Uint8Array(${Array.from(v).join(",")})`
        : v instanceof Map
          ? { Map: [...v] }
          : v === undefined
            ? "(undefined)"
            : v,
  );
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Uint8Array)
    return a.length === (b as Uint8Array).length && a.every((x, i) => x === (b as Uint8Array)[i]);
  if (a instanceof Map) return same([...a], [...(b as Map<unknown, unknown>)]);
  if (a instanceof Set) return same([...a], [...(b as Set<unknown>)]);
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.hasOwn(b, k) && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/** Throws a {@link ContractError} unless `actual` deep-equals `expected`. */
export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (!same(actual, expected))
    throw new ContractError(`${what}:\n  expected ${show(expected)}\n  actual   ${show(actual)}`);
}

async function assertRejects(p: Promise<unknown>, name: string, what: string): Promise<void> {
  let settled: unknown;
  try {
    await p;
  } catch (err) {
    settled = err;
  }
  if (settled === undefined) throw new ContractError(`${what}: expected a ${name}, it succeeded`);
  const got = (settled as { name?: unknown }).name;
  if (got !== name)
    throw new ContractError(`${what}: expected a ${name}, got ${show(got)}: ${String(settled)}`);
}

const pad = (n: number) => n.toString(16).padStart(8, "0");

/** Message `n` (envelope id `e…`, message id `m…`) of `conversation` at `timestamp`. */
export function message(n: number, timestamp: number, over: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id: `e${pad(n)}`,
    messageId: `m${pad(n)}`,
    version: 2,
    conversation: "room:x",
    timestamp,
    sender: "02aa",
    text: `text ${n}`,
    outgoing: false,
    ...over,
  };
}

const OPERATOR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as Address;
const OTHER_OPERATOR = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" as Address;
const MAX_U64 = (1n << 64n) - 1n;
/** A 65-byte signature, distinct for each `n`. */
const sig = (n: number): Hex => `0x${n.toString(16).padStart(130, "0")}`;

/** A receipt from `OPERATOR` for envelope `id` on `/t`, stored at `storedAt`, promised until 1,000. */
export function evidenceReceipt(
  envelopeId: string,
  storedAt: number,
  over: Partial<ReceiptEvidence> & { mailbox?: string } = {},
): StoredReceipt {
  const { mailbox = "alpha", ...evidence } = over;
  return {
    envelopeId,
    mailbox,
    storedAt,
    retainUntil: 1_000,
    evidence: {
      operator: OPERATOR,
      contentTopic: "/t",
      timestamp: storedAt - 1,
      signature: sig(storedAt),
      envelope: new Uint8Array([1, 2, storedAt % 256]),
      ...evidence,
    },
  };
}

/** `OPERATOR`'s commitment on `/t` over [0, 500], served at 500, listing nothing. */
function commitment(over: Partial<StoredCommitment> = {}): StoredCommitment {
  return {
    mailbox: "alpha",
    operator: OPERATOR,
    contentTopics: ["/t"],
    timeStart: 0n,
    timeEnd: 500n,
    ids: [],
    nextCursor: `0x${"00".repeat(32)}`,
    servedAt: 500,
    signature: sig(0),
    ...over,
  };
}

const sorted = (ms: readonly StoredMessage[]) => [...ms].sort(compareMessages);
const ids = (ms: readonly StoredMessage[]) => ms.map((m) => m.id);

/** A deterministic shuffle. */
function shuffle<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A case that opens (and at its end closes) stores of a name of its own. */
function storeCase<T extends { close(): Promise<void> }>(
  prefix: string,
  open: Open<T>,
  name: string,
  body: (open: () => Promise<T>) => Promise<unknown>,
): Case {
  const db = `${prefix}-${name.replace(/[^a-z0-9]+/gi, "-")}`;
  return {
    name,
    async run() {
      const opened: T[] = [];
      try {
        const note = await body(async () => {
          const s = await open(db);
          opened.push(s);
          return s;
        });
        return typeof note === "string" ? note : undefined;
      } finally {
        for (const s of opened) await s.close().catch(() => undefined);
      }
    },
  };
}

/** Checks every way of reading a conversation against `expected` (sorted). */
async function checkReads(s: ClientStorage, conversation: string, expected: StoredMessage[]): Promise<void> {
  assertEqual(ids(await s.messages(conversation)), ids(expected), `${conversation}: every message in order`);
  for (const limit of [1, 3, 100, expected.length + 5])
    assertEqual(
      ids(await s.messages(conversation, { limit })),
      ids(expected.slice(-limit)),
      `${conversation}: the last ${limit}`,
    );
  const step = Math.max(1, Math.floor(expected.length / 9));
  for (let at = 0; at < expected.length; at += step) {
    const before = { timestamp: expected[at]!.timestamp, id: expected[at]!.id };
    assertEqual(
      ids(await s.messages(conversation, { before })),
      ids(expected.slice(0, at)),
      `${conversation}: before message ${at}`,
    );
    for (const limit of [1, 7])
      assertEqual(
        ids(await s.messages(conversation, { before, limit })),
        ids(expected.slice(Math.max(0, at - limit), at)),
        `${conversation}: the ${limit} before message ${at}`,
      );
  }
}

export function storageContract(open: Open<ClientStorage>): Case[] {
  const c = (name: string, body: (open: () => Promise<ClientStorage>) => Promise<unknown>) =>
    storeCase("storage", open, name, body);
  return [
    c("a new storage is empty", async (o) => {
      const s = await o();
      assertEqual(await s.get("identity"), undefined, "a setting");
      assertEqual(await s.getObject("device"), undefined, "an object");
      assertEqual(await s.contacts(), [], "contacts");
      assertEqual(await s.feeds(), [], "feeds");
      assertEqual(await s.conversations(), [], "conversations");
      assertEqual(await s.messages("room:x"), [], "messages");
      assertEqual(await s.messages("room:x", { limit: 10 }), [], "the last messages");
      assertEqual(await s.outgoing(), [], "outgoing");
      assertEqual(await s.receipts("e1"), [], "receipts");
      assertEqual(await s.evidenceReceipts(), [], "receipts with evidence");
      assertEqual(await s.omissionProofs("e1"), [], "omission proofs");
      assertEqual(await s.acks("m1"), [], "acks");
      assertEqual(await s.unacked("dm:aa", 10), [], "unacked");
      assertEqual(await s.certificates(), [], "certificates");
      assertEqual(await s.mailboxHealth(), [], "mailbox health");
    }),

    c("keeps string settings and structured objects apart", async (o) => {
      const s = await o();
      await s.set("identity", "k1");
      assertEqual(await s.get("identity"), "k1", "a setting");
      await s.set("identity", "k2");
      assertEqual(await s.get("identity"), "k2", "a setting replaced");
      await s.set("identity", undefined);
      assertEqual(await s.get("identity"), undefined, "a deleted setting");
      const device = {
        publicKey: new Uint8Array([1, 2, 3, 255]),
        serial: 12345678901234567890n,
        list: [1, "a", null, { deep: true }],
        at: new Date(1_700_000_000_000),
        seen: new Map([["a", 1]]),
      };
      await s.setObject("device", device);
      await s.set("device", "a string under the same name");
      assertEqual(await s.getObject("device"), device, "an object");
      assertEqual(await s.get("device"), "a string under the same name", "a string beside it");
      await s.setObject("device", undefined);
      assertEqual(await s.getObject("device"), undefined, "a deleted object");
      assertEqual(await s.get("device"), "a string under the same name", "the string stays");
    }),

    c("keeps contacts by name, one name per public key", async (o) => {
      const s = await o();
      await s.addContact({ name: "bob", publicKey: "02b0" });
      await s.addContact({ name: "alice", publicKey: "02a1" });
      assertEqual(
        await s.contacts(),
        [
          { name: "alice", publicKey: "02a1" },
          { name: "bob", publicKey: "02b0" },
        ],
        "contacts by name",
      );
      await s.addContact({ name: "bob", publicKey: "02b1" });
      await s.addContact({ name: "alicia", publicKey: "02a1" });
      assertEqual(
        await s.contacts(),
        [
          { name: "alicia", publicKey: "02a1" },
          { name: "bob", publicKey: "02b1" },
        ],
        "a name's key replaced; a key under a new name renamed",
      );
      await s.removeContact("bob");
      await s.removeContact("nobody");
      assertEqual(await s.contacts(), [{ name: "alicia", publicKey: "02a1" }], "after a removal");
    }),

    c("follows feeds: following again changes only the key", async (o) => {
      const s = await o();
      await s.follow({ feed: "room:x", topic: "/t/x", since: 1_000 });
      await s.follow({ feed: "group:g", topic: "/t/g", since: 2_000, key: "aa" });
      await s.saveMessages([], { feed: "room:x", timestamp: 5, id: "e1" });
      await s.follow({ feed: "room:x", topic: "/other", since: 9_999, key: "bb" });
      assertEqual(
        await s.feeds(),
        [
          { feed: "group:g", topic: "/t/g", key: "aa", since: 2_000, lastTimestamp: null, lastId: null },
          { feed: "room:x", topic: "/t/x", key: "bb", since: 1_000, lastTimestamp: 5, lastId: "e1" },
        ],
        "feeds",
      );
      await s.unfollow("group:g");
      await s.unfollow("room:none");
      assertEqual(
        (await s.feeds()).map((f) => f.feed),
        ["room:x"],
        "after unfollowing",
      );
    }),

    c(
      "keeps each message once, by envelope id and by message id, within a batch and across batches",
      async (o) => {
        const s = await o();
        const [m1, m2, m3, m4] = [message(1, 10), message(2, 20), message(3, 20), message(4, 5)];
        const first = await s.saveMessages([m2!, m1!, m3!, { ...m1!, text: "the same envelope again" }]);
        assertEqual(first, [m1, m2, m3], "the new messages of a batch, oldest first");
        // A re-encryption of m2's signed message: another envelope id, the same message id.
        const copy = message(9, 20, { messageId: m2!.messageId });
        const second = await s.saveMessages([m1!, m4!, copy, message(10, 20, { messageId: m4!.messageId })]);
        assertEqual(second, [m4], "only what was new");
        assertEqual(
          ids(await s.messages("room:x")),
          ["e00000004", "e00000001", "e00000002", "e00000003"],
          "kept",
        );
        // Messages saved before v2 have no message id: they deduplicate by envelope id only.
        const old = [
          message(5, 30, { messageId: "", version: 1 }),
          message(6, 30, { messageId: "", version: 1 }),
        ];
        assertEqual(await s.saveMessages(old), old, "messages without a message id");
        assertEqual(await s.saveMessages(old), [], "those again");
        assertEqual((await s.messages("room:x")).slice(-2), old, "as saved");
        assertEqual(await s.saveMessages([]), [], "an empty batch");
      },
    ),

    c(
      "returns a conversation in (timestamp, id) order: ties, the last `limit`, pages before a message",
      async (o) => {
        const s = await o();
        // 600 messages, 3 per timestamp, saved out of order in overlapping batches and one by one.
        const all = Array.from({ length: 600 }, (_, n) => message(n, 1_000 + Math.floor(n / 3) * 10));
        const mixed = shuffle(all);
        await s.saveMessages(mixed.slice(0, 250));
        await s.saveMessages(mixed.slice(250, 500));
        for (const m of mixed.slice(500, 540)) await s.saveMessages([m]);
        await s.saveMessages(mixed.slice(540));
        await s.saveMessages([message(10_000, 1_500, { conversation: "room:y" })]);
        await checkReads(s, "room:x", sorted(all));
        assertEqual(await s.messages("room:x", { limit: 0 }), [], "limit 0");
        assertEqual(ids(await s.messages("room:y")), ["e00002710"], "another conversation");
        assertEqual(await s.messages("room:z"), [], "a conversation without messages");
      },
    ),

    c("moves a feed's mark forward only, and only for a followed feed", async (o) => {
      const s = await o();
      await s.follow({ feed: "room:x", topic: "/t", since: 1_000 });
      const mark = async () => {
        const f = (await s.feeds()).find((f) => f.feed === "room:x")!;
        return [f.lastTimestamp, f.lastId];
      };
      await s.saveMessages([message(1, 20)], { feed: "room:x", timestamp: 20, id: "b" });
      await s.saveMessages([], { feed: "room:x", timestamp: 15, id: "z" });
      await s.saveMessages([], { feed: "room:x", timestamp: 20, id: "a" });
      assertEqual(await mark(), [20, "b"], "a mark does not move back");
      await s.saveMessages([message(2, 10)], { feed: "room:x", timestamp: 20, id: "c" });
      assertEqual(await mark(), [20, "c"], "a mark moves forward (same time, later id)");
      await s.saveMessages([message(3, 30)], { feed: "room:none", timestamp: 30, id: "x" });
      assertEqual(
        (await s.feeds()).map((f) => f.feed),
        ["room:x"],
        "a mark for a feed not followed creates none",
      );
      assertEqual((await s.messages("room:x")).length, 3, "its messages are saved");
    }),

    c(
      "a batch that fails keeps neither its messages nor its mark; the same messages save afterwards",
      async (o) => {
        const s = await o();
        await s.follow({ feed: "room:x", topic: "/t", since: 0 });
        await s.saveMessages([message(10_000, 1)], { feed: "room:x", timestamp: 1, id: "e00002710" });
        const good = Array.from({ length: 600 }, (_, n) => message(n, 100 + n));
        const mark = { feed: "room:x", timestamp: 699, id: good[599]!.id };
        // A value neither SQLite nor IndexedDB can store, in the second segment of 256.
        const bad = good.map((m, n) =>
          n === 450 ? { ...m, text: Symbol("not storable") as unknown as string } : m,
        );
        await assertRejects(s.saveMessages(bad, mark), "StorageError", "a batch that cannot be stored");
        assertEqual(ids(await s.messages("room:x")), ["e00002710"], "none of its messages");
        assertEqual((await s.feeds())[0]!.lastTimestamp, 1, "not its mark");
        assertEqual((await s.conversations())[0]!.count, 1, "the conversation's count");
        assertEqual((await s.saveMessages(good, mark)).length, 600, "the same messages, all new");
        assertEqual((await s.messages("room:x")).length, 601, "saved");
        assertEqual((await s.feeds())[0]!.lastTimestamp, 699, "with the mark");
      },
    ),

    c("saves batches sent at once each message once", async (o) => {
      const s = await o();
      const all = Array.from({ length: 300 }, (_, n) => message(n, n));
      const [a, b, c] = await Promise.all([
        s.saveMessages(all.slice(0, 200)),
        s.saveMessages(all.slice(100)),
        s.saveMessages(all.slice(50, 250)),
      ]);
      assertEqual(a.length + b.length + c.length, 300, "new messages counted once");
      assertEqual(ids(await s.messages("room:x")), ids(all), "kept once");
    }),

    c("deletes a message, and forgets a conversation with its mark and outgoing records", async (o) => {
      const s = await o();
      await s.follow({ feed: "room:x", topic: "/t", since: 0 });
      const all = Array.from({ length: 300 }, (_, n) => message(n, 1_000 + n));
      await s.saveMessages(all, { feed: "room:x", timestamp: 1_299, id: all[299]!.id });
      await s.saveMessages([message(1_000, 5, { conversation: "room:y" })]);
      for (const n of [0, 150, 299]) await s.deleteMessage(all[n]!.id);
      await s.deleteMessage("e-unknown");
      const left = all.filter((_, n) => n !== 0 && n !== 150 && n !== 299);
      await checkReads(s, "room:x", left);
      const summary = (await s.conversations()).find((x) => x.conversation === "room:x")!;
      assertEqual([summary.count, summary.last], [297, all[298]], "the summary after deletions");
      assertEqual(
        await s.saveMessages([all[0]!, all[150]!, all[299]!]),
        [all[0], all[150], all[299]],
        "saved again",
      );
      await s.putOutgoing(outgoingRecord(1, "room:x", 1_001));
      await s.putOutgoing(outgoingRecord(2, "room:y", 1_002));
      await s.forget("room:x");
      assertEqual(await s.messages("room:x"), [], "no messages");
      assertEqual(
        (await s.conversations()).map((x) => x.conversation),
        ["room:y"],
        "conversations",
      );
      const feed = (await s.feeds())[0]!;
      assertEqual([feed.lastTimestamp, feed.lastId, feed.since], [null, null, 0], "the mark reset");
      assertEqual(
        (await s.outgoing()).map((x) => x.messageId),
        ["m00000002"],
        "its outgoing records gone",
      );
      assertEqual((await s.saveMessages(all)).length, 300, "its messages save again");
    }),

    c("summarises conversations: count, newest message, most recent first", async (o) => {
      const s = await o();
      const a2 = message(2, 20, { conversation: "room:a" });
      const b = message(3, 30, { conversation: "dm:bb" });
      const g = message(4, 20, { conversation: "group:g" });
      const d = message(5, 30, { conversation: "room:d" });
      await s.saveMessages([message(1, 10, { conversation: "room:a" }), a2, b]);
      await s.saveMessages([g, d]);
      await s.saveMessages([message(6, 5, { conversation: "dm:bb" })]);
      assertEqual(
        await s.conversations(),
        [
          { conversation: "dm:bb", count: 2, lastTimestamp: 30, last: b },
          { conversation: "room:d", count: 1, lastTimestamp: 30, last: d },
          { conversation: "group:g", count: 1, lastTimestamp: 20, last: g },
          { conversation: "room:a", count: 2, lastTimestamp: 20, last: a2 },
        ],
        "conversations",
      );
    }),

    c("keeps outgoing records and their delivery states", async (o) => {
      const s = await o();
      const o1 = outgoingRecord(1, "dm:aa", 10);
      const o2: OutgoingRecord = {
        ...outgoingRecord(2, "group:g", 20),
        state: "stored",
        storedBy: ["alpha"],
      };
      const o3: OutgoingRecord = {
        ...outgoingRecord(3, "dm:aa", 30),
        state: "not-stored",
        error: "alpha: unreachable",
        attempts: 2,
      };
      await s.putOutgoing(o3);
      await s.putOutgoing(o1);
      await s.putOutgoing(o2);
      assertEqual(await s.outgoing(), [o1, o2, o3], "every record, oldest first");
      assertEqual(await s.outgoing({ conversation: "dm:aa" }), [o1, o3], "a conversation's");
      assertEqual(await s.outgoing({ state: "stored" }), [o2], "by state");
      assertEqual(await s.outgoing({ conversation: "dm:aa", state: "sending" }), [o1], "by both");
      assertEqual(
        await s.outgoing({ messageIds: ["m00000003", "m00000001", "unknown"] }),
        [o1, o3],
        "by ids",
      );
      const delivered: OutgoingRecord = {
        ...o1,
        state: "delivered",
        storedBy: ["alpha", "beta"],
        deliveredTo: ["02bb"],
      };
      await s.putOutgoing(delivered);
      assertEqual(await s.outgoing({ messageIds: ["m00000001"] }), [delivered], "updated");
      const resealed = outgoingRecord(4, "dm:aa", 40);
      await s.putOutgoing(resealed, o3.messageId);
      assertEqual(
        await s.outgoing({ conversation: "dm:aa" }),
        [delivered, resealed],
        "a record replaced by another",
      );
    }),

    c("keeps receipts per envelope and mailbox", async (o) => {
      const s = await o();
      await s.saveReceipt({ envelopeId: "e1", mailbox: "beta", storedAt: 1, retainUntil: 10 });
      await s.saveReceipt({ envelopeId: "e1", mailbox: "alpha", storedAt: 2, retainUntil: 20 });
      await s.saveReceipt({ envelopeId: "e2", mailbox: "alpha", storedAt: 3, retainUntil: 30 });
      await s.saveReceipt({ envelopeId: "e1", mailbox: "beta", storedAt: 4, retainUntil: 40 });
      assertEqual(
        await s.receipts("e1"),
        [
          { envelopeId: "e1", mailbox: "alpha", storedAt: 2, retainUntil: 20 },
          { envelopeId: "e1", mailbox: "beta", storedAt: 4, retainUntil: 40 },
        ],
        "an envelope's receipts by mailbox, a newer one replacing",
      );
    }),

    c("keeps a receipt's evidence, and lists the receipts that carry some", async (o) => {
      const s = await o();
      const plain = { envelopeId: "e0", mailbox: "alpha", storedAt: 5, retainUntil: 50 };
      const a = evidenceReceipt("e1", 10);
      const b = evidenceReceipt("e2", 7, { mailbox: "beta" });
      for (const r of [plain, a, b]) await s.saveReceipt(r);
      assertEqual(await s.receipts("e0"), [plain], "a receipt without evidence has none");
      assertEqual(await s.receipts("e1"), [a], "a receipt with its evidence");
      assertEqual(await s.evidenceReceipts(), [b, a], "the receipts with evidence, by storedAt");
      await s.close();
      const t = await o();
      assertEqual(await t.evidenceReceipts(), [b, a], "after a reopen");
      assertEqual(await t.omissionProofs("e1"), [], "no commitment yet");
    }),

    c(
      "keeps a page commitment only while it proves an omission: the newest per receipt and operator",
      async (o) => {
        const s = await o();
        // e1 on /t at 100, stored at 110, promised until 1,000; e2 on /t at 200; e3 on /u at 300.
        await s.saveReceipt(evidenceReceipt("e1", 110, { timestamp: 100 }));
        await s.saveReceipt(evidenceReceipt("e2", 210, { timestamp: 200 }));
        await s.saveReceipt(evidenceReceipt("e3", 310, { timestamp: 300, contentTopic: "/u" }));
        await s.saveReceipt({ envelopeId: "e4", mailbox: "alpha", storedAt: 5, retainUntil: 1_000 });
        const refused: [string, StoredCommitment][] = [
          ["it lists every envelope held", commitment({ ids: ["e1", "e2"] })],
          ["served before the receipts were made", commitment({ servedAt: 110 })],
          ["served once the promises had ended", commitment({ servedAt: 1_000 })],
          ["another operator's", commitment({ operator: OTHER_OPERATOR })],
          ["its span ends before them", commitment({ timeEnd: 99n })],
          ["its span starts after them", commitment({ timeStart: 301n })],
          ["on another topic", commitment({ contentTopics: ["/v"] })],
        ];
        for (const [why, x] of refused) assertEqual(await s.saveCommitment(x), [], `not kept: ${why}`);
        assertEqual(await s.omissionProofs("e1"), [], "nothing kept");
        const first = commitment({ ids: ["e2"], signature: sig(1) });
        assertEqual(await s.saveCommitment(first), ["e1"], "kept: it leaves e1 out");
        const second = commitment({ ids: [], signature: sig(2), contentTopics: ["/t", "/u"] });
        assertEqual(
          await s.saveCommitment(second),
          ["e2", "e3"],
          "kept for what no page served before proves",
        );
        const later = commitment({ ids: [], signature: sig(3), servedAt: 900 });
        assertEqual(await s.saveCommitment(later), ["e1", "e2"], "a later page replaces the earlier proofs");
        assertEqual(
          await s.saveCommitment(
            commitment({ ids: ["e1"], timeEnd: MAX_U64, signature: sig(4), servedAt: 800 }),
          ),
          [],
          "an open span (2^64 − 1) served before the kept proof: not kept",
        );
        await s.close();
        const t = await o();
        assertEqual(await t.omissionProofs("e1"), [later], "e1's proof, after a reopen");
        assertEqual(await t.omissionProofs("e2"), [later], "e2's");
        assertEqual(await t.omissionProofs("e3"), [second], "e3's: the later page does not cover /u");
        assertEqual(await t.omissionProofs("e4"), [], "a receipt without evidence proves nothing");
        // The first page, replaced for the only envelope it proved, is gone; offered again, it is
        // refused (a later proof is kept).
        assertEqual(await t.saveCommitment(first), [], "a replaced page is not taken back");
        // Another operator's receipt for the same envelope gets a proof of its own.
        await t.saveReceipt(
          evidenceReceipt("e1", 110, { timestamp: 100, mailbox: "beta", operator: OTHER_OPERATOR }),
        );
        const other = commitment({ operator: OTHER_OPERATOR, mailbox: "beta", ids: [], signature: sig(5) });
        assertEqual(await t.saveCommitment(other), ["e1"], "the other operator's");
        assertEqual(await t.omissionProofs("e1"), [other, later], "one per operator (by operator)");
        assertEqual(
          await t.omissions(),
          [
            { envelopeId: "e1", commitment: other },
            { envelopeId: "e1", commitment: later },
            { envelopeId: "e2", commitment: later },
            { envelopeId: "e3", commitment: second },
          ],
          "every kept proof, by envelope id then operator",
        );
      },
    ),

    c(
      "keeps a presence answer's evidence as a receipt that proves an omission, never over a push receipt",
      async (o) => {
        const s = await o();
        // e1: the mailbox's push receipt (stored at 110); a presence answer later (served at 300).
        const pushed = evidenceReceipt("e1", 110, { timestamp: 100 });
        await s.saveReceipt(pushed);
        const answer = (id: string, servedAt: number, ids = [id, "e9"]) =>
          evidenceReceipt(id, servedAt, { timestamp: 200, presence: { ids } });
        await s.saveReceipt(answer("e1", 300));
        assertEqual(await s.receipts("e1"), [pushed], "a presence answer does not replace a push receipt");
        // e2: received from another mailbox; this one's presence answer (served at 250) says it holds it.
        const held = answer("e2", 250);
        await s.saveReceipt(held);
        assertEqual(await s.receipts("e2"), [held], "kept, with the ids it lists");
        const newer = answer("e2", 260, ["e2"]);
        await s.saveReceipt(newer);
        assertEqual(await s.receipts("e2"), [newer], "a newer presence answer replaces it");
        assertEqual(
          await s.saveCommitment(commitment({ servedAt: 255, signature: sig(1) })),
          ["e1"],
          "a page served before the answer proves only e1",
        );
        const later = commitment({ servedAt: 400, signature: sig(2) });
        assertEqual(
          await s.saveCommitment(later),
          ["e1", "e2"],
          "a page served after it proves e2 omitted too",
        );
        await s.close();
        const t = await o();
        assertEqual(await t.receipts("e2"), [newer], "after a reopen");
        assertEqual(await t.omissionProofs("e2"), [later], "e2's proof");
        // A push receipt replaces a presence answer.
        const receipted = evidenceReceipt("e2", 240, { timestamp: 200 });
        await t.saveReceipt(receipted);
        assertEqual(await t.receipts("e2"), [receipted], "a push receipt replaces a presence answer");
      },
    ),

    c("keeps received acks once per message and identity", async (o) => {
      const s = await o();
      assertEqual(
        await s.saveAcks([
          { messageId: "m1", from: "02bb", at: 1 },
          { messageId: "m1", from: "02cc", at: 2 },
          { messageId: "m1", from: "02bb", at: 3 },
        ]),
        2,
        "new acks in a batch",
      );
      assertEqual(
        await s.saveAcks([
          { messageId: "m1", from: "02bb", at: 9 },
          { messageId: "m2", from: "02bb", at: 4 },
        ]),
        1,
        "new acks of a second batch",
      );
      assertEqual(
        await s.acks("m1"),
        [
          { messageId: "m1", from: "02bb", at: 1 },
          { messageId: "m1", from: "02cc", at: 2 },
        ],
        "a message's acks",
      );
      assertEqual(await s.saveAcks([]), 0, "no acks");
    }),

    c("owes acks for v2 messages from others in 1:1 and groups, until marked", async (o) => {
      const s = await o();
      const dm = (n: number, t: number, over: Partial<StoredMessage> = {}) =>
        message(n, t, { conversation: "dm:bb", sender: "02bb", ...over });
      await s.saveMessages([
        dm(1, 1),
        dm(2, 2, { outgoing: true, sender: "02aa" }),
        dm(3, 3, { version: 1 }),
        dm(4, 4),
        message(5, 5),
        message(6, 6, { conversation: "group:g" }),
        message(7, 7, { conversation: "group:g" }),
      ]);
      assertEqual(await s.unacked("dm:bb", 10), ["m00000001", "m00000004"], "1:1: v2 from the peer");
      assertEqual(await s.unacked("dm:bb", 1), ["m00000001"], "oldest first, limited");
      assertEqual(await s.unacked("room:x", 10), [], "rooms are never acked");
      assertEqual(await s.unacked("group:g", 10), ["m00000006", "m00000007"], "groups");
      await s.markAcked(["m00000001", "m00000007", "m-unknown"]);
      await s.markAcked([]);
      assertEqual(await s.unacked("dm:bb", 10), ["m00000004"], "1:1 after acks");
      assertEqual(await s.unacked("group:g", 10), ["m00000006"], "group after acks");
      await s.close();
      const again = await o();
      assertEqual(await again.unacked("dm:bb", 10), ["m00000004"], "after a reopen");
      await again.deleteMessage("e00000004");
      assertEqual(await again.unacked("dm:bb", 10), [], "a deleted message owes nothing");
    }),

    c("keeps device certificates by digest", async (o) => {
      const s = await o();
      const cert = (d: string, notAfter: number): CachedCertificate => ({
        digest: d,
        sender: "02aa",
        deviceKey: "ed".repeat(32),
        notBefore: 1_700_000_000_000,
        notAfter,
      });
      await s.saveCertificates([cert("bb", 1), cert("aa", 2)]);
      await s.saveCertificates([cert("bb", 3)]);
      await s.saveCertificates([]);
      assertEqual(await s.certificates(), [cert("aa", 2), cert("bb", 3)], "certificates");
    }),

    c("graylists a mailbox after two failures in a row, and forgives it on success", async (o) => {
      const s = await o();
      assertEqual(await s.mailboxFailed("m", 0, 1_000), false, "one failure");
      assertEqual(
        await s.mailboxHealth(),
        [{ mailbox: "m", failures: 1, graylistedUntil: 0, lastOkAt: null }],
        "after one failure",
      );
      await s.mailboxSucceeded("m", 100);
      assertEqual(await s.mailboxFailed("m", 200, 1_000), false, "a failure after a success");
      assertEqual(await s.mailboxFailed("m", 300, 1_000), true, "two in a row");
      await s.mailboxSucceeded("a", 50);
      assertEqual(
        await s.mailboxHealth(),
        [
          { mailbox: "a", failures: 0, graylistedUntil: 0, lastOkAt: 50 },
          { mailbox: "m", failures: 2, graylistedUntil: 1_300, lastOkAt: 100 },
        ],
        "graylisted, with its last success",
      );
      assertEqual(await s.mailboxFailed("m", 400, 1_000), true, "three in a row");
      assertEqual((await s.mailboxHealth())[1]!.graylistedUntil, 1_400, "graylisted longer");
      await s.mailboxSucceeded("m", 500);
      assertEqual(
        (await s.mailboxHealth())[1],
        { mailbox: "m", failures: 0, graylistedUntil: 0, lastOkAt: 500 },
        "forgiven",
      );
    }),

    c("survives a reopen, and still keeps each message once whatever its age", async (o) => {
      const s = await o();
      await s.set("identity", "k");
      await s.setObject("device", { key: new Uint8Array([7]) });
      await s.addContact({ name: "bob", publicKey: "02b0" });
      await s.follow({ feed: "room:x", topic: "/t", since: 0, key: null });
      const all = Array.from({ length: 1_000 }, (_, n) => message(n, 1_000 + n));
      for (let p = 0; p < 1_000; p += 250)
        await s.saveMessages(all.slice(p, p + 250), {
          feed: "room:x",
          timestamp: 1_000 + p + 249,
          id: all[p + 249]!.id,
        });
      await s.putOutgoing(outgoingRecord(1, "room:x", 1_001));
      await s.saveReceipt({ envelopeId: "e1", mailbox: "alpha", storedAt: 1, retainUntil: 2 });
      await s.saveAcks([{ messageId: "m00000001", from: "02bb", at: 3 }]);
      await s.saveCertificates([
        { digest: "cc", sender: "02aa", deviceKey: "ed", notBefore: 1, notAfter: 2 },
      ]);
      await s.mailboxFailed("m", 0, 1_000);
      const before = {
        identity: await s.get("identity"),
        device: await s.getObject("device"),
        contacts: await s.contacts(),
        feeds: await s.feeds(),
        conversations: await s.conversations(),
        outgoing: await s.outgoing(),
        receipts: await s.receipts("e1"),
        acks: await s.acks("m00000001"),
        certificates: await s.certificates(),
        health: await s.mailboxHealth(),
      };
      await s.close();
      const t = await o();
      assertEqual(
        {
          identity: await t.get("identity"),
          device: await t.getObject("device"),
          contacts: await t.contacts(),
          feeds: await t.feeds(),
          conversations: await t.conversations(),
          outgoing: await t.outgoing(),
          receipts: await t.receipts("e1"),
          acks: await t.acks("m00000001"),
          certificates: await t.certificates(),
          health: await t.mailboxHealth(),
        },
        before,
        "everything after a reopen",
      );
      assertEqual((await t.feeds())[0]!.lastId, all[999]!.id, "the mark");
      // A catch-up restarting before the mark, a copy re-encrypted under a new envelope id, and
      // a message far older than the mark: all known.
      const copy = message(5_000, all[10]!.timestamp, { messageId: all[10]!.messageId });
      const fresh = message(5_001, 2_500);
      assertEqual(
        await t.saveMessages([...all.slice(970), copy, fresh]),
        [fresh],
        "after a reopen, only the new",
      );
      assertEqual(await t.saveMessages([all[3]!, all[500]!]), [], "older ones too");
      assertEqual((await t.messages("room:x")).length, 1_001, "kept once");
    }),

    c("live messages one at a time, then a catch-up over them", async (o) => {
      const s = await o();
      await s.follow({ feed: "room:x", topic: "/t", since: 0 });
      const live = Array.from({ length: 100 }, (_, n) => message(n, 10_000 + n * 10));
      for (const m of live) assertEqual(await s.saveMessages([m]), [m], "a live message");
      // The catch-up page spans them: some as the same envelopes, some re-encrypted, some new.
      const page = Array.from({ length: 250 }, (_, n) => message(1_000 + n, 9_500 + n * 5));
      const copies = live
        .filter((_, n) => n % 3 === 0)
        .map((m, n) => message(2_000 + n, m.timestamp, { messageId: m.messageId }));
      const saved = await s.saveMessages([...live.slice(50), ...page, ...copies], {
        feed: "room:x",
        timestamp: 11_000,
        id: "e",
      });
      assertEqual(ids(saved), ids(sorted(page)), "only the page's new messages");
      await checkReads(s, "room:x", sorted([...live, ...page]));
    }),

    c("10,000 messages: 100 pages of 100 written, then read back", async (o) => {
      const s = await o();
      await s.follow({ feed: "room:big", topic: "/t", since: 0 });
      const all = Array.from({ length: 10_000 }, (_, n) =>
        message(n, 1_700_000_000_000 + n * 7, { conversation: "room:big", sender: `02${pad(n % 50)}` }),
      );
      const t0 = performance.now();
      for (let p = 0; p < 10_000; p += 100) {
        const page = all.slice(p, p + 100);
        const saved = await s.saveMessages(page, {
          feed: "room:big",
          timestamp: page[99]!.timestamp,
          id: page[99]!.id,
        });
        if (saved.length !== 100)
          throw new ContractError(`page ${p / 100}: ${saved.length} new, expected 100`);
      }
      const t1 = performance.now();
      const back = await s.messages("room:big");
      const t2 = performance.now();
      const last = await s.messages("room:big", { limit: 50 });
      const t3 = performance.now();
      assertEqual(back.length, 10_000, "read back");
      for (let n = 0; n < back.length; n++)
        if (back[n]!.id !== all[n]!.id)
          throw new ContractError(`message ${n} is ${back[n]!.id}, expected ${all[n]!.id}`);
      assertEqual(ids(last), ids(all.slice(-50)), "the last 50");
      const ms = (x: number) => `${Math.round(x)} ms`;
      return `10,000 messages: written in ${ms(t1 - t0)} (100 pages of 100), read back in ${ms(t2 - t1)}, the last 50 in ${ms(t3 - t2)}`;
    }),

    c("what keeping commitments costs a catch-up: 500 pages that prove nothing, timed", async (o) => {
      const s = await o();
      // 100 receipts on /t, each listed by every page: the worst case, every receipt compared.
      const held = Array.from({ length: 100 }, (_, n) => `e${pad(n)}`);
      for (const [n, id] of held.entries())
        await s.saveReceipt(evidenceReceipt(id, 110 + n, { timestamp: 100 + n }));
      const page = (n: number, topic: string) =>
        commitment({ ids: held, contentTopics: [topic], timeEnd: MAX_U64, signature: sig(n + 1) });
      const per = async (topic: string) => {
        const t0 = performance.now();
        for (let n = 0; n < 500; n++)
          if ((await s.saveCommitment(page(n, topic))).length > 0)
            throw new ContractError(`page ${n} was kept: it proves nothing`);
        return (performance.now() - t0) / 500;
      };
      const covering = await per("/t");
      const elsewhere = await per("/x");
      for (const id of held) assertEqual(await s.omissionProofs(id), [], `no proof of ${id}`);
      const ms = (x: number) => `${x.toFixed(3)} ms`;
      return `commitments: ${ms(covering)} a page covering 100 receipts (all listed), ${ms(elsewhere)} a page on a topic with none`;
    }),
  ];
}

export function outgoingRecord(n: number, conversation: string, timestamp: number): OutgoingRecord {
  return {
    messageId: `m${pad(n)}`,
    envelopeId: `e${pad(n)}`,
    conversation,
    timestamp,
    state: "sending",
    storedBy: [],
    deliveredTo: [],
    attempts: 1,
  };
}

const A: Address = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
const B: Address = "0x0000000000000000000000000000000000000bee";
const P: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const Q: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const D1: ChannelDeployment = { chainId: 31337, channelsContract: A };

export function channelRecord(
  n: number,
  payee: Address,
  deployment: ChannelDeployment = D1,
  over: Partial<ChannelRecord> = {},
): ChannelRecord {
  return {
    channelId: `0x${n.toString(16).padStart(64, "0")}` as Hex,
    payee,
    salt: `0x${"01".repeat(32)}`,
    deposit: "1000",
    spent: "0",
    authorized: "0",
    ...deployment,
    ...over,
  };
}

export function channelStoreContract(open: Open<ChannelStore>): Case[] {
  const c = (name: string, body: (open: () => Promise<ChannelStore>) => Promise<unknown>) =>
    storeCase("channels", open, name, body);
  return [
    c("a new channel store is empty", async (o) => {
      const s = await o();
      assertEqual(await s.load(D1), { records: [], archived: [] }, "load");
    }),

    c("keeps the first session key, across a reopen", async (o) => {
      const s = await o();
      const k1: Hex = `0x${"11".repeat(32)}`;
      const k2: Hex = `0x${"22".repeat(32)}`;
      assertEqual(await s.saveSessionKey(k1), k1, "saved");
      assertEqual(await s.saveSessionKey(k2), k1, "a second key does not replace it");
      assertEqual((await s.load(D1)).sessionKey, k1, "loaded");
      await s.close();
      const t = await o();
      assertEqual((await t.load(D1)).sessionKey, k1, "after a reopen");
      assertEqual(await t.saveSessionKey(k2), k1, "still the first");
    }),

    c("keeps one live record per chain, contract and payee", async (o) => {
      const s = await o();
      const a = channelRecord(1, P);
      const elsewhere = channelRecord(2, P, { chainId: 11155111, channelsContract: A });
      const moved = channelRecord(3, P, { chainId: 31337, channelsContract: B });
      const q = channelRecord(4, Q);
      for (const r of [a, elsewhere, moved, q]) await s.put(r);
      const spent = { ...a, payee: P.toLowerCase() as Address, spent: "120", authorized: "150" };
      await s.put(spent);
      const keys = (rs: ChannelRecord[]) => rs.map((r) => r.channelId);
      const loaded = await s.load(D1);
      assertEqual(keys(loaded.records), keys([elsewhere, moved, spent, q].sort(byKey)), "every deployment's");
      assertEqual(
        loaded.records.find((r) => r.channelId === a.channelId),
        spent,
        "a record replaced by the same channel's (payee in any case)",
      );
      await s.remove({ chainId: 31337, channelsContract: A.toLowerCase() as Address, payee: P });
      await s.remove({ chainId: 1, channelsContract: A, payee: P });
      assertEqual(
        keys((await s.load(D1)).records),
        keys([elsewhere, moved, q].sort(byKey)),
        "after a removal",
      );
      await s.close();
      const t = await o();
      assertEqual((await t.load(D1)).records, [elsewhere, moved, q].sort(byKey), "after a reopen");
    }),

    c("archives a record and removes it from the live ones in one commit", async (o) => {
      const s = await o();
      const old = channelRecord(1, P, D1, { spent: "10" });
      await s.put(old);
      const archivedOld: ArchivedChannelRecord = { ...old, reason: "not on this chain", archivedAt: 2_000 };
      await s.archive(archivedOld);
      assertEqual(await s.load(D1), { records: [], archived: [archivedOld] }, "archived");
      const current = channelRecord(2, P);
      await s.put(current);
      // An older channel to the same payee, archived later: the current record stays.
      const older: ArchivedChannelRecord = {
        ...channelRecord(3, P),
        reason: "an older record",
        archivedAt: 1_000,
      };
      await s.archive(older);
      await s.close();
      const t = await o();
      assertEqual(
        await t.load(D1),
        { records: [current], archived: [older, archivedOld] },
        "live records and archived ones, oldest first, after a reopen",
      );
    }),
  ];
}

function byKey(a: ChannelRecord, b: ChannelRecord): number {
  return channelKey(a) < channelKey(b) ? -1 : 1;
}
