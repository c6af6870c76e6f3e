// How a canary query settles the canaries it asked for.

import { describe, expect, it } from "vitest";
import { CANARY_GIVE_UP_MS, settleCanaries } from "./prober.js";
import type { Canary } from "./samples.js";

const NOW = Date.UTC(2026, 0, 2);
const canary = (id: string, pushedAt: number): Canary => ({
  id,
  mailbox: "0xa",
  topic: `/t/${id}`,
  timestamp: pushedAt * 1e6,
  pushedAt,
});
const due = [
  canary("a", NOW - 5 * 60_000),
  canary("b", NOW - 5 * 60_000),
  canary("c", NOW - CANARY_GIVE_UP_MS),
];

describe("canary accounting", () => {
  it("settles every canary when the mailbox answers: returned ones found, the others lost", () => {
    const s = settleCanaries(
      due,
      { answered: true, found: new Set(["a"]), unanswered: "", latencyMs: 40 },
      NOW,
    );
    expect(s.map((x) => [x.canary.id, x.found, x.detail])).toEqual([
      ["a", true, "returned"],
      ["b", false, "not returned"],
      ["c", false, "not returned"],
    ]);
    expect(s.every((x) => x.latencyMs === 40)).toBe(true);
  });

  it("does not count a canary lost because the mailbox did not answer, until a day has passed", () => {
    // Unreachable, or a refusal such as INVALID_VOUCHER (the prober's channel of a chain that was
    // reset): downtime is the probes' business, and the prober's own fault is not the mailbox's.
    for (const unanswered of [
      "query: connection refused",
      "query refused: INVALID_VOUCHER no such channel",
    ]) {
      const s = settleCanaries(due, { answered: false, found: new Set(), unanswered, latencyMs: null }, NOW);
      expect(s.map((x) => [x.canary.id, x.found, x.detail])).toEqual([
        ["c", false, `given up: ${unanswered}`],
      ]);
    }
  });

  it("never counts a canary lost for the prober's own refusal (a channel record that no longer holds, its cap), however long", () => {
    const s = settleCanaries(
      due,
      {
        answered: false,
        found: new Set(),
        unanswered: "query: the channel to 0xa does not hold on this chain: it was archived",
        ownFault: true,
        latencyMs: null,
      },
      NOW + 30 * CANARY_GIVE_UP_MS,
    );
    expect(s).toEqual([]);
  });

  it("counts what came back before a page failed as found, and leaves the rest due", () => {
    const s = settleCanaries(
      due,
      { answered: false, found: new Set(["b"]), unanswered: "query: reset", latencyMs: null },
      NOW,
    );
    expect(s.map((x) => [x.canary.id, x.found])).toEqual([
      ["b", true],
      ["c", false],
    ]);
  });
});
