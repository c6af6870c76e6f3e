// `node scripts/bench/browser-client.ts [--json] [--messages N]` (and the `client` benchmark, which
// runs it): how long a returning user waits in the web app for a missed public room, in headless
// Chromium. A chain (`hardhat node`) and one paid mailbox on loopback hold N room messages (default
// 10,000) from two senders; the web app (apps/dashboard, `next build` into a folder of its own and
// `next start`) runs the chat page. Its reader was set up through the app's own screens in a
// Chromium profile (identity, wallet, joining #x, a channel), before the messages were sent. Each
// run starts from a copy of that profile (IndexedDB holds a non-extractable CryptoKey, which only
// the profile itself carries), and the clock runs from `page.goto("/chat")` until the page says the
// catch-up is done (`data-testid=catchup-done`) with all N in #x: paid, fetched, decrypted,
// signature-checked on the page's Web Workers, deduplicated, saved to IndexedDB and ordered. Best
// of 3. `browserCpuMs`: the CPU every Chromium process and thread below this one used in that run,
// by part (from /proc, before the navigation and after the catch-up), with the mailbox's.
//
// Also the size of what the chat page loads: `chatPageJsGzipBytes` is every JavaScript file the
// /chat route loaded (initial, lazy and worker chunks; each `gzip -9`, read from the build by its
// URL), `sdkJsGzipBytes` the part of it /methodology does not load (the SDK and the chat's own code).

import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createPostboxClient } from "@postbox/client";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { Agent, fetch } from "undici";
import { busyShare, chromiumThreadTicks, cpuMsBetween, machineTicks, processCpuMs } from "../lib/cpu.ts";
import { type Devnet, ROOT, startDevnet } from "../lib/devnet.ts";
import { freePortBlock } from "../lib/ports.ts";
import { nextBuild } from "../lib/webapp.ts";

const CHROMIUM = process.env.POSTBOX_CHROMIUM ?? "/usr/bin/chromium";
const APP = join(ROOT, "apps", "dashboard");
const NEXT = join(ROOT, "node_modules", ".bin", "next");
const DIST = ".next-bench";
const ROOM = "#x";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"];

export interface BrowserBenchResult {
  /** Best of the runs: `page.goto("/chat")` until the catch-up of N missed messages is done. */
  browserTimeToInbox10kMs: number;
  browserRunsMs: number[];
  browserMessages: number;
  /** gzip -9 of every .js the /chat route loaded (initial, lazy and worker chunks). */
  chatPageJsGzipBytes: number;
  /** The part of it /methodology does not load: the SDK and the chat's own code. */
  sdkJsGzipBytes: number;
  chatPageJsFiles: number;
  /**
   * CPU milliseconds Chromium used during the best run (navigation until caught up), all its
   * processes and threads, by part; with `mailbox` (the mailbox process) and `machineBusyPct`.
   */
  browserCpuMs: BrowserCpu;
  browserCpuRunsMs: number[];
  chromium: string;
  node: string;
}

/** Where Chromium's CPU went in one run (ms): see {@link chromiumThreadTicks}. */
export interface BrowserCpu {
  /** Every Chromium process and thread. */
  total: number;
  /** The page's main thread: JavaScript (React, libp2p, IndexedDB calls), layout, parsing. */
  rendererMain: number;
  /** The page's Web Workers (the SDK's page openers). */
  rendererWorkers: number;
  /** The renderer's thread pool: off-thread compilation, GC helpers, WebCrypto. */
  rendererThreadPool: number;
  rendererOther: number;
  /** The browser process (navigation, IPC, DevTools). */
  browserProcess: number;
  /** The storage service (IndexedDB's backend, LevelDB). */
  storage: number;
  /** The network service (the WebSocket to the mailbox, HTTP). */
  network: number;
  gpu: number;
  mailbox: number;
  machineBusyPct: number;
}

