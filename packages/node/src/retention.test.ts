import { createEnvelope } from "@postbox/protocol";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { SqliteArchive } from "./archive/sqlite.js";
import { createMetrics } from "./metrics.js";
import { RetentionTask } from "./retention.js";

describe("RetentionTask", () => {
  it("deletes everything the policy no longer keeps, batch after batch, and counts it", async () => {
    const archive = new SqliteArchive({ path: ":memory:" });
    const now = 1_700_000_000_000;
    await archive.insert(
      Array.from({ length: 120 }, (_, i) => ({
        ...createEnvelope({
          contentTopic: "/t/r",
          timestamp: BigInt(now - (120 - i) * 60_000),
          payload: new Uint8Array([i]),
        }),
        receivedAt: now,
      })),
    );
    const metrics = createMetrics({ defaultMetrics: false });
    // Keep one hour: the 60 envelopes older than that go, in batches of 7.
    const task = new RetentionTask({
      archive,
      policy: { maxAgeMs: 3_600_000 },
      intervalMs: 60_000,
      batch: 7,
      log: pino({ level: "silent" }),
      metrics,
    });
    expect(await task.runOnce(now)).toBe(60);
    expect((await archive.stats()).envelopes).toBe(60);
    expect(await task.runOnce(now)).toBe(0);
    expect((await metrics.retentionDeleted.get()).values[0]?.value).toBe(60);
    await archive.close();
  });
});
