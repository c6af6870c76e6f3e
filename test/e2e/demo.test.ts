// `npm run demo` is part of the product: it must keep playing stories A and B and a group
// catch-up end to end, with every payment balancing on-chain.

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

describe("npm run demo", () => {
  it("plays stories A and B and a group, and exits 0", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "scripts", "demo.ts"), "--no-build"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 240_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("story A: ok");
    expect(r.stdout).toContain("story B: ok");
    expect(r.stdout).toContain("group: ok");
    expect(r.stdout).toMatch(/alice +paid mailbox \w+ [\d.]+ SNT; redeemed on-chain: [\d.]+ SNT/);
  }, 300_000);
});
