import pg from "pg";
import { describe, expect, it } from "vitest";
import { archiveSuite } from "./archive.testkit.js";
import { PostgresArchive } from "./postgres.js";

// A real PostgreSQL server: .ci/run installs and starts one and sets POSTBOX_TEST_POSTGRES_URL.
// Without it (a developer machine with no PostgreSQL) this suite is skipped, and under CI its
// absence is a failure.
const url = process.env.POSTBOX_TEST_POSTGRES_URL;

describe.runIf(!url && process.env.CI)("PostgreSQL archive under CI", () => {
  it("has a server to test against", () => {
    expect(url, "POSTBOX_TEST_POSTGRES_URL must be set under CI").toBeTruthy();
  });
});

if (url) {
  let n = 0;
  const fresh = async () => {
    // One schema per test so the suite's cases do not see each other's rows.
    const schema = `postbox_test_${process.pid}_${++n}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    const sep = url.includes("?") ? "&" : "?";
    return `${url}${sep}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  };
  let current = "";
  archiveSuite(
    "PostgreSQL",
    async () => {
      current = await fresh();
      return PostgresArchive.open({ url: current });
    },
    async (a) => {
      await a.close();
      return PostgresArchive.open({ url: current });
    },
  );
}
