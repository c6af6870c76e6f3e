/**
 * The client's browser storage (IndexedDB) in real Chromium: the shared contract suites that
 * `packages/client/src/storage/sqlite.test.ts` runs on SQLite, and what only a browser has —
 * a transaction aborted mid-batch, a tab closed mid-save, a second tab, background compaction.
 */
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { channelStoreContract, storageContract } from "../../packages/client/src/storage/contract.ts";
import type { ClientStorage, StoredMessage } from "../../packages/client/src/storage/types.ts";
import { type BrowserHarness, bundleForBrowser, RUN_BROWSER_TESTS, startBrowserHarness } from "./harness.ts";

const STORAGE = "./packages/client/src/storage";

const ENTRY = `
import { channelStoreContract, message, storageContract } from "${STORAGE}/contract.ts";
import { openIndexedDbChannelStore } from "${STORAGE}/channels-indexeddb.ts";
import { DATABASE_UPGRADES, DATABASE_VERSION, openIndexedDbStorage, openPostboxDatabase, request } from "${STORAGE}/indexeddb.ts";

globalThis.postboxSuites = {
  storage: () => storageContract((name) => openIndexedDbStorage(name)),
  channels: () => channelStoreContract((name) => openIndexedDbChannelStore(name)),
};
globalThis.postboxStorage = { openIndexedDbStorage, openPostboxDatabase, request, message, DATABASE_UPGRADES, DATABASE_VERSION };
`;

/**
 * What the entry puts on the page for `page.evaluate`, typed without the DOM library (this
 * project's tests compile without it): `IndexedDbStorage`, `IDBDatabase` and `IDBRequest` as far
 * as these tests use them.
 */
type IndexedDbStorage = ClientStorage & { compact(conversation: string): Promise<number> };
interface PageDatabase {
  transaction(
    stores: string | string[],
    mode?: "readonly" | "readwrite",
  ): {
    objectStore(name: string): {
      count(): unknown;
      getAll(): unknown;
      put(value: unknown, key?: unknown): unknown;
      indexNames: { contains(name: string): boolean };
    };
  };
  objectStoreNames: { contains(name: string): boolean };
  version: number;
  close(): void;
}
interface PageStorage {
  openIndexedDbStorage(
    name: string,
    options?: { lockTimeoutMs?: number; seenLimit?: number },
  ): Promise<IndexedDbStorage>;
  openPostboxDatabase(name: string, version?: number): Promise<PageDatabase>;
  DATABASE_UPGRADES: readonly unknown[];
  DATABASE_VERSION: number;
  request<T>(r: unknown): Promise<T>;
  message(n: number, timestamp: number, over?: Partial<StoredMessage>): StoredMessage;
}
type PageGlobals = { postboxStorage: PageStorage; saved?: number };

it("the browser storage modules import nothing from node:", async () => {
  const { inputs } = await bundleForBrowser({
    contents: `export * from "${STORAGE}/indexeddb.ts"; export * from "${STORAGE}/channels-indexeddb.ts";
      export * from "${STORAGE}/contract.ts"; export * from "${STORAGE}/types.ts";`,
  });
  expect(inputs.filter((i) => i.startsWith("node:") || i.includes("sqlite"))).toEqual([]);
  for (const file of ["indexeddb", "channels-indexeddb", "contract", "types", "common", "errors"])
    expect(inputs, file).toContain(`packages/client/src/storage/${file}.ts`);
});

