// A payer's first hour with the `postbox` CLI, each command a separate process as a person runs it,
// against a real local network (`hardhat node`, two paid mailboxes, a prober): the first paid read
// says what it pays before paying; `channel status` lists every channel with its chain state; then
// the network is stopped and started again on the same mailbox data — a fresh chain, which Hardhat
// gives the same chain id and contract addresses — and the same client data folder still reads,
// lists its channels and graylists no mailbox. Also `chat read --follow`, the `mailboxes` table and
// the channel commands that wait on chain time.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { formatSnt, PRICE_REFERENCE_PAGE, pageCost, selectionChances } from "@postbox/protocol";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DEV_KEYS,
  type Devnet,
  type DevnetOptions,
  POSTBOX_BIN,
  startDevnet,
} from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

interface Line {
  id: string;
  text: string;
  senderName: string;
}

interface ChannelLine {
  state: string;
  channel: string;
  mailbox: string;
  deposit: string;
  chainId?: number;
  reason?: string;
}

const PORT = await freePortBlock(30_000);
const MAILBOXES = [
  { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
  { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
];

describe("a payer's CLI: payment notice, channel listing, a chain restart, follow, mailboxes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-user-"));
  let net: Devnet;
  const options = (): DevnetOptions => ({
    dataDir: join(dir, "net"),
    basePort: PORT,
    mailboxes: MAILBOXES,
    prober: { key: 7, port: PORT + 200, flags: ["--probe-interval", "1s", "--registry-interval", "1s"] },
    stdio: "ignore",
  });

  // Nothing from the shell running the tests: only what a user of `npm start` exports.
  const env = (user: string, key: number) => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("POSTBOX_"))),
    POSTBOX_CLIENT_DIR: join(dir, user),
    POSTBOX_RPC_URL: net.rpc,
    POSTBOX_WALLET_KEY: DEV_KEYS[key]!,
    POSTBOX_PROBER_URL: net.proberUrl!,
  });
  const USERS = { alice: 4, bob: 5 } as const;
  type User = keyof typeof USERS;
  const run = (user: User, args: string[]) =>
    spawnSync(process.execPath, [POSTBOX_BIN, ...args], {
      encoding: "utf8",
      env: env(user, USERS[user]),
      maxBuffer: 16 * 1024 * 1024,
    });
  const cli = (user: User, args: string[]) => {
    const r = run(user, args);
    if (r.status !== 0)
      throw new Error(`postbox ${args.join(" ")} (${user}) exited ${r.status}: ${r.stderr}`);
    return r;
  };
  const jsonLines = <T>(stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as T);
  const operator = (i: number) => net.mailboxes[i]!.operator.toLowerCase();
  const archivedKeys = () => {
    const db = new DatabaseSync(join(dir, "alice", "channels.db"));
    try {
      return (
        db.prepare("SELECT key FROM records WHERE key LIKE 'archived:%'").all() as { key: string }[]
      ).map((r) => r.key);
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    net = await startDevnet(options());
    cli("alice", ["room", "join", "#x"]);
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let before: ChannelLine[] = [];

  it("the first paid read says what it pays, to whom, the deposit and the cap, then pays", () => {
    cli("bob", ["chat", "send", "--to", "#x", "before the restart"]);
    const r = cli("alice", ["chat", "read", "#x", "--k", "2", "--max-page-cost", "0.05", "--json"]);
    // stdout is the messages' JSON and nothing else.
    expect(jsonLines<Line>(r.stdout).map((l) => l.text)).toEqual(["before the restart"]);
    // Both mailboxes were paid (k = 2): for each, the notice came before the channel was opened.
    for (const [i, deposit] of [
      [0, "2 SNT"],
      [1, "2.5 SNT"],
    ] as const) {
      const notice = r.stderr.indexOf(`paying mailbox ${MAILBOXES[i]!.name} (${operator(i)})`);
      expect(notice, r.stderr).toBeGreaterThanOrEqual(0);
      const text = r.stderr.slice(notice);
      expect(text).toMatch(new RegExp(`deposit ${deposit.replace(".", "\\.")} .*--deposit`));
      expect(text).toMatch(/0\.05 SNT per 100-message page .*--max-page-cost/);
      expect(text).toMatch(/postbox channel close/);
      expect(text.indexOf("opened channel 0x")).toBeGreaterThan(0);
    }
  });

  it("channel status without --mailbox lists every channel with its chain state", () => {
    const table = cli("alice", ["channel", "status"]).stdout;
    expect(table).toMatch(/channel\s+mailbox\s+deposit\s+spent\s+redeemed\s+state/);
    before = jsonLines<ChannelLine>(cli("alice", ["channel", "status", "--json"]).stdout);
    expect(before.map((c) => [c.mailbox.toLowerCase(), c.state, c.deposit]).sort()).toEqual(
      [
        [operator(0), "open", "2 SNT"],
        [operator(1), "open", "2.5 SNT"],
      ].sort(),
    );
    for (const c of before) expect(table).toContain(c.channel);
  });

  it("a spending cap stops a paid read before it authorises more, says so, and counts against no mailbox", () => {
    cli("alice", ["room", "join", "#capped"]);
    cli("bob", ["chat", "send", "--to", "#capped", "beyond the cap"]);
    const capped = run("alice", ["chat", "read", "#capped", "--spending-cap", "0.001", "--json"]);
    expect(capped.status).toBe(1);
    expect(capped.stdout).toBe("");
    // Each mailbox is passed over for it as it happens, then one line says why the read stopped.
    expect(capped.stderr).toMatch(
      /mailbox (alpha|beta) not used \(spending cap reached .*\) — using (alpha|beta)/,
    );
    expect(capped.stderr.trim().split("\n").at(-1)).toMatch(
      /^postbox: PaymentRefusedError: spending cap reached \(the next voucher to 0x[0-9a-fA-F]{40} \(.* SNT\) would take the channel above your spending cap of 0\.001 SNT: raise it to continue\)$/,
    );
    const list = jsonLines<{ id: string; graylisted: boolean }>(cli("alice", ["mailboxes", "--json"]).stdout);
    expect(list.filter((m) => m.graylisted)).toEqual([]);
    // Raised (here: none), the same read pays and reads.
    const read = cli("alice", ["chat", "read", "#capped", "--json"]);
    expect(jsonLines<Line>(read.stdout).map((l) => l.text)).toEqual(["beyond the cap"]);
  });

  it("after a restart on a fresh chain, the same data folder reads, lists its channels, graylists nothing", async () => {
    await net.stop();
    net = await startDevnet(options());
    cli("bob", ["chat", "send", "--to", "#x", "after the restart"]);
    const first = run("alice", ["chat", "read", "#x", "--json"]);
    expect(first.status, first.stderr).toBe(0);
    expect(jsonLines<Line>(first.stdout).map((l) => l.text)).toEqual([
      "before the restart",
      "after the restart",
    ]);
    // One line says what happened to the old record, then the new channel is announced and opened.
    expect(first.stderr).toMatch(/channel 0x[0-9a-f]{64} to mailbox .* is not on this chain .*archived/);
    expect(first.stderr).toMatch(/paying mailbox (alpha|beta) \(0x[0-9a-f]{40}\) for history/);
    // Again, and again: nothing is refused, and no mailbox is charged with a failure.
    for (let i = 0; i < 2; i++) cli("alice", ["chat", "read", "#x", "--json"]);
    const table = cli("alice", ["mailboxes"]).stdout;
    expect(table).not.toMatch(/graylisted/);
    for (const m of net.mailboxes) expect(table).toContain(m.operator.toLowerCase().slice(0, 8));
    // The old records are kept (they may hold value on the chain they were opened on) and listed;
    // `channel status` shows this chain's channels and the archived ones apart.
    const status = jsonLines<ChannelLine>(cli("alice", ["channel", "status", "--json"]).stdout);
    const archived = status.filter((c) => c.state === "archived");
    expect(archived.map((c) => c.channel).sort()).toEqual(before.map((c) => c.channel).sort());
    expect(archived.every((c) => /not on this chain/.test(c.reason ?? ""))).toBe(true);
    const current = status.filter((c) => c.state !== "archived");
    expect(current.length).toBeGreaterThan(0);
    expect(current.every((c) => c.state === "open" && !before.some((b) => b.channel === c.channel))).toBe(
      true,
    );
    expect(archivedKeys().sort()).toEqual(before.map((c) => `archived:${c.channel}`).sort());
    // `channel status --mailbox` shows the new channel of this chain, not the old one.
    const m = current[0]!.mailbox;
    const one = cli("alice", ["channel", "status", "--mailbox", m]).stdout;
    expect(one).toContain(current[0]!.channel);
    expect(one).not.toContain(before.find((b) => b.mailbox === m)?.channel ?? "none");
  }, 300_000);

  it("chat read --follow says it is waiting, prints what arrives, and stops on Ctrl-C", async () => {
    const child = spawn(process.execPath, [POSTBOX_BIN, "chat", "read", "#x", "--follow", "--json"], {
      env: env("alice", USERS.alice),
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await vi.waitFor(() => expect(stderr).toContain("waiting for new messages… (Ctrl-C to stop)"), {
        timeout: 60_000,
        interval: 100,
      });
      cli("bob", ["chat", "send", "--to", "#x", "live"]);
      await vi.waitFor(() => expect(stdout).toContain('"text":"live"'), { timeout: 30_000, interval: 100 });
      // After the catch-up's messages, the live one, as JSON like every other line.
      expect(jsonLines<Line>(stdout).map((l) => l.text)).toEqual([
        "before the restart",
        "after the restart",
        "live",
      ]);
      // Ctrl-C as a terminal sends it: to the whole process group.
      process.kill(-child.pid!, "SIGINT");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
    }
  }, 120_000);

  it("mailboxes: each figure with its sample count, the price per 100-message page, the chance drawn", async () => {
    interface Row {
      id: string;
      pageCost: string;
      figures?: { probesOk: number; probesFailed: number; samples?: { probes7d: number } };
    }
    // The prober has measured both mailboxes.
    const rows = await vi.waitFor(
      () => {
        const list = jsonLines<Row>(cli("alice", ["mailboxes", "--json"]).stdout);
        expect(list).toHaveLength(2);
        for (const m of list) expect(m.figures?.probesOk).toBeGreaterThan(0);
        return list;
      },
      { timeout: 60_000, interval: 500 },
    );
    // The prober keeps measuring: the table is read after the JSON, so its counts are no lower.
    const table = cli("alice", ["mailboxes"]).stdout.split("\n");
    expect(table[0]).toMatch(
      /^mailbox\s+name\s+SNT per 100-message page\s+up 24h \(n\)\s+up 7d \(n\)\s+latency \(n\)\s+canaries \(n\)\s+score\s+chance/,
    );
    const scores: number[] = [];
    const chances: number[] = [];
    for (const m of rows) {
      const spec = MAILBOXES.find((_, i) => operator(i) === m.id)!;
      // The price of a 100-message page, in SNT, from the chain's figures.
      expect(m.pageCost).toBe(
        pageCost(
          {
            pricePerQuery: parseEther(spec.pricePerQuery),
            pricePerMessage: parseEther(spec.pricePerMessage),
          },
          PRICE_REFERENCE_PAGE,
        ).toString(),
      );
      const cells = table.find((l) => l.startsWith(`${m.id.slice(0, 8)}…`))!.split(/ {2,}/);
      expect(cells[1]).toBe(spec.name);
      expect(cells[2]).toBe(formatSnt(m.pageCost, { unit: false }));
      // Every figure carries its sample count, or reads "new" while there are too few.
      const figures = cells.slice(3, 7).map((c) => /^(new|—|\d+\.\d%|\d+ ms) \((\d+)\)$/.exec(c));
      expect(figures.every(Boolean), cells.join(" | ")).toBe(true);
      const n7d = m.figures!.samples?.probes7d ?? m.figures!.probesOk + m.figures!.probesFailed;
      expect(Number(figures[1]![2])).toBeGreaterThanOrEqual(n7d);
      scores.push(Number(cells[7]));
      chances.push(Number(cells[8]!.replace("%", "")) / 100);
    }
    // The chance column is the rule the directory draws with, for the scores shown.
    selectionChances(scores, 1).forEach((c, i) => {
      expect(chances[i]).toBeCloseTo(c, 2);
    });
  }, 120_000);

  it("channel close and withdraw say what they wait for, in chain time", async () => {
    // A channel of this chain (the other mailbox's record may not have been checked yet).
    const mailbox = jsonLines<ChannelLine>(cli("alice", ["channel", "status", "--json"]).stdout).find(
      (c) => c.state === "open",
    )!.mailbox;
    const close = cli("alice", ["channel", "close", "--mailbox", mailbox]);
    expect(close.stdout).toMatch(/the mailbox may redeem until .*: withdraw in (1|2) min/);
    // Chain time moves with the clock even when no block is mined.
    const left = () => {
      const r = run("alice", ["channel", "withdraw", "--mailbox", mailbox]);
      expect(r.status).toBe(2);
      const m = /the close grace ends in (?:(\d+) min )?(\d+) s of chain time/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(r.stderr).toContain("--wait");
      return Number(m![1] ?? 0) * 60 + Number(m![2]);
    };
    const first = left();
    await vi.waitFor(() => expect(left()).toBeLessThan(first - 1), { timeout: 15_000, interval: 500 });
    // Skip most of the grace on the chain; the command waits for the rest (20 s), saying so.
    await net.publicClient.request({ method: "evm_increaseTime" as never, params: [left() - 20] as never });
    await net.publicClient.request({ method: "evm_mine" as never });
    const withdraw = cli("alice", ["channel", "withdraw", "--mailbox", mailbox, "--wait"]);
    expect(withdraw.stderr).toMatch(/waiting for the close grace to end: \d+ s of chain time left/);
    expect(withdraw.stdout).toMatch(/refunded\s+\d+(\.\d+)? SNT/);
  }, 120_000);
});
