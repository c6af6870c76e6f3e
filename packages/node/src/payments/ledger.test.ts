import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { PostgresArchive } from "../archive/postgres.js";
import { SqliteArchive } from "../archive/sqlite.js";
import { type ChannelAccount, type Ledger, PostgresLedger, SqliteLedger } from "./ledger.js";

/** An account; one given only a `spent` amount is settled up to it (settled ≤ spent always holds). */
function account(id: number, patch: Partial<ChannelAccount> = {}): ChannelAccount {
  const settled =
    patch.spent !== undefined && patch.settledAmount === undefined ? { settledAmount: patch.spent } : {};
  return {
    channelId: new Uint8Array(32).fill(id),
    spent: 10n ** 20n + 5n, // beyond 64 bits on purpose
    authorizedAmount: 10n ** 20n + 7n,
    authorizedSignature: new Uint8Array(65).fill(1),
    settledAmount: 10n ** 20n + 5n,
    settledSignature: new Uint8Array(65).fill(2),
    redeemed: 0n,
    updatedAt: 1_700_000_000_000,
    ...patch,
    ...settled,
  };
}

function ledgerSuite(name: string, open: () => Promise<{ ledger: Ledger; close: () => Promise<void> }>) {
  describe(`${name} ledger`, () => {
    it("stores accounts exactly (uint96 amounts) and replaces them", async () => {
      const { ledger, close } = await open();
      expect(await ledger.get(account(1).channelId)).toBeUndefined();
      await ledger.put(account(1));
      expect(await ledger.get(account(1).channelId)).toEqual(account(1));
      await ledger.put(account(1, { spent: 42n }));
      expect((await ledger.get(account(1).channelId))?.spent).toBe(42n);
      await close();
    });

    it("refuses an account that claims more than it served, or served more than was authorised", async () => {
      const { ledger, close } = await open();
      await ledger.put(account(5, { spent: 100n }));
      await expect(ledger.put(account(5, { spent: 100n, settledAmount: 101n }))).rejects.toThrow(
        /ledger write refused: settled 101 ≤ spent 100/,
      );
      await expect(ledger.put(account(5, { spent: 10n ** 21n }))).rejects.toThrow(/ledger write refused/);
      expect((await ledger.get(account(5).channelId))?.spent).toBe(100n); // nothing written
      await ledger.put(account(5, { spent: 200n })); // and the ledger still takes good writes
      expect((await ledger.redeemable()).find((a) => a.channelId[0] === 5)?.settledAmount).toBe(200n);
      await close();
    });

    it("lists what is left to redeem", async () => {
      const { ledger, close } = await open();
      await ledger.put(account(2));
      await ledger.put(account(3, { settledAmount: 5n, redeemed: 5n }));
      expect((await ledger.redeemable()).map((a) => a.channelId[0])).toEqual([2]);
      await ledger.markRedeemed(account(2).channelId, account(2).settledAmount);
      expect(await ledger.redeemable()).toEqual([]);
      await close();
    });

    it("keeps a charge made while a redemption is recorded (only the column changes)", async () => {
      const { ledger, close } = await open();
      await ledger.put(account(4, { spent: 100n }));
      // Issued together, in this order: the redemption must not write back the old amounts.
      const writes = [
        ledger.markRedeemed(account(4).channelId, 60n),
        ledger.put(account(4, { spent: 150n, redeemed: 0n })),
        ledger.markRedeemed(account(4).channelId, 90n),
      ];
      await Promise.all(writes);
      const a = await ledger.get(account(4).channelId);
      expect(a?.spent).toBe(150n);
      expect(a?.redeemed).toBe(90n);
      await close();
    });

    it("commits concurrent writes to many accounts, each exactly once", async () => {
      const { ledger, close } = await open();
      await Promise.all(
        Array.from({ length: 200 }, (_, i) => ledger.put(account(10 + (i % 50), { spent: BigInt(i) }))),
      );
      for (let c = 0; c < 50; c++)
        expect((await ledger.get(account(10 + c).channelId))?.spent).toBe(BigInt(150 + c));
      await close();
    });
  });
}