describe.skipIf(!RUN_BROWSER_TESTS)("storage in Chromium (IndexedDB)", () => {
  let h: BrowserHarness;
  let page: Page;

  beforeAll(async () => {
    h = await startBrowserHarness({ entry: { contents: ENTRY } });
    page = await h.newPage();
  });
  afterAll(() => h?.close());
  afterEach(() => {
    expect(h.problems.splice(0), "the browser reported errors").toEqual([]);
  });

  const unused = () => Promise.reject(new Error("runs in the page"));
  for (const [suite, cases] of [
    ["storage", storageContract(unused)],
    ["channels", channelStoreContract(unused)],
  ] as const)
    for (const c of cases)
      it(`${suite}: ${c.name}`, async () => {
        const r = await h.runCase(page, suite, c.name);
        if (r.note) console.log(`IndexedDB: ${r.note}`);
        expect(r.error).toBeUndefined();
        expect(r.ok).toBe(true);
      });

  it("upgrades a version 1 database in place: what it held stays, the evidence stores and index are added", async () => {
    const r = await page.evaluate(async () => {
      const { openIndexedDbStorage, openPostboxDatabase, request, DATABASE_UPGRADES, DATABASE_VERSION } = (
        globalThis as unknown as PageGlobals
      ).postboxStorage;
      // What a page of the previous release left: version 1, a receipt without evidence, a contact.
      const v1 = await openPostboxDatabase("upgrade-from-1", 1);
      const before = { version: v1.version, commitments: v1.objectStoreNames.contains("commitments") };
      const tx = v1.transaction(["receipts", "contacts"], "readwrite");
      await request(
        tx
          .objectStore("receipts")
          .put({ envelopeId: "ab".repeat(32), mailbox: "alpha", storedAt: 1, retainUntil: 2 }),
      );
      await request(tx.objectStore("contacts").put({ name: "carol", publicKey: "02".padEnd(66, "c") }));
      v1.close();
      // This release opens it.
      const s = await openIndexedDbStorage("upgrade-from-1");
      const receipts = await s.receipts("ab".repeat(32));
      const contacts = await s.contacts();
      await s.close();
      const v2 = await openPostboxDatabase("upgrade-from-1");
      const after = {
        version: v2.version,
        stores: ["commitments", "omissions"].map((n) => v2.objectStoreNames.contains(n)),
        evidenceIndex: v2.transaction("receipts").objectStore("receipts").indexNames.contains("evidence"),
      };
      v2.close();
      return { before, after, receipts, contacts, steps: DATABASE_UPGRADES.length, latest: DATABASE_VERSION };
    });
    expect(r.steps).toBe(r.latest);
    expect(r.before).toEqual({ version: 1, commitments: false });
    expect(r.after).toEqual({ version: r.latest, stores: [true, true], evidenceIndex: true });
    expect(r.receipts).toEqual([
      { envelopeId: "ab".repeat(32), mailbox: "alpha", storedAt: 1, retainUntil: 2 },
    ]);
    expect(r.contacts).toEqual([expect.objectContaining({ name: "carol" })]);
  });

  it("a transaction aborted mid-batch leaves nothing in the database", async () => {
    const r = await page.evaluate(async () => {
      const { openIndexedDbStorage, openPostboxDatabase, request, message } = (
        globalThis as unknown as PageGlobals
      ).postboxStorage;
      const s = await openIndexedDbStorage("aborted");
      await s.follow({ feed: "room:x", topic: "/t", since: 0 });
      // Three segments of 256; the third cannot be cloned, after the first two were put.
      const batch = Array.from({ length: 700 }, (_, n) =>
        message(n, n, n === 650 ? { text: (() => undefined) as unknown as string } : {}),
      );
      const error = await s.saveMessages(batch, { feed: "room:x", timestamp: 699, id: batch[699]!.id }).then(
        () => "saved",
        (e: Error) => `${e.name}: ${e.message.split("\n")[0]}`,
      );
      await s.close();
      const db = await openPostboxDatabase("aborted");
      const tx = db.transaction(["segments", "conversations", "feeds"]);
      const [segments, conversations, feeds] = await Promise.all([
        request<number>(tx.objectStore("segments").count()),
        request<number>(tx.objectStore("conversations").count()),
        request<{ lastTimestamp: number | null }[]>(tx.objectStore("feeds").getAll()),
      ]);
      db.close();
      return { error, segments, conversations, mark: feeds[0]!.lastTimestamp };
    });
    expect(r).toEqual({
      error: "StorageError: cannot save messages",
      segments: 0,
      conversations: 0,
      mark: null,
    });
  });

  it("a tab closed while saving keeps each batch whole or not at all, and no mark ahead of its messages", async () => {
    const writer = await h.newPage();
    await writer.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals;
      const s = await g.postboxStorage.openIndexedDbStorage("closed-tab");
      await s.follow({ feed: "room:x", topic: "/t", since: 0 });
      g.saved = 0;
      void (async () => {
        for (let b = 0; ; b++) {
          const batch = Array.from({ length: 1_000 }, (_, n) =>
            g.postboxStorage.message(b * 1_000 + n, b * 1_000 + n),
          );
          await s.saveMessages(batch, { feed: "room:x", timestamp: b * 1_000 + 999, id: batch[999]!.id });
          g.saved = b + 1;
        }
      })();
    });
    // Batches follow each other without a pause: when the tab closes, one is being written.
    await writer.waitForFunction(() => ((globalThis as unknown as PageGlobals).saved ?? 0) >= 3);
    await writer.close();
    const reader = await h.newPage();
    const r = await reader.evaluate(async () => {
      const s = await (globalThis as unknown as PageGlobals).postboxStorage.openIndexedDbStorage(
        "closed-tab",
      );
      const messages = await s.messages("room:x");
      const feed = (await s.feeds())[0]!;
      await s.close();
      return {
        count: messages.length,
        inOrder: messages.every((m, n) => m.timestamp === n),
        newest: messages.at(-1)?.timestamp ?? null,
        mark: feed.lastTimestamp,
      };
    });
    await reader.close();
    expect(r.count).toBeGreaterThanOrEqual(3_000);
    expect(r.count % 1_000).toBe(0);
    expect(r.inOrder).toBe(true);
    expect(r.mark).toBe(r.newest);
  });

  it("a second tab waits for the storage, then fails with a StorageBusyError until the first closes it", async () => {
    const other = await h.newPage();
    await page.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals & { held?: IndexedDbStorage };
      g.held = await g.postboxStorage.openIndexedDbStorage("two-tabs");
    });
    const refused = await other.evaluate(() =>
      (globalThis as unknown as PageGlobals).postboxStorage
        .openIndexedDbStorage("two-tabs", { lockTimeoutMs: 300 })
        .then(
          () => "opened",
          (e: Error & { shortMessage?: string }) => `${e.name}: ${e.shortMessage}`,
        ),
    );
    expect(refused).toBe("StorageBusyError: the chat is open in another tab");
    const waiting = other.evaluate(async () => {
      const s = await (globalThis as unknown as PageGlobals).postboxStorage.openIndexedDbStorage("two-tabs");
      await s.set("tab", "second");
      await s.close();
      return "opened";
    });
    await page.evaluate(() => (globalThis as unknown as { held: IndexedDbStorage }).held.close());
    expect(await waiting).toBe("opened");
    await other.close();
  });

  it("keeps each message once when its memory of ids is bounded and a batch reaches back past it", async () => {
    const r = await page.evaluate(async () => {
      const { openIndexedDbStorage, message } = (globalThis as unknown as PageGlobals).postboxStorage;
      const s = await openIndexedDbStorage("bounded", { seenLimit: 100 });
      const all = Array.from({ length: 1_000 }, (_, n) => message(n, 10_000 + n));
      for (let p = 0; p < 1_000; p += 100) await s.saveMessages(all.slice(p, p + 100));
      // The same envelopes, re-encrypted copies (same message id) and one new message, far back.
      const copies = all
        .filter((_, n) => n % 7 === 0)
        .map((m, n) => message(5_000 + n, m.timestamp, { messageId: m.messageId }));
      const fresh = message(9_999, 10_500);
      const again = await s.saveMessages([...all.slice(0, 300), ...copies, fresh]);
      const count = (await s.messages("room:x")).length;
      await s.close();
      return { again: again.map((m) => m.id), fresh: fresh.id, count };
    });
    expect(r.again).toEqual([r.fresh]);
    expect(r.count).toBe(1_001);
  });

  it("merges runs of one-message segments in the background, and reads the same", async () => {
    const r = await page.evaluate(async () => {
      const { openIndexedDbStorage, openPostboxDatabase, request, message } = (
        globalThis as unknown as PageGlobals
      ).postboxStorage;
      const s = await openIndexedDbStorage("compaction");
      const segments = async () => {
        const db = await openPostboxDatabase("compaction");
        const n = await request<number>(db.transaction("segments").objectStore("segments").count());
        db.close();
        return n;
      };
      // Live traffic: one saveMessages, one segment, per message.
      const live = Array.from({ length: 100 }, (_, n) => message(n, 1_000 + n));
      for (const m of live) await s.saveMessages([m]);
      await s.saveMessages([message(1_000, 2_000, { conversation: "room:y" })]);
      // Each 32 small segments written schedule a compaction: wait for them (at most 10 s).
      let background = await segments();
      for (const until = Date.now() + 10_000; background > 6 && Date.now() < until; ) {
        await new Promise((ok) => setTimeout(ok, 20));
        background = await segments();
      }
      await s.compact("room:x"); // what is left: one run
      const left = await segments();
      const all = (await s.messages("room:x")).map((m) => m.id);
      const page = (
        await s.messages("room:x", { limit: 5, before: { timestamp: 1_030, id: live[30]!.id } })
      ).map((m) => m.id);
      await s.close();
      return {
        background,
        left,
        same: all.join() === live.map((m) => m.id).join(),
        page,
        want: live.slice(25, 30).map((m) => m.id),
      };
    });
    expect(r.background).toBeLessThanOrEqual(6); // from 101
    expect(r.left).toBeLessThanOrEqual(3); // room:x: at most one full run and one small one; room:y
    expect(r.same).toBe(true);
    expect(r.page).toEqual(r.want);
  });
});
