// `npm run bench -- sync [--json] [--envelopes 1000000] [--missing 50000] [--rounds 3]
//                        [--pattern both|contiguous|scattered] [--compare]`
//
// Mailbox-to-mailbox sync (`/postbox/sync/1`, issue 21 §2/§4). `npm run bench -- cluster` reports
// the same figures by calling {@link measureSync} (its `sync` section). Two mailboxes, each its
// own `postbox node start` process (free mode, SQLite, libp2p over TCP + Noise on loopback), that
// name each other as sync peers:
// - A holds N envelopes (default 1,000,000: ≈ 100-byte payloads over 1,000 topics, timestamps over
//   the last 7 days) and only answers;
// - B starts (its first round 1 s after start) on a copy of one of these archives:
//   - `equal`: the same N envelopes → inSyncBytes, the protocol bytes of its session (both
//     directions, frames with their length prefixes; Noise and yamux framing not counted);
//   - `contiguous`: the N envelopes but a block of `--missing` (default 50,000) from the middle of
//     the week, as after a downtime;
//   - `scattered`: the N envelopes but every (N / missing)-th (lost here and there rather than
//     during a downtime: the hard case for range reconciliation);
//   for each: syncMissingPerSec = envelopes stored / the session's time (dial to last envelope
//   stored, B's own clock), syncOverheadBytesPerMissing = (protocol bytes − the encoded size of
//   the envelopes received) / envelopes stored.
// Each round runs one `equal` session, then one of each pattern; with `--compare`, each pattern
// also once with sketches off (POSTBOX_SYNC_SKETCHES=off on both mailboxes: ranges split down to
// id lists, as before sketches), the order of the two swapped every round. Each session starts B
// afresh (and A when the variant changes). Figures are min / median / max of the rounds of each
// kind; the headline keys are the medians, and for the two patterns the worse of them
// (syncMissingPerSec the lower, syncOverheadBytesPerMissing the higher). Also: the time B takes to
// load its sync index at start and its size, the CPU of both processes during the gap sessions,
// and how busy the machine was. Progress goes to stderr; the last line of stdout is one JSON
// object.

import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { loadOrCreatePeerKey, SqliteArchive, type StoredEnvelope } from "@postbox/node";
import { createEnvelope } from "@postbox/protocol";
import { busyShare, machineTicks, processCpuMs } from "../lib/cpu.ts";
import { freePortBlock } from "../lib/ports.ts";

const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
const log = (...a: unknown[]) => console.error("[bench sync]", ...a);

export type Pattern = "contiguous" | "scattered";
export type Variant = "sketches" | "no-sketches";

export interface SyncBenchOptions {
  /** Envelopes A holds (default 1,000,000). */
  envelopes?: number;
  /** Envelopes B lacks in each gap pattern (default 50,000). */
  missing?: number;
  /** Rounds (default 3). */
  rounds?: number;
  patterns?: Pattern[];
  /** Also each gap with sketches off, alternating. */
  compare?: boolean;
}

let dir = "";
const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The N envelopes, oldest first (deterministic payloads, so two archives share ids). */
function* generate(N: number): Generator<StoredEnvelope[]> {
  const now = Date.now() - 60_000;
  const week = 7 * 86_400_000;
  const batch: StoredEnvelope[] = [];
  for (let i = 0; i < N; i++) {
    const ts = now - week + Math.floor((i * week) / N);
    const payload = new TextEncoder().encode(`bench sync ${i} `.padEnd(100, "."));
    batch.push({
      ...createEnvelope({
        contentTopic: `/postbox/1/room-${i % 1_000}/proto`,
        timestamp: BigInt(ts),
        payload,
      }),
      receivedAt: ts,
    });
    if (batch.length === 10_000) yield batch.splice(0);
  }
  if (batch.length) yield batch;
}

