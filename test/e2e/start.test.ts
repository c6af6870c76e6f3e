// `npm start` is the README's first command: the whole local network on its fixed ports (chain
// 8545, prober 8787, dashboard 3000, mailboxes 60001+), a summary, and a clean stop on Ctrl-C.
// This is the only test that uses those fixed ports.
//
// It runs the real `npm start` (npm → scripts/setup.mjs → scripts/start.ts) as its own process
// group and stops it the way a terminal's Ctrl-C does: one SIGINT to the whole group, which npm and
// setup.mjs then forward again.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { describe, expect, it, vi } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const POSTBOX_BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");

const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** Every file under `dir`, relative to it. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));

/** Polls `done` until it holds; `check` throws to give up early. */
async function until(done: () => boolean, timeoutMs: number, check: () => void): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    check();
    if (Date.now() > end) throw new Error(`not done within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// A developer's own `npm start` holds these ports; CI never does.
const busy = !process.env.CI && (await portInUse(8545));

// npm runs a script through `sh -c`. Debian's /bin/sh (dash) itself receives the terminal's SIGINT
// and, once its child has exited, dies of it whatever the child returned, so npm then reports that
// signal; bash runs the script in its own place and npm reports the script's exit code. The test
// asks npm for bash so that it can check the exit code of the stop itself.
const scriptShell = existsSync("/bin/bash") ? { npm_config_script_shell: "/bin/bash" } : {};

describe.skipIf(busy)("npm start", () => {
  it("runs chain, contracts, mailboxes, prober and dashboard; one Ctrl-C stops everything cleanly", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postbox-start-"));
    const child = spawn("npm", ["start"], {
      cwd: ROOT,
      env: { ...process.env, ...scriptShell, POSTBOX_DEVNET_DIR: dir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.once("exit", (code, signal) => r({ code, signal })),
    );
    try {
      // Up once the summary's last line is out (the build comes first: minutes on a fresh clone).
      await until(
        () => /\n {2}data: .*\n/.test(out),
        480_000,
        () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`npm start exited (${child.exitCode ?? child.signalCode}):\n${out}`);
        },
      );
      expect(out).toContain("Postbox devnet is running");
      // The build said what it compiles; nothing printed needs interpreting: no warning (a tool's,
      // or a service's pino line at warn or above) and no address that cannot work (Next's
      // "Network:" one: the chain and the prober are on 127.0.0.1).
      expect(out).toMatch(/^build: contracts \(\d+ sources and \d+ tests, solc [\d.]+;.*\)…$/m);
      expect(out).not.toMatch(/warn|deprecat|Network:|"level":\s*[4-6]0/i);
      expect(out).toMatch(/registry\s+0x[0-9a-f]{40}\s+\(3 mailboxes registered\)/i);
      expect(out).toContain("dashboard   http://localhost:3000");
      expect(out).toMatch(/#1 0x70997970C51812dc3A010C7d01b50e0d17dc79C8/);
      const get = (url: string) => fetch(url, { dispatcher: new Agent({ pipelining: 0 }) });
      expect((await get("http://localhost:3000/")).status).toBe(200);
      expect((await get("http://127.0.0.1:8787/health")).status).toBe(200);
      for (const port of [9465, 9466, 9467])
        expect((await get(`http://127.0.0.1:${port}/health`)).status).toBe(200);

      // The summary's own commands, with the environment it prints: a paid read gives a mailbox
      // vouchers to redeem on its way out.
      const exported = /^\s*export (.+)$/m.exec(out)?.[1];
      expect(exported).toBeDefined();
      const cliEnv = Object.fromEntries(
        exported!.split(" ").map((kv) => kv.split("=", 2) as [string, string]),
      );
      const cli = (...args: string[]) => {
        const r = spawnSync(process.execPath, [POSTBOX_BIN, ...args], {
          encoding: "utf8",
          env: { ...process.env, ...cliEnv },
        });
        expect(r.status, `postbox ${args.join(" ")}: ${r.stderr}`).toBe(0);
        return r.stdout;
      };
      cli("room", "join", "#x");
      cli("chat", "send", "--to", "#x", "hello from the start test");
      expect(cli("chat", "read", "#x")).toContain("hello from the start test");
    } finally {
      // Ctrl-C: one SIGINT to the whole process group (npm, setup.mjs, start.ts).
      process.kill(-child.pid!, "SIGINT");
    }
    const result = await exited;
    // Every process of the group is gone (nothing was left behind to finish in the background).
    await vi.waitFor(() => expect(() => process.kill(-child.pid!, 0)).toThrow(), { timeout: 10_000 });
    try {
      expect(result, out).toEqual({ code: 0, signal: null });
      expect(out).toContain("start: stopped");
      expect(out).not.toMatch(/SIGINT again|exiting without a clean stop|forced/);
      // Each mailbox stopped on its own (exit 0) after redeeming, and before the chain stopped.
      const chainStopped = out.indexOf("chain stopped");
      expect(chainStopped).toBeGreaterThan(0);
      for (const name of ["alpha", "beta", "gamma"]) {
        const line = new RegExp(
          `mailbox ${name} stopped: (redeemed \\d+ channels?, [\\d.]+ SNT|nothing to redeem)`,
        );
        expect(out).toMatch(line);
        expect(out.search(line)).toBeLessThan(chainStopped);
      }
      expect(out).toMatch(/mailbox \w+ stopped: redeemed 1 channel, [\d.]+ SNT/);
      // Every database was closed: SQLite removes its -wal and -shm files on the last close.
      expect(filesUnder(dir).filter((f) => /-(wal|shm)$/.test(f))).toEqual([]);
      expect(filesUnder(dir)).toEqual(expect.arrayContaining([join("mailbox-alpha", "archive.sqlite")]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Everything it started is gone: the ports are free again.
    for (const port of [8545, 8787, 3000, 60001, 60011, 60021, 9465, 9466, 9467])
      expect(await portInUse(port), `port ${port}`).toBe(false);
  }, 600_000);
});
