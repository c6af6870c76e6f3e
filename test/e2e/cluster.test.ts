// Issue 21 §1/§3: two mailbox nodes (real `postbox node start` processes, each its own data folder
// and peer key) on one PostgreSQL (the system server, a fresh schema), one operator key and one
// registry entry, on a real JSON-RPC chain (`hardhat node`). The database, not a process, decides
// what a voucher pays for: 50 concurrent paid queries on one channel split over both nodes are each
// charged once and the channel's spent amount is exact to the wei; a voucher whose credit one node
// used is refused as a replay by the other, even when both get it at once. One node leads (runs the
// redeemer and retention); SIGKILLed, the other takes over and redeems. Retention drops a whole day
// partition. One chain and one pair of nodes serve every case.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import {
  type ClientHost,
  createChannelManager,
  createClientHost,
  dialableAddresses,
  fetchHistory,
  type MailboxCandidate,
  NODE_DIAL_POLICY,
  pushEnvelope,
  queryStore,
} from "@postbox/client";
import { mailboxRegistryAbi, paymentChannelsAbi } from "@postbox/contracts";
import { PostgresArchive } from "@postbox/node";
import { bytesToBigint, createEnvelope, identify, StatusCode, toBareHex } from "@postbox/protocol";
import pg from "pg";
import { type Hex, parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deployPostboxFixture, hardhatKey, startHardhatNode } from "../../scripts/lib/chain.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "packages", "cli", "bin", "postbox.js");
const PQ = parseEther("0.01");
const PM = parseEther("0.0001");
const url = process.env.POSTBOX_TEST_POSTGRES_URL;

describe.runIf(!url && process.env.CI)("mailbox cluster under CI", () => {
  it("has a server to test against", () => {
    expect(url, "POSTBOX_TEST_POSTGRES_URL must be set under CI").toBeTruthy();
  });
});

interface RunningNode {
  child: ChildProcess;
  peerId: string;
  addr: Multiaddr;
  data: string;
  port: number;
  /** Everything it wrote to stdout (JSON lines). */
  out: () => string;
}

