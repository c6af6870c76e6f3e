// `npm run bench -- store [--json] [--envelopes N] [--topics N] [--cold] [--tuned-readers]
//   [--mailbox-stock-gc] [--readers 16] [--chain-max 8] [--warmup-s 5] [--windows 3] [--window-s 10]`
//
// With N archived 1 KB envelopes over T topics in SQLite (default 1,000,000; T = N / 1,000, at
// least 1, so every topic holds ≈ 1,000 envelopes ≈ 10 pages whatever N is):
// - insertPerSec: batched archive inserts (10,000 per transaction, synchronous=FULL) while filling;
// - the mailbox runs as its own process (`postbox node start`); 16 readers (this process, each its
//   own libp2p host over TCP + Noise on loopback, V8's stock settings unless `--tuned-readers`)
//   follow cursor chains: a random topic, a random start time anywhere in the archive's week, then
//   forward 100-envelope pages with the returned cursor for 1 to `--chain-max` pages (fewer when the
//   topic ends). After a warm-up, `--windows` windows of `--window-s` seconds each, reported as
//   min / median / max; the headline figures are the median window's:
//   - pagesPerSec: pages served per second (`readMix`: how many were first pages, full pages, …);
//   - mailboxCpuMsPerPage: the mailbox process's own CPU (all its threads, /proc/<pid>/stat) per page;
//   - clientP50Ms / clientP99Ms: each query as a reader sees it, from sending it to holding the
//     whole decoded page, under that load;
//   - readersCpuMsPerPage, machineBusyPct: where the rest of the two cores went;
// - `--cold`: the page cache is dropped before the mailbox starts (a page mapped into a process
//   cannot be dropped), by `/proc/sys/vm/drop_caches` when writable, else `posix_fadvise(DONTNEED)`
//   on the archive's files (`dd iflag=nocache`). `coldStart` is the first 400 pages the readers
//   get from the cold archive (pages/s, the mailbox's CPU per page, p50/p99, and how much of the
//   archive was cached after them): a page's 100 envelopes sit in about as many 32 KB table pages,
//   each shared by ≈ 30 topics, so the cache is warm again within a few hundred pages whatever
//   topics are read. The warm-up then reads every tenth topic and the windows the others. `cache`
//   says which drop was used, `archiveCachedPct` how much of the archive was in the page cache at
//   the mailbox's start, before and after the windows (`fincore`);
// - the mailbox's per-peer query limit is raised (each reader stands for many clients);
// - `--mailbox-stock-gc`: the mailbox without the V8 setting of `postbox` processes, to measure it;
// - mailboxRssMb / mailboxRssAnonMb: the mailbox's resident memory (all / its own, without the
//   archive file mapped in) at start, at the end of the load, and idle 10 s after it;
// - ingestPerSec: envelopes per second from gossipsub into that mailbox's archive;
// - pageP50Ms / pageP99Ms / rawPageP50Ms (kept from earlier sessions, not a client's latency): the
//   store handler in this process over an in-memory stream pair, one query at a time, and the bare
//   SQLite page statement.
// - `POSTBOX_BENCH_TRACE=PREFIX`: where a page's time goes (store-trace.ts; read it with
//   `node scripts/bench/store-trace-report.ts PREFIX`); `POSTBOX_BENCH_MAILBOX_FLAGS`: Node flags
//   for the mailbox alone, to try them.
// Progress goes to stderr; the last line of stdout is one JSON object.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { pbStream, RateLimiter, streamPair } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, fetchInfo, queryStore } from "@postbox/client";
import {
  createMetrics,
  EPOCH_MS,
  FreeMeter,
  ID_LOOKUP_SQL,
  MailboxStore,
  pageSql,
  SqliteArchive,
  type StoredEnvelope,
  tuneGarbageCollection,
} from "@postbox/node";
import {
  createEnvelope,
  DEFAULT_PUBSUB_TOPIC,
  Envelope,
  StatusCode,
  StoreQuery,
  StoreResponse,
} from "@postbox/protocol";
import { pino } from "pino";
import { busyShare, machineTicks, processCpuMs } from "../lib/cpu.ts";
import { profileArgs } from "../lib/devnet.ts";
import "./store-trace.ts";

// POSTBOX_BENCH_TRACE=PREFIX: the trace of store-trace.ts in both processes, and the windows'
// queries in PREFIX.queries.json as [sent (epoch ms), ms, reader, request id].
const TRACE = process.env.POSTBOX_BENCH_TRACE;
const traced: [number, number, number, string][] = [];

