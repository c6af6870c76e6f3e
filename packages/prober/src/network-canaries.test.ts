// Network canaries (issue 21 §2): a canary pushed to one mailbox is expected at others too, which
// get it by gossip, or by sync after a downtime. A mailbox back from a downtime has
// NETWORK_CANARY_GRACE_MS to hold what it missed: its completeness recovers once it has synced,
// and drops if it never does.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNetworkCanary, NETWORK_CANARY_GRACE_MS, settleCanaries } from "./prober.js";
import { type Canary, SampleStore } from "./samples.js";

const NOW = Date.UTC(2026, 0, 2);
const MIN = 60_000;
/** Pushed to 0xa at `pushedAt`, expected at 0xb. */
const network = (hex: string, pushedAt: number): Canary => ({
  id: `${hex}/0xb`,
  mailbox: "0xb",
  topic: `/t/${hex}`,
  timestamp: pushedAt,
  pushedAt,
});
const answered = (found: string[]) => ({
  answered: true,
  found: new Set(found),
  unanswered: "",
  latencyMs: 30,
});

describe("network canaries", () => {
  it("are found by the envelope id, and not lost while the mailbox may still sync them", () => {
    // Pushed elsewhere 40 min ago, while this mailbox was down; it is back since 2 min.
    const missed = [network("aa", NOW - 40 * MIN), network("bb", NOW - 39 * MIN)];
    const back = { lastDownAt: NOW - 2 * MIN };
    // Checked before its first sync round: not lost.
    expect(settleCanaries(missed, answered([]), NOW, back)).toEqual([]);
    // After the sync: found.
    const synced = settleCanaries(missed, answered(["aa", "bb"]), NOW + 5 * MIN, back);
    expect(synced.map((s) => [s.canary.id, s.found, s.detail])).toEqual([
      ["aa/0xb", true, "returned"],
      ["bb/0xb", true, "returned"],
    ]);
    // A mailbox that never syncs loses them once the grace has passed since it was last down.
    const never = settleCanaries(missed, answered([]), NOW - 2 * MIN + NETWORK_CANARY_GRACE_MS, back);
    expect(never.map((s) => [s.canary.id, s.found, s.detail])).toEqual([
      ["aa/0xb", false, "not returned"],
      ["bb/0xb", false, "not returned"],
    ]);
    // A canary pushed to the mailbox itself is judged at once, as before.
    const own: Canary = { ...network("cc", NOW - 5 * MIN), id: "cc", mailbox: "0xb" };
    expect(isNetworkCanary(own)).toBe(false);
    expect(settleCanaries([own], answered([]), NOW, back).map((s) => s.found)).toEqual([false]);
  });

  describe("in the prober's database", () => {
    let dir: string;
    let store: SampleStore;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "postbox-network-canaries-"));
      store = SampleStore.open(join(dir, "prober.sqlite"), {
        genesis: "0x01",
        registry: "0xE7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        head: 1n,
      }).store;
    });
    afterEach(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("checks a mailbox's own canaries before network ones, and knows when it was last down", () => {
      for (let i = 0; i < 8; i++) store.addCanary(network(`n${i}`, NOW - 60 * MIN + i));
      for (let i = 0; i < 4; i++) store.addCanary({ ...network(`o${i}`, NOW - 10 * MIN + i), id: `o${i}` });
      const due = store.dueCanaries("0xb", NOW, 10);
      expect(due.map((c) => c.id)).toEqual([
        "o0",
        "o1",
        "o2",
        "o3",
        "n0/0xb",
        "n1/0xb",
        "n2/0xb",
        "n3/0xb",
        "n4/0xb",
        "n5/0xb",
      ]);
      expect(store.lastFailedProbe("0xb")).toBeNull();
      store.addSample({
        mailbox: "0xb",
        at: NOW - 3 * MIN,
        kind: "probe",
        ok: false,
        latencyMs: null,
        detail: "down",
      });
      store.addSample({ mailbox: "0xb", at: NOW - MIN, kind: "probe", ok: true, latencyMs: 5, detail: "ok" });
      expect(store.lastFailedProbe("0xb")).toBe(NOW - 3 * MIN);
      // Settled through the store: the completeness samples count the synced ones as found.
      store.checkCanaries(settleCanaries(due, answered(due.map((c) => c.id.split("/")[0]!)), NOW), NOW);
      expect(store.dueCanaries("0xb", NOW, 10).map((c) => c.id)).toEqual(["n6/0xb", "n7/0xb"]);
    });
  });
});
