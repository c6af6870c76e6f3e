// The ledger's writer (see `SqliteLedger`): a worker thread with its own connection to the
// ledger's file, committing each batch it is sent in one transaction, so the fsync of a commit
// does not stop the mailbox's event loop.
import { DatabaseSync } from "node:sqlite";
import { workerData } from "node:worker_threads";
import { serveParent } from "@postbox/net/worker";
import { type CommitRow, commitRows } from "./ledger.js";

/** The writer's settings: the ledger's file, its durability, and the statements a row names. */
export interface LedgerWriterInit {
  path: string;
  synchronous: "FULL" | "NORMAL";
  statements: string[];
}

const init = workerData as LedgerWriterInit;
const db = new DatabaseSync(init.path);
db.exec(`PRAGMA busy_timeout = 5000; PRAGMA synchronous = ${init.synchronous};`);
const statements = init.statements.map((sql) => db.prepare(sql));

serveParent<CommitRow[], null>(async (rows) => {
  commitRows(db, statements, rows);
  return { result: null };
});
