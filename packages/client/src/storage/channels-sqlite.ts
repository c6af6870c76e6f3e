import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { Hex } from "viem";
import {
  archivedKey,
  type ChannelRows,
  channelKey,
  channelRecords,
  nameChannelRecords,
  readChannelRows,
  SESSION_KEY,
  type UnnamedChannelRecord,
} from "./common.js";
import { StorageError, storageError } from "./errors.js";
import { openDatabaseFile, transaction } from "./sqlite.js";
import type {
  ArchivedChannelRecord,
  ChannelDeployment,
  ChannelKey,
  ChannelRecord,
  ChannelRecords,
  ChannelStore,
} from "./types.js";

/**
 * The payment channels' records in Node: `channels.db` in the data folder (SQLite, WAL, mode
 * 0600; one row per record, `records (key, value)` with the keys channels.ts has written since it
 * named each record's chain: `sessionKey`, `channel:<chain id>:<contract>:<payee>`,
 * `archived:<channel id>`). Loading imports what earlier versions left: a `channels.json`
 * (renamed `channels.json.imported` once its content is committed) and `channel:<payee>` rows.
 */
export class SqliteChannelStore implements ChannelStore {
  readonly #dir: string;
  readonly #db: DatabaseSync;

  constructor(dataDir: string) {
    this.#dir = dataDir;
    this.#db = openDatabaseFile(dataDir, "channels.db");
    try {
      this.#db.exec("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT");
    } catch (err) {
      this.#db.close();
      throw storageError("cannot open the channel records", err);
    }
  }

  #put(key: string, value: unknown): void {
    this.#db
      .prepare("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)")
      .run(key, typeof value === "string" ? value : JSON.stringify(value));
  }

  #delete(key: string): void {
    this.#db.prepare("DELETE FROM records WHERE key = ?").run(key);
  }

  async load(deployment: ChannelDeployment): Promise<ChannelRecords> {
    let imported = false;
    const legacy = join(this.#dir, "channels.json");
    const rows = this.#write("cannot read the channel records", () => {
      const rows = readChannelRows(
        (this.#db.prepare("SELECT key, value FROM records").all() as { key: string; value: string }[]).map(
          ({ key, value }) => [key, key === SESSION_KEY ? value : parseRecord(key, value)] as const,
        ),
      );
      if (rows.sessionKey === undefined) imported = importJson(legacy, rows);
      if (imported) this.#put(SESSION_KEY, rows.sessionKey);
      if (rows.unnamed.length > 0) {
        const { put, remove } = nameChannelRecords(rows, deployment, Date.now());
        for (const [key, record] of put) this.#put(key, record);
        for (const key of remove) this.#delete(key);
      }
      return rows;
    });
    if (imported) {
      try {
        renameSync(legacy, `${legacy}.imported`);
      } catch (err) {
        throw storageError(`imported ${legacy}, but cannot rename it`, err);
      }
    }
    return channelRecords(rows);
  }

  async saveSessionKey(key: Hex): Promise<Hex> {
    return this.#write("cannot save the session key", () => {
      this.#db.prepare("INSERT OR IGNORE INTO records (key, value) VALUES (?, ?)").run(SESSION_KEY, key);
      return (this.#db.prepare("SELECT value FROM records WHERE key = ?").get(SESSION_KEY) as { value: Hex })
        .value;
    });
  }

  async put(record: ChannelRecord): Promise<void> {
    this.#write(`cannot save the channel record ${record.channelId}`, () =>
      this.#put(channelKey(record), record),
    );
  }

  async remove(key: ChannelKey): Promise<void> {
    this.#write(`cannot remove the channel record to ${key.payee}`, () => this.#delete(channelKey(key)));
  }

  async archive(record: ArchivedChannelRecord): Promise<void> {
    this.#write(`cannot archive the channel record ${record.channelId}`, () => {
      const live = this.#db.prepare("SELECT value FROM records WHERE key = ?").get(channelKey(record)) as
        | { value: string }
        | undefined;
      if (live && (JSON.parse(live.value) as ChannelRecord).channelId === record.channelId)
        this.#delete(channelKey(record));
      this.#put(archivedKey(record.channelId), record);
    });
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }

  #write<T>(what: string, fn: () => T): T {
    try {
      return transaction(this.#db, fn);
    } catch (err) {
      throw storageError(what, err);
    }
  }
}

function parseRecord(key: string, value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new StorageError("a channel record is unreadable", { details: key });
  }
}

/** Reads a `channels.json` of an earlier version into `rows`; false when there is none. */
function importJson(path: string, rows: ChannelRows): boolean {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return false;
    throw storageError(`cannot read ${path}`, err);
  }
  let json: { sessionKey?: unknown; channels?: Record<string, UnnamedChannelRecord> };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (err) {
    throw storageError(`cannot read ${path}`, err);
  }
  if (typeof json.sessionKey !== "string")
    throw new StorageError(`cannot read ${path}`, { details: "it holds no session key" });
  rows.sessionKey = json.sessionKey as Hex;
  for (const record of Object.values(json.channels ?? {})) rows.unnamed.push({ record });
  return true;
}

/** Opens (creating) `channels.db` in `dataDir`. */
export async function openSqliteChannelStore(dataDir: string): Promise<SqliteChannelStore> {
  return new SqliteChannelStore(dataDir);
}
