// Issue 21 §2: the prober's completeness for a mailbox that was briefly down recovers once it has
// synced. Three real paid mailboxes (libp2p on loopback, peered through the registry on Hardhat's
// in-process chain) and a real Prober on a clock the test moves, with network canaries (a canary
// pushed to one mailbox is expected at the others too). b and c are down while a canary is pushed
// to a; gossip cannot bring it to them afterwards. b syncs (`/postbox/sync/1`) after its restart
// and returns it; c, with sync off, does not, and loses it once the grace has passed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, MailboxNode } from "@postbox/node";
import { type MailboxFigures, Prober, SampleStore } from "@postbox/prober";
import { fromBareHex } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deployPostboxFixture, hardhatKey } from "../../scripts/lib/chain.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const CANARY_DELAY = 2 * MIN;

describe("completeness after a downtime, with and without sync", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-prober-sync-"));
  let clock = T0;
  let prober: Prober;
  let store: SampleStore;
  const nodes: Record<string, MailboxNode> = {};
  const operators: Record<string, string> = {};
  let start: (name: "a" | "b" | "c") => Promise<MailboxNode>;

  beforeAll(async () => {
    const { viem } = await network.connect();
    const publicClient = await viem.getPublicClient();
    const wallets = await viem.getWalletClients();
    const fixture = await deployPostboxFixture({
      publicClient,
      walletClient: wallets[0]!,
      initialSupply: parseEther("1000000"),
      fund: [1, 2, 3, 4].map((i) => wallets[i]!.account.address),
      fundEach: parseEther("10000"),
    });
    const { addresses } = fixture;
    const port = await freePortBlock(3_000, 3);
    const setting = {
      a: { i: 1, sync: {} },
      b: { i: 2, sync: {} },
      c: { i: 3, sync: { enabled: false } },
    } as const;
    start = async (name) => {
      const { i, sync } = setting[name];
      const node = await MailboxNode.create(
        loadConfig({
          flags: {
            dataDir: join(dir, name),
            listen: [`/ip4/127.0.0.1/tcp/${port + i - 1}`],
            http: { port: 0 },
            logLevel: "silent",
            chain: {
              rpcUrl: "http://127.0.0.1:1",
              chainId: addresses.chainId,
              registry: addresses.registry,
              channels: addresses.channels,
              operatorKey: hardhatKey(i),
            },
            sync: { startDelay: "1s", ...sync },
          },
        }),
        {
          logger: pino({ level: "silent" }),
          chainClients: { publicClient, walletClient: wallets[i]! },
        },
      );
      await node.start();
      nodes[name] = node;
      return node;
    };
    for (const name of ["a", "b", "c"] as const) {
      const node = await start(name);
      const w = wallets[setting[name].i]!;
      await fixture.register(w, {
        peerId: node.peerId,
        multiaddrs: node.libp2p.getMultiaddrs().map((m) => m.decapsulate("/p2p").toString()),
        stake: parseEther("1000"),
        pricePerQuery: parseEther("0.01"),
        pricePerMessage: parseEther("0.0001"),
        retentionSeconds: 86_400n,
      });
      operators[name] = w.account.address.toLowerCase();
    }
    store = new SampleStore(join(dir, "prober", "prober.sqlite"));
    prober = new Prober({
      store,
      publicClient,
      wallet: wallets[4]!,
      chainId: addresses.chainId,
      addresses,
      dataDir: join(dir, "prober"),
      log: pino({ level: "silent" }),
      canaryDelayMs: CANARY_DELAY,
      networkCanaries: 2,
      timeoutMs: 5_000,
      channelDeposit: parseEther("10"),
      now: () => clock,
      schedule: false,
    });
    await prober.readParameters();
    await prober.start();
  }, 90_000);

  afterAll(async () => {
    await prober?.stop();
    store?.close();
    for (const n of Object.values(nodes)) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const figures = (name: string): MailboxFigures =>
    prober.figures().find((f) => f.address === operators[name])!;
  const canarySamples = (name: string) =>
    store.samples(operators[name]!, T0, clock + 1).filter((s) => s.kind === "canary");

  it("a mailbox that syncs keeps its completeness; one that does not loses what it missed", async () => {
    // Every mailbox answers a probe (network canaries go to mailboxes whose info is known).
    await prober.probeAll();
    // b and c go down; a canary pushed to a is expected at both.
    await nodes.b!.stop();
    await nodes.c!.stop();
    clock = T0 + 10 * MIN;
    await prober.probeAll();
    expect(figures("b").probesFailed).toBe(1);
    await prober.canaryRound();
    const missed = store.dueCanaries(operators.b!, clock, 10).map((c) => c.id.split("/")[0]!);
    expect(missed).toHaveLength(1);
    expect(store.dueCanaries(operators.c!, clock, 10).map((c) => c.id.split("/")[0])).toEqual(missed);

    // Both back; b fetches the canary from a by sync (gossip does not replay it), c cannot.
    const b = await start("b");
    const c = await start("c");
    const id = fromBareHex(missed[0]!);
    await vi.waitFor(async () => expect(await b.archive.presence([id])).toHaveLength(1), {
      timeout: 30_000,
      interval: 200,
    });
    expect(await c.archive.presence([id])).toHaveLength(0);

    // Due: b returns it (found); c does not, but was down 2 minutes ago: not judged yet.
    clock = T0 + 10 * MIN + CANARY_DELAY;
    await prober.probeAll();
    await prober.canaryRound();
    expect(canarySamples("b").map((s) => [s.ok, s.detail])).toEqual([[true, "returned"]]);
    expect(canarySamples("c")).toEqual([]);
    expect(figures("b").completeness).toBe(1);

    // 15 minutes after c was last down, what it still lacks is lost.
    clock = T0 + 10 * MIN + 15 * MIN;
    await prober.probeAll();
    await prober.canaryRound();
    const lost = canarySamples("c").filter((s) => !s.ok);
    expect(lost.map((s) => s.detail)).toEqual(["not returned"]);
    expect(figures("c").completeness!).toBeLessThan(1);
    expect(figures("b").completeness).toBe(1);
  }, 90_000);
});