describe.runIf(url)("two mailbox nodes on one PostgreSQL", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-cluster-"));
  const schema = `postbox_cluster_${process.pid}`;
  const db = `${url}${url?.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const stops: (() => Promise<void>)[] = [];
  const processes: ChildProcess[] = [];
  let env: Awaited<ReturnType<typeof setUp>>;
  let nodes: RunningNode[] = [];
  let host: ClientHost;
  /** The first case's channel manager (its channel is settled and redeemed by the third). */
  let paying: Awaited<ReturnType<typeof env.manager>>;

  afterAll(async () => {
    await host?.stop();
    for (const p of processes) p.kill("SIGKILL");
    for (const stop of stops) await stop();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    env = await setUp();
    const ports = await freePortBlock(15_000, 2);
    nodes = await Promise.all([env.start("a", ports), env.start("b", ports + 1)]);
    host = await createClientHost();
    await host.start();
  }, 60_000);

  async function setUp() {
    const chainNode = await startHardhatNode(await freePortBlock(14_500, 1));
    stops.push(chainNode.stop);
    const { rpc, publicClient, wallet } = chainNode;
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
    // Both nodes sign evidence with the one key the registry names.
    const evidenceFile = join(dir, "evidence.key");
    writeFileSync(evidenceFile, hardhatKey(5), { mode: 0o600 });
    const configFile = join(dir, "node.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        rateLimit: { pushesPerSecond: 10_000, queriesPerSecond: 10_000 },
        cluster: { leaderRetry: "1s" },
        retention: { maxAge: "2d", interval: "1s" },
        payments: { redeemInterval: "1s", redeemMin: "0.001" },
        peering: { registryPeers: 0 },
      }),
    );
    /** Starts node `name` (its own data folder) on `port`: a real `postbox node start` process. */
    const start = (name: string, port: number) =>
      new Promise<RunningNode>((resolve, reject) => {
        const data = join(dir, name);
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
            "--db",
            db,
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
            "--evidence-key-file",
            evidenceFile,
            "--config",
            configFile,
          ],
          { stdio: ["ignore", "pipe", "inherit"] },
        );
        processes.push(child);
        let buf = "";
        let started = false;
        child.stdout!.on("data", (d: Buffer) => {
          buf += d.toString();
          if (started) return;
          const line = buf.split("\n").find((l) => l.includes('"mailbox started"'));
          if (line) {
            started = true;
            const peerId = (JSON.parse(line) as { peerId: string }).peerId;
            resolve({
              child,
              peerId,
              addr: multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`),
              data,
              port,
              out: () => buf,
            });
          }
        });
        child.on("exit", (code) => {
          if (!started) reject(new Error(`node exited ${code}: ${buf}`));
        });
      });
    const manager = (folder: string, creditPages?: number) =>
      createChannelManager({
        location: join(dir, folder),
        publicClient,
        wallet: wallet(2),
        chainId: 31337,
        snt: a.snt,
        registry: a.registry,
        channels: a.channels,
        ...(creditPages ? { creditPages } : {}),
      });
    const onChain = (id: Hex) =>
      publicClient.readContract({
        address: a.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [id],
      });
    /** `postbox node set-endpoint` as the operator (a real CLI process). */
    const setEndpoint = (dataDir: string, multiaddrs: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [
            BIN,
            "node",
            "set-endpoint",
            "--data-dir",
            dataDir,
            ...multiaddrs.flatMap((m) => ["--multiaddr", m]),
            "--rpc-url",
            rpc,
            "--chain-id",
            "31337",
            "--registry",
            a.registry,
            "--operator-key-file",
            keyFile,
            "--json",
          ],
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)),
        ),
      );
    const entry = () =>
      publicClient.readContract({
        address: a.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [wallet(1).account.address],
      });
    return {
      rpc,
      wallet,
      a,
      start,
      manager,
      onChain,
      setEndpoint,
      entry,
      operator: wallet(1).account.address,
    };
  }

  /** The channel's row in the shared ledger. */
  async function ledgerRow(channelId: Hex) {
    const c = new pg.Client({ connectionString: db });
    await c.connect();
    try {
      const r = await c.query<{ spent: string; settled: string; authorized: string }>(
        "SELECT spent::text, settled_amount::text AS settled, authorized_amount::text AS authorized FROM channel_accounts WHERE channel_id = $1",
        [Buffer.from(channelId.slice(2), "hex")],
      );
      return r.rows[0]!;
    } finally {
      await c.end();
    }
  }

  const lines = (n: RunningNode, msg: string) =>
    n
      .out()
      .split("\n")
      .filter((l) => l.includes(`"msg":"${msg}"`));

  async function push(addr: Multiaddr, topic: string, count: number) {
    for (let i = 0; i < count; i++) {
      const e = createEnvelope({
        contentTopic: topic,
        timestamp: BigInt(Date.now() + i),
        payload: new Uint8Array([i + 1]),
      });
      await pushEnvelope(host, addr, e);
    }
  }

  it("charges 50 concurrent paid queries on one channel, split over both nodes, each once and exactly", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    // 50 topics of 3 envelopes, pushed to either node: both store into the one archive.
    await Promise.all(Array.from({ length: 50 }, (_, i) => push(i % 2 ? b.addr : a.addr, `/t/c${i}`, 3)));
    const manager = await env.manager("concurrent");
    paying = manager;
    const record = await manager.open(env.operator, parseEther("5"));
    const ask = async (i: number) => {
      for (let attempt = 0; ; attempt++) {
        const voucher = await manager.voucherFor(env.operator, 10);
        const res = await queryStore(host, (i % 2 ? b : a).addr, {
          contentTopics: [`/t/c${i}`],
          pageSize: 10,
          voucher,
        });
        manager.record(env.operator, res, voucher);
        // A voucher overtaken by pages in flight on the other node: the client signs the next one.
        if (res.status !== StatusCode.OK && manager.mayRetry(env.operator, voucher) && attempt < 5) continue;
        return res;
      }
    };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(i)));
    for (const r of results) expect(r.status, r.statusDesc).toBe(StatusCode.OK);
    const cost = PQ + 3n * PM;
    for (const r of results) {
      expect(r.envelopes.length).toBe(3);
      expect(bytesToBigint(r.cost!)).toBe(cost);
    }
    // Every page was charged once: the spent amounts the pages reported are 1..50 pages' worth.
    const reported = results.map((r) => bytesToBigint(r.spent!)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(reported).toEqual(Array.from({ length: 50 }, (_, k) => BigInt(k + 1) * cost));
    const row = await ledgerRow(record.channelId);
    expect(BigInt(row.spent)).toBe(50n * cost);
    expect(BigInt(row.spent)).toBeLessThanOrEqual(BigInt(row.authorized));
  }, 60_000);

  it("refuses on one node, as a replay, a voucher whose credit the other used, even when both get it at once", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    await push(a.addr, "/t/replay", 10);
    const manager = await env.manager("replay", 1);
    const record = await manager.open(env.operator, parseEther("1"));
    const query = async () => ({
      contentTopics: ["/t/replay"],
      pageSize: 10,
      voucher: await manager.voucherFor(env.operator, 10),
    });
    // One page of 10 at its largest: the voucher covers exactly it.
    const first = await query();
    const served = await queryStore(host, a.addr, first);
    expect(served.status, served.statusDesc).toBe(StatusCode.OK);
    manager.record(env.operator, served, first.voucher);
    const spent = PQ + 10n * PM;
    expect(bytesToBigint(served.spent!)).toBe(spent);
    const replay = await queryStore(host, b.addr, first);
    expect(replay.status).toBe(StatusCode.INVALID_VOUCHER);
    expect(replay.statusDesc).toMatch(/replayed voucher/);
    expect(replay.envelopes).toEqual([]);
    expect(bytesToBigint(replay.quote!.spent)).toBe(spent);
    // A fresh voucher sent to both nodes at the same instant: exactly one serves.
    const next = await query();
    const both = await Promise.all([queryStore(host, a.addr, next), queryStore(host, b.addr, next)]);
    expect(both.map((r) => r.status).sort()).toEqual([StatusCode.OK, StatusCode.INVALID_VOUCHER].sort());
    const row = await ledgerRow(record.channelId);
    expect(BigInt(row.spent)).toBe(2n * spent);
  }, 30_000);

  it("leads from one node only; SIGKILLed, the other takes over and redeems", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const leading = (n: RunningNode) => lines(n, "leading: this node runs the mailbox's single jobs").length;
    expect(leading(a) + leading(b)).toBe(1);
    const [leader, follower] = leading(a) ? [a, b] : [b, a];
    // What the first case spent, once settled, is redeemed by the leader only.
    const manager = paying;
    const record = manager.channelTo(env.operator)!;
    const settle = async (n: RunningNode) => {
      const res = await queryStore(host, n.addr, {
        contentTopics: [],
        includeData: false,
        voucher: await manager.settlementFor(env.operator),
      });
      expect(res.status, res.statusDesc).toBe(StatusCode.OK);
    };
    await settle(follower);
    // The chain shows the redemption before the leader logs it (after the transaction's receipt).
    await vi.waitFor(
      async () => {
        expect((await env.onChain(record.channelId)).paid).toBe(BigInt(record.spent));
        expect(lines(leader, "redeemed").length).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(lines(follower, "redeemed").length).toBe(0);
    // The leader dies without warning: its connection drops, PostgreSQL frees the lock.
    leader.child.kill("SIGKILL");
    await new Promise((r) => leader.child.once("exit", r));
    await vi.waitFor(() => expect(leading(follower)).toBe(1), { timeout: 10_000, interval: 100 });
    // More pages, settled: the new leader redeems them.
    await push(follower.addr, "/t/after", 5);
    const voucher = await manager.voucherFor(env.operator, 10);
    const res = await queryStore(host, follower.addr, { contentTopics: ["/t/after"], pageSize: 10, voucher });
    expect(res.status, res.statusDesc).toBe(StatusCode.OK);
    manager.record(env.operator, res, voucher);
    await settle(follower);
    await vi.waitFor(
      async () => {
        expect((await env.onChain(record.channelId)).paid).toBe(BigInt(record.spent));
        expect(lines(follower, "redeemed").length).toBeGreaterThan(0);
      },
      { timeout: 15_000, interval: 250 },
    );
    // The dead node comes back as a follower.
    await host.hangUp(leader.addr).catch(() => undefined);
    const back = await env.start(leader === a ? "a" : "b", leader.port);
    nodes = leader === a ? [back, b] : [a, back];
    // Its first try at the lock ran before it said "mailbox started", while the other node held it.
    expect(leading(back)).toBe(0);
  }, 60_000);

  it("drops a whole day partition once it is past retention", async () => {
    // Envelopes five days old (gossip would refuse them; a mailbox that synced its gaps holds
    // such), written straight into the shared archive.
    const archive = await PostgresArchive.open({ url: db });
    const old = BigInt(Date.now() - 5 * 86_400_000);
    const envelopes = Array.from({ length: 20 }, (_, i) => ({
      ...createEnvelope({ contentTopic: "/t/old", timestamp: old + BigInt(i), payload: new Uint8Array([i]) }),
      receivedAt: Date.now(),
    }));
    try {
      expect((await archive.insert(envelopes)).length).toBe(20);
      const day = Math.floor(Number(old) / 86_400_000);
      const name = `envelopes_d${new Date(day * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "")}`;
      expect((await archive.partitions()).map((p) => p.name)).toContain(name);
      // The leader's retention (every second, two days) drops it whole.
      await vi.waitFor(
        async () => expect((await archive.partitions()).map((p) => p.name)).not.toContain(name),
        {
          timeout: 10_000,
          interval: 250,
        },
      );
      expect(await archive.presence(envelopes.map((e) => e.id))).toEqual([]);
      // Its log line follows the drop (through the process's stdout pipe).
      await vi.waitFor(
        () => {
          const by = nodes.filter((n) => lines(n, "retention pass").some((l) => l.includes('"deleted":20')));
          expect(by.length, "one node's retention pass deleted the 20").toBe(1);
        },
        { timeout: 5_000, interval: 100 },
      );
      // Today's envelopes stay.
      const today = await archive.query({ topics: ["/t/c0"], forward: true, limit: 10 });
      expect(today.envelopes.length).toBe(3);
      expect(toBareHex(today.envelopes[0]!.id)).toHaveLength(64);
    } finally {
      await archive.close();
    }
  }, 30_000);

  it("lists both nodes in one registry entry; a node killed during a catch-up, the client goes on with the other, every message once", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    // The entry's peer id is node a's (its data folder); each address ends in its node's id.
    await env.setEndpoint(a.data, [a.addr.toString(), b.addr.toString()]);
    const m = await env.entry();
    expect(m.peerId).toBe(a.peerId);
    expect([...m.multiaddrs]).toEqual([a.addr.toString(), b.addr.toString()]);
    // 1,000 messages in the shared archive.
    const archive = await PostgresArchive.open({ url: db });
    const t0 = Date.now() - 60_000;
    const sent = Array.from({ length: 1_000 }, (_, i) => ({
      ...createEnvelope({
        contentTopic: "/t/catchup",
        timestamp: BigInt(t0 + i * 10),
        payload: new Uint8Array([i % 256, i >> 8]),
      }),
      receivedAt: Date.now(),
    }));
    expect((await archive.insert(sent)).length).toBe(1_000);
    await archive.close();
    const mailbox = {
      id: env.operator.toLowerCase(),
      operator: env.operator,
      peerId: m.peerId,
      multiaddrs: [...m.multiaddrs],
      paid: true,
      price: { pricePerQuery: PQ, pricePerMessage: PM },
    } as unknown as MailboxCandidate;
    // Another operator's mailbox, next in line: never used while a node of the first answers.
    const other = {
      ...mailbox,
      id: "0x000000000000000000000000000000000000dead",
      operator: "0x000000000000000000000000000000000000dEaD",
      multiaddrs: [`/ip4/127.0.0.1/tcp/1/p2p/${a.peerId}`],
    } as unknown as MailboxCandidate;
    const channels = await env.manager("catchup");
    const failovers: string[] = [];
    const failures: string[] = [];
    let pages = 0;
    let killed: RunningNode | undefined;
    const history = await fetchHistory({
      host,
      addresses: (c) => dialableAddresses(c, NODE_DIAL_POLICY),
      candidates: [mailbox, other],
      k: 1,
      topics: ["/t/catchup"],
      from: t0 - 1,
      pageSize: 50,
      channels,
      deposit: parseEther("5"),
      feed: "#catchup",
      onPage: () => {
        // Killed without warning a few pages in, with most of the catch-up still to come.
        if (++pages === 4) {
          killed = b;
          b.child.kill("SIGKILL");
        }
      },
      onFailover: (from, to, reason) => failovers.push(`${from.id} → ${to?.id}: ${reason}`),
      onFailure: (_, err) => failures.push(err.message),
    });
    expect(killed).toBe(b);
    expect(failovers).toEqual([]);
    expect(failures).toEqual([]);
    expect(history.served).toEqual([mailbox.id]);
    const ids = history.envelopes.map((e) => toBareHex(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(sent.map((e) => toBareHex(identify(e).id)));
    expect(history.pages).toBeGreaterThanOrEqual(20);
    // Paid exactly for what was served, across both nodes.
    const row = await ledgerRow(channels.channelTo(env.operator)!.channelId);
    expect(BigInt(row.spent)).toBe(BigInt(channels.channelTo(env.operator)!.spent));
  }, 60_000);
});