const argv = process.argv.slice(2);
// The readers (this process) run on V8's stock settings, as any client not ours would; with
// `--tuned-readers` they take the V8 setting every `postbox` process sets (docs/BENCHMARKS.md).
const tunedReaders = argv.includes("--tuned-readers");
if (tunedReaders) tuneGarbageCollection();
const cold = argv.includes("--cold");
const mailboxStockGc = argv.includes("--mailbox-stock-gc");
const opt = (name: string, def: number) => {
  const i = argv.indexOf(name);
  if (i === -1) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
};
const N = Math.floor(opt("--envelopes", 1_000_000));
const TOPICS = Math.floor(opt("--topics", Math.max(1, Math.round(N / 1_000))));
const READERS = Math.floor(opt("--readers", 16));
const CHAIN_MAX = Math.floor(opt("--chain-max", 8));
const WARMUP_MS = opt("--warmup-s", 5) * 1000;
const WINDOWS = Math.max(3, Math.floor(opt("--windows", 3)));
const WINDOW_MS = opt("--window-s", 10) * 1000;
const IDLE_MS = 10_000;
const PAGE = 100;
const PAYLOAD = 1024;
const WEEK_MS = 7 * 86_400_000;
const GOALS = { mailboxCpuMsPerPage: 1.5, clientP99Ms: 50, pagesPerSec: 500 };
const log = (msg: string) => process.stderr.write(`bench store: ${msg}\n`);
const topic = (i: number) => `/bench/1/topic-${i}/proto`;
const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const spread = (xs: number[], d = 2) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: round(s[0]!, d),
    median: round(s[Math.floor((s.length - 1) / 2)]!, d),
    max: round(s.at(-1)!, d),
  };
};

const dir = mkdtempSync(join(tmpdir(), "postbox-bench-store-"));
const dataDir = join(dir, "node");
const dbPath = join(dataDir, "archive.sqlite");
let child: ChildProcess | undefined;
const cleanup = () => {
  child?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);

// ---------------------------------------------------------------- fill
const archive = new SqliteArchive({ path: dbPath });
const T0 = Date.now() - WEEK_MS; // a week of history, inside the default retention
const payload = new Uint8Array(PAYLOAD);
let insertMs = 0;
const batchSize = 10_000;
const fillStart = performance.now();
for (let done = 0; done < N; done += batchSize) {
  const batch: StoredEnvelope[] = [];
  for (let i = done; i < Math.min(N, done + batchSize); i++) {
    // Payloads differ (so ids do), timestamps spread over the week, topics round-robin.
    new DataView(payload.buffer).setUint32(0, i);
    const ts = BigInt(T0 + Math.floor((i / N) * WEEK_MS));
    batch.push({
      ...createEnvelope({ contentTopic: topic(i % TOPICS), timestamp: ts, payload: payload.slice() }),
      receivedAt: Date.now(),
    });
  }
  const t = performance.now();
  await archive.insert(batch);
  insertMs += performance.now() - t;
  if ((done / batchSize) % 10 === 0) log(`filled ${done.toLocaleString()} / ${N.toLocaleString()}`);
}
const insertPerSec = Math.round(N / (insertMs / 1000));
log(
  `insert: ${insertPerSec.toLocaleString()} envelopes/s; the whole fill ${round((performance.now() - fillStart) / 1000, 1)} s`,
);

