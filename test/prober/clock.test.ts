// The prober's own rounds on a clock the test moves: two real paid mailboxes (libp2p on loopback)
// registered on Hardhat's in-process chain, followed, probed and sent canaries by a real Prober
// that buys them back through a real channel. Samples, canary deadlines and figures all read the
// test's clock, so a day passes in an instant; nothing of the chain, the database or libp2p is
// mocked.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadConfig, MailboxNode } from "@postbox/node";
import { type MailboxFigures, Prober, SampleStore } from "@postbox/prober";
import { network } from "hardhat";
import { pino } from "pino";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployPostboxFixture, hardhatKey } from "../../scripts/lib/chain.ts";

const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const CANARY_DELAY = 120_000;

describe("the prober's rounds on a test clock", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-prober-clock-"));
  let clock = T0;
  let prober: Prober;
  let store: SampleStore;
  const nodes: MailboxNode[] = [];
  let kept: MailboxNode;
  let lossy: MailboxNode;
  const operators: string[] = [];

  beforeAll(async () => {
    const { viem } = await network.connect();
    const publicClient = await viem.getPublicClient();
    const wallets = await viem.getWalletClients();
    const fixture = await deployPostboxFixture({
      publicClient,
      walletClient: wallets[0]!,
      initialSupply: parseEther("1000000"),
      fund: [1, 2, 3].map((i) => wallets[i]!.account.address),
      fundEach: parseEther("10000"),
    });
    const { addresses } = fixture;
    // Two paid mailboxes, operated by accounts #1 and #2, each listed with its real address.
    for (const [i, name] of [
      [1, "kept"],
      [2, "lossy"],
    ] as const) {
      const node = await MailboxNode.create(
        loadConfig({
          flags: {
            dataDir: join(dir, name),
            listen: ["/ip4/127.0.0.1/tcp/0"],
            http: { port: 0 },
            logLevel: "silent",
            chain: {
              rpcUrl: "http://127.0.0.1:1",
              chainId: addresses.chainId,
              registry: addresses.registry,
              channels: addresses.channels,
              operatorKey: hardhatKey(i),
            },
            // Not each other's peers: no gossip carries one's canaries into the other's archive.
            peering: { registryPeers: 0 },
          },
        }),
        { logger: pino({ level: "silent" }), chainClients: { publicClient, walletClient: wallets[i]! } },
      );
      await node.start();
      nodes.push(node);
      await fixture.register(wallets[i]!, {
        peerId: node.peerId,
        multiaddrs: node.libp2p.getMultiaddrs().map((m) => m.decapsulate("/p2p").toString()),
        stake: parseEther("1000"),
        pricePerQuery: parseEther("0.01"),
        pricePerMessage: parseEther("0.0001"),
        retentionSeconds: 86_400n,
      });
      operators.push(wallets[i]!.account.address.toLowerCase());
    }
    [kept, lossy] = nodes as [MailboxNode, MailboxNode];
    store = new SampleStore(join(dir, "prober", "prober.sqlite"));
    prober = new Prober({
      store,
      publicClient,
      wallet: wallets[3]!,
      chainId: addresses.chainId,
      addresses,
      dataDir: join(dir, "prober"),
      log: pino({ level: "silent" }),
      canaryDelayMs: CANARY_DELAY,
      timeoutMs: 5_000,
      channelDeposit: parseEther("10"),
      now: () => clock,
      schedule: false,
    });
    await prober.readParameters();
    await prober.start();
  }, 60_000);

  afterAll(async () => {
    await prober?.stop();
    store?.close();
    for (const n of nodes) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const figures = (i: number): MailboxFigures => prober.figures().find((f) => f.address === operators[i])!;

  it("times probes and canaries by its clock: a canary is bought back once due, lost when not returned, given up after a day", async () => {
    // T0: both listed, probed and sent a first canary (not yet due).
    expect(
      prober
        .figures()
        .map((f) => f.address)
        .sort(),
    ).toEqual([...operators].sort());
    await prober.probeAll();
    await prober.canaryRound();
    for (const i of [0, 1]) {
      expect(figures(i)).toMatchObject({
        probedSince: T0,
        probesOk: 1,
        probesFailed: 0,
        canariesExpected: 0,
      });
      expect(figures(i).uptime24h).toBe(1);
    }
    // The lossy mailbox loses what it stored: rows deleted behind its back.
    const db = new DatabaseSync(join(dir, "lossy", "archive.sqlite"));
    db.exec("PRAGMA busy_timeout = 5000");
    expect(Number(db.prepare("DELETE FROM envelopes").run().changes)).toBe(1);
    db.close();

    // A millisecond before the first canary is due: a second one pushed, none bought back.
    clock = T0 + CANARY_DELAY - 1;
    await prober.canaryRound();
    expect([figures(0).canariesExpected, figures(1).canariesExpected]).toEqual([0, 0]);

    // Due: bought back from the one that kept it, lost by the other (it answered without it).
    clock = T0 + CANARY_DELAY;
    await prober.canaryRound();
    expect(figures(0)).toMatchObject({ canariesExpected: 1, canariesFound: 1, completeness: 1 });
    expect(figures(1)).toMatchObject({ canariesExpected: 1, canariesFound: 0, completeness: 0 });
    const lost = store.samples(operators[1]!, T0, clock).filter((s) => s.kind === "canary");
    expect(lost.map((s) => [s.ok, s.detail])).toEqual([[false, "not returned"]]);

    // Two days on, the lossy mailbox down: its two canaries still due are given up (a day has
    // passed since each was pushed), the other mailbox returns both.
    await lossy.stop();
    clock = T0 + 2 * DAY;
    await prober.probeAll();
    await prober.canaryRound();
    const [k, l] = [figures(0), figures(1)];
    expect(k).toMatchObject({ canariesExpected: 3, canariesFound: 3, probesOk: 2, probesFailed: 0 });
    expect(l).toMatchObject({ canariesExpected: 3, canariesFound: 0, probesOk: 1, probesFailed: 1 });
    const givenUp = store.samples(operators[1]!, clock, clock).filter((s) => s.kind === "canary");
    expect(givenUp).toHaveLength(2);
    expect(givenUp.every((s) => !s.ok && s.detail.startsWith("given up: "))).toBe(true);
    // The windows by the same clock: the last 24 h hold one probe; the 7-day figure is shown once
    // more than a day was probed; no 30-day figure after two days.
    expect(k.samples).toMatchObject({ probes24h: 1, probes7d: 2, probes30d: 2 });
    expect([k.uptime24h, k.uptime7d, k.uptime30d]).toEqual([1, 1, null]);
    expect([l.uptime24h, l.uptime7d, l.uptime30d]).toEqual([0, 0.5, null]);
    expect(k.latencyP50Ms).toBeGreaterThan(0);
    expect(l.latencyP50Ms).toBeNull();
    expect(k.score).toBeGreaterThan(l.score);
    expect(kept.libp2p.status).toBe("started");
  }, 60_000);
});
