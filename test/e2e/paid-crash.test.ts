// A paid mailbox killed with SIGKILL right after serving, then restarted: every voucher it accepted
// is still redeemable, a replayed voucher is refused (nothing is charged twice), and on shutdown it
// redeems exactly what it served. With a credit window (pages drawn from a voucher without a commit
// each), a kill between two vouchers loses only the draws not yet committed — the mailbox's loss —
// and the chain still pays exactly what the ledger proves. A mailbox down while its payer asks to close still redeems
// before the close deadline once it is back. Real processes, a real JSON-RPC chain (`hardhat node`).

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import {
  type ChannelManagerInit,
  type ClientHost,
  createChannelManager,
  createClientHost,
  pushEnvelope,
  queryStore,
} from "@postbox/client";
import { paymentChannelsAbi } from "@postbox/contracts";
import { bytesToBigint, createEnvelope, fromBareHex, StatusCode } from "@postbox/protocol";
import { type Hex, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deployPostboxFixture, hardhatKey, startHardhatNode } from "../../scripts/lib/chain.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
const PQ = parseEther("0.01");
const PM = parseEther("0.0001");

describe("paid mailbox crash", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-paid-crash-"));
  const processes: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const p of processes) p.kill("SIGKILL");
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let chain: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    chain = await setUp();
  });

  async function setUp() {
    const node = await startHardhatNode(await freePortBlock(14_000, 1));
    stops.push(node.stop);
    const { rpc, publicClient, wallet } = node;
    const { addresses: a, register } = await deployPostboxFixture({
      publicClient,
      walletClient: wallet(0),
      initialSupply: parseEther("100000"),
      fund: [wallet(1).account.address, wallet(2).account.address],
      fundEach: parseEther("10000"),
    });
    await register(wallet(1), {
      peerId: "p",
      multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
      stake: parseEther("1000"),
      pricePerQuery: PQ,
      pricePerMessage: PM,
      retentionSeconds: 86_400n,
    });
    const keyFile = join(dir, "operator.key");
    writeFileSync(keyFile, hardhatKey(1), { mode: 0o600 });
    // The test pushes its envelopes at once: its one client is not what the per-peer push limit
    // (100 a second) is about, and pacing it would only add seconds of waiting.
    const configFile = join(dir, "node.json");
    writeFileSync(configFile, JSON.stringify({ rateLimit: { pushesPerSecond: 10_000 } }));
    /** Starts a paid mailbox on `data` and `port` (a real `postbox node start` process). */
    const start = (data: string, port: number) =>
      new Promise<{ child: ChildProcess; peerId: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            BIN,
            "node",
            "start",
            "--data-dir",
            data,
            "--listen",
            `/ip4/127.0.0.1/tcp/${port}`,
            "--http-port",
            "0",
            "--rpc-url",
            rpc,
            "--chain-id",
            "31337",
            "--registry",
            a.registry,
            "--channels",
            a.channels,
            "--operator-key-file",
            keyFile,
            "--redeem-min",
            "1000",
            "--config",
            configFile,
          ],
          { stdio: ["ignore", "pipe", "inherit"] },
        );
        processes.push(child);
        let buf = "";
        child.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
          if (line) resolve({ child, peerId: (JSON.parse(line) as { peerId: string }).peerId });
        });
        child.on("exit", (code) => reject(new Error(`node exited ${code}: ${buf}`)));
      });
    /** The payer's channel manager (wallet 2) in the folder `folder` of the test's directory. */
    const manager = (folder: string, extra: Partial<ChannelManagerInit> = {}) =>
      createChannelManager({
        location: join(dir, folder),
        publicClient,
        wallet: wallet(2),
        chainId: 31337,
        snt: a.snt,
        registry: a.registry,
        channels: a.channels,
        ...extra,
      });
    /** The channel's state on the chain now. */
    const onChain = (id: Hex) =>
      publicClient.readContract({
        address: a.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [id],
      });
    return { rpc, publicClient, wallet, a, start, manager, onChain };
  }

  /** Pushes `count` envelopes on `topic` (payload i + 1), one after the other. */
  async function push(host: ClientHost, addr: Multiaddr, topic: string, count: number) {
    for (let i = 0; i < count; i++) {
      const envelope = createEnvelope({
        contentTopic: topic,
        timestamp: BigInt(Date.now() + i),
        payload: new Uint8Array([i + 1]),
      });
      await pushEnvelope(host, addr, envelope);
    }
  }

  it("keeps accepted vouchers through SIGKILL and never charges twice", async () => {
    const { wallet, start } = chain;
    const port = await freePortBlock(14_000, 1);
    const data = join(dir, "mailbox");
    let { child, peerId } = await start(data, port);
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    const host = await createClientHost();
    await host.start();
    try {
      await push(host, addr, "/t/paid", 30);
      const manager = await chain.manager("client", { creditPages: 1 });
      const record = await manager.open(wallet(1).account.address, parseEther("1"));
      const operator = wallet(1).account.address;
      let cursor: Uint8Array | undefined;
      let lastQuery: Parameters<typeof queryStore>[2] | undefined;
      for (let page = 0; page < 3; page++) {
        lastQuery = {
          contentTopics: ["/t/paid"],
          pageSize: 10,
          voucher: await manager.voucherFor(operator, 10),
          ...(cursor ? { cursor } : {}),
        };
        const res = await queryStore(host, addr, lastQuery);
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        expect(res.envelopes.length).toBe(10);
        manager.record(operator, res);
        cursor = res.nextCursor;
      }
      const spent = BigInt(manager.channelTo(operator)!.spent);
      expect(spent).toBe(3n * (PQ + 10n * PM));
      // Killed without warning right after serving.
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      await host.hangUp(addr).catch(() => undefined);
      ({ child } = await start(data, port));
      // The last voucher again: refused, nothing charged.
      const replay = await queryStore(host, addr, lastQuery!);
      expect(replay.status).toBe(StatusCode.INVALID_VOUCHER);
      expect(replay.envelopes).toEqual([]);
      expect(bytesToBigint(replay.quote!.spent)).toBe(spent);
      // On a clean stop the redeemer claims what the ledger kept through the crash.
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      const c = await chain.onChain(record.channelId);
      expect(c.paid).toBe(spent);
    } finally {
      await host.stop();
    }
  }, 90_000);

  it("with a credit window: a SIGKILL between two vouchers loses only uncommitted draws, never charges twice, and settles exactly", async () => {
    const { wallet, start } = chain;
    const port = await freePortBlock(14_000, 1);
    const data = join(dir, "mailbox-credit");
    let { child, peerId } = await start(data, port);
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
    const host = await createClientHost();
    await host.start();
    try {
      await push(host, addr, "/t/credit", 120);
      // The default window: a voucher pays 8 pages ahead.
      const manager = await chain.manager("client-credit");
      const operator = wallet(1).account.address;
      const record = await manager.open(operator, parseEther("1"));
      const max = PQ + 10n * PM;
      const amounts = new Set<bigint>();
      const costs: bigint[] = [];
      let cursor: Uint8Array | undefined;
      /** Reads `n` pages (or to the end); each answer's spent is the previous figure plus its cost. */
      const read = async (n: number, from: bigint) => {
        let mailboxSpent = from;
        for (let page = 0; page < n; page++) {
          const voucher = await manager.voucherFor(operator, 10);
          amounts.add(bytesToBigint(voucher.cumulativeAmount));
          const res = await queryStore(host, addr, {
            contentTopics: ["/t/credit"],
            pageSize: 10,
            voucher,
            ...(cursor ? { cursor } : {}),
          });
          expect(res.status, res.statusDesc).toBe(StatusCode.OK);
          manager.record(operator, res, voucher);
          costs.push(bytesToBigint(res.cost));
          mailboxSpent += bytesToBigint(res.cost);
          expect(bytesToBigint(res.spent)).toBe(mailboxSpent);
          cursor = res.nextCursor;
          if (!cursor) break;
        }
        return mailboxSpent;
      };
      const settle = async () => {
        const res = await queryStore(host, addr, {
          contentTopics: [],
          includeData: false,
          voucher: await manager.settlementFor(operator),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
      };
      // Three pages on one voucher, settled (committed); two more drawn from its credit.
      const settled = await read(3, 0n);
      await settle();
      const drawn = await read(2, settled);
      expect([...amounts]).toEqual([8n * max]);
      // Killed without warning between two vouchers, right after serving.
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      await host.hangUp(addr).catch(() => undefined);
      // On disk: the accepted voucher and the settlement; the draws after it only if their commit
      // (at most 1 s after a draw) ran before the kill.
      const db = new DatabaseSync(join(data, "ledger.sqlite"), { readOnly: true });
      const row = db
        .prepare("SELECT spent, authorized_amount, settled_amount FROM channel_accounts WHERE channel_id = ?")
        .get(fromBareHex(record.channelId)) as {
        spent: string;
        authorized_amount: string;
        settled_amount: string;
      };
      db.close();
      expect(BigInt(row.authorized_amount)).toBe(8n * max);
      expect(BigInt(row.settled_amount)).toBe(settled);
      const committed = BigInt(row.spent);
      expect([settled, settled + costs[3]!, drawn]).toContain(committed);

      ({ child } = await start(data, port));
      // The reader goes on with the same voucher: the mailbox charges from what it committed (the
      // pages it lost are its own loss, never charged again), then takes a new voucher.
      const end = await read(100, committed);
      expect(cursor).toBeUndefined();
      expect(amounts.size).toBe(2);
      expect(manager.channelTo(operator)!.spent).toBe(end.toString());
      await settle();
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      const c = await chain.onChain(record.channelId);
      // Exactly what the mailbox's ledger proves; never more than the pages it served cost.
      const servedCost = costs.reduce((x, y) => x + y, 0n);
      expect(c.paid).toBe(end);
      expect(c.paid).toBe(servedCost - (drawn - committed));
      await manager.close();
    } finally {
      await host.stop();
    }
  }, 90_000);

  it.each([
    1, // a full page: its voucher is exactly what was spent (settled, redeemable)
    8, // a voucher 8 pages ahead: the catch-up's settlement is what the mailbox can redeem
  ])(
    "redeems a close requested while it was down before the close deadline (creditPages %i)",
    async (creditPages) => {
      const { publicClient, wallet, start } = chain;
      const port = await freePortBlock(14_000, 1);
      const data = join(dir, `mailbox-down-${creditPages}`);
      let { child, peerId } = await start(data, port);
      const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
      const host = await createClientHost();
      await host.start();
      try {
        await push(host, addr, "/t/down", 10);
        const manager = await chain.manager(`client-down-${creditPages}`, { creditPages });
        const operator = wallet(1).account.address;
        const record = await manager.open(operator, parseEther("1"));
        const res = await queryStore(host, addr, {
          contentTopics: ["/t/down"],
          pageSize: 10,
          voucher: await manager.voucherFor(operator, 10),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        manager.record(operator, res);
        const spent = BigInt(manager.channelTo(operator)!.spent);
        expect(spent).toBe(PQ + 10n * PM); // far below --redeem-min: only a close makes it redeem
        if (creditPages > 1) {
          // The voucher authorised 8 pages: only the settlement (exactly spent) is redeemable.
          const settled = await queryStore(host, addr, {
            contentTopics: [],
            includeData: false,
            voucher: await manager.settlementFor(operator),
          });
          expect(settled.status, settled.statusDesc).toBe(StatusCode.OK);
        }
        // The mailbox crashes; while it is down the payer asks to close and the chain moves on.
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        await host.hangUp(addr).catch(() => undefined);
        await manager.requestClose(operator);
        await publicClient.request({ method: "hardhat_mine" as never, params: ["0x5"] as never });
        const channel = () => chain.onChain(record.channelId);
        expect((await channel()).closesAt).toBeGreaterThan(0);
        ({ child } = await start(data, port));
        // Back up: it finds the pending close on-chain and redeems before the deadline.
        await vi.waitFor(async () => expect((await channel()).paid).toBe(spent), {
          timeout: 30_000,
          interval: 200,
        });
        const now = (await publicClient.getBlock()).timestamp;
        expect(BigInt((await channel()).closesAt)).toBeGreaterThan(now);
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      } finally {
        await host.stop();
      }
    },
    90_000,
  );
});
