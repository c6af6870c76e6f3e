// `npm start` is the README's first command: the whole local network on its fixed ports (chain
// 8545, prober 8787, dashboard 3000, mailboxes 60001+), a summary, and a clean stop on Ctrl-C.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

// A developer's own `npm start` holds these ports; CI never does.
const busy = !process.env.CI && (await portInUse(8545));

describe.skipIf(busy)("npm start", () => {
  it("runs chain, contracts, mailboxes, prober and dashboard, and stops cleanly on SIGINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-start-"));
    const child = spawn(process.execPath, [join(ROOT, "scripts", "start.ts"), "--reset"], {
      cwd: ROOT,
      env: { ...process.env, POSTBOX_DEVNET_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once("exit", r));
    try {
      for (let i = 0; i < 1800 && !out.includes("Postbox devnet is running"); i++) {
        if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(out).toContain("Postbox devnet is running");
      expect(out).toMatch(/registry\s+0x[0-9a-f]{40}\s+\(3 mailboxes registered\)/i);
      expect(out).toContain("dashboard   http://localhost:3000");
      expect(out).toMatch(/#1 0x70997970C51812dc3A010C7d01b50e0d17dc79C8/);
      const get = (url: string) => fetch(url, { dispatcher: new Agent({ pipelining: 0 }) });
      expect((await get("http://localhost:3000/")).status).toBe(200);
      expect((await get("http://127.0.0.1:8787/health")).status).toBe(200);
      for (const port of [9465, 9466, 9467])
        expect((await get(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      const chainId = await get("http://127.0.0.1:8545").then(
        () => true,
        () => false,
      );
      expect(chainId).toBe(true);
    } finally {
      child.kill("SIGINT");
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      expect(code).toBe(0);
    }
    expect(out).toContain("start: stopped");
    // Everything it started is gone: the ports are free again.
    for (const port of [8545, 8787, 3000, 60001]) expect(await portInUse(port)).toBe(false);
  }, 240_000);
});
