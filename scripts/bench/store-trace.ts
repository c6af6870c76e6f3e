// The store benchmark's where-does-the-time-go trace (`POSTBOX_BENCH_TRACE=PREFIX`, off without it;
// docs/BENCHMARKS.md, "store"). Imported by the benchmark and preloaded into its mailbox
// (`node --import` this file), it writes `PREFIX.<pid>.json` when its process exits:
// - `gcs`: every GC pause of the main thread, [start, ms, kind] (perf_hooks kinds: 1 minor,
//   4 major, 8 incremental, 16 weak callbacks);
// - `stalls`: every time a 2 ms timer came ≥ 6 ms late, [start, ms]: the event loop busy or the
//   thread off the CPU;
// - `marks`: per store request id, when this process encoded or decoded its query (`qenc`,
//   `qdec`) and its response (`renc`, `rdec`). The benchmark's readers (`q…` ids) and the mailbox
//   each mark their side, so a page's time splits into the reader, the way there, the mailbox's
//   serving and the way back. The codecs are wrapped in place; nothing else changes.
// Times are epoch milliseconds (performance.timeOrigin + now), comparable across processes.
// `scripts/bench/store-trace-report.ts PREFIX` reads them.
import { writeFileSync } from "node:fs";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { StoreQuery, StoreResponseCodec } from "@postbox/protocol";

export interface TraceFile {
  gcs: [start: number, ms: number, kind: number][];
  stalls: [start: number, ms: number][];
  marks: Record<string, Partial<Record<"qenc" | "qdec" | "renc" | "rdec", number>>>;
}

const prefix = process.env.POSTBOX_BENCH_TRACE;
if (prefix) {
  const trace: TraceFile = { gcs: [], stalls: [], marks: {} };
  const origin = performance.timeOrigin;
  const now = () => origin + performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      trace.gcs.push([
        origin + e.startTime,
        e.duration,
        (e as { detail?: { kind?: number } }).detail?.kind ?? 0,
      ]);
  }).observe({ entryTypes: ["gc"] });
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    if (t - last >= 6) trace.stalls.push([origin + last, t - last]);
    last = t;
  }, 2).unref();
  const mark = (id: string, what: keyof TraceFile["marks"][string], t: number) => {
    if (!id.startsWith("q")) return;
    const m = trace.marks[id] ?? {};
    m[what] = t;
    trace.marks[id] = m;
  };
  const { encode: qEncode, decode: qDecode } = StoreQuery;
  StoreQuery.encode = ((q: StoreQuery) => {
    mark(q.requestId, "qenc", now());
    return qEncode(q);
  }) as typeof StoreQuery.encode;
  StoreQuery.decode = ((...args: Parameters<typeof StoreQuery.decode>) => {
    const q = qDecode(...args);
    mark(q.requestId, "qdec", now());
    return q;
  }) as typeof StoreQuery.decode;
  const { encode: rEncode, decode: rDecode } = StoreResponseCodec;
  StoreResponseCodec.encode = (r) => {
    mark(r.requestId, "renc", now());
    return rEncode(r);
  };
  StoreResponseCodec.decode = (bytes) => {
    const t = now();
    const r = rDecode(bytes);
    mark(r.requestId, "rdec", t);
    return r;
  };
  const write = () => writeFileSync(`${prefix}.${process.pid}.json`, JSON.stringify(trace));
  process.on("exit", write);
  process.on("SIGTERM", write);
}
