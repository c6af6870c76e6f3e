import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { archiveSuite } from "./archive.testkit.js";
import { SqliteArchive } from "./sqlite.js";

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
