// `npm run bench -- cluster [--json] [--envelopes N] [--rounds R] [--only nodes|sync]
//                           [--sync-envelopes N] [--sync-missing M] [--sync-rounds R]`
//
// A mailbox of several nodes on one PostgreSQL (issue #21 §4). Its parts, each measured on its own:
//
// - nodes: two `postbox node start` processes (scripts/lib/cluster.ts) on the system PostgreSQL
//   (a fresh schema), paid mode on a `hardhat node` chain, N envelopes of 1 KiB over 100 topics;
//   16 readers in this process, each with a channel of its own (the client's default credit
//   window), read 100-envelope pages. "1 node": every reader asks node 1 (node 2 idles); "2
//   nodes": the readers are split over both. The two alternate, R rounds each, 2 s of warm-up then
//   10 s measured. Figures: pagesPerSec1Node and pagesPerSec2Nodes (median, with min/max and every
//   run) and, per page, the CPU ms of each part: the mailbox nodes (all their threads), the
//   PostgreSQL backends serving the nodes (told by their application_name; other clients of the
//   same server are not counted) and, apart, the server's background processes (WAL writer,
//   checkpointer, autovacuum), the readers (this process) and the chain; the machine's busy share.
//   diskBytesPerMillion: the archive's partitions (tables, indexes, TOAST) per million 1 KiB
//   envelopes.
//
// - sync: the mailbox-to-mailbox sync figures of issue #21 §4 (inSyncBytes, syncMissingPerSec,
//   syncOverheadBytesPerMissing), by `measureSync` of scripts/bench/sync.ts (`npm run bench --
//   sync`, where the method is described): two mailboxes of `--sync-envelopes` (1,000,000), the
//   initiator lacking `--sync-missing` (50,000) of them as a contiguous block and, apart, every
//   20th; `--sync-rounds` (3) rounds. The headline keys are the worse of the two patterns; the
//   `sync` section has both.
//
// Each part adds its section to `sections` below; `--only` runs one.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import {
  type ChannelManager,
  type ClientHost,
  createChannelManager,
  createClientHost,
  queryStore,
} from "@postbox/client";
import { PostgresArchive, type StoredEnvelope, tuneGarbageCollection } from "@postbox/node";
import { createEnvelope, StatusCode } from "@postbox/protocol";
import pg from "pg";
import { parseEther } from "viem";
import {
  type ClusterNode,
  DEFAULT_POSTGRES_URL,
  dropSchema,
  schemaUrl,
  setClusterEndpoint,
  startClusterChain,
  startClusterNode,
  stopClusterNode,
} from "../lib/cluster.ts";
import { busyShare, machineTicks, processCpuMs } from "../lib/cpu.ts";
import { freePortBlock } from "../lib/ports.ts";
import { measureSync } from "./sync.ts";

