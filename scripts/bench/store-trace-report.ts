// `node scripts/bench/store-trace-report.ts PREFIX`: reads a store benchmark run's trace
// (`POSTBOX_BENCH_TRACE=PREFIX`, see store-trace.ts) and prints, for the measured windows:
// - each query's time split into the way there (the query encoded by its reader → decoded by the
//   mailbox), the mailbox's serving (→ its response encoded), the way back (→ decoded by the
//   reader) and the reader's rest, for the median queries and for those at or over the 99th
//   percentile;
// - "dead time": every stretch of ≥ 15 ms in which no query completed (16 readers in a closed loop
//   each wait out all of it), and which of the two processes had a GC pause of ≥ 3 ms in it.
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { TraceFile } from "./store-trace.ts";

const prefix = process.argv[2];
if (!prefix) throw new Error("usage: store-trace-report.ts PREFIX");
const queries = JSON.parse(readFileSync(`${prefix}.queries.json`, "utf8")) as [
  number,
  number,
  number,
  string,
][];
const traces = new Map<string, TraceFile>();
for (const f of readdirSync(dirname(prefix))) {
  const m = new RegExp(`^${basename(prefix).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d+)\\.json$`).exec(
    f,
  );
  if (m) traces.set(m[1]!, JSON.parse(readFileSync(join(dirname(prefix), f), "utf8")) as TraceFile);
}
const marks: TraceFile["marks"] = {};
for (const t of traces.values())
  for (const [id, m] of Object.entries(t.marks)) marks[id] = { ...marks[id], ...m };
// The mailbox is the process that decoded the queries.
const mailbox = [...traces].find(([, t]) => Object.values(t.marks).some((m) => m.qdec !== undefined))?.[0];

const parts = ["reader → sent", "way there", "mailbox serving", "way back", "reader's rest"] as const;
const split: { ms: number; parts: number[] }[] = [];
for (const [sent, ms, , id] of queries) {
  const m = marks[id];
  if (m?.qenc === undefined || m.qdec === undefined || m.renc === undefined || m.rdec === undefined) continue;
  split.push({
    ms,
    parts: [m.qenc - sent, m.qdec - m.qenc, m.renc - m.qdec, m.rdec - m.renc, sent + ms - m.rdec],
  });
}
split.sort((a, b) => a.ms - b.ms);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const show = (label: string, rows: typeof split) =>
  console.log(
    `${label} (${rows.length}): ${mean(rows.map((r) => r.ms)).toFixed(1)} ms = ${parts
      .map((p, i) => `${p} ${mean(rows.map((r) => r.parts[i]!)).toFixed(1)}`)
      .join(", ")}`,
  );
console.log(`${split.length} of ${queries.length} queries with all four marks`);
const n = split.length;
show("median queries (45th–55th percentile)", split.slice(Math.floor(0.45 * n), Math.ceil(0.55 * n)));
show("queries at or over the 99th percentile", split.slice(Math.floor(0.99 * n)));

const ends = queries.map(([s, ms]) => s + ms).sort((a, b) => a - b);
const span = ends.at(-1)! - Math.min(...queries.map(([s]) => s));
const byCause = new Map<string, { n: number; ms: number }>();
let dead = 0;
for (let i = 1; i < ends.length; i++) {
  const [a, b] = [ends[i - 1]!, ends[i]!];
  if (b - a < 15) continue;
  dead += b - a;
  const causes = [...traces]
    .filter(([, t]) => t.gcs.some(([s, ms]) => ms >= 3 && s < b && s + ms > a))
    .map(([pid]) => (pid === mailbox ? "mailbox GC" : "readers' GC"))
    .sort();
  const key = causes.join(" + ") || "no GC of ours";
  const c = byCause.get(key) ?? { n: 0, ms: 0 };
  byCause.set(key, { n: c.n + 1, ms: c.ms + (b - a) });
}
console.log(
  `dead time (≥ 15 ms without a completed query): ${Math.round(dead)} ms of ${Math.round(span)} (${((dead / span) * 100).toFixed(1)} %); ` +
    [...byCause].map(([k, v]) => `${k}: ${v.n} stretches, ${Math.round(v.ms)} ms`).join("; "),
);