/** The kept envelopes of B's archive for a pattern. */
function keeps(pattern: Pattern, N: number, missing: number): (i: number) => boolean {
  const step = Math.max(1, Math.floor(N / missing));
  const from = Math.floor(N / 2 - missing / 2);
  return pattern === "scattered"
    ? (i) => i % step !== 0 || i / step >= missing
    : (i) => i < from || i >= from + missing;
}

async function fill(
  N: number,
  missing: number,
  patterns: Pattern[],
): Promise<{ full: string; gaps: Record<string, string>; fillMs: number }> {
  const full = join(dir, "full.sqlite");
  const a = new SqliteArchive({ path: full, synchronous: "NORMAL", readerThread: false });
  const gaps = patterns.map((p) => ({
    pattern: p,
    path: join(dir, `${p}.sqlite`),
    archive: new SqliteArchive({
      path: join(dir, `${p}.sqlite`),
      synchronous: "NORMAL",
      readerThread: false,
    }),
    kept: keeps(p, N, missing),
  }));
  const started = performance.now();
  let at = 0;
  for (const batch of generate(N)) {
    await a.insert(batch);
    for (const g of gaps) await g.archive.insert(batch.filter((_, k) => g.kept(at + k)));
    at += batch.length;
    if (at % 200_000 === 0) log(`filled ${at.toLocaleString()}`);
  }
  await a.close();
  for (const g of gaps) await g.archive.close();
  for (const f of [full, ...gaps.map((g) => g.path)]) {
    // A self-contained file to copy: the WAL folded in.
    const db = new DatabaseSync(f);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");
    db.close();
  }
  return {
    full,
    gaps: Object.fromEntries(gaps.map((g) => [g.pattern, g.path])),
    fillMs: performance.now() - started,
  };
}

interface Running {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<unknown>;
}

function startNode(name: string, port: number, config: object, variant: Variant): Running {
  const data = join(dir, name);
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [
      BIN,
      "node",
      "start",
      "--config",
      join(dir, `${name}.json`),
      "--data-dir",
      data,
      "--listen",
      `/ip4/127.0.0.1/tcp/${port}`,
      "--http-port",
      "0",
      "--free",
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, POSTBOX_SYNC_SKETCHES: variant === "no-sketches" ? "off" : "on" },
    },
  );
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const line of lines) if (line.startsWith("{")) logs.push(JSON.parse(line));
  });
  return { child, logs, exited: new Promise((r) => child.once("exit", r)) };
}

async function waitFor<T>(what: string, f: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const spread = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return { min: s[0]!, median: s[Math.floor((s.length - 1) / 2)]!, max: s.at(-1)! };
};

interface Row {
  kind: "equal" | Pattern;
  variant: Variant;
  bytes: number;
  stored: number;
  missingPerSec?: number;
  overheadBytesPerMissing?: number;
  [k: string]: unknown;
}

