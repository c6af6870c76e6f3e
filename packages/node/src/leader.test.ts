import pg from "pg";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { LeaderLock, notifyUrgent } from "./leader.js";

// The system PostgreSQL (.ci/run sets POSTBOX_TEST_POSTGRES_URL); skipped without one.
const url = process.env.POSTBOX_TEST_POSTGRES_URL;

describe.runIf(url)("leader lock", () => {
  it("leads from one holder; its connection killed, it stops leading before anyone leads again; NOTIFY reaches the leader; a clean stop hands over", async () => {
    const schema = `postbox_leader_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    const db = `${url}${url!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const events: string[] = [];
    const urgent: string[] = [];
    const lock = (name: string) =>
      new LeaderLock({
        url: `${db}&application_name=${name}-${process.pid}`,
        name: "postbox:leader",
        log: pino({ level: "silent" }),
        retryMs: 200,
        onAcquire: () => {
          events.push(`${name} leads`);
        },
        onLose: (stopping) => {
          events.push(`${name} stops (${stopping ? "stopping" : "lost"})`);
        },
        onUrgent: (id) => urgent.push(`${name}:${id}`),
      });
    const a = lock("a");
    const b = lock("b");
    const pool = new pg.Pool({ connectionString: db, max: 1 });
    try {
      await a.start();
      await b.start();
      expect(a.held).toBe(true);
      expect(b.held).toBe(false);
      // b keeps trying (every 200 ms) and does not get it.
      const before = b.tries;
      await vi.waitFor(() => expect(b.tries).toBeGreaterThanOrEqual(before + 2), { timeout: 10_000 });
      expect(events).toEqual(["a leads"]);
      await notifyUrgent(pool, "0x01");
      await vi.waitFor(() => expect(urgent).toEqual(["a:0x01"]), { timeout: 10_000 });
      // The leader's connection dies (a crash, a network cut): PostgreSQL frees the lock.
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        [`a-${process.pid}`],
      );
      // a notices and stops its jobs; then one of the two takes the lock (a, reconnected, may win
      // the race: only a dead node cannot). Never both, and never before a stopped.
      await vi.waitFor(() => expect(events).toContain("a stops (lost)"), { timeout: 10_000, interval: 20 });
      await vi.waitFor(() => expect(a.held || b.held).toBe(true), { timeout: 10_000, interval: 50 });
      expect(a.held && b.held).toBe(false);
      expect(events.slice(0, 2)).toEqual(["a leads", "a stops (lost)"]);
      expect(events.filter((e) => e.endsWith("leads")).length).toBe(2);
      const [leader, follower, name] = a.held ? [a, b, "a"] : [b, a, "b"];
      // NOTIFY reaches the leader only.
      await notifyUrgent(pool, "0x02");
      await vi.waitFor(() => expect(urgent).toEqual(["a:0x01", `${name}:0x02`]), { timeout: 10_000 });
      // A clean stop hands the lead to the other: the leader stops first; the other may take the
      // lock before stop() has closed the leader's connection (a fresh-clone CI run saw it).
      const seen = events.length;
      await leader.stop();
      await vi.waitFor(() => expect(follower.held).toBe(true), { timeout: 10_000, interval: 50 });
      expect(events.slice(seen)).toEqual([`${name} stops (stopping)`, `${name === "a" ? "b" : "a"} leads`]);
    } finally {
      await a.stop();
      await b.stop();
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
