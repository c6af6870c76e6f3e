// The archive's page reader (see `SqliteArchive`): a worker thread with its own read-only
// connection to the archive's file (WAL: it reads the last commit, as the main connection does).
// A page's two blobs go back transferred, not copied.
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { workerData } from "node:worker_threads";
import { serveParent } from "@postbox/net/worker";
import type { PageRow } from "./sqlite.js";

/** The reader's settings: the archive's file and the size of its memory map. */
export interface PageReaderInit {
  path: string;
  mmap: number;
}

/** A page statement (by its SQL, prepared once) and its parameters. */
export interface PageJob {
  sql: string;
  params: SQLInputValue[];
}

const init = workerData as PageReaderInit;
const db = new DatabaseSync(init.path, { readOnly: true });
db.exec(`PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA mmap_size = ${init.mmap};`);
const statements = new Map<string, StatementSync>();

serveParent<PageJob, PageRow>(async ({ sql, params }) => {
  let statement = statements.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  const row = statement.get(...params) as unknown as PageRow;
  // Each blob owns its buffer (node:sqlite copies it out); hand those over instead of copying.
  const transfer: ArrayBuffer[] = [];
  for (const blob of [row.ids, row.payloads]) {
    if (blob && blob.byteOffset === 0 && blob.buffer.byteLength === blob.byteLength)
      transfer.push(blob.buffer as ArrayBuffer);
  }
  return { result: row, transfer };
});
