// `npm run bench -- store [--json] [--envelopes N] [--topics N] [--stock-gc]`
//
// With N archived 1 KB envelopes over T topics in SQLite (default 1,000,000 over 1,000):
// - insertPerSec: batched archive inserts (10,000 per transaction, synchronous=FULL) while filling;
// - pageP50Ms / pageP99Ms: server time for a 100-envelope page (the store handler over an
//   in-memory stream: decode, validate, cursor lookup, query, encode, sign);
// - rawPageP50Ms: the same page straight from SQLite (one prepared statement), the floor;
// - pagesPerSec: 100-envelope pages per second over libp2p on loopback, 16 concurrent readers,
//   against the mailbox running as its own process (`postbox node start`);
// - ingestPerSec: envelopes per second from gossipsub into that mailbox's archive;
// - rssMb: that mailbox process's resident memory at the end, and rssAnonMb, the part that is not
//   the archive file mapped into it.
// Progress goes to stderr; the last line of stdout is one JSON object.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
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

const argv = process.argv.slice(2);
// The readers (this process) run with the V8 setting of every `postbox` process, as the mailbox
// does; `--stock-gc` leaves V8's defaults here, for comparison (docs/BENCHMARKS.md).
const stockGc = argv.includes("--stock-gc");
if (!stockGc) tuneGarbageCollection();
const opt = (name: string, def: number) => {
  const i = argv.indexOf(name);
  return i === -1 ? def : Number(argv[i + 1]);
};
const N = opt("--envelopes", 1_000_000);
const TOPICS = opt("--topics", 1_000);
const PAYLOAD = 1024;
const log = (msg: string) => process.stderr.write(`bench store: ${msg}\n`);
const topic = (i: number) => `/bench/1/topic-${i}/proto`;
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

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
const T0 = Date.now() - 7 * 86_400_000; // a week of history, inside the default retention
const payload = new Uint8Array(PAYLOAD);
let insertMs = 0;
const batchSize = 10_000;
for (let done = 0; done < N; done += batchSize) {
  const batch: StoredEnvelope[] = [];
  for (let i = done; i < Math.min(N, done + batchSize); i++) {
    // Payloads differ (so ids do), timestamps spread over the week, topics round-robin.
    new DataView(payload.buffer).setUint32(0, i);
    const ts = BigInt(T0 + Math.floor((i / N) * 7 * 86_400_000));
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
log(`insert: ${insertPerSec.toLocaleString()} envelopes/s`);

// ---------------------------------------------------------------- page latency (server time)
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
  },
);
const remote = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
const perTopic = Math.floor(N / TOPICS);
// Cursors at random places: the id of an envelope in the middle of a topic's history.
const cursorRows = new DatabaseSync(dbPath, { readOnly: true });
cursorRows.exec("PRAGMA mmap_size = 2147418112"); // as the archive's own connection reads
const tidOf = cursorRows.prepare("SELECT tid FROM topics WHERE topic = ?");
const tid = (t: number) => (tidOf.get(topic(t)) as { tid: number }).tid;
const pickCursor = cursorRows.prepare(
  "SELECT e.id FROM topic_epochs t CROSS JOIN envelopes e ON e.ep = t.ep AND e.tid = t.tid WHERE t.tid = ? ORDER BY t.ep, e.ts, e.id LIMIT 1 OFFSET ?",
);
const samples = 400;
const serverMs: number[] = [];
for (let s = 0; s < samples + 20; s++) {
  const t = s % TOPICS;
  const offset = Math.floor(Math.random() * Math.max(1, perTopic - 150));
  const cursor = (pickCursor.get(tid(t), offset) as { id: Uint8Array }).id;
  const q: StoreQuery = {
    requestId: `b${s}`,
    contentTopics: [topic(t)],
    ids: [],
    includeData: true,
    forward: true,
    pageSize: 100,
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
  if (res.status !== StatusCode.OK || res.envelopes.length !== 100)
    throw new Error(`bad page: ${res.statusDesc} ${res.envelopes.length}`);
  if (s >= 20) serverMs.push(ms); // the first pages warm the caches
}
// The archive's own page statement and cursor lookup, with nothing around them.
const raw = cursorRows.prepare(pageSql({ forward: true, cursor: true, start: false, end: false }));
const posStmt = cursorRows.prepare(ID_LOOKUP_SQL);
const rawMs: number[] = [];
for (let s = 0; s < samples; s++) {
  const t = s % TOPICS;
  const cursor = (
    pickCursor.get(tid(t), Math.floor(Math.random() * Math.max(1, perTopic - 150))) as { id: Uint8Array }
  ).id;
  const started = performance.now();
  const { ts } = posStmt.get(new DataView(cursor.buffer, cursor.byteOffset, 8).getBigInt64(0)) as {
    ts: number;
  };
  // One row: the page aggregated (ids and payloads in one blob each; see pageSql).
  const page = raw.get(tid(t), BigInt(ts) / EPOCH_MS, ts, cursor, 101) as { n: number; payloads: Uint8Array };
  rawMs.push(performance.now() - started);
  if (Number(page.n) !== 101 || page.payloads.byteLength !== 101 * PAYLOAD) throw new Error("raw page short");
}
cursorRows.close();
await archive.close();
const pageP50Ms = round(percentile(serverMs, 50), 3);
const pageP99Ms = round(percentile(serverMs, 99), 3);
const rawPageP50Ms = round(percentile(rawMs, 50), 3);
log(`page server time p50 ${pageP50Ms} ms, p99 ${pageP99Ms} ms; raw SQLite p50 ${rawPageP50Ms} ms`);

// ---------------------------------------------------------------- the mailbox as a process
const port = 47_000 + Math.floor(Math.random() * 2_000);
const bin = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
child = spawn(
  process.execPath,
  [
    ...profileArgs(),
    bin,
    "node",
    "start",
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
          await new Promise((r) => setTimeout(r, 50));
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
    await new Promise((r) => setTimeout(r, 100));
  }
}
log(`mailbox process ${child.pid} up at ${addr}`);

// pagesPerSec: 16 readers, each its own libp2p host, sequential 100-envelope pages for 10 s.
const READERS = 16;
const DURATION_MS = 10_000;
const readers = await Promise.all(
  Array.from({ length: READERS }, async () => {
    const h = await createClientHost();
    await h.start();
    await h.dial(addr);
    return h;
  }),
);
let pages = 0;
const until = Date.now() + DURATION_MS;
const started = performance.now();
const cpu0 = { machine: machineTicks(), mailbox: processCpuMs(child.pid!), readers: process.cpuUsage() };
await Promise.all(
  readers.map(async (h, r) => {
    let t = r;
    while (Date.now() < until) {
      t = (t + READERS) % TOPICS;
      const res = await queryStore(h, peerId, {
        contentTopics: [topic(t)],
        pageSize: 100,
        timeStart: BigInt(T0),
      });
      if (res.status !== StatusCode.OK || res.envelopes.length !== Math.min(100, perTopic)) {
        throw new Error(`reader ${r}: ${res.statusDesc}`);
      }
      pages++;
    }
  }),
);
const pagesPerSec = Math.round(pages / ((performance.now() - started) / 1000));
// Where the CPU went: the mailbox's and the readers' milliseconds per page, and the machine's load.
const readersCpu = process.cpuUsage(cpu0.readers);
const mailboxCpuMsPerPage = Math.round(((processCpuMs(child.pid!) - cpu0.mailbox) / pages) * 100) / 100;
const readersCpuMsPerPage = Math.round(((readersCpu.user + readersCpu.system) / 1000 / pages) * 100) / 100;
const machineBusyPct = Math.round(busyShare(cpu0.machine, machineTicks()) * 100);
log(
  `${pagesPerSec} pages/s over libp2p with ${READERS} readers; CPU per page: mailbox ` +
    `${mailboxCpuMsPerPage} ms, readers ${readersCpuMsPerPage} ms; machine ${machineBusyPct} % busy`,
);
await Promise.all(readers.map((h) => h.stop()));

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
  await new Promise((r) => setTimeout(r, 20));
}
const ingestPerSec = Math.round(INGEST / ((performance.now() - ingestStart) / 1000));
log(`${ingestPerSec} envelopes/s from gossipsub into the archive`);
await publisher.stop();

const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
const rssMb = Math.round(kB("VmRSS") / 1024);
// Of which the process's own memory; the rest is the archive file mapped into it (RssFile: pages
// of the kernel's page cache, shared and reclaimable).
const rssAnonMb = Math.round(kB("RssAnon") / 1024);
await probe.stop();
child.kill("SIGTERM");
await new Promise((r) => child!.once("exit", r));

const result = {
  envelopes: N,
  topics: TOPICS,
  insertPerSec,
  pageP50Ms,
  pageP99Ms,
  rawPageP50Ms,
  serverToRawRatio: round(pageP50Ms / rawPageP50Ms, 2),
  pagesPerSec,
  mailboxCpuMsPerPage,
  readersCpuMsPerPage,
  machineBusyPct,
  ingestPerSec,
  rssMb,
  rssAnonMb,
  readersGc: stockGc ? "stock" : "tuned",
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, SQLite ${process.versions.sqlite}`,
};
if (argv.includes("--json")) console.log(JSON.stringify(result));
else console.log(result);