/** Runs the benchmark (see the top of this file) and returns its figures. */
export async function measureSync(o: SyncBenchOptions = {}) {
  const N = o.envelopes ?? 1_000_000;
  const MISSING = o.missing ?? 50_000;
  const ROUNDS = o.rounds ?? 3;
  const patterns = o.patterns ?? ["contiguous", "scattered"];
  const STEP = Math.max(1, Math.floor(N / MISSING));
  const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  dir = mkdtempSync(join(tmpdir(), "postbox-bench-sync-"));
  log(
    `filling archives of ${N.toLocaleString()} (${patterns.join(", ")}: without ${MISSING.toLocaleString()})`,
  );
  const { full, gaps, fillMs } = await fill(N, MISSING, patterns);
  const port = await freePortBlock(2_700, 2);
  const ids: string[] = [];
  for (const name of ["a", "b"]) {
    mkdirSync(join(dir, name), { recursive: true });
    ids.push(peerIdFromPrivateKey((await loadOrCreatePeerKey(join(dir, name))).key).toString());
  }
  const addr = (i: number) => `/ip4/127.0.0.1/tcp/${port + i}/p2p/${ids[i]}`;
  copyFileSync(full, join(dir, "a", "archive.sqlite"));
  let a: Running | undefined;
  let aVariant: Variant | undefined;
  const startA = async (variant: Variant) => {
    if (a && aVariant === variant) return a;
    if (a) {
      a.child.kill("SIGTERM");
      await a.exited;
    }
    const started = startNode(
      "a",
      port,
      { sync: { peers: [addr(1)], startDelay: "1h", interval: "1h", sessionsPerMinute: 1_000 } },
      variant,
    );
    await waitFor("a's sync index", () => started.logs.find((l) => l.msg === "sync index loaded"), 300_000);
    a = started;
    aVariant = variant;
    return started;
  };

  const session = async (kind: Row["kind"], variant: Variant): Promise<Row> => {
    const a = await startA(variant);
    const bArchive = join(dir, "b", "archive.sqlite");
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(bArchive + suffix)) rmSync(bArchive + suffix);
    copyFileSync(kind === "equal" ? full : gaps[kind]!, bArchive);
    const aCpu = processCpuMs(a.child.pid!);
    const b = startNode(
      "b",
      port + 1,
      { sync: { peers: [addr(0)], startDelay: "1s", interval: "1h" } },
      variant,
    );
    const loaded = await waitFor(
      "b's sync index",
      () => b.logs.find((l) => l.msg === "sync index loaded"),
      300_000,
    );
    const ticks = machineTicks();
    const bCpu = processCpuMs(b.child.pid!);
    const found = await waitFor(
      "b's sync session",
      () => b.logs.find((l) => l.msg === "sync session" || l.msg === "sync session failed"),
      300_000,
    );
    const busy = busyShare(ticks, machineTicks());
    const cpu = { a: processCpuMs(a.child.pid!) - aCpu, b: processCpuMs(b.child.pid!) - bCpu };
    b.child.kill("SIGTERM");
    await b.exited;
    if (found.msg !== "sync session") throw new Error(`b's session failed: ${JSON.stringify(found)}`);
    const s = found as unknown as {
      rounds: number;
      sent: number;
      received: number;
      envelopeBytes: number;
      stored: number;
      envelopes: number;
      ms: number;
      ranges: Record<string, number>;
    };
    const row: Row = {
      kind,
      variant,
      bytes: s.sent + s.received,
      sent: s.sent,
      received: s.received,
      rounds: s.rounds,
      ranges: s.ranges,
      stored: s.stored,
      envelopes: s.envelopes,
      envelopeBytes: s.envelopeBytes,
      ms: s.ms,
      ...(s.stored > 0
        ? {
            missingPerSec: Math.round(s.stored / (s.ms / 1000)),
            overheadBytesPerMissing: +((s.sent + s.received - s.envelopeBytes) / s.stored).toFixed(2),
          }
        : {}),
      indexLoad: { envelopes: loaded.envelopes, indexBytes: loaded.indexBytes, ms: loaded.ms },
      cpuMsDuringSession: { a: Math.round(cpu.a), bAfterIndexLoad: Math.round(cpu.b) },
      machineBusyPct: Math.round(busy * 100),
      loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    };
    if (kind !== "equal" && s.stored !== MISSING) throw new Error(`b stored ${s.stored}, not ${MISSING}`);
    if (kind === "equal" && s.envelopes !== 0)
      throw new Error(`equal archives sent ${s.envelopes} envelopes`);
    return row;
  };

  const rounds: Row[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const variants: Variant[] = !o.compare
        ? ["sketches"]
        : r % 2 === 0
          ? ["sketches", "no-sketches"]
          : ["no-sketches", "sketches"];
      for (const [v, variant] of variants.entries()) {
        const kinds: Row["kind"][] = v === 0 ? ["equal", ...patterns] : patterns;
        for (const kind of kinds) {
          const row = await session(kind, variant);
          rounds.push(row);
          log(`round ${r + 1}:`, JSON.stringify(row));
        }
      }
    }
  } finally {
    if (a) {
      a.child.kill("SIGTERM");
      await a.exited;
    }
    rmSync(dir, { recursive: true, force: true });
    dir = "";
  }

  const of = (kind: Row["kind"], variant: Variant) =>
    rounds.filter((x) => x.kind === kind && x.variant === variant);
  const inSync = spread(rounds.filter((x) => x.kind === "equal").map((x) => x.bytes));
  const figures = (pattern: Pattern, variant: Variant) => {
    const rs = of(pattern, variant);
    const perSec = spread(rs.map((x) => x.missingPerSec!));
    const overhead = spread(rs.map((x) => x.overheadBytesPerMissing!));
    return {
      pattern:
        pattern === "scattered"
          ? `every ${STEP}th envelope`
          : "a contiguous block from the middle of the week",
      syncMissingPerSec: perSec.median,
      syncOverheadBytesPerMissing: overhead.median,
      spread: { syncMissingPerSec: perSec, syncOverheadBytesPerMissing: overhead },
      rounds: rs.map((x) => x.rounds),
      ranges: rs[0]?.ranges,
      ms: spread(rs.map((x) => x.ms as number)),
      cpuMsDuringSession: {
        a: spread(rs.map((x) => (x.cpuMsDuringSession as { a: number }).a)),
        b: spread(rs.map((x) => (x.cpuMsDuringSession as { bAfterIndexLoad: number }).bAfterIndexLoad)),
      },
    };
  };
  const byPattern = Object.fromEntries(patterns.map((p) => [p, figures(p, "sketches")])) as Record<
    Pattern,
    ReturnType<typeof figures>
  >;
  const withoutSketches = o.compare
    ? Object.fromEntries(patterns.map((p) => [p, figures(p, "no-sketches")]))
    : undefined;
  const worstRate = Math.min(...patterns.map((p) => byPattern[p].syncMissingPerSec));
  const worstOverhead = Math.max(...patterns.map((p) => byPattern[p].syncOverheadBytesPerMissing));
  const worstOverheadMax = Math.max(
    ...patterns.map((p) => byPattern[p].spread.syncOverheadBytesPerMissing.max),
  );
  const model = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const sqlite = (new DatabaseSync(":memory:").prepare("SELECT sqlite_version() AS v").get() as { v: string })
    .v;
  return {
    envelopes: N,
    missing: MISSING,
    inSyncBytes: inSync.median,
    syncMissingPerSec: worstRate,
    syncOverheadBytesPerMissing: worstOverhead,
    goals: {
      inSyncBytes: `${inSync.median} ≤ 16384: ${inSync.max <= 16_384 ? "met" : "missed"}`,
      syncOverheadBytesPerMissing: `${worstOverhead} ≤ 64: ${worstOverheadMax <= 64 ? "met" : "missed"}`,
    },
    spread: { inSyncBytes: inSync },
    byPattern,
    ...(withoutSketches ? { withoutSketches } : {}),
    rounds,
    fillMs: Math.round(fillMs),
    machine: `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, SQLite ${sqlite}`,
    loadavgBefore: loadBefore,
    loadavgAfter: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    date: new Date().toISOString(),
  };
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const num = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} takes a positive number`);
    return v;
  };
  const pattern = argv.includes("--pattern")
    ? argv[argv.indexOf("--pattern") + 1]
    : argv.includes("--scattered")
      ? "scattered"
      : "both";
  if (!["both", "contiguous", "scattered"].includes(pattern!))
    throw new Error("--pattern takes both, contiguous or scattered");
  measureSync({
    envelopes: num("--envelopes", 1_000_000),
    missing: num("--missing", 50_000),
    rounds: num("--rounds", 3),
    patterns: pattern === "both" ? ["contiguous", "scattered"] : [pattern as Pattern],
    compare: argv.includes("--compare"),
  }).then(
    (result) => {
      if (argv.includes("--json")) console.log(JSON.stringify(result));
      else console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
