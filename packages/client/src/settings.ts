/**
 * @packageDocumentation
 * `@postbox/client/settings`: the user's mailbox pin in a browser, read and written without
 * loading the SDK (a discovery table's "Use this mailbox"). It writes the same `pin` setting the
 * client reads (`MailboxDirectory.pin`), in the IndexedDB database the client uses (`postbox` by
 * default). A client that is running reads it at its next choice of mailboxes.
 */
import { openPostboxDatabase, request, transact } from "./storage/indexeddb.js";

async function withKv<T>(location: string, fn: (kv: IDBObjectStore) => Promise<T> | T, write: boolean) {
  const db = await openPostboxDatabase(location);
  try {
    return await transact(db, ["kv"], write ? "readwrite" : "readonly", (tx) => fn(tx.objectStore("kv")));
  } finally {
    db.close();
  }
}

/** The pinned mailbox's id (its operator's address, lower case, or a peer id), if any. */
export async function pinnedMailbox(location = "postbox"): Promise<string | undefined> {
  const value = await withKv(location, (kv) => request(kv.get("pin")), false);
  return typeof value === "string" ? value : undefined;
}

/** Pins a mailbox: the client always uses it, whatever its score. */
export async function pinMailbox(id: string, location = "postbox"): Promise<void> {
  await withKv(location, (kv) => void kv.put(id.toLowerCase(), "pin"), true);
}

/** Removes the pin: the client chooses by score again. */
export async function unpinMailbox(location = "postbox"): Promise<void> {
  await withKv(location, (kv) => void kv.delete("pin"), true);
}