const argv = process.argv.slice(2);
tuneGarbageCollection();
const opt = (name: string, def: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : def);
const N = opt("--envelopes", 100_000);
const ROUNDS = opt("--rounds", 3);
const TOPICS = 100;
const READERS = 16;
const PAGE = 100;
const DURATION_MS = 10_000;
const WARMUP_MS = 2_000;
const SCHEMA = "postbox_bench_cluster";
const APP = "postbox-bench-cluster";
const log = (m: string) => process.stderr.write(`bench cluster: ${m}\n`);
const topic = (i: number) => `/bench/cluster/${i}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round2 = (x: number) => Math.round(x * 1000) / 1000;

/** The figures of every part, by section; each part adds its own. */
const sections: Record<string, Record<string, unknown>> = {};

// ---------------------------------------------------------------- nodes on one PostgreSQL
async function measureNodes(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "postbox-bench-cluster-"));
  // The nodes' connections name themselves, so their backends are told from other clients' (a
  // test another engineer runs on the same server is not counted).
  const db = `${await schemaUrl(DEFAULT_POSTGRES_URL, SCHEMA)}&application_name=${APP}`;
  const admin = new pg.Client({ connectionString: DEFAULT_POSTGRES_URL });
  await admin.connect();
  const backends = async () =>
    new Set(
      (
        await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
          APP,
        ])
      ).rows.map((r) => r.pid),
    );
  const chain = await startClusterChain(dir, await freePortBlock(24_500, 1), { payers: READERS });
  const configFile = join(dir, "node.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      rateLimit: { queriesPerSecond: 1_000_000, pushesPerSecond: 1_000_000 },
      peering: { registryPeers: 0 },
      payments: { redeemMin: "1000000" },
    }),
  );
  // The archive, written before the nodes start.
  {
    const archive = await PostgresArchive.open({ url: db });
    const payload = new Uint8Array(1024);
    const now = Date.now();
    for (let done = 0; done < N; done += 5_000) {
      const batch: StoredEnvelope[] = [];
      for (let i = done; i < Math.min(N, done + 5_000); i++) {
        new DataView(payload.buffer).setUint32(0, i);
        batch.push({
          ...createEnvelope({
            contentTopic: topic(i % TOPICS),
            timestamp: BigInt(now - 3_600_000 + i),
            payload: payload.slice(),
          }),
          receivedAt: now,
        });
      }
      await archive.insert(batch);
    }
    const size = await archive.pool.query<{ bytes: string }>(
      `SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0)::text AS bytes FROM pg_inherits WHERE inhparent = 'envelopes'::regclass`,
    );
    sections.nodes = { diskBytesPerMillion: Math.round((Number(size.rows[0]!.bytes) / N) * 1_000_000) };
    await archive.pool.query("VACUUM ANALYZE envelopes");
    await archive.close();
    log(`archive: ${N.toLocaleString()} envelopes of 1 KiB over ${TOPICS} topics in PostgreSQL`);
  }
  const base = await freePortBlock(43_500, 2);
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < 2; i++)
    nodes.push(await startClusterNode({ name: `node-${i + 1}`, dir, port: base + i, db, chain, configFile }));
  await setClusterEndpoint(chain, nodes);
  const readers: { host: ClientHost; channels: ChannelManager }[] = [];
  for (let r = 0; r < READERS; r++) {
    const host = await createClientHost();
    await host.start();
    const channels = await createChannelManager({
      location: join(dir, `reader-${r}`),
      publicClient: chain.chain.publicClient,
      wallet: chain.chain.wallet(2 + r),
      chainId: 31337,
      snt: chain.snt,
      registry: chain.registry,
      channels: chain.channels,
    });
    await channels.open(chain.operator, parseEther("1000"));
    readers.push({ host, channels });
  }
  log(`${READERS} readers, a channel each; 2 nodes up (${nodes.map((n) => n.peerId.slice(-6)).join(", ")})`);

  type Cpu = {
    mailbox: number;
    postgres: number;
    postgresBackground: number;
    readers: number;
    chain: number;
    busy: number;
  };
  const runs: Record<"one" | "two", { pagesPerSec: number; cpu: Cpu }[]> = { one: [], two: [] };
  const run = async (spread: 1 | 2) => {
    let pages = 0;
    let measuring = false;
    let started = 0;
    const sample = async () => ({
      machine: machineTicks(),
      mailbox: nodes.reduce((s, n) => s + processCpuMs(n.child.pid!), 0),
      postgres: postgresCpuMs(await backends()),
      chain: processCpuMs(chain.chain.process.pid!),
      readers: process.cpuUsage(),
    });
    let cpu0 = await sample();
    const warm = setTimeout(async () => {
      cpu0 = await sample();
      measuring = true;
      pages = 0;
      started = performance.now();
    }, WARMUP_MS);
    const until = Date.now() + WARMUP_MS + DURATION_MS;
    await Promise.all(
      readers.map(async ({ host, channels }, r) => {
        const to = nodes[spread === 1 ? 0 : r % 2]!.addr;
        let t = r;
        let cursor: Uint8Array | undefined;
        while (Date.now() < until) {
          if (!cursor) t = (t + READERS) % TOPICS;
          const voucher = await channels.voucherFor(chain.operator, PAGE);
          const res = await queryStore(host, multiaddrOf(to), {
            contentTopics: [topic(t)],
            pageSize: PAGE,
            voucher,
            ...(cursor ? { cursor } : {}),
          });
          channels.record(chain.operator, res, voucher);
          if (res.status !== StatusCode.OK) {
            if (channels.mayRetry(chain.operator, voucher)) continue;
            throw new Error(`reader ${r}: ${res.statusDesc}`);
          }
          cursor = res.nextCursor;
          if (measuring) pages++;
        }
      }),
    );
    clearTimeout(warm);
    const seconds = (performance.now() - started) / 1000;
    const end = await sample();
    const readersCpu = process.cpuUsage(cpu0.readers);
    const cpu: Cpu = {
      mailbox: (end.mailbox - cpu0.mailbox) / pages,
      postgres: delta(cpu0.postgres.backends, end.postgres.backends) / pages,
      postgresBackground: delta(cpu0.postgres.background, end.postgres.background) / pages,
      readers: (readersCpu.user + readersCpu.system) / 1000 / pages,
      chain: (end.chain - cpu0.chain) / pages,
      busy: busyShare(cpu0.machine, end.machine),
    };
    runs[spread === 1 ? "one" : "two"].push({ pagesPerSec: Math.round(pages / seconds), cpu });
    log(
      `${spread} node${spread === 1 ? "" : "s"}: ${Math.round(pages / seconds)} pages/s; CPU ms/page mailbox ${round2(cpu.mailbox)}, postgres backends ${round2(cpu.postgres)} (+ background ${round2(cpu.postgresBackground)}), readers ${round2(cpu.readers)}, chain ${round2(cpu.chain)}; machine ${Math.round(cpu.busy * 100)} % busy`,
    );
  };
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternating, the order swapped every round.
    for (const spread of round % 2 ? ([1, 2] as const) : ([2, 1] as const)) await run(spread);
  }
  for (const { host, channels } of readers) {
    await host.stop();
    await channels.close();
  }
  for (const n of nodes) await stopClusterNode(n);
  await chain.chain.stop();
  await admin.end();
  await dropSchema(DEFAULT_POSTGRES_URL, SCHEMA);
  rmSync(dir, { recursive: true, force: true });

  const summary = (rs: (typeof runs)["one"]) => {
    const cpuOf = (k: keyof Cpu) => round2(median(rs.map((r) => r.cpu[k])));
    const rates = rs.map((r) => r.pagesPerSec);
    return {
      median: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      runs: rates,
      cpuMsPerPage: {
        mailbox: cpuOf("mailbox"),
        postgres: cpuOf("postgres"),
        postgresBackground: cpuOf("postgresBackground"),
        readers: cpuOf("readers"),
        chain: cpuOf("chain"),
      },
      busy: round2(median(rs.map((r) => r.cpu.busy))),
    };
  };
  const one = summary(runs.one);
  const two = summary(runs.two);
  sections.nodes = {
    ...sections.nodes,
    pagesPerSec1Node: one.median,
    pagesPerSec2Nodes: two.median,
    oneNode: one,
    twoNodes: two,
  };
}

/**
 * CPU ms of the postgres processes now, by pid: the backends serving the nodes (`ours`), and the
 * server's background processes (WAL writer, checkpointer, autovacuum, …). Other clients'
 * backends are left out.
 */
function postgresCpuMs(ours: Set<number>): {
  backends: Map<number, number>;
  background: Map<number, number>;
} {
  const backends = new Map<number, number>();
  const background = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    try {
      if (!readFileSync(`/proc/${d}/stat`, "utf8").includes("(postgres)")) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (ours.has(pid)) backends.set(pid, processCpuMs(pid));
      else if (
        /walwriter|checkpointer|background writer|autovacuum|logical replication|archiver|stats|walsender/.test(
          cmd,
        )
      )
        background.set(pid, processCpuMs(pid));
    } catch {
      // gone
    }
  }
  return { backends, background };
}

/** CPU used between two readings by the processes alive at the second (one started meanwhile: all of it). */
function delta(start: Map<number, number>, end: Map<number, number>): number {
  let s = 0;
  for (const [pid, ms] of end) if (!Number.isNaN(ms)) s += ms - (start.get(pid) ?? 0);
  return s;
}

const addrs = new Map<string, Multiaddr>();
function multiaddrOf(a: string): Multiaddr {
  const known = addrs.get(a);
  if (known) return known;
  const m = multiaddr(a);
  addrs.set(a, m);
  return m;
}

const load0 = loadavg()[0]!;
const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined;
if (only !== undefined && only !== "nodes" && only !== "sync") throw new Error("--only takes nodes or sync");
if (only !== "sync") await measureNodes();
if (only !== "nodes") {
  const sync = await measureSync({
    envelopes: opt("--sync-envelopes", 1_000_000),
    missing: opt("--sync-missing", 50_000),
    rounds: opt("--sync-rounds", ROUNDS),
    patterns: ["contiguous", "scattered"],
  });
  sections.sync = {
    inSyncBytes: sync.inSyncBytes,
    syncMissingPerSec: sync.syncMissingPerSec,
    syncOverheadBytesPerMissing: sync.syncOverheadBytesPerMissing,
    sync,
  };
}
const result = {
  envelopes: N,
  readers: READERS,
  pageSize: PAGE,
  rounds: ROUNDS,
  ...sections.nodes,
  ...sections.sync,
  machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, Node ${process.versions.node}`,
  loadAverage1m: { before: round2(load0), after: round2(loadavg()[0]!) },
};
if (argv.includes("--json")) console.log(JSON.stringify(result));
else console.log(JSON.stringify(result, null, 2));
process.exit(0);
