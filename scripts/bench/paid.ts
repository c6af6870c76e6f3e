// `npm run bench -- paid [--json] [--envelopes N]`
//
// The cost of payment: the same mailbox (its own process, `postbox node start`), archive, pages and
// concurrency, in paid mode (every page pays through a real channel — a `hardhat node` chain over
// JSON-RPC) and in free mode. Paid mode twice: with the client's default credit window (a voucher
// pays `creditPages` = 8 pages ahead; the mailbox draws the pages in between from its credit
// without a signature check or a ledger commit) and with `creditPages` 1 (a voucher per page,
// verified and committed with its charge).
// 16 readers in this process, one channel each per mode, 100-envelope pages; each of the three modes
// three times, rotating their order every round, 2 s of warm-up then 10 s measured; the figures are
// the means, with each run and each round's ratio beside them.
// - paidPagesPerSec, freePagesPerSec, paidToFreeRatio (the default window; goal ≥ 0.9);
// - paidW1PagesPerSec, paidToFreeRatioW1 (a voucher per page);
// - voucherVerifyPerSec: the mailbox's voucher verifier (EIP-712 digest, libsecp256k1 recovery on
//   its worker threads), 2,000 vouchers at once; voucherRecoverPerSec: the isomorphic verifier in
//   @postbox/protocol (viem, pure JS), one at a time.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyFromProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import {
  type ChannelManager,
  type ClientHost,
  createChannelManager,
  createClientHost,
  queryStore,
} from "@postbox/client";
import { SqliteArchive, type StoredEnvelope, tuneGarbageCollection, VoucherVerifier } from "@postbox/node";
import { createEnvelope, StatusCode, signVoucher, verifyVoucher } from "@postbox/protocol";
import { type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { deployPostboxFixture, hardhatKey, startHardhatNode } from "../lib/chain.ts";
import { busyShare, machineTicks, processCpuMs } from "../lib/cpu.ts";
import { profileArgs } from "../lib/devnet.ts";
import { freePortBlock } from "../lib/ports.ts";

const argv = process.argv.slice(2);
// The readers (this process) run with the V8 setting of every `postbox` process, as the mailbox does.
tuneGarbageCollection();
const opt = (name: string, def: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def);
const N = opt("--envelopes", 100_000);
const TOPICS = 100;
const READERS = 16;
const DURATION_MS = 10_000;
const WARMUP_MS = 2_000;
const ROUNDS = 3;
const log = (m: string) => process.stderr.write(`bench paid: ${m}\n`);
const topic = (i: number) => `/bench/paid/${i}`;

const dir = mkdtempSync(join(tmpdir(), "postbox-bench-paid-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------- chain and channels
// Hardhat's public development accounts: #0 deploys, #1 operates the mailbox, #2… read.
const ACCOUNTS = 2 + READERS;
const chain = await startHardhatNode(await freePortBlock(24_000, 1));
const { publicClient, wallet: walletOf } = chain;
const operatorWallet = walletOf(1);
const { addresses: a, register } = await deployPostboxFixture({
  publicClient,
  walletClient: walletOf(0),
  initialSupply: parseEther("10000000"),
  fund: Array.from({ length: ACCOUNTS - 1 }, (_, i) => walletOf(i + 1).account.address),
  fundEach: parseEther("10000"),
});
await register(operatorWallet, {
  peerId: "p",
  multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
  stake: parseEther("1000"),
  pricePerQuery: parseEther("0.001"),
  pricePerMessage: parseEther("0.00001"),
  retentionSeconds: 86_400n,
});
const operator = operatorWallet.account.address;
const keyFile = join(dir, "operator.key");
writeFileSync(keyFile, hardhatKey(1), { mode: 0o600 });
// Raised far above the default per-peer limit (50 queries/s): each reader stands for many clients.
const configPath = join(dir, "node.json");
writeFileSync(
  configPath,
  JSON.stringify({ rateLimit: { queriesPerSecond: 1_000_000, pushesPerSecond: 1_000_000 } }),
);

// ---------------------------------------------------------------- archive
const dataDir = join(dir, "mailbox");
{
  const archive = new SqliteArchive({ path: join(dataDir, "archive.sqlite") });
  const payload = new Uint8Array(1024);
  const now = Date.now();
  for (let done = 0; done < N; done += 10_000) {
    const batch: StoredEnvelope[] = [];
    for (let i = done; i < Math.min(N, done + 10_000); i++) {
      new DataView(payload.buffer).setUint32(0, i);
      batch.push({
        ...createEnvelope({
          contentTopic: topic(i % TOPICS),
          timestamp: BigInt(now - 86_400_000 + i),
          payload: payload.slice(),
        }),
        receivedAt: now,
      });
    }
    await archive.insert(batch);
  }
  await archive.close();
  log(`archive: ${N.toLocaleString()} envelopes over ${TOPICS} topics`);
}

const bin = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
/** The measured modes: paid with the default credit window, paid with a voucher per page, free. */
type Mode = "paid" | "paidW1" | "free";
/** Each reader: its libp2p host and, per paid mode, a channel of its own to the mailbox. */
const readers: { host: ClientHost; channels: Record<"paid" | "paidW1", ChannelManager> }[] = [];
for (let r = 0; r < READERS; r++) {
  const host = await createClientHost();
  await host.start();
  const manager = async (mode: "paid" | "paidW1") => {
    const channels = await createChannelManager({
      location: join(dir, `reader-${r}-${mode}`),
      publicClient,
      wallet: walletOf(2 + r),
      chainId: a.chainId,
      snt: a.snt,
      registry: a.registry,
      channels: a.channels,
      ...(mode === "paidW1" ? { creditPages: 1 } : {}),
    });
    await channels.open(operator, parseEther("1000"));
    return channels;
  };
  readers.push({ host, channels: { paid: await manager("paid"), paidW1: await manager("paidW1") } });
}

/** Per measured round: CPU ms per page of the mailbox (all its threads) and of the readers. */
const cpuPerPage: Record<Mode, { mailbox: number; readers: number; busy: number }[]> = {
  paid: [],
  paidW1: [],
  free: [],
};

async function run(mode: Mode): Promise<number> {
  const paid = mode !== "free";
  const port = 43_000 + Math.floor(Math.random() * 2_000);
  const child = spawn(
    process.execPath,
    [
      ...profileArgs(),
      bin,
      "node",
      "start",
      "--config",
      configPath,
      "--data-dir",
      dataDir,
      "--listen",
      `/ip4/127.0.0.1/tcp/${port}`,
      "--http-port",
      "0",
      "--log-level",
      "warn",
      "--rpc-url",
      chain.rpc,
      "--chain-id",
      String(a.chainId),
      "--registry",
      a.registry,
      "--channels",
      a.channels,
      "--operator-key-file",
      keyFile,
      "--redeem-min",
      "1000000",
      ...(paid ? [] : ["--free"]),
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // A run that fails (a reader's refusal) must not leave its mailbox running after the bench exits.
  const orphan = () => child.kill("SIGKILL");
  process.once("exit", orphan);
  const peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(await waitForFile(join(dataDir, "peer.key"))));
  const to = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
  for (const { host } of readers) {
    for (let i = 0; ; i++) {
      try {
        await host.dial(to);
        break;
      } catch (err) {
        if (i > 200) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  // Two seconds unmeasured (JIT, caches, connections), then DURATION_MS measured.
  let pages = 0;
  let measuring = false;
  let started = 0;
  let cpu0 = { machine: machineTicks(), mailbox: 0, readers: process.cpuUsage() };
  const warm = setTimeout(() => {
    measuring = true;
    pages = 0;
    started = performance.now();
    cpu0 = { machine: machineTicks(), mailbox: processCpuMs(child.pid!), readers: process.cpuUsage() };
  }, WARMUP_MS);
  const until = Date.now() + WARMUP_MS + DURATION_MS;
  await Promise.all(
    readers.map(async ({ host, channels: byMode }, r) => {
      const channels = mode === "free" ? undefined : byMode[mode];
      let t = r;
      while (Date.now() < until) {
        t = (t + READERS) % TOPICS;
        const voucher = await channels?.voucherFor(operator, 100);
        const res = await queryStore(host, peerId, {
          contentTopics: [topic(t)],
          pageSize: 100,
          ...(voucher ? { voucher } : {}),
        });
        if (res.status !== StatusCode.OK || res.envelopes.length !== 100)
          throw new Error(`reader ${r}: ${res.statusDesc}`);
        channels?.record(operator, res, voucher);
        pages++;
      }
    }),
  );
  clearTimeout(warm);
  if (!measuring) throw new Error("the run ended before it was measured");
  const perSec = Math.round(pages / ((performance.now() - started) / 1000));
  const readersCpu = process.cpuUsage(cpu0.readers);
  cpuPerPage[mode].push({
    mailbox: (processCpuMs(child.pid!) - cpu0.mailbox) / pages,
    readers: (readersCpu.user + readersCpu.system) / 1000 / pages,
    busy: busyShare(cpu0.machine, machineTicks()),
  });
  for (const { host } of readers) await host.hangUp(to).catch(() => undefined);
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  process.off("exit", orphan);
  return perSec;
}

async function waitForFile(path: string): Promise<Uint8Array> {
  for (let i = 0; i < 300; i++) {
    try {
      return readFileSync(path);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${path} never appeared`);
}

// Rounds rotate the modes' order, so that none gains from its place (warm page cache, JIT).
const runs: Record<Mode, number[]> = { paid: [], paidW1: [], free: [] };
const order: Mode[] = ["paid", "paidW1", "free"];
for (let round = 1; round <= ROUNDS; round++) {
  for (let i = 0; i < order.length; i++) {
    const mode = order[(i + round - 1) % order.length]!;
    runs[mode].push(await run(mode));
    log(`round ${round}: ${mode} ${runs[mode].at(-1)} pages/s`);
  }
}
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
const ratio = (x: number, y: number) => Math.round((x / y) * 100) / 100;
const paidPagesPerSec = mean(runs.paid);
const paidW1PagesPerSec = mean(runs.paidW1);
const freePagesPerSec = mean(runs.free);
for (const { host, channels } of readers) {
  await host.stop();
  await channels.paid.close();
  await channels.paidW1.close();
}

// ---------------------------------------------------------------- voucher verification
const key = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: a.chainId, verifyingContract: a.channels };
const vouchers = await Promise.all(
  Array.from({ length: 2_000 }, async (_, i) => {
    const voucher = {
      channelId: `0x${(i + 1).toString(16).padStart(64, "0")}` as Hex,
      cumulativeAmount: BigInt(i + 1),
    };
    return { voucher, signature: await signVoucher(key, domain, voucher) };
  }),
);
// The mailbox's verifier, as it runs in the mailbox...
const verifier = new VoucherVerifier(domain);
const bytes = vouchers.map(({ signature }) => Uint8Array.from(Buffer.from(signature.slice(2), "hex")));
await verifier.verify(vouchers[0]!.voucher, bytes[0]!, key.address);
let t0 = performance.now();
await Promise.all(vouchers.map(({ voucher }, i) => verifier.verify(voucher, bytes[i]!, key.address)));
const voucherVerifyPerSec = Math.round(vouchers.length / ((performance.now() - t0) / 1000));
await verifier.close();
// ...and the isomorphic one in @postbox/protocol (recovery every time; browsers, tests).
t0 = performance.now();
for (const { voucher, signature } of vouchers.slice(0, 500))
  await verifyVoucher(domain, voucher, signature, key.address);
const voucherRecoverPerSec = Math.round(500 / ((performance.now() - t0) / 1000));
log(
  `${voucherVerifyPerSec} vouchers verified per second (mailbox verifier), ${voucherRecoverPerSec} (isomorphic, pure JS)`,
);

const result = {
  envelopes: N,
  readers: READERS,
  creditPages: 8, // the client's default window, measured as "paid"
  paidPagesPerSec,
  paidW1PagesPerSec,
  freePagesPerSec,
  paidToFreeRatio: ratio(paidPagesPerSec, freePagesPerSec),
  paidToFreeRatioW1: ratio(paidW1PagesPerSec, freePagesPerSec),
  paidRuns: runs.paid,
  paidW1Runs: runs.paidW1,
  freeRuns: runs.free,
  // Each round's own ratio (its paid run against its free run).
  paidToFreeRatioRuns: runs.paid.map((p, i) => ratio(p, runs.free[i]!)),
  paidToFreeRatioW1Runs: runs.paidW1.map((p, i) => ratio(p, runs.free[i]!)),
  // CPU per page (means over the rounds): what payment adds on each side.
  cpu: Object.fromEntries(
    order.map((mode) => {
      const r = cpuPerPage[mode];
      const avg = (f: (x: (typeof r)[number]) => number) =>
        Math.round((r.reduce((a, x) => a + f(x), 0) / r.length) * 100) / 100;
      return [
        mode,
        { mailboxMs: avg((x) => x.mailbox), readersMs: avg((x) => x.readers), busy: avg((x) => x.busy) },
      ];
    }),
  ),
  voucherVerifyPerSec,
  voucherRecoverPerSec,
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.versions.node}`,
};
if (argv.includes("--json")) console.log(JSON.stringify(result));
else console.log(result);
process.exit(0);
