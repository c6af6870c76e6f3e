import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Address, Hex } from "viem";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openSqliteChannelStore } from "./channels-sqlite.js";
import {
  channelRecord,
  channelStoreContract,
  evidenceReceipt,
  message,
  storageContract,
} from "./contract.js";
import { StorageError } from "./errors.js";
import { CLIENT_DB_VERSION, openSqliteStorage } from "./sqlite.js";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "postbox-storage-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("SQLite storage: the shared contract", () => {
  for (const c of storageContract((name) => openSqliteStorage(join(root, "contract", name))))
    it(c.name, async () => {
      const note = await c.run();
      if (note) console.log(`SQLite: ${note}`);
    });
});

describe("SQLite channel records: the shared contract", () => {
  for (const c of channelStoreContract((name) => openSqliteChannelStore(join(root, "channels", name))))
    it(c.name, () => c.run());
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), "postbox-storage-"));
  dirs.push(d);
  return d;
}
const mode = (path: string) => statSync(path).mode & 0o777;

/** `client.db` as the client wrote it before issue 18 (chat/local-store.ts at d84d0ae), kept verbatim. */
const CLIENT_DB_BEFORE_V2 = `
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

/** Schema 2's migration (the client of issue 18 until issue 20's evidence), kept verbatim. */
const CLIENT_DB_V2 = `ALTER TABLE messages ADD COLUMN message_id TEXT;
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
    not_before INTEGER NOT NULL, not_after INTEGER NOT NULL);`;

function writeClientDbBeforeV2(dir: string): void {
  const db = new DatabaseSync(join(dir, "client.db"));
  db.exec("PRAGMA journal_mode = WAL;");
  db.exec(CLIENT_DB_BEFORE_V2);
  const run = (sql: string, ...args: (string | number | null)[]) => db.prepare(sql).run(...args);
  run("INSERT INTO kv (key, value) VALUES (?, ?)", "identity", "0xkey");
  run("INSERT INTO kv (key, value) VALUES (?, ?)", "pin", "0xmailbox");
  run("INSERT INTO contacts (name, public_key) VALUES (?, ?)", "bob", "02bb");
  run("INSERT INTO feeds (feed, topic, key, since) VALUES (?, ?, ?, ?)", "inbox", "/inbox", null, 100);
  run(
    "INSERT INTO feeds (feed, topic, key, since, last_ts, last_id) VALUES (?, ?, ?, ?, ?, ?)",
    "room:x",
    "/room",
    null,
    100,
    2_000,
    "e2",
  );
  const insert = db.prepare(
    "INSERT INTO messages (id, conversation, ts, sender, text, outgoing) VALUES (?, ?, ?, ?, ?, ?)",
  );
  insert.run("e1", "dm:02bb", 1_000, "02bb", "hello", 0);
  insert.run("e2", "room:x", 2_000, "02aa", "hi room", 1);
  run("INSERT INTO receipts VALUES (?, ?, ?, ?)", "e2", "0xalpha", 2_001, 9_000);
  run("INSERT INTO mailbox_health VALUES (?, ?, ?)", "0xbeta", 2, 5_000);
  db.close();
}

describe("SQLite storage: files", () => {
  it("migrates a client.db written before v2: everything readable, nothing owed an ack, the file made 0600", async () => {
    const dir = folder();
    writeClientDbBeforeV2(dir);
    expect(mode(join(dir, "client.db"))).toBe(0o644); // what the umask gave it
    const s = await openSqliteStorage(dir);
    expect(await s.get("identity")).toBe("0xkey");
    expect(await s.get("pin")).toBe("0xmailbox");
    expect(await s.contacts()).toEqual([{ name: "bob", publicKey: "02bb" }]);
    expect(await s.feeds()).toEqual([
      { feed: "inbox", topic: "/inbox", key: null, since: 100, lastTimestamp: null, lastId: null },
      { feed: "room:x", topic: "/room", key: null, since: 100, lastTimestamp: 2_000, lastId: "e2" },
    ]);
    const hello = {
      id: "e1",
      messageId: "",
      version: 1,
      conversation: "dm:02bb",
      timestamp: 1_000,
      sender: "02bb",
      text: "hello",
      outgoing: false,
    };
    expect(await s.messages("dm:02bb")).toEqual([hello]);
    expect((await s.messages("room:x"))[0]).toMatchObject({ id: "e2", outgoing: true, version: 1 });
    expect(await s.unacked("dm:02bb", 10)).toEqual([]);
    expect(await s.receipts("e2")).toEqual([
      { envelopeId: "e2", mailbox: "0xalpha", storedAt: 2_001, retainUntil: 9_000 },
    ]);
    expect(await s.mailboxHealth()).toEqual([
      { mailbox: "0xbeta", failures: 2, graylistedUntil: 5_000, lastOkAt: null },
    ]);
    // The catch-up overlap brings the same envelope back: known. New v2 messages go beside.
    expect(await s.saveMessages([{ ...hello, messageId: "m1", version: 2 }])).toEqual([]);
    const v2 = message(3, 3_000, { conversation: "dm:02bb", sender: "02bb" });
    expect(await s.saveMessages([v2])).toEqual([v2]);
    expect(await s.unacked("dm:02bb", 10)).toEqual([v2.messageId]);
    await s.close();
    for (const f of ["client.db", "client.db-wal", "client.db-shm"])
      if (existsSync(join(dir, f))) expect(mode(join(dir, f)), f).toBe(0o600);
    const db = new DatabaseSync(join(dir, "client.db"));
    expect(db.prepare("PRAGMA user_version").get()).toEqual({ user_version: CLIENT_DB_VERSION });
    db.close();
    // Opening again migrates nothing twice.
    const again = await openSqliteStorage(dir);
    expect((await again.messages("dm:02bb")).map((m) => m.id)).toEqual(["e1", v2.id]);
    await again.close();
  });

  it("migrates a client.db of schema 2 (before evidence): its receipts kept, evidence and commitments saved beside", async () => {
    const dir = folder();
    writeClientDbBeforeV2(dir);
    const db = new DatabaseSync(join(dir, "client.db"));
    db.exec(`BEGIN; ${CLIENT_DB_V2}; PRAGMA user_version = 2; COMMIT;`);
    db.prepare("INSERT INTO receipts VALUES (?, ?, ?, ?)").run("e3", "0xbeta", 3_001, 9_000);
    db.close();
    const s = await openSqliteStorage(dir);
    expect(await s.receipts("e2")).toEqual([
      { envelopeId: "e2", mailbox: "0xalpha", storedAt: 2_001, retainUntil: 9_000 },
    ]);
    expect(await s.receipts("e3")).toEqual([
      { envelopeId: "e3", mailbox: "0xbeta", storedAt: 3_001, retainUntil: 9_000 },
    ]);
    expect(await s.evidenceReceipts()).toEqual([]);
    const kept = evidenceReceipt("e4", 110, { timestamp: 100 });
    await s.saveReceipt(kept);
    expect(await s.evidenceReceipts()).toEqual([kept]);
    const c = {
      mailbox: "alpha",
      operator: kept.evidence!.operator,
      contentTopics: ["/t"],
      timeStart: 0n,
      timeEnd: (1n << 64n) - 1n,
      ids: ["e2"],
      nextCursor: `0x${"00".repeat(32)}` as Hex,
      servedAt: 500,
      signature: `0x${"ab".repeat(65)}` as Hex,
    };
    expect(await s.saveCommitment(c)).toEqual(["e4"]);
    await s.close();
    const again = await openSqliteStorage(dir);
    expect(await again.omissionProofs("e4")).toEqual([c]);
    expect((await again.messages("dm:02bb")).map((m) => m.id)).toEqual(["e1"]);
    await again.close();
  });

  it("creates client.db and channels.db 0600 in a 0700 folder, in WAL mode", async () => {
    const dir = join(folder(), "data");
    const s = await openSqliteStorage(dir);
    await s.set("identity", "k");
    const c = await openSqliteChannelStore(dir);
    await c.saveSessionKey(`0x${"11".repeat(32)}`);
    expect(mode(dir)).toBe(0o700);
    for (const f of ["client.db", "client.db-wal", "channels.db", "channels.db-wal"])
      expect(mode(join(dir, f)), f).toBe(0o600);
    await s.close();
    await c.close();
    for (const f of ["client.db", "channels.db"]) {
      const db = new DatabaseSync(join(dir, f));
      expect(db.prepare("PRAGMA journal_mode").get(), f).toEqual({ journal_mode: "wal" });
      db.close();
    }
  });

  it("refuses a client.db of a newer version, and a folder that is a file, with a one-line StorageError", async () => {
    const dir = folder();
    const db = new DatabaseSync(join(dir, "client.db"));
    db.exec("PRAGMA user_version = 99");
    db.close();
    const newer = await openSqliteStorage(dir).catch((e: unknown) => e);
    expect(newer).toBeInstanceOf(StorageError);
    expect((newer as StorageError).shortMessage).toMatch(
      /client\.db was written by a newer version of Postbox$/,
    );
    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    for (const open of [openSqliteStorage, openSqliteChannelStore]) {
      const err = await open(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).shortMessage).toBe(
        `cannot open ${file}/${open === openSqliteStorage ? "client" : "channels"}.db`,
      );
      expect((err as StorageError).details).not.toContain("\n");
    }
  });
});

const deployment = {
  chainId: 31337,
  channelsContract: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as Address,
};
const payee: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const sessionKey: Hex = `0x${"5e".repeat(32)}`;
/** A record as versions before chain naming kept it (no chain id, no contract). */
const unnamed = (n: number) => {
  const { chainId: _c, channelsContract: _a, ...r } = channelRecord(n, payee, deployment, { spent: "10" });
  return r;
};
const named = (n: number) => channelRecord(n, payee, deployment, { spent: "10" });
const liveKey = `channel:31337:${deployment.channelsContract.toLowerCase()}:${payee.toLowerCase()}`;

function keysOf(dir: string): string[] {
  const db = new DatabaseSync(join(dir, "channels.db"));
  const rows = db.prepare("SELECT key FROM records ORDER BY key").all() as { key: string }[];
  db.close();
  return rows.map((r) => r.key);
}

/** A channels.db of an earlier version, with these rows. */
function writeChannelsDb(dir: string, rows: [string, string][]): void {
  const db = new DatabaseSync(join(dir, "channels.db"));
  db.exec("CREATE TABLE records (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT");
  for (const [k, v] of rows) db.prepare("INSERT INTO records (key, value) VALUES (?, ?)").run(k, v);
  db.close();
}

describe("SQLite channel records: what earlier versions wrote", () => {
  it("imports a channels.json once, naming its records after the deployment, and renames it", async () => {
    const dir = folder();
    const json = join(dir, "channels.json");
    writeFileSync(json, JSON.stringify({ sessionKey, channels: { [payee.toLowerCase()]: unnamed(1) } }));
    const s = await openSqliteChannelStore(dir);
    expect(await s.load(deployment)).toEqual({ sessionKey, records: [named(1)], archived: [] });
    expect(existsSync(json)).toBe(false);
    expect(JSON.parse(readFileSync(`${json}.imported`, "utf8")).sessionKey).toBe(sessionKey);
    // A channels.json appearing later is not imported again: the database has a session key.
    writeFileSync(json, JSON.stringify({ sessionKey: `0x${"99".repeat(32)}`, channels: {} }));
    expect((await s.load(deployment)).sessionKey).toBe(sessionKey);
    expect(existsSync(json)).toBe(true);
    await s.close();
    expect(keysOf(dir)).toEqual([liveKey, "sessionKey"]);
  });

  it("names channel:<payee> rows after the deployment, archiving one that meets a named record", async () => {
    const dir = folder();
    writeChannelsDb(dir, [
      ["sessionKey", sessionKey],
      [`channel:${payee.toLowerCase()}`, JSON.stringify(unnamed(1))],
    ]);
    const s = await openSqliteChannelStore(dir);
    expect(await s.load(deployment)).toEqual({ sessionKey, records: [named(1)], archived: [] });
    expect(keysOf(dir)).toEqual([liveKey, "sessionKey"]);
    // A second unnamed record of the same payee (say, restored from a backup) is archived.
    const db = new DatabaseSync(join(dir, "channels.db"));
    db.prepare("INSERT INTO records (key, value) VALUES (?, ?)").run(
      `channel:${payee}`,
      JSON.stringify(unnamed(2)),
    );
    db.close();
    const loaded = await s.load(deployment);
    expect(loaded.records).toEqual([named(1)]);
    expect(loaded.archived).toEqual([
      {
        ...named(2),
        reason: "an older record of a channel to the same mailbox",
        archivedAt: expect.any(Number),
      },
    ]);
    await s.close();
    expect(keysOf(dir)).toEqual([`archived:${named(2).channelId}`, liveKey, "sessionKey"]);
  });

  it("reads and writes channels.db exactly as channels.ts did once it named each record's chain", async () => {
    const dir = folder();
    const archived = {
      ...named(2),
      reason: "closed and withdrawn on this chain",
      archivedAt: 1_700_000_000_000,
    };
    const other = channelRecord(3, payee, {
      chainId: 11155111,
      channelsContract: deployment.channelsContract,
    });
    const rows: [string, string][] = [
      ["sessionKey", sessionKey],
      [liveKey, JSON.stringify(named(1))],
      [`archived:${archived.channelId}`, JSON.stringify(archived)],
      [
        `channel:11155111:${deployment.channelsContract.toLowerCase()}:${payee.toLowerCase()}`,
        JSON.stringify(other),
      ],
    ];
    writeChannelsDb(dir, rows);
    const s = await openSqliteChannelStore(dir);
    expect(await s.load(deployment)).toEqual({
      sessionKey,
      records: [other, named(1)], // by key: chain 11155111 before 31337
      archived: [archived],
    });
    await s.put({ ...named(1), spent: "77", authorized: "90" });
    await s.close();
    const db = new DatabaseSync(join(dir, "channels.db"));
    const after = db.prepare("SELECT key, value FROM records ORDER BY key").all() as {
      key: string;
      value: string;
    }[];
    db.close();
    expect(after.map((r) => [r.key, r.key === "sessionKey" ? r.value : JSON.parse(r.value)])).toEqual(
      [...rows]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [
          k,
          k === "sessionKey"
            ? v
            : k === liveKey
              ? { ...named(1), spent: "77", authorized: "90" }
              : JSON.parse(v),
        ]),
    );
  });
});
