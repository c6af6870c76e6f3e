import type { Hex } from "viem";
import {
  archivedKey,
  channelKey,
  channelRecords,
  nameChannelRecords,
  readChannelRows,
  SESSION_KEY,
} from "./common.js";
import { storageError } from "./errors.js";
import { DEFAULT_DATABASE, openPostboxDatabase, request, transact } from "./indexeddb.js";
import type {
  ArchivedChannelRecord,
  ChannelDeployment,
  ChannelKey,
  ChannelRecord,
  ChannelRecords,
  ChannelStore,
} from "./types.js";

/**
 * The payment channels' records in a browser: the `channels` store of IndexedDB database
 * `postbox` (or `name`), with the keys the SQLite store uses (`sessionKey`,
 * `channel:<chain id>:<contract>:<payee>`, `archived:<channel id>`).
 */
export class IndexedDbChannelStore implements ChannelStore {
  readonly #db: IDBDatabase;

  constructor(db: IDBDatabase) {
    this.#db = db;
  }

  #write<T>(what: string, fn: (store: IDBObjectStore) => T | Promise<T>): Promise<T> {
    return transact(this.#db, ["channels"], "readwrite", (tx) => fn(tx.objectStore("channels"))).catch(
      (err: unknown) => {
        throw storageError(what, err);
      },
    );
  }

  async load(deployment: ChannelDeployment): Promise<ChannelRecords> {
    return this.#write("cannot read the channel records", async (store) => {
      const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
      const rows = readChannelRows(keys.map((key, i) => [String(key), values[i]] as const));
      if (rows.unnamed.length > 0) {
        const { put, remove } = nameChannelRecords(rows, deployment, Date.now());
        for (const [key, record] of put) store.put(record, key);
        for (const key of remove) store.delete(key);
      }
      return channelRecords(rows);
    });
  }

  async saveSessionKey(key: Hex): Promise<Hex> {
    return this.#write("cannot save the session key", async (store) => {
      const known = await request(store.get(SESSION_KEY));
      if (typeof known === "string") return known as Hex;
      store.put(key, SESSION_KEY);
      return key;
    });
  }

  async put(record: ChannelRecord): Promise<void> {
    await this.#write(`cannot save the channel record ${record.channelId}`, (store) =>
      store.put({ ...record }, channelKey(record)),
    );
  }

  async remove(key: ChannelKey): Promise<void> {
    await this.#write(`cannot remove the channel record to ${key.payee}`, (store) =>
      store.delete(channelKey(key)),
    );
  }

  async archive(record: ArchivedChannelRecord): Promise<void> {
    await this.#write(`cannot archive the channel record ${record.channelId}`, async (store) => {
      const live = (await request(store.get(channelKey(record)))) as ChannelRecord | undefined;
      if (live?.channelId === record.channelId) store.delete(channelKey(record));
      store.put({ ...record }, archivedKey(record.channelId));
    });
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}

/** Opens the channel records in IndexedDB database `name` (default `postbox`). */
export async function openIndexedDbChannelStore(name = DEFAULT_DATABASE): Promise<IndexedDbChannelStore> {
  return new IndexedDbChannelStore(await openPostboxDatabase(name));
}
