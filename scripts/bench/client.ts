// `npm run bench -- client [--json] [--messages N]`: how long a returning user waits for a missed
// public room. A chain (`hardhat node`) and one paid mailbox (its own process) on loopback hold
// N room messages (default 10,000) from two senders. The clock starts when the reader's client is
// created (its identity, contacts and channel already exist: a returning user) and stops when all
// N messages are paid for, fetched, decrypted, signature-checked, deduplicated, saved and read
// back in (timestamp, id) order. The last line (with --json) has `timeToInbox10kMs`; beside it
// `verifyFloorMs`, the floor under it: N messages signed as the client signs them, their signatures
// alone checked on every core (scripts/bench/verify-floor.ts), and the web app's figures
// (scripts/bench/browser-client.ts).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createChannelManager, createPostboxClient, defaultPlatform } from "@postbox/client";
import { parseEther } from "viem";
import { busyShare, machineTicks } from "../lib/cpu.ts";
import { startDevnet } from "../lib/devnet.ts";
import { freePortBlock } from "../lib/ports.ts";
import { runBrowserBench } from "./browser-client.ts";
import { runVerifyFloor } from "./verify-floor.ts";

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const at = argv.indexOf("--messages");
const N = at >= 0 ? Number(argv[at + 1]) : 10_000;
if (!Number.isInteger(N) || N < 2 || N % 2) throw new Error("--messages takes an even count");
const progress = (s: string) => process.stderr.write(`bench client: ${s}\n`);

const dir = mkdtempSync(join(tmpdir(), "postbox-bench-client-"));
const port = await freePortBlock(24_000);
const net = await startDevnet({
  dataDir: join(dir, "net"),
  basePort: port,
  mailboxes: [{ name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" }],
  stdio: "ignore",
  log: progress,
});
try {
  const chain = { publicClient: net.publicClient, registry: net.addresses.registry };
  const channels = (user: string, key: number) =>
    createChannelManager({
      location: join(dir, user),
      publicClient: net.publicClient,
      wallet: net.wallet(key),
      chainId: net.addresses.chainId,
      snt: net.addresses.snt,
      registry: net.addresses.registry,
      channels: net.addresses.channels,
    });
  const client = async (user: string, key: number) =>
    createPostboxClient({
      location: join(dir, user),
      chain,
      channels: await channels(user, key),
      channelDeposit: parseEther("100"),
    });
  const stop = async (c: Awaited<ReturnType<typeof client>>) => {
    await c.stop();
    await c.channels?.close();
  };

  // The reader joins #x and goes away; two others post N messages.
  const reader = await client("reader", 4);
  await reader.joinRoom("#x", Date.now() - 1_000);
  await reader.catchUp(); // opens the channel: a returning user has one
  await stop(reader);
  const t0 = Date.now();
  await Promise.all(
    [5, 6].map(async (key, s) => {
      const sender = await client(`sender${s}`, key);
      const texts = Array.from({ length: N / 2 }, (_, i) => `message ${s}-${i}`);
      await sender.sendMany("#x", texts, (done, total) => progress(`sender ${s}: ${done}/${total}`));
      await stop(sender);
    }),
  );
  progress(`${N} messages sent in ${Date.now() - t0} ms`);

  const runs: number[] = [];
  const cpuMs: number[] = [];
  const busyPct: number[] = [];
  let pages = 0;
  for (let run = 0; run < 3; run++) {
    // Each run starts from a copy of the reader that has seen nothing since joining.
    const cpu0 = process.cpuUsage();
    const machine0 = machineTicks();
    const start = performance.now();
    const c = await client("reader", 4);
    const results = await c.catchUp({ feed: "room:x" });
    const messages = await c.messages("room:x");
    const ms = performance.now() - start;
    pages = results[0]!.pages;
    if (messages.length !== N) throw new Error(`expected ${N} messages, got ${messages.length}`);
    runs.push(ms);
    const cpu = process.cpuUsage(cpu0);
    const machine = machineTicks();
    const busy = busyShare(machine0, machine);
    cpuMs.push(Math.round((cpu.user + cpu.system) / 1000));
    busyPct.push(Math.round(busy * 100));
    progress(
      `run ${run + 1}: ${N} messages in ${ms.toFixed(0)} ms (${pages} paid pages); ` +
        `the client used ${cpuMs.at(-1)} ms of CPU (all threads), the machine was ${busyPct.at(-1)} % busy`,
    );
    // Forget them for the next run.
    await c.storage.forget("room:x");
    await stop(c);
  }

  const result = {
    messages: N,
    pages,
    timeToInbox10kMs: Math.round(Math.min(...runs)),
    runsMs: runs.map(Math.round),
    clientCpuMs: cpuMs,
    machineBusyPct: busyPct,
    cpus: (await import("node:os")).cpus().length,
    node: process.version,
    backends: defaultPlatform().crypto.backends,
  };
  // --- issue 18 §6: the floor — as many v2 signatures (two sender devices, signed as the client
  // signs) checked alone on one worker thread per core: no network, decryption or storage.
  const floor = await runVerifyFloor({ messages: N, progress: (s) => progress(`verify floor: ${s}`) });
  Object.assign(result, floor);
  // --- issue 18: the same catch-up in the web app, in headless Chromium, and the chat page's size
  // (scripts/bench/browser-client.ts: a network of its own; --no-browser skips it).
  const browser = argv.includes("--no-browser") ? undefined : await runBrowserBench({ messages: N });
  Object.assign(result, browser);
  progress(
    `the floor: ${N} signatures in ${floor.verifyFloorMs} ms on ${floor.verifyFloorWorkers} threads; ` +
      `the Node client's catch-up takes ${(result.timeToInbox10kMs / floor.verifyFloorMs).toFixed(1)}× that` +
      (browser
        ? `, the web app's ${(browser.browserTimeToInbox10kMs / floor.verifyFloorMs).toFixed(1)}×`
        : ""),
  );
  // ---
  if (json) console.log(JSON.stringify(result));
  else console.log(result);
} finally {
  await net.stop();
  rmSync(dir, { recursive: true, force: true });
}
