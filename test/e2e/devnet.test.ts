// The devnet library (scripts/lib/devnet.ts), as `npm start` uses it, on ports of its own: its
// chain's clock follows the wall clock on a quiet chain.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEther } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { type Devnet, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const PORT = await freePortBlock(30_000);

describe("devnet", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-devnet-"));
  let net: Devnet | undefined;

  afterAll(async () => {
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mines an empty block every 5 s on a quiet chain, and each transaction at once", async () => {
    const lines: string[] = [];
    net = await startDevnet({
      dataDir: join(dir, "quiet"),
      basePort: PORT,
      mailboxes: [],
      stdio: "ignore",
      log: (l) => lines.push(l),
    });
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
    await net.stop();
    net = undefined;
  }, 60_000);
});
