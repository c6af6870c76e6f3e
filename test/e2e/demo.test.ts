// `npm run demo` is part of the product: it must keep playing stories A and B and a group
// catch-up end to end, with story A crossing mailboxes (written to alpha, read from beta), each
// story's own cost equal to the sum of its pages, and each channel's running total equal to its
// stories' costs and to what was redeemed on-chain.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseSnt } from "@postbox/protocol";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

const amount = (text: string) => parseSnt(text.replaceAll(",", ""));

describe("npm run demo", () => {
  it("plays stories A and B and a group, and exits 0", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "scripts", "demo.ts"), "--no-build"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 240_000,
    });
    const out = r.stdout;
    expect(r.status, `${out}\n${r.stderr}`).toBe(0);
    expect(out).toContain("story A: ok");
    expect(out).toContain("story B: ok");
    expect(out).toContain("group: ok");

    // Story A crosses mailboxes: every message stored by alpha, all read from beta.
    const stored = [...out.matchAll(/^ {2}bob +sent ".*" · stored by mailbox (.+) \(signed receipt\)$/gm)];
    expect(stored.map((m) => m[1])).toEqual(["alpha", "alpha", "alpha"]);
    expect(out).toMatch(/^ {2}alice +3 new messages in \d+ paid page\(s\) from mailbox beta$/m);
    expect(out).toContain("story A: crossed mailboxes (written to alpha, read from beta)");

    // Each story's cost is the sum of its pages, listed one by one.
    const costs = new Map<string, { who: string; cost: bigint; mailbox: string }>();
    for (const m of out.matchAll(
      /^ {2}(\w+) +(story A|story B|group) cost ([\d.,]+) SNT = (\d+) pages? from mailbox (\w+): (.+)$/gm,
    )) {
      const [, who, story, cost, count, mailbox, pages] = m as unknown as string[];
      const each = pages!.split(" + ").map(amount);
      expect(each, story).toHaveLength(Number(count));
      expect(
        each.reduce((a, b) => a + b, 0n),
        `${story}: ${pages}`,
      ).toBe(amount(cost!));
      costs.set(story!, { who: who!, cost: amount(cost!), mailbox: mailbox! });
    }
    expect([...costs.keys()]).toEqual(["story A", "story B", "group"]);
    expect(costs.get("story A")).toMatchObject({ who: "alice", mailbox: "beta" });
    expect(costs.get("story A")!.cost).toBeGreaterThan(0n);
    // Alice stays on beta for story B: one channel pays for both stories.
    expect(costs.get("story B")).toMatchObject({ who: "alice", mailbox: "beta" });
    expect(costs.get("group")).toMatchObject({ who: "bob", mailbox: "alpha" });

    // A channel's running total is printed apart from the stories, names what it covers and
    // equals their costs and what was redeemed on-chain.
    const channel = (who: string, mailbox: string, stories: string) => {
      const m = new RegExp(
        `^ {2}${who} +channel to mailbox ${mailbox}: ([\\d.,]+) SNT spent in all \\(${stories}\\); redeemed on-chain: ([\\d.,]+) SNT$`,
        "gm",
      );
      const lines = [...out.matchAll(m)];
      expect(lines.length, `${who} → ${mailbox} (${stories})`).toBeGreaterThan(0);
      const last = lines.at(-1)!;
      expect(amount(last[2]!)).toBe(amount(last[1]!));
      return amount(last[1]!);
    };
    expect(channel("alice", "beta", "story A")).toBe(costs.get("story A")!.cost);
    expect(channel("alice", "beta", "story A, story B")).toBe(
      costs.get("story A")!.cost + costs.get("story B")!.cost,
    );
    expect(channel("bob", "alpha", "group")).toBe(costs.get("group")!.cost);
  }, 300_000);
});
