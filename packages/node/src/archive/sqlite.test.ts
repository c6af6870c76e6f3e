import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { toBareHex } from "@postbox/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { archiveSuite, envelope } from "./archive.testkit.js";
import { pageSql, SCAN_BATCH_SQL, SCAN_LAST_SQL, SqliteArchive } from "./sqlite.js";
import type { StoredEnvelope } from "./types.js";

const dir = mkdtempSync(join(tmpdir(), "postbox-sqlite-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

archiveSuite(
  "SQLite",
  async () => new SqliteArchive({ path: join(dir, `archive-${++n}.sqlite`) }),
  async (a) => {
    await a.close();
    return new SqliteArchive({ path: join(dir, `archive-${n}.sqlite`) });
  },
);

// Pages read on the main connection: the path an archive takes without its reader thread.
archiveSuite(
  "SQLite (no reader thread)",
  async () => new SqliteArchive({ path: join(dir, `archive-${++n}.sqlite`), readerThread: false }),
  async (a) => {
    await a.close();
    return new SqliteArchive({ path: join(dir, `archive-${n}.sqlite`), readerThread: false });
  },
);

describe("SQLite archive internals", () => {
  const T0 = 1_700_000_000_000n;

  it("moves ids from ids_recent into ids in slices and finds every id through both", async () => {
    const path = join(dir, `lsm-${++n}.sqlite`);
    let archive = new SqliteArchive({ path, recentIds: 40 });
    const all: StoredEnvelope[] = [];
    for (let b = 0; b < 30; b++) {
      const batch = Array.from({ length: 25 }, (_, i) =>
        envelope(`/t/${i % 3}`, T0 + BigInt((b * 25 + i) * 60_000), `lsm ${b}/${i}`),
      );
      await archive.insert(batch);
      all.push(...batch);
      const count = (table: string) =>
        Number((archive.database.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n);
      // ids_recent stays at its share; ids takes the rest; nothing is lost or doubled.
      expect(count("ids_recent")).toBe(Math.min(40, all.length));
      expect(count("ids") + count("ids_recent")).toBe(all.length);
    }
    const ids = all.map((e) => e.id);
    expect((await archive.presence(ids)).length).toBe(all.length);
    // Retention removes ids from whichever table holds them.
    expect(await archive.prune({ maxCount: 300 }, Number(T0), 1_000)).toBe(450);
    archive = await reopened(archive, path);
    const kept = all.slice(450);
    expect((await archive.presence(ids)).map((h) => toBareHex(h.id))).toEqual(
      kept.map((e) => toBareHex(e.id)),
    );
    for (const e of kept) expect(await archive.position(e.id)).toEqual({ timestamp: e.timestamp, id: e.id });
    const rows = archive.database
      .prepare("SELECT (SELECT COUNT(*) FROM ids) + (SELECT COUNT(*) FROM ids_recent) AS n")
      .get() as { n: number };
    expect(Number(rows.n)).toBe(300);
    // An emptied hour leaves topic_epochs with the envelopes.
    const epochs = archive.database.prepare("SELECT COUNT(*) AS n FROM topic_epochs").get() as { n: number };
    const live = archive.database
      .prepare("SELECT COUNT(*) AS n FROM (SELECT DISTINCT tid, ep FROM envelopes)")
      .get() as { n: number };
    expect(Number(epochs.n)).toBe(Number(live.n));
    await archive.close();
  });

  it("keys ids by their first 8 bytes as a signed big-endian 64-bit integer (the on-disk format)", async () => {
    const path = join(dir, `idh-${++n}.sqlite`);
    const archive = new SqliteArchive({ path });
    const batch = Array.from({ length: 300 }, (_, i) => envelope("/t/idh", T0 + BigInt(i), `idh ${i}`));
    await archive.insert(batch);
    const statement = archive.database.prepare(
      "SELECT r.idh AS idh, e.id AS id FROM ids_recent r JOIN envelopes e ON e.seq = r.seq",
    );
    statement.setReadBigInts(true);
    const rows = statement.all() as { idh: bigint; id: Uint8Array }[];
    expect(rows.length).toBe(300);
    // Both signs occur among 300 hashes; every key is the id's head read by a DataView.
    const heads = rows.map(({ id }) => new DataView(id.buffer, id.byteOffset, 8).getBigInt64(0));
    expect(heads.some((h) => h < 0n) && heads.some((h) => h > 0n)).toBe(true);
    expect(rows.map((r) => r.idh)).toEqual(heads);
    expect((await archive.presence(batch.map((e) => e.id))).length).toBe(300);
    await archive.close();
  });

  it("never sorts or scans the whole archive for a page", async () => {
    const archive = new SqliteArchive({ path: ":memory:" });
    for (const forward of [true, false])
      for (const cursor of [true, false])
        for (const start of [true, false])
          for (const end of [true, false]) {
            const sql = pageSql({ forward, cursor, start, end });
            const params = Array.from({ length: sql.split("?").length - 1 }, () => 1);
            const plan = (
              archive.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]
            ).map((r) => r.detail);
            // The one scan allowed is the aggregate's, over the page's own rows (the subquery).
            expect(plan.join(" | ")).not.toMatch(/TEMP B-TREE|SCAN (?!\(subquery-\d+\)$)/);
            expect(plan.at(-1)).toMatch(/^SCAN \(subquery-\d+\)$/);
            expect(plan.join(" | ")).toMatch(
              /SEARCH t USING PRIMARY KEY \(tid=\?.*SEARCH e USING INDEX envelopes_order \(ep=\? AND tid=\?/,
            );
          }
    await archive.close();
  });

  it("upgrades a version 1 archive in place, reporting each step", async () => {
    const path = join(dir, `v1-${++n}.sqlite`);
    const v1 = new DatabaseSync(path);
    v1.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE topics (tid INTEGER PRIMARY KEY, topic TEXT NOT NULL UNIQUE);
      CREATE TABLE envelopes (seq INTEGER PRIMARY KEY, tid INTEGER NOT NULL, ts INTEGER NOT NULL,
        id BLOB NOT NULL, idh INTEGER NOT NULL, version INTEGER NOT NULL, payload BLOB NOT NULL,
        size INTEGER NOT NULL, received_at INTEGER NOT NULL);
      CREATE UNIQUE INDEX envelopes_order ON envelopes (tid, ts, id);
      CREATE INDEX envelopes_idh ON envelopes (idh);
      PRAGMA user_version = 1;`);
    const old = Array.from({ length: 50 }, (_, i) =>
      envelope(`/t/${i % 2}`, T0 + BigInt(i) * 1_800_000n, `old ${i}`),
    );
    v1.exec("INSERT INTO topics (tid, topic) VALUES (1, '/t/0'), (2, '/t/1')");
    const put = v1.prepare(
      "INSERT INTO envelopes (tid, ts, id, idh, version, payload, size, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (const e of old)
      put.run(
        e.contentTopic === "/t/0" ? 1 : 2,
        e.timestamp,
        e.id,
        new DataView(e.id.buffer, e.id.byteOffset, 8).getBigInt64(0),
        e.version,
        e.payload,
        e.payload.length,
        e.receivedAt,
      );
    v1.close();

    const steps: string[] = [];
    const archive = new SqliteArchive({ path, onUpgrade: (step) => steps.push(step) });
    expect(steps.length).toBe(7);
    expect(steps[0]).toMatch(/^schema 1 → 2: /);
    expect(steps[6]).toMatch(/^schema 2 → 3: count the archive once/);
    expect(
      (archive.database.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    ).toBe(3);
    expect(await archive.stats()).toEqual({
      envelopes: 50,
      payloadBytes: old.reduce((n, e) => n + e.payload.length, 0),
    });
    // Old envelopes page in order, resolve as cursors, and still deduplicate.
    const page = await archive.query({ topics: ["/t/0", "/t/1"], forward: false, limit: 100 });
    expect(page.envelopes.map((e) => toBareHex(e.id))).toEqual(
      [...old].reverse().map((e) => toBareHex(e.id)),
    );
    expect(await archive.position(old[7]!.id)).toEqual({ timestamp: old[7]!.timestamp, id: old[7]!.id });
    expect(await archive.insert([old[3]!, envelope("/t/0", T0 + 99n, "new")])).toHaveLength(1);
    await archive.close();
    // A second open finds version 3 and has nothing to do; the insert above was counted.
    const again = new SqliteArchive({ path, onUpgrade: (step) => steps.push(step) });
    expect(steps.length).toBe(7);
    expect((await again.stats()).envelopes).toBe(51);
    await again.close();
  });

  it("keeps its totals in the transactions that change them, and reads them at start", async () => {
    const path = join(dir, `totals-${++n}.sqlite`);
    let archive = new SqliteArchive({ path });
    const all = Array.from({ length: 40 }, (_, i) =>
      envelope(`/t/${i % 3}`, T0 + BigInt(i) * 1_000n, `totals ${i} ${"x".repeat(i)}`),
    );
    await archive.insert(all.slice(0, 30));
    await archive.insert(all.slice(20)); // 10 of them again: not counted twice
    expect(await archive.prune({ maxCount: 33 }, Number(T0), 100)).toBe(7);
    const truth = () =>
      archive.database
        .prepare("SELECT COUNT(*) AS envelopes, SUM(size) AS payloadBytes FROM envelopes")
        .get() as { envelopes: number; payloadBytes: number };
    const expected = { ...truth() };
    expect(expected.envelopes).toBe(33);
    expect(await archive.stats()).toEqual(expected);
    archive = await reopened(archive, path);
    expect(await archive.stats()).toEqual(expected);
    // A rolled-back insert changes nothing (a topic name too long for nothing: the statement fails).
    const stored = archive.database.prepare("SELECT envelopes, bytes FROM archive_totals").get();
    archive.database.exec(
      "CREATE TEMP TRIGGER fail BEFORE INSERT ON envelopes BEGIN SELECT RAISE(ABORT, 'no'); END",
    );
    await expect(archive.insert([envelope("/t/9", T0, "refused")])).rejects.toThrow(/insert failed/);
    archive.database.exec("DROP TRIGGER fail");
    expect(archive.database.prepare("SELECT envelopes, bytes FROM archive_totals").get()).toEqual(stored);
    expect(await archive.stats()).toEqual(expected);
    // Starting reads neither the table nor its payloads: the totals row, and the scan an index only.
    const plan = (sql: string, ...params: (number | bigint | Uint8Array)[]) =>
      (archive.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
        .map((r) => r.detail)
        .join(" | ");
    expect(plan("SELECT envelopes, bytes FROM archive_totals WHERE k = 0")).toMatch(
      /SEARCH archive_totals USING INTEGER PRIMARY KEY/,
    );
    // The scan's statements read the order index only: the table's cursor is opened for a deferred
    // seek that no column ever resolves (EXPLAIN QUERY PLAN does not call an index with a virtual
    // column "covering", so the bytecode is what tells).
    const { rootpage } = archive.database
      .prepare("SELECT rootpage FROM sqlite_master WHERE name = 'envelopes'")
      .get() as { rootpage: number };
    for (const [sql, params] of [
      [SCAN_BATCH_SQL, [0, 0, 0, new Uint8Array(0), 10]],
      [SCAN_LAST_SQL, [0, 0, 0, new Uint8Array(0), 9]],
    ] as const) {
      expect(plan(sql, ...params)).toMatch(/SEARCH envelopes USING INDEX envelopes_order/);
      expect(plan(sql, ...params)).not.toMatch(/TEMP B-TREE/);
      const code = archive.database.prepare(`EXPLAIN ${sql}`).all(...params) as {
        opcode: string;
        p1: number;
        p2: number;
      }[];
      const table = code.find((op) => op.opcode === "OpenRead" && op.p2 === rootpage)?.p1;
      expect(table).toBeDefined();
      expect(
        code.filter(
          (op) => op.p1 === table && /^(Column|Rowid|SeekRowid|NotExists|SeekGE|SeekGT)$/.test(op.opcode),
        ),
      ).toEqual([]);
      expect(code.some((op) => op.opcode === "Column")).toBe(true);
    }
    await archive.close();
  });

  it("refuses an archive from a newer schema with a clear error", async () => {
    const path = join(dir, `v9-${++n}.sqlite`);
    const future = new DatabaseSync(path);
    future.exec("CREATE TABLE envelopes (seq INTEGER PRIMARY KEY); PRAGMA user_version = 9;");
    future.close();
    expect(() => new SqliteArchive({ path })).toThrow(/archive schema version 9 is not 3/);
  });
});

async function reopened(archive: SqliteArchive, path: string): Promise<SqliteArchive> {
  await archive.close();
  return new SqliteArchive({ path, recentIds: 40 });
}
