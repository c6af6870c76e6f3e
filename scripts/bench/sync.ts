// `npm run bench -- sync [--json] [--envelopes 1000000] [--missing 50000] [--rounds 3] [--scattered]`
//
// Mailbox-to-mailbox sync (`/postbox/sync/1`, issue 21 §2/§4; the issue names these keys under
// `cluster`: they are reported here). Two mailboxes, each its own `postbox node start` process
// (free mode, SQLite, libp2p over TCP + Noise on loopback), that name each other as sync peers:
// - A holds N envelopes (default 1,000,000: ≈ 100-byte payloads over 1,000 topics, timestamps over
//   the last 7 days) and only answers;
// - B starts (its first round 1 s after start) on a copy of one of two archives, alternately:
//   - `equal`: the same N envelopes → inSyncBytes, the protocol bytes of its session (both
//     directions, frames with their length prefixes; Noise and yamux framing not counted);
//   - `gap`: the N envelopes but a contiguous block of `--missing` (default 50,000) from the middle
//     of the week, as after a downtime → syncMissingPerSec = envelopes stored / the session's
//     time (dial to last envelope stored, B's own clock), syncOverheadBytesPerMissing = (protocol
//     bytes − the encoded size of the envelopes received) / envelopes stored;
//   - with `--scattered`, the missing envelopes are every (N / missing)-th instead of a block (lost
//     here and there rather than during a downtime: the hard case for range reconciliation).
// Each round starts B afresh; figures are min / median / max of the rounds of each kind; the
// headline keys are the medians. Also: the time B takes to load its sync index at start and its
// size, the CPU of both processes during the gap sessions, and how busy the machine was.
// Progress goes to stderr; the last line of stdout is one JSON object.

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

