import { PostgresArchive } from "./postgres.js";
import { SqliteArchive } from "./sqlite.js";
import type { Archive } from "./types.js";

export { PostgresArchive, type PostgresArchiveOptions } from "./postgres.js";
export {
  EPOCH_MS,
  ID_LOOKUP_SQL,
  type PageShape,
  pageSql,
  SqliteArchive,
  type SqliteArchiveOptions,
} from "./sqlite.js";
export type * from "./types.js";

/**
 * Opens the archive a `--db` setting names: `sqlite` (a file under the data folder) or a
 * postgres:// URL. `onUpgrade` hears each step of a SQLite schema upgrade.
 */
export async function openArchive(
  db: string,
  sqlitePath: string,
  onUpgrade?: (step: string, ms: number) => void,
): Promise<Archive> {
  if (db.startsWith("postgres://") || db.startsWith("postgresql://"))
    return PostgresArchive.open({ url: db, ...(onUpgrade ? { onUpgrade } : {}) });
  return new SqliteArchive({
    path: db === "sqlite" ? sqlitePath : db.replace(/^sqlite:/, ""),
    ...(onUpgrade ? { onUpgrade } : {}),
  });
}