ledgerSuite("SQLite file (commits on a worker thread)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-ledger-"));
  const path = join(dir, "ledger.sqlite");
  const ledger = new SqliteLedger({ path });
  return {
    ledger,
    close: async () => {
      await ledger.close();
      // What was acknowledged is on disk: a fresh connection reads the same accounts.
      const reread = new SqliteLedger({ path });
      for (const a of await reread.redeemable()) expect(a).toEqual(await ledger.get(a.channelId));
      await reread.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

ledgerSuite("SQLite in memory", async () => {
  const ledger = new SqliteLedger({ path: ":memory:" });
  return { ledger, close: () => ledger.close() };
});

describe("SQLite ledger failures", () => {
  it("refuses a write whose commit fails, and commits the next ones once it can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-ledger-"));
    const path = join(dir, "ledger.sqlite");
    const ledger = new SqliteLedger({ path });
    await ledger.put(account(1));
    const other = new DatabaseSync(path);
    other.exec("ALTER TABLE channel_accounts RENAME TO gone");
    await expect(ledger.put(account(2))).rejects.toThrow(/ledger write failed/);
    other.exec("ALTER TABLE gone RENAME TO channel_accounts");
    other.close();
    await ledger.put(account(3));
    expect((await ledger.redeemable()).map((a) => a.channelId[0]).sort()).toEqual([1, 3]);
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("SQLite ledger upgrade", () => {
  it("moves the accounts an earlier version kept in the archive's database", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-ledger-"));
    const archive = new SqliteArchive({ path: join(dir, "archive.sqlite") });
    // The earlier layout: the same table inside the archive's file.
    const old = new SqliteLedger({ path: ":memory:" });
    await old.put(account(7));
    await old.put(account(8, { spent: 3n }));
    const rows = await old.redeemable();
    await old.close();
    archive.database.exec(`CREATE TABLE channel_accounts (channel_id BLOB PRIMARY KEY, spent TEXT NOT NULL,
      authorized_amount TEXT NOT NULL, authorized_signature BLOB NOT NULL, settled_amount TEXT NOT NULL,
      settled_signature BLOB NOT NULL, redeemed TEXT NOT NULL, updated_at INTEGER NOT NULL)`);
    const insert = archive.database.prepare("INSERT INTO channel_accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const a of [account(7), account(8, { spent: 3n })]) {
      insert.run(
        a.channelId,
        `${a.spent}`,
        `${a.authorizedAmount}`,
        a.authorizedSignature,
        `${a.settledAmount}`,
        a.settledSignature,
        `${a.redeemed}`,
        a.updatedAt,
      );
    }
    const ledger = new SqliteLedger({ path: join(dir, "ledger.sqlite"), importFrom: archive.database });
    expect(await ledger.get(account(7).channelId)).toEqual(account(7));
    expect((await ledger.get(account(8).channelId))?.spent).toBe(3n);
    expect(rows.length).toBe(2);
    expect(
      archive.database.prepare("SELECT name FROM sqlite_master WHERE name = 'channel_accounts'").get(),
    ).toBe(undefined);
    await ledger.close();
    await archive.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

const url = process.env.POSTBOX_TEST_POSTGRES_URL;
if (url) {
  let n = 0;
  ledgerSuite("PostgreSQL", async () => {
    const schema = `postbox_ledger_${process.pid}_${++n}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    const archive = await PostgresArchive.open({
      url: `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    });
    return { ledger: new PostgresLedger(archive.pool), close: () => archive.close() };
  });
}

if (url) {
  describe("PostgreSQL ledger shared by several nodes", () => {
    it("charges a voucher's credit exactly once however many connections draw on it at once", async () => {
      const schema = `postbox_ledger_shared_${process.pid}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
      const db = `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      // Two archives (two pools), as two nodes have.
      const archives = [await PostgresArchive.open({ url: db }), await PostgresArchive.open({ url: db })];
      const ledgers = archives.map((a) => new PostgresLedger(a.pool));
      try {
        const channelId = new Uint8Array(32).fill(9);
        const v1 = { amount: 10n ** 18n + 1n, signature: new Uint8Array(65).fill(1) };
        const cost = 3n * 10n ** 16n; // 33 pages fit in v1, with 10^16 + 1 left
        const charge = (i: number, v: typeof v1) =>
          ledgers[i % 2]!.charge({ channelId, ...v, cost, paid: 0n, now: i });
        const first = await Promise.all(Array.from({ length: 60 }, (_, i) => charge(i, v1)));
        expect(first.filter(Boolean).length).toBe(33);
        let row = await ledgers[0]!.get(channelId);
        expect(row!.spent).toBe(33n * cost);
        expect(row!.authorizedAmount).toBe(v1.amount);
        // A higher voucher and the old one at once, from both nodes: the old one's 10^16 + 1 is
        // below a page, so only the new one pays, and exactly up to its amount.
        const v2 = { amount: 40n * cost, signature: new Uint8Array(65).fill(3) };
        const second = await Promise.all(
          Array.from({ length: 20 }, (_, i) => charge(i, i % 3 === 0 ? v1 : v2)),
        );
        row = await ledgers[1]!.get(channelId);
        expect(second.filter(Boolean).length).toBe(7);
        expect(row!.spent).toBe(40n * cost);
        // The spending reached v2 exactly: v2 is the settled (redeemable) voucher, and it settles.
        expect(row!.settledAmount).toBe(v2.amount);
        expect(row!.settledSignature).toEqual(v2.signature);
        expect(await ledgers[0]!.settle!(channelId, v2.amount - 1n, v2.signature, 1)).toBeUndefined();
        expect((await ledgers[0]!.settle!(channelId, v2.amount, v2.signature, 1))!.settledAmount).toBe(
          v2.amount,
        );
      } finally {
        for (const a of archives) await a.close();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    });
  });
}