function summariseCpu(by: Record<string, number>, mailbox: number, busy: number): BrowserCpu {
  const ms = (k: string) => Math.round(by[k] ?? 0);
  return {
    total: Math.round(Object.values(by).reduce((a, b) => a + b, 0)),
    rendererMain: ms("renderer.main"),
    rendererWorkers: ms("renderer.workers"),
    rendererThreadPool: ms("renderer.threadPool"),
    rendererOther: ms("renderer.other"),
    browserProcess: ms("browser"),
    storage: ms("utility.storage"),
    network: ms("utility.network"),
    gpu: ms("gpu-process"),
    mailbox: Math.round(mailbox),
    machineBusyPct: Math.round(100 * busy),
  };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/**
 * Builds the web app (apps/dashboard) with `env`: its NEXT_PUBLIC_* settings (chain, prober) are
 * inlined at build time, and POSTBOX_DASHBOARD_DIST names a build folder of its own.
 */
export function buildWebApp(env: NodeJS.ProcessEnv): Promise<void> {
  return nextBuild(env);
}

/** Serves a build of the web app (`next start` on 127.0.0.1:`port`); resolves once /chat answers. */
export async function startWebApp(env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  const web = spawn(NEXT, ["start", APP, "--port", String(port), "--hostname", "127.0.0.1"], {
    cwd: ROOT,
    env,
    stdio: "ignore",
  });
  const agent = new Agent({ pipelining: 0 });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/chat`, { dispatcher: agent }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return web;
    if (web.exitCode !== null || i > 300) {
      web.kill("SIGTERM");
      throw new Error(`the web app did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every `/_next/static/….js` a page (and its workers) asks for while `during` runs. */
async function scriptsLoaded(context: BrowserContext, during: () => Promise<void>): Promise<Set<string>> {
  const urls = new Set<string>();
  const onRequest = (r: { url(): string; resourceType?(): string }) => {
    const u = new URL(r.url());
    if (process.env.POSTBOX_BENCH_DEBUG)
      process.stderr.write(`  ${r.resourceType?.() ?? "worker"} ${u.pathname}\n`);
    if (u.pathname.startsWith("/_next/static/") && u.pathname.endsWith(".js")) urls.add(u.pathname);
  };
  context.on("request", onRequest);
  const pages = context.pages();
  const onWorker = (w: { url(): string }) => onRequest(w);
  for (const p of pages) p.on("worker", onWorker);
  try {
    await during();
  } finally {
    context.off("request", onRequest);
    for (const p of pages) p.off("worker", onWorker);
  }
  return urls;
}

/** gzip -9 of a build's static file, by its URL path. */
function gzipSize(path: string): number {
  const file = join(APP, DIST, "static", path.replace(/^\/_next\/static\//, ""));
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

/** Waits until the page says the catch-up is done (or throws what it says went wrong). */
async function caughtUp(page: Page, timeoutMs: number): Promise<void> {
  const done = page.getByTestId("catchup-done").or(page.getByTestId("catchup-error"));
  await done.first().waitFor({ timeout: timeoutMs });
  const error = page.getByTestId("catchup-error");
  if ((await error.count()) > 0) throw new Error(`the catch-up failed: ${await error.textContent()}`);
}

export async function runBrowserBench(
  options: { messages?: number; progress?: (line: string) => void } = {},
): Promise<BrowserBenchResult> {
  const N = options.messages ?? 10_000;
  const progress = options.progress ?? ((s: string) => process.stderr.write(`bench browser-client: ${s}\n`));
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (set POSTBOX_CHROMIUM)`);
  const dir = mkdtempSync(join(tmpdir(), "postbox-bench-browser-"));
  // The chain on PORT, the mailbox from PORT + 10, the web app on PORT + 300 (no prober: one mailbox).
  const port = await freePortBlock(24_000);
  const webPort = port + 300;
  const url = (path: string) => `http://127.0.0.1:${webPort}${path}`;
  const env = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: "1",
    NEXT_PUBLIC_RPC_URL: `http://127.0.0.1:${port}`,
    NEXT_PUBLIC_PROBER_URL: `http://127.0.0.1:${port + 200}`,
    POSTBOX_DASHBOARD_DIST: DIST,
  };
  let net: Devnet | undefined;
  let web: ChildProcess | undefined;
  try {
    progress(`building the web app (load ${load()})…`);
    const built = buildWebApp(env);
    built.catch(() => undefined);
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: port,
      mailboxes: [{ name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" }],
      stdio: "ignore",
      log: progress,
    });
    await built;
    progress(`built (load ${load()})`);
    web = await startWebApp(env, webPort);

    // Three readers (one per run: a run's catch-up moves its channel on, so a copy of a profile
    // would sign below what the mailbox already holds), each set up through the app's screens in a
    // Chromium profile of its own: a wallet (devnet account #4), an identity, #x, and the first
    // catch-up (which opens the reader's channel to alpha); then away.
    const profiles = [0, 1, 2].map((i) => join(dir, `reader-${i}`));
    for (const profile of profiles) {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        args: FLAGS,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(url("/chat"));
      const menu = page.getByLabel("Wallet", { exact: true });
      const value = await menu.locator("option", { hasText: /^Devnet account #4\b/ }).getAttribute("value");
      await menu.selectOption(value!);
      await page.getByTestId("account").waitFor({ timeout: 15_000 });
      await page.getByTestId("create-identity").click();
      await caughtUp(page, 60_000);
      await page.getByRole("button", { name: "Join a room", exact: true }).click();
      await page.getByLabel("Room", { exact: true }).fill(ROOM);
      await page.getByRole("button", { name: "Join room" }).click();
      await page.getByTestId("thread").and(page.locator("[data-conversation='room:x']")).waitFor();
      await page.waitForFunction(
        "Number(document.querySelector('[data-testid=catchup-done]')?.dataset.run) >= 2",
      );
      await context.close();
    }
    progress("3 readers set up in the web app (identity, wallet, #x, a channel to alpha)");

    // Two others post N messages while the reader is away.
    const t0 = Date.now();
    await Promise.all(
      [0, 1].map(async (s) => {
        const sender = await createPostboxClient({
          location: join(dir, `sender-${s}`),
          chain: { publicClient: net!.publicClient, registry: net!.addresses.registry },
        });
        try {
          const texts = Array.from({ length: N / 2 }, (_, i) => `message ${s}-${i}`);
          await sender.sendMany(ROOM, texts, (done, total) => progress(`sender ${s}: ${done}/${total}`));
        } finally {
          await sender.stop();
        }
      }),
    );
    progress(`${N} messages sent in ${Date.now() - t0} ms`);

    const runs: number[] = [];
    const cpus: BrowserCpu[] = [];
    let chat = new Set<string>();
    let methodology = new Set<string>();
    let chromiumVersion = "";
    for (let run = 0; run < 3; run++) {
      const context = await chromium.launchPersistentContext(profiles[run]!, {
        executablePath: CHROMIUM,
        args: FLAGS,
      });
      chromiumVersion = context.browser()?.version() ?? chromiumVersion;
      const page = context.pages()[0] ?? (await context.newPage());
      // POSTBOX_PROFILE_DIR: the page's main thread is profiled during the first run (a .cpuprofile
      // for Chromium's devtools), as the mailboxes are.
      const profiler =
        run === 0 && process.env.POSTBOX_PROFILE_DIR ? await context.newCDPSession(page) : undefined;
      await profiler?.send("Profiler.enable");
      await profiler?.send("Profiler.start");
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      progress(`run ${run + 1}: load before ${load()}`);
      let ms = 0;
      const mailboxPid = net.mailboxes[0]!.process.pid!;
      const cpu0 = {
        threads: chromiumThreadTicks(process.pid, CHROMIUM),
        mailbox: processCpuMs(mailboxPid),
        machine: machineTicks(),
      };
      const loaded = await scriptsLoaded(context, async () => {
        const start = performance.now();
        await page.goto(url("/chat"));
        await caughtUp(page, 120_000);
        ms = performance.now() - start;
      });
      const cpu = summariseCpu(
        cpuMsBetween(cpu0.threads, chromiumThreadTicks(process.pid, CHROMIUM)),
        processCpuMs(mailboxPid) - cpu0.mailbox,
        busyShare(cpu0.machine, machineTicks()),
      );
      cpus.push(cpu);
      if (profiler) {
        const { profile } = await profiler.send("Profiler.stop");
        const file = join(process.env.POSTBOX_PROFILE_DIR!, `chat-page-${Date.now()}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        // With the scripts it names (the build is removed at the end).
        cpSync(join(APP, DIST, "static", "chunks"), join(process.env.POSTBOX_PROFILE_DIR!, "chunks"), {
          recursive: true,
        });
        progress(`the page's profile: ${file} (its scripts in chunks/)`);
      }
      const summary = await page.getByTestId("catchup-done").textContent();
      if (!summary?.includes(`${N.toLocaleString("en-US")} new`))
        throw new Error(`run ${run + 1}: the page did not catch up ${N} messages: ${summary}`);
      if (errors.length > 0) throw new Error(`run ${run + 1}: the page failed: ${errors.join("; ")}`);
      runs.push(ms);
      // Where the time went: the page's own steps (the chat's `postbox:` performance marks, ms since
      // the navigation started).
      const steps = await page.evaluate<[string, number][]>(
        `[["html", performance.getEntriesByType("navigation")[0]?.responseEnd ?? 0], ["dom", performance.getEntriesByType("navigation")[0]?.domContentLoadedEventEnd ?? 0], ...performance.getEntriesByType("mark").filter((m) => m.name.startsWith("postbox:")).map((m) => [m.name.slice(8), m.startTime])]`,
      );
      progress(
        `run ${run + 1}: ${N} messages in ${ms.toFixed(0)} ms (${summary.trim()}); steps ${steps.map(([n, t]) => `${n} ${Math.round(t)}`).join(", ")}; CPU ms: Chromium ${cpu.total} (page main thread ${cpu.rendererMain}, workers ${cpu.rendererWorkers}, renderer thread pool ${cpu.rendererThreadPool}, renderer other ${cpu.rendererOther}, browser process ${cpu.browserProcess}, storage ${cpu.storage}, network ${cpu.network}, GPU ${cpu.gpu}), mailbox ${cpu.mailbox}, machine ${cpu.machineBusyPct} % busy; load after ${load()}`,
      );
      if (run === 0) {
        chat = loaded;
        methodology = await scriptsLoaded(context, async () => {
          await page.goto(url("/methodology"));
          await page.getByRole("heading", { level: 1 }).waitFor();
        });
      }
      await context.close();
    }

    const sdk = [...chat].filter((u) => !methodology.has(u));
    progress(
      `the chat page's own JavaScript (gzip -9): ${sdk.map((u) => `${u.split("/").pop()} ${gzipSize(u)} B`).join(", ")}`,
    );
    const best = runs.indexOf(Math.min(...runs));
    return {
      browserTimeToInbox10kMs: Math.round(Math.min(...runs)),
      browserRunsMs: runs.map(Math.round),
      browserMessages: N,
      chatPageJsGzipBytes: [...chat].reduce((a, u) => a + gzipSize(u), 0),
      sdkJsGzipBytes: sdk.reduce((a, u) => a + gzipSize(u), 0),
      chatPageJsFiles: chat.size,
      browserCpuMs: cpus[best]!,
      browserCpuRunsMs: cpus.map((c) => c.total),
      chromium: chromiumVersion,
      node: process.version,
    };
  } finally {
    web?.kill("SIGTERM");
    await net?.stop();
    rmSync(join(APP, DIST), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--messages");
  const N = at >= 0 ? Number(argv[at + 1]) : 10_000;
  if (!Number.isInteger(N) || N < 2 || N % 2) throw new Error("--messages takes an even count");
  const result = await runBrowserBench({ messages: N });
  if (argv.includes("--json")) console.log(JSON.stringify(result));
  else console.log(result);
}