// ---------------------------------------------------------------- page latency (handler, in-process)
// Kept from earlier sessions: the store handler's own time for one query at a time over an
// in-memory stream pair. No client sees this latency; clientP50Ms/clientP99Ms below are that.
const key = await generateKeyPair("Ed25519");
const store = new MailboxStore(
  { registrar: undefined as never, logger: undefined as never },
  {
    archive,
    meter: new FreeMeter(),
    privateKey: key,
    metrics: createMetrics({ defaultMetrics: false }),
    log: pino({ level: "silent" }),
    rateLimiter: new RateLimiter({ points: 1e9, duration: 1 }),
    retentionSeconds: 30 * 86_400,
  },
);
const remote = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
// Topic i holds the envelopes i, i + TOPICS, …: floor(N / TOPICS) or one more.
const perTopic = (t: number) => Math.floor(N / TOPICS) + (t < N % TOPICS ? 1 : 0);
// Cursors at random places: the id of an envelope somewhere in a topic's history.
const cursorRows = new DatabaseSync(dbPath, { readOnly: true });
cursorRows.exec("PRAGMA mmap_size = 2147418112"); // as the archive's own connection reads
const tidOf = cursorRows.prepare("SELECT tid FROM topics WHERE topic = ?");
const tid = (t: number) => (tidOf.get(topic(t)) as { tid: number }).tid;
const pickCursor = cursorRows.prepare(
  "SELECT e.id FROM topic_epochs t CROSS JOIN envelopes e ON e.ep = t.ep AND e.tid = t.tid WHERE t.tid = ? ORDER BY t.ep, e.ts, e.id LIMIT 1 OFFSET ?",
);
/** A cursor in topic t with as many envelopes after it as there are (up to a page and a half). */
const randomCursor = (t: number) => {
  const offset = Math.floor(Math.random() * Math.max(1, perTopic(t) - 150));
  return {
    cursor: (pickCursor.get(tid(t), offset) as { id: Uint8Array }).id,
    after: perTopic(t) - offset - 1,
  };
};
const samples = 400;
const serverMs: number[] = [];
for (let s = 0; s < samples + 20; s++) {
  const t = s % TOPICS;
  const { cursor, after } = randomCursor(t);
  const q: StoreQuery = {
    requestId: `b${s}`,
    contentTopics: [topic(t)],
    ids: [],
    includeData: true,
    forward: true,
    pageSize: PAGE,
    cursor,
  };
  const [out, inb] = await streamPair();
  const writer = pbStream(out);
  await writer.write(q, StoreQuery);
  await out.close(); // one query: the handler returns when the client's side has ended
  const started = performance.now();
  await store.handle(inb, { remotePeer: remote });
  const ms = performance.now() - started;
  const res = await writer.read(StoreResponse);
  if (res.status !== StatusCode.OK || res.envelopes.length !== Math.min(PAGE, after))
    throw new Error(
      `bad page: ${res.statusDesc} ${res.envelopes.length} (expected ${Math.min(PAGE, after)})`,
    );
  if (s >= 20) serverMs.push(ms); // the first pages warm the caches
}
// The archive's own page statement and cursor lookup, with nothing around them.
const raw = cursorRows.prepare(pageSql({ forward: true, cursor: true, start: false, end: false }));
const posStmt = cursorRows.prepare(ID_LOOKUP_SQL);
const rawMs: number[] = [];
for (let s = 0; s < samples; s++) {
  const t = s % TOPICS;
  const { cursor, after } = randomCursor(t);
  const started = performance.now();
  const { ts } = posStmt.get(new DataView(cursor.buffer, cursor.byteOffset, 8).getBigInt64(0)) as {
    ts: number;
  };
  // One row: the page aggregated (ids and payloads in one blob each; see pageSql).
  const page = raw.get(tid(t), BigInt(ts) / EPOCH_MS, ts, cursor, PAGE + 1) as {
    n: number;
    payloads: Uint8Array | null;
  };
  rawMs.push(performance.now() - started);
  const want = Math.min(PAGE + 1, after);
  if (Number(page.n) !== want || (page.payloads?.byteLength ?? 0) !== want * PAYLOAD)
    throw new Error(`raw page short: ${page.n} of ${want}`);
}
cursorRows.close();
await archive.close();
const pageP50Ms = round(percentile(serverMs, 50), 3);
const pageP99Ms = round(percentile(serverMs, 99), 3);
const rawPageP50Ms = round(percentile(rawMs, 50), 3);
log(`handler time in-process p50 ${pageP50Ms} ms, p99 ${pageP99Ms} ms; raw SQLite p50 ${rawPageP50Ms} ms`);

// ---------------------------------------------------------------- the mailbox as a process
const memory = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  // RssAnon: the process's own memory; the rest of VmRSS is the archive file mapped into it
  // (pages of the kernel's page cache, shared and reclaimable).
  return { rss: Math.round(kB("VmRSS") / 1024), anon: Math.round(kB("RssAnon") / 1024) };
};
/** The share (%) of the archive's files in the page cache (`fincore`), or undefined. */
const cachedPct = (): number | undefined => {
  try {
    const files = readdirSync(dataDir)
      .filter((f) => f.startsWith("archive.sqlite"))
      .map((f) => join(dataDir, f));
    const out = execFileSync("fincore", ["--bytes", "--noheadings", "--raw", "-o", "RES,SIZE", ...files], {
      encoding: "utf8",
    });
    let res = 0;
    let size = 0;
    for (const line of out.trim().split("\n")) {
      const [r, s] = line.trim().split(/\s+/).map(Number);
      res += r!;
      size += s!;
    }
    return size ? round((res / size) * 100, 1) : undefined;
  } catch {
    return undefined;
  }
};
/** Drops the archive from the page cache; says how. */
const dropCache = (): string => {
  execFileSync("sync");
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    return "cold: page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches)";
  } catch {
    for (const f of readdirSync(dataDir).filter((f) => f.startsWith("archive.sqlite")))
      execFileSync("dd", [`if=${join(dataDir, f)}`, "iflag=nocache", "count=0", "status=none"]);
    return "cold: the archive's files evicted from the page cache (posix_fadvise DONTNEED via dd iflag=nocache)";
  }
};

