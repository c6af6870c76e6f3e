import pg from "pg";
import { describe, expect, it } from "vitest";
import { PostgresArchive } from "../archive/postgres.js";
import { SqliteArchive } from "../archive/sqlite.js";
import { type ChannelAccount, type Ledger, PostgresLedger, SqliteLedger } from "./ledger.js";

function account(id: number, patch: Partial<ChannelAccount> = {}): ChannelAccount {
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

    it("lists what is left to redeem", async () => {
      const { ledger, close } = await open();
      await ledger.put(account(2));
      await ledger.put(account(3, { settledAmount: 5n, redeemed: 5n }));
      expect((await ledger.redeemable()).map((a) => a.channelId[0])).toEqual([2]);
      await ledger.markRedeemed(account(2).channelId, account(2).settledAmount);
      expect(await ledger.redeemable()).toEqual([]);
      await close();
    });
  });
}

ledgerSuite("SQLite", async () => {
  const archive = new SqliteArchive({ path: ":memory:" });
  return { ledger: new SqliteLedger(archive.database), close: () => archive.close() };
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