const argv = process.argv.slice(2);
const json = argv.includes("--json");
const num = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} takes a positive number`);
  return v;
};
const N = num("--envelopes", 1_000_000);
const MISSING = num("--missing", 50_000);
const ROUNDS = num("--rounds", 3);
const SCATTERED = argv.includes("--scattered");
/** With --scattered: every STEP-th envelope is missing. */
const STEP = Math.max(1, Math.floor(N / MISSING));
const BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "postbox.js");
const log = (...a: unknown[]) => console.error("[bench sync]", ...a);

const dir = mkdtempSync(join(tmpdir(), "postbox-bench-sync-"));
const children: ChildProcess[] = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** The N envelopes, oldest first (deterministic payloads, so two archives share ids). */
function* generate(): Generator<StoredEnvelope[]> {
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

async function fill(): Promise<{ full: string; gap: string; fillMs: number }> {
  const full = join(dir, "full.sqlite");
  const gap = join(dir, "gap.sqlite");
  const a = new SqliteArchive({ path: full, synchronous: "NORMAL", readerThread: false });
  const g = new SqliteArchive({ path: gap, synchronous: "NORMAL", readerThread: false });
  const from = Math.floor(N / 2 - MISSING / 2);
  const kept = (i: number) =>
    SCATTERED ? i % STEP !== 0 || i / STEP >= MISSING : i < from || i >= from + MISSING;
  const started = performance.now();
  let at = 0;
  for (const batch of generate()) {
    await a.insert(batch);
    await g.insert(batch.filter((_, k) => kept(at + k)));
    at += batch.length;
    if (at % 200_000 === 0) log(`filled ${at.toLocaleString()}`);
  }
  await a.close();
  await g.close();
  for (const f of [full, gap]) {
    // A self-contained file to copy: the WAL folded in.
    const db = new DatabaseSync(f);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");
    db.close();
  }
  return { full, gap, fillMs: performance.now() - started };
}

interface Running {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<unknown>;
}

function startNode(name: string, port: number, config: object): Running {
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
    { stdio: ["ignore", "pipe", "inherit"] },
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

async function main() {
  log(`filling two archives of ${N.toLocaleString()} (one without ${MISSING.toLocaleString()})`);
  const { full, gap, fillMs } = await fill();
  const port = await freePortBlock(2_700, 2);
  const ids: string[] = [];
  for (const name of ["a", "b"]) {
    mkdirSync(join(dir, name), { recursive: true });
    ids.push(peerIdFromPrivateKey((await loadOrCreatePeerKey(join(dir, name))).key).toString());
  }
  const addr = (i: number) => `/ip4/127.0.0.1/tcp/${port + i}/p2p/${ids[i]}`;
  copyFileSync(full, join(dir, "a", "archive.sqlite"));
  const a = startNode("a", port, {
    sync: { peers: [addr(1)], startDelay: "1h", interval: "1h", sessionsPerMinute: 1_000 },
  });
  await waitFor("a's sync index", () => a.logs.find((l) => l.msg === "sync index loaded"), 300_000);
  log("a is up with its index:", JSON.stringify(a.logs.find((l) => l.msg === "sync index loaded")));

  const rounds: Record<string, unknown>[] = [];
  for (let r = 0; r < 2 * ROUNDS; r++) {
    const kind = r % 2 === 0 ? "equal" : "gap";
    const bArchive = join(dir, "b", "archive.sqlite");
    for (const suffix of ["", "-wal", "-shm"]) if (existsSync(bArchive + suffix)) rmSync(bArchive + suffix);
    copyFileSync(kind === "equal" ? full : gap, bArchive);
    const aCpu = processCpuMs(a.child.pid!);
    const b = startNode("b", port + 1, { sync: { peers: [addr(0)], startDelay: "1s", interval: "1h" } });
    const loaded = await waitFor(
      "b's sync index",
      () => b.logs.find((l) => l.msg === "sync index loaded"),
      300_000,
    );
    const ticks = machineTicks();
    const bCpu = processCpuMs(b.child.pid!);
    const session = await waitFor(
      "b's sync session",
      () => b.logs.find((l) => l.msg === "sync session" || l.msg === "sync session failed"),
      300_000,
    );
    const busy = busyShare(ticks, machineTicks());
    const cpu = { a: processCpuMs(a.child.pid!) - aCpu, b: processCpuMs(b.child.pid!) - bCpu };
    b.child.kill("SIGTERM");
    await b.exited;
    if (session.msg !== "sync session") throw new Error(`b's session failed: ${JSON.stringify(session)}`);
    const s = session as unknown as {
      rounds: number;
      sent: number;
      received: number;
      envelopeBytes: number;
      stored: number;
      envelopes: number;
      ms: number;
      ranges: Record<string, number>;
    };
    const row = {
      kind,
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
    if (kind === "gap" && s.stored !== MISSING) throw new Error(`b stored ${s.stored}, not ${MISSING}`);
    if (kind === "equal" && s.envelopes !== 0)
      throw new Error(`equal archives sent ${s.envelopes} envelopes`);
    rounds.push(row);
    log(`round ${r + 1}:`, JSON.stringify(row));
  }
  a.child.kill("SIGTERM");
  await a.exited;

  const equal = rounds.filter((x) => x.kind === "equal");
  const gaps = rounds.filter((x) => x.kind === "gap");
  const inSync = spread(equal.map((x) => x.bytes as number));
  const perSec = spread(gaps.map((x) => x.missingPerSec as number));
  const overhead = spread(gaps.map((x) => x.overheadBytesPerMissing as number));
  const model = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
  const sqlite = (new DatabaseSync(":memory:").prepare("SELECT sqlite_version() AS v").get() as { v: string })
    .v;
  const result = {
    envelopes: N,
    missing: MISSING,
    pattern: SCATTERED ? `every ${STEP}th envelope` : "a contiguous block from the middle of the week",
    inSyncBytes: inSync.median,
    syncMissingPerSec: perSec.median,
    syncOverheadBytesPerMissing: overhead.median,
    goals: {
      inSyncBytes: `${inSync.median} ≤ 16384: ${inSync.max <= 16_384 ? "met" : "missed"}`,
      syncOverheadBytesPerMissing: `${overhead.median} ≤ 64: ${overhead.max <= 64 ? "met" : "missed"}`,
    },
    spread: { inSyncBytes: inSync, syncMissingPerSec: perSec, syncOverheadBytesPerMissing: overhead },
    rounds,
    fillMs: Math.round(fillMs),
    machine: `${cpus().length} × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, SQLite ${sqlite}`,
    date: new Date().toISOString(),
  };
  if (json) console.log(JSON.stringify(result));
  else console.log(JSON.stringify(result, null, 2));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