// Cold: the archive leaves the page cache before the mailbox maps it (pages mapped into a process
// cannot be dropped), and the warm-up reads other topics than the windows (below).
let cache = "warm: the archive as the fill and the handler samples left it in the page cache";
if (cold) {
  const before = cachedPct();
  cache = dropCache();
  log(`${cache}; archive cached ${before} % → ${cachedPct()} %`);
}
const cachedAtStart = cachedPct();
// Raised far above the default per-peer limit (50 queries/s): each reader stands for many clients.
const configPath = join(dir, "node.json");
writeFileSync(
  configPath,
  JSON.stringify({ rateLimit: { queriesPerSecond: 1_000_000, pushesPerSecond: 1_000_000 } }),
);
const port = 47_000 + Math.floor(Math.random() * 2_000);
const bin = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
child = spawn(
  process.execPath,
  [
    ...profileArgs(),
    ...(mailboxStockGc ? ["--import", join(import.meta.dirname, "store-stock-v8.ts")] : []),
    ...(TRACE ? ["--import", join(import.meta.dirname, "store-trace.ts")] : []),
    // POSTBOX_BENCH_MAILBOX_FLAGS: Node/V8 flags for the mailbox only, to try them (space-separated).
    ...(process.env.POSTBOX_BENCH_MAILBOX_FLAGS ?? "").split(" ").filter(Boolean),
    bin,
    "node",
    "start",
    "--config",
    configPath,
    "--data-dir",
    dataDir,
    "--listen",
    `/ip4/127.0.0.1/tcp/${port}`,
    "--free",
    "--http-port",
    "0",
    "--log-level",
    "info",
    "--retention",
    "30d",
  ],
  { stdio: ["ignore", openSync(join(dir, "node.log"), "w"), "inherit"], env: { ...process.env } },
);
const peerId = peerIdFromPrivateKey(
  (await import("@libp2p/crypto/keys")).privateKeyFromProtobuf(
    await (async () => {
      for (let i = 0; i < 200; i++) {
        try {
          return readFileSync(join(dataDir, "peer.key"));
        } catch {
          await sleep(50);
        }
      }
      throw new Error("the node did not create its key");
    })(),
  ),
);
const addr = multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`);
const probe = await createClientHost();
await probe.start();
for (let i = 0; ; i++) {
  try {
    await probe.dial(addr);
    break;
  } catch (err) {
    if (i > 200) throw err;
    await sleep(100);
  }
}
const mailboxPid = child.pid!;
await sleep(1000); // let its start-up settle before reading its memory
const rssStart = memory(mailboxPid);
log(`mailbox process ${mailboxPid} up at ${addr}; RSS ${rssStart.rss} MB (own ${rssStart.anon} MB)`);

// ---------------------------------------------------------------- readers: cursor chains
const readers = await Promise.all(
  Array.from({ length: READERS }, async () => {
    const h = await createClientHost();
    await h.start();
    await h.dial(addr);
    return h;
  }),
);
// Counters the windows read; latencies go to the current window's list.
const counts = { pages: 0, firstPages: 0, fullPages: 0, emptyPages: 0, envelopes: 0 };
const chainLengths = new Map<number, number>();
let chainsToTopicEnd = 0;
let latencies: number[] = [];
let stop = false;
// --cold: the first COLD_PAGES pages after the cache was dropped, measured on their own.
const COLD_PAGES = 400;
const coldLatencies: number[] = [];
let coldStart:
  | {
      pages: number;
      pagesPerSec: number;
      mailboxCpuMsPerPage: number;
      clientP50Ms: number;
      clientP99Ms: number;
      archiveCachedPctAfter: number | null;
    }
  | undefined;
const cold0 = { t: performance.now(), cpu: processCpuMs(mailboxPid) };

// Where a client's wait goes: the mailbox's own request histogram (`postbox_request_seconds`, from
// the request read to the response written) and its garbage collection, from its /metrics.
const mailboxHttp = (() => {
  const started = readFileSync(join(dir, "node.log"), "utf8")
    .split("\n")
    .find((l) => l.includes('"mailbox started"'));
  return started ? (JSON.parse(started) as { http?: string }).http : undefined;
})();
interface MailboxSample {
  /** Cumulative store requests at or under each bucket's bound (seconds). */
  buckets: [number, number][];
  gcSeconds: Record<string, number>;
  gcCount: Record<string, number>;
}
async function mailboxSample(): Promise<MailboxSample | undefined> {
  if (!mailboxHttp) return undefined;
  const text = await (await fetch(`${mailboxHttp}/metrics`)).text();
  const buckets: [number, number][] = [];
  const gcSeconds: Record<string, number> = {};
  const gcCount: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const b =
      /^postbox_request_seconds_bucket\{.*le="([^"]+)".*protocol="store".*\} (\S+)$|^postbox_request_seconds_bucket\{.*protocol="store".*le="([^"]+)".*\} (\S+)$/.exec(
        line,
      );
    if (b) buckets.push([Number(b[1] ?? b[3]), Number(b[2] ?? b[4])]);
    const g = /^postbox_process_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/.exec(line);
    if (g) (g[1] === "sum" ? gcSeconds : gcCount)[g[2]!] = Number(g[3]);
  }
  return { buckets: buckets.sort((a, b) => a[0] - b[0]), gcSeconds, gcCount };
}
/** The bucket bound (ms) under which `q` % of the window's store requests finished. */
function serverQuantileMs(a: MailboxSample, b: MailboxSample, q: number): number | null {
  const total = (b.buckets.at(-1)?.[1] ?? 0) - (a.buckets.at(-1)?.[1] ?? 0);
  if (total <= 0) return null;
  for (let i = 0; i < b.buckets.length; i++) {
    const [le, n] = b.buckets[i]!;
    if (n - (a.buckets[i]?.[1] ?? 0) >= (q / 100) * total) return le === Infinity ? null : le * 1000;
  }
  return null;
}
// With --cold the warm-up reads every tenth topic and the windows the others, so that the windows
// read archive pages nobody has read since the cache was dropped (with fewer than 10 topics, the same).
let warming = true;
const split = cold && TOPICS >= 10;
const pickTopic = () => {
  if (!split) return Math.floor(Math.random() * TOPICS);
  for (;;) {
    const t = Math.floor(Math.random() * TOPICS);
    if ((t % 10 === 9) === warming) return t;
  }
};
const readerLoops = readers.map(async (h, r) => {
  while (!stop) {
    const t = pickTopic();
    const timeStart = BigInt(T0 + Math.floor(Math.random() * WEEK_MS));
    const want = 1 + Math.floor(Math.random() * CHAIN_MAX);
    let cursor: Uint8Array | undefined;
    let last = timeStart;
    let len = 0;
    while (len < want && !stop) {
      const sent = performance.now();
      const requestId = `q${r}-${counts.pages}-${len}`; // unique: reader, pages so far, link
      const res = await queryStore(h, peerId, {
        requestId,
        contentTopics: [topic(t)],
        pageSize: PAGE,
        timeStart,
        ...(cursor ? { cursor } : {}),
      });
      const ms = performance.now() - sent;
      const n = res.envelopes.length;
      if (res.status !== StatusCode.OK || n > PAGE || (res.nextCursor && n !== PAGE))
        throw new Error(`reader ${r}: ${res.statusDesc} ${n} envelopes, cursor ${!!res.nextCursor}`);
      // The chain moves forward: every envelope is of the topic, at or after the previous one.
      for (const e of res.envelopes) {
        if (e.timestamp < last || e.contentTopic !== topic(t)) throw new Error(`reader ${r}: out of order`);
        last = e.timestamp;
      }
      latencies.push(ms);
      if (TRACE && !warming && !stop) traced.push([performance.timeOrigin + sent, ms, r, requestId]);
      counts.pages++;
      if (cold && counts.pages <= COLD_PAGES) {
        coldLatencies.push(ms);
        if (counts.pages === COLD_PAGES)
          coldStart = {
            pages: COLD_PAGES,
            pagesPerSec: Math.round(COLD_PAGES / ((performance.now() - cold0.t) / 1000)),
            mailboxCpuMsPerPage: round((processCpuMs(mailboxPid) - cold0.cpu) / COLD_PAGES, 3),
            clientP50Ms: round(percentile(coldLatencies, 50), 2),
            clientP99Ms: round(percentile(coldLatencies, 99), 2),
            archiveCachedPctAfter: cachedPct() ?? null,
          };
      }
      if (len === 0) counts.firstPages++;
      if (n === PAGE) counts.fullPages++;
      if (n === 0) counts.emptyPages++;
      counts.envelopes += n;
      len++;
      cursor = res.nextCursor;
      if (!cursor) {
        chainsToTopicEnd++;
        break;
      }
    }
    chainLengths.set(len, (chainLengths.get(len) ?? 0) + 1);
  }
});
let readerError: unknown;
const readersDone = Promise.all(readerLoops).catch((err) => {
  readerError = err;
  stop = true;
});

await sleep(WARMUP_MS);
if (readerError) throw readerError;
const warmupPages = counts.pages;
log(`warm-up ${WARMUP_MS / 1000} s: ${warmupPages} pages`);
if (coldStart) log(`cold start, the first ${COLD_PAGES} pages: ${JSON.stringify(coldStart)}`);
warming = false;
if (cold)
  cache += split
    ? ", before the mailbox started; the warm-up read every tenth topic, the windows the others"
    : ", before the mailbox started; the warm-up and the windows read the same topics (fewer than 10)";
const cachedBeforeWindows = cachedPct();
const mix0 = { ...counts };
const windows: {
  pagesPerSec: number;
  envelopesPerSec: number;
  mailboxCpuMsPerPage: number;
  readersCpuMsPerPage: number;
  machineBusyPct: number;
  otherBusyPct: number;
  clientP50Ms: number;
  clientP99Ms: number;
  serverP50LeMs: number | null;
  serverP99LeMs: number | null;
  mailboxGcMsPerSec: number | null;
  mailboxMajorGcs: number | null;
}[] = [];
for (let w = 0; w < WINDOWS; w++) {
  latencies = [];
  const c0 = { ...counts };
  const t0 = performance.now();
  const m0 = await mailboxSample();
  const cpu0 = { machine: machineTicks(), mailbox: processCpuMs(mailboxPid), readers: process.cpuUsage() };
  await sleep(WINDOW_MS);
  const secs = (performance.now() - t0) / 1000;
  const mailboxMs = processCpuMs(mailboxPid) - cpu0.mailbox;
  const readersCpu = process.cpuUsage(cpu0.readers);
  const machine = busyShare(cpu0.machine, machineTicks());
  const lat = latencies;
  const m1 = await mailboxSample();
  if (readerError) throw readerError;
  const sum = (r: Record<string, number>) => Object.values(r).reduce((x, y) => x + y, 0);
  const pages = counts.pages - c0.pages;
  windows.push({
    pagesPerSec: Math.round(pages / secs),
    envelopesPerSec: Math.round((counts.envelopes - c0.envelopes) / secs),
    mailboxCpuMsPerPage: round(mailboxMs / pages, 3),
    readersCpuMsPerPage: round((readersCpu.user + readersCpu.system) / 1000 / pages, 3),
    machineBusyPct: Math.round(machine * 100),
    // The machine's busy time that was neither the mailbox nor the readers (other jobs, the kernel).
    otherBusyPct: Math.round(
      machine * 100 -
        ((mailboxMs + (readersCpu.user + readersCpu.system) / 1000) / (secs * 1000 * cpus().length)) * 100,
    ),
    clientP50Ms: round(percentile(lat, 50), 2),
    clientP99Ms: round(percentile(lat, 99), 2),
    serverP50LeMs: m0 && m1 ? serverQuantileMs(m0, m1, 50) : null,
    serverP99LeMs: m0 && m1 ? serverQuantileMs(m0, m1, 99) : null,
    mailboxGcMsPerSec: m0 && m1 ? round(((sum(m1.gcSeconds) - sum(m0.gcSeconds)) * 1000) / secs, 1) : null,
    mailboxMajorGcs: m0 && m1 ? (m1.gcCount.major ?? 0) - (m0.gcCount.major ?? 0) : null,
  });
  log(`window ${w + 1}/${WINDOWS}: ${JSON.stringify(windows.at(-1))}`);
}
stop = true;
await readersDone;
if (TRACE) writeFileSync(`${TRACE}.queries.json`, JSON.stringify(traced));
if (readerError) throw readerError;
const cachedAfterWindows = cachedPct();
const rssLoaded = memory(mailboxPid);
await Promise.all(readers.map((h) => h.stop()));
const measured = {
  pages: counts.pages - mix0.pages,
  firstPages: counts.firstPages - mix0.firstPages,
  fullPages: counts.fullPages - mix0.fullPages,
  emptyPages: counts.emptyPages - mix0.emptyPages,
  envelopes: counts.envelopes - mix0.envelopes,
};
const chains = [...chainLengths.values()].reduce((a, b) => a + b, 0);
const readMix = {
  what: `forward ${PAGE}-envelope pages of one topic from a random start time in the archive's week, then its cursor, for 1–${CHAIN_MAX} pages (uniform) or to the topic's end`,
  readers: READERS,
  chains,
  pagesPerChain: round([...chainLengths].reduce((a, [len, n]) => a + len * n, 0) / chains, 2),
  chainLengths: Object.fromEntries([...chainLengths].sort((a, b) => a[0] - b[0])),
  chainsToTopicEndPct: round((chainsToTopicEnd / chains) * 100, 1),
  // Of the pages in the measured windows:
  firstPagePct: round((measured.firstPages / measured.pages) * 100, 1),
  fullPagePct: round((measured.fullPages / measured.pages) * 100, 1),
  emptyPagePct: round((measured.emptyPages / measured.pages) * 100, 1),
  envelopesPerPage: round(measured.envelopes / measured.pages, 1),
};
type Figure = {
  [K in keyof (typeof windows)[number]]: (typeof windows)[number][K] extends number ? K : never;
}[keyof (typeof windows)[number]];
const med = (k: Figure) =>
  spread(
    windows.map((w) => w[k]),
    3,
  );
const spreads = {
  pagesPerSec: med("pagesPerSec"),
  envelopesPerSec: med("envelopesPerSec"),
  mailboxCpuMsPerPage: med("mailboxCpuMsPerPage"),
  clientP50Ms: med("clientP50Ms"),
  clientP99Ms: med("clientP99Ms"),
  readersCpuMsPerPage: med("readersCpuMsPerPage"),
  machineBusyPct: med("machineBusyPct"),
  otherBusyPct: med("otherBusyPct"),
  // From the mailbox's /metrics (null without them): its own time per request, and its GC.
  ...(windows.every((w) => w.serverP99LeMs !== null && w.mailboxGcMsPerSec !== null)
    ? {
        serverP50LeMs: spread(
          windows.map((w) => w.serverP50LeMs!),
          3,
        ),
        serverP99LeMs: spread(
          windows.map((w) => w.serverP99LeMs!),
          3,
        ),
        mailboxGcMsPerSec: spread(
          windows.map((w) => w.mailboxGcMsPerSec!),
          3,
        ),
      }
    : {}),
};
const pagesPerSec = spreads.pagesPerSec.median;
const mailboxCpuMsPerPage = round(spreads.mailboxCpuMsPerPage.median, 2);
const clientP50Ms = spreads.clientP50Ms.median;
const clientP99Ms = spreads.clientP99Ms.median;
log(
  `median of ${WINDOWS} windows: ${pagesPerSec} pages/s, mailbox CPU ${mailboxCpuMsPerPage} ms/page, ` +
    `client p50 ${clientP50Ms} ms, p99 ${clientP99Ms} ms; mix ${JSON.stringify(readMix)}`,
);
await sleep(IDLE_MS);
const rssIdle = memory(mailboxPid);
log(
  `mailbox RSS start / loaded / idle 10 s: ${rssStart.rss} / ${rssLoaded.rss} / ${rssIdle.rss} MB, own ${rssStart.anon} / ${rssLoaded.anon} / ${rssIdle.anon} MB`,
);

// ingestPerSec: one publisher floods gossipsub; count until the mailbox reports them archived.
const INGEST = 20_000;
const publisher = await createClientHost();
await publisher.start();
publisher.services.pubsub.subscribe(DEFAULT_PUBSUB_TOPIC);
await publisher.dial(addr);
for (
  let i = 0;
  !publisher.services.pubsub.getSubscribers(DEFAULT_PUBSUB_TOPIC).some((p) => p.equals(peerId));
  i++
) {
  if (i > 200) throw new Error("no gossip mesh with the mailbox");
  await new Promise((r) => setTimeout(r, 50));
}
const ingestEnvelopes = Array.from({ length: INGEST }, (_, i) => {
  const p = new Uint8Array(PAYLOAD);
  new DataView(p.buffer).setUint32(0, i);
  return Envelope.encode(createEnvelope({ contentTopic: `/bench/ingest/${i % 100}`, payload: p }));
});
const ingestStart = performance.now();
for (let i = 0; i < INGEST; i++) {
  await publisher.services.pubsub.publish(DEFAULT_PUBSUB_TOPIC, ingestEnvelopes[i]!);
  if (i % 500 === 499) await new Promise((r) => setImmediate(r));
}
// The mailbox's info reports its archive size; wait until all arrived.
for (;;) {
  const info = await fetchInfo(probe, peerId);
  if (Number(info.envelopeCount) >= N + INGEST) break;
  if (performance.now() - ingestStart > 120_000) {
    const started = readFileSync(join(dir, "node.log"), "utf8")
      .split("\n")
      .find((l) => l.includes("mailbox started"));
    const http = started ? (JSON.parse(started) as { http?: string }).http : undefined;
    const metrics = http ? await (await fetch(`${http}/metrics`)).text() : "";
    process.stderr.write(
      `${metrics
        .split("\n")
        .filter((l) => l.startsWith("postbox_ingest") || l.startsWith("postbox_connected"))
        .join("\n")}\n`,
    );
    throw new Error(`ingest stalled at ${info.envelopeCount}`);
  }
  await sleep(20);
}
const ingestPerSec = Math.round(INGEST / ((performance.now() - ingestStart) / 1000));
log(`${ingestPerSec} envelopes/s from gossipsub into the archive`);
await publisher.stop();

// The mailbox at the end, after the ingest too (as earlier sessions reported it).
const { rss: rssMb, anon: rssAnonMb } = memory(mailboxPid);
await probe.stop();
child.kill("SIGTERM");
await new Promise((r) => child!.once("exit", r));

const met = (ok: boolean) => (ok ? "met" : "missed");
const result = {
  envelopes: N,
  topics: TOPICS,
  insertPerSec,
  // Handler time in this process, one query at a time, no network (not a client's latency).
  pageP50Ms,
  pageP99Ms,
  rawPageP50Ms,
  serverToRawRatio: round(pageP50Ms / rawPageP50Ms, 2),
  // The median of the windows; `spread` has min / median / max, `windows` each one.
  pagesPerSec,
  mailboxCpuMsPerPage,
  clientP50Ms,
  clientP99Ms,
  readersCpuMsPerPage: round(spreads.readersCpuMsPerPage.median, 2),
  machineBusyPct: spreads.machineBusyPct.median,
  otherBusyPct: spreads.otherBusyPct.median,
  goals: {
    mailboxCpuMsPerPage: `${mailboxCpuMsPerPage} ≤ ${GOALS.mailboxCpuMsPerPage}: ${met(mailboxCpuMsPerPage <= GOALS.mailboxCpuMsPerPage)}`,
    clientP99Ms: `${clientP99Ms} ≤ ${GOALS.clientP99Ms}: ${met(clientP99Ms <= GOALS.clientP99Ms)}`,
    pagesPerSec: `${pagesPerSec} ≥ ${GOALS.pagesPerSec}: ${met(pagesPerSec >= GOALS.pagesPerSec)}`,
  },
  spread: spreads,
  windows,
  warmupS: WARMUP_MS / 1000,
  windowS: WINDOW_MS / 1000,
  readMix,
  cache,
  ...(cold ? { coldStart: coldStart ?? null } : {}),
  archiveCachedPct: {
    mailboxStart: cachedAtStart ?? null,
    beforeWindows: cachedBeforeWindows ?? null,
    afterWindows: cachedAfterWindows ?? null,
  },
  mailboxRssMb: { start: rssStart.rss, loaded: rssLoaded.rss, idle: rssIdle.rss },
  mailboxRssAnonMb: { start: rssStart.anon, loaded: rssLoaded.anon, idle: rssIdle.anon },
  ingestPerSec,
  rssMb,
  rssAnonMb,
  readersGc: tunedReaders ? "tuned" : "stock",
  mailboxGc: mailboxStockGc ? "stock" : "tuned",
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, SQLite ${process.versions.sqlite}`,
  date: new Date().toISOString(),
};
if (argv.includes("--json")) console.log(JSON.stringify(result));
else console.log(result);
