// The devnet library (scripts/lib/devnet.ts), as `npm start` uses it, on ports of its own: its
// chain's clock follows the wall clock on a quiet chain, and a restart on the same data folder (a
// new chain, the same contract addresses) leaves nothing of the previous chain's channels behind,
// so that the commands `npm start`'s summary prints work through the real `postbox` binary.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseEther } from "viem";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DEV_KEYS, type Devnet, POSTBOX_BIN, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const PORT = await freePortBlock(30_000);

/** The channels a mailbox's payment ledger holds accounts of (hex ids). */
function ledgerChannels(mailboxDir: string): string[] {
  const db = new DatabaseSync(join(mailboxDir, "ledger.sqlite"), { readOnly: true });
  try {
    const rows = db.prepare("SELECT channel_id FROM channel_accounts").all() as { channel_id: Uint8Array }[];
    return rows.map((r) => Buffer.from(r.channel_id).toString("hex"));
  } finally {
    db.close();
  }
}

describe("devnet", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-devnet-"));
  let net: Devnet | undefined;

  // Each test's network stops with it, whether it passed or not (its processes are detached).
  afterEach(async () => {
    await net?.stop();
    net = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("mines an empty block every 5 s on a quiet chain, and each transaction at once", async () => {
    net = await startDevnet({ dataDir: join(dir, "quiet"), basePort: PORT, mailboxes: [], stdio: "ignore" });
    const client = net.publicClient;
    const first = await client.getBlock();
    // No transaction is sent: a new block within ~6 s, with a later timestamp and no transaction.
    const until = Date.now() + 6_500;
    let next = first;
    while (next.number === first.number && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      next = await client.getBlock();
    }
    expect(next.number, "no block was mined on a quiet chain").toBeGreaterThan(first.number);
    expect(next.transactions).toEqual([]);
    expect(next.timestamp).toBeGreaterThan(first.timestamp);
    // Automine is still on: a transaction is mined at once, in a block of its own.
    const before = await client.getBlockNumber();
    const started = Date.now();
    const hash = await net
      .wallet(5)
      .sendTransaction({ to: net.wallet(7).account.address, value: parseEther("1") });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(receipt.blockNumber).toBeGreaterThan(before);
  }, 60_000);

  it("after a restart on the same data folder, the summary's commands work (the previous chain's channels are reset)", async () => {
    const dataDir = join(dir, "restart");
    const lines: string[] = [];
    const start = () =>
      startDevnet({
        dataDir,
        basePort: PORT + 200,
        mailboxes: [
          { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
          { name: "beta", operator: 2, pricePerQuery: "0.02", pricePerMessage: "0.00005" },
        ],
        prober: { key: 6, port: PORT + 390 },
        stdio: "ignore",
        log: (l) => lines.push(l),
      });
    // What the summary exports, and its commands, through the real binary.
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [POSTBOX_BIN, ...args], {
        encoding: "utf8",
        env: {
          ...process.env,
          POSTBOX_RPC_URL: net!.rpc,
          POSTBOX_CLIENT_DIR: join(dataDir, "client-you"),
          POSTBOX_WALLET_KEY: DEV_KEYS[4],
          POSTBOX_PROBER_URL: net!.proberUrl!,
        },
      });
      expect(r.status, `postbox ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`).toBe(0);
      return { out: r.stdout, err: r.stderr };
    };

    net = await start();
    cli("room", "join", "#x");
    cli("chat", "send", "--to", "#x", "before the restart");
    expect(cli("chat", "read", "#x").out).toContain("before the restart");
    cli("channel", "status");
    expect(await net.stop()).toBe(true);
    // The previous chain's payments are on disk: the client's channel record, the mailboxes' ledgers.
    expect(existsSync(join(dataDir, "client-you", "channels.db"))).toBe(true);
    const mailboxDirs = net.mailboxes.map((m) => m.dir);
    const previous = mailboxDirs.flatMap(ledgerChannels);
    expect(previous.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toMatch(/previous chain/);

    net = await start();
    // Said once each: the client's channel records and the mailboxes' ledgers were reset.
    // (The prober is a client too: it pays for its canaries.)
    const said = lines.join("\n");
    expect(said).toContain(
      "the previous chain is gone: reset channel records in client-you, prober (identities, contacts and messages kept)",
    );
    expect(said).toContain(
      "the previous chain is gone: reset payment ledgers in mailbox-alpha, mailbox-beta (keys and archives kept)",
    );
    cli("chat", "send", "--to", "#x", "after the restart");
    const read = cli("chat", "read", "#x");
    // The identity, the room and the messages were kept; the new chain's channel pays.
    expect(read.out).toContain("before the restart");
    expect(read.out).toContain("after the restart");
    expect(read.err).not.toMatch(/archived|failed|INVALID_VOUCHER/);
    const status = cli("channel", "status");
    expect(`${status.out}${status.err}`).not.toMatch(/archived|another chain|other chain/i);
    // The mailboxes' ledgers hold this chain's channel, none of the previous chain's.
    const now = mailboxDirs.flatMap(ledgerChannels);
    expect(now.length).toBeGreaterThan(0);
    expect(now.filter((id) => previous.includes(id))).toEqual([]);
    const mailboxes = cli("mailboxes");
    expect(mailboxes.out).not.toMatch(/graylisted/);
    for (const m of net.mailboxes)
      expect(mailboxes.out.toLowerCase()).toContain(m.operator.toLowerCase().slice(0, 8));
  }, 240_000);
});
