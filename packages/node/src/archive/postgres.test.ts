import { createEnvelope, toBareHex } from "@postbox/protocol";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { archiveSuite } from "./archive.testkit.js";
import { PARTITION_MS, PostgresArchive } from "./postgres.js";

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

if (url) {
  describe("PostgreSQL archive partitions", () => {
    const schemaUrl = async (name: string) => {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE; CREATE SCHEMA ${name}`);
      await admin.end();
      return `${url}${url.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${name}`)}`;
    };
    const envelopeAt = (ts: number, i: number) => ({
      ...createEnvelope({ contentTopic: "/t/p", timestamp: BigInt(ts), payload: new Uint8Array([i]) }),
      receivedAt: ts,
    });

    it("moves an unpartitioned table of an earlier version into day partitions, every envelope kept", async () => {
      const db = await schemaUrl(`postbox_migrate_${process.pid}`);
      const c = new pg.Client({ connectionString: db });
      await c.connect();
      await c.query(`CREATE TABLE envelopes (seq BIGSERIAL PRIMARY KEY, id BYTEA NOT NULL UNIQUE, topic TEXT NOT NULL,
        ts BIGINT NOT NULL, version INTEGER NOT NULL, payload BYTEA NOT NULL, size INTEGER NOT NULL, received_at BIGINT NOT NULL);
        CREATE INDEX envelopes_topic_ts_id ON envelopes (topic, ts, id);`);
      const day0 = Date.UTC(2026, 0, 10);
      const old = [0, 1, 2].flatMap((d) => [
        envelopeAt(day0 + d * PARTITION_MS + 5, d),
        envelopeAt(day0 + d * PARTITION_MS + 9, d + 10),
      ]);
      for (const e of old)
        await c.query(
          "INSERT INTO envelopes (id, topic, ts, version, payload, size, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          [
            Buffer.from(e.id),
            e.contentTopic,
            e.timestamp.toString(),
            e.version,
            Buffer.from(e.payload),
            e.payload.length,
            e.receivedAt,
          ],
        );
      const steps: string[] = [];
      const archive = await PostgresArchive.open({ url: db, onUpgrade: (s) => steps.push(s) });
      try {
        expect(steps).toEqual([expect.stringMatching(/moved 6 envelopes .*\(3 day partitions\)/)]);
        const kind = await c.query(
          "SELECT relkind FROM pg_class WHERE relname = 'envelopes' AND relnamespace = current_schema()::regnamespace",
        );
        expect(kind.rows[0].relkind).toBe("p");
        expect((await archive.partitions()).map((p) => p.name).slice(0, 3)).toEqual([
          "envelopes_d20260110",
          "envelopes_d20260111",
          "envelopes_d20260112",
        ]);
        const page = await archive.query({ topics: ["/t/p"], forward: true, limit: 100 });
        expect(page.envelopes.map((e) => toBareHex(e.id))).toEqual(old.map((e) => toBareHex(e.id)));
        expect(await archive.stats()).toEqual({ envelopes: 6, payloadBytes: 6 });
        // Inserting them again (another node heard them too) stores nothing twice.
        expect(await archive.insert(old)).toEqual([]);
        // Retention by age drops the two whole days before the cutoff and deletes the rows of the
        // third that are older than it.
        const cutoff = day0 + 2 * PARTITION_MS + 7;
        const now = cutoff + 1_000;
        expect(await archive.prune({ maxAgeMs: 1_000 }, now, 100)).toBe(5);
        const names = (await archive.partitions()).map((p) => p.name);
        expect(names).not.toContain("envelopes_d20260110");
        expect(names).not.toContain("envelopes_d20260111");
        expect(names).toContain("envelopes_d20260112");
        expect(await archive.stats()).toEqual({ envelopes: 1, payloadBytes: 1 });
        // An envelope of a dropped day is stored again (its partition comes back on demand).
        expect((await archive.insert([old[0]!])).length).toBe(1);
      } finally {
        await archive.close();
        await c.end();
      }
    });
  });
}
