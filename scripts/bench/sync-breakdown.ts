// `node scripts/bench/sync-breakdown.ts [--envelopes 1000000] [--missing 50000] [--pattern scattered|contiguous|both]
//   [--params '{"sketchMax": 32}']`
//
// Where the bytes of a `/postbox/sync/1` session go, without a network: the reconciliation of
// @postbox/node (firstRanges / respond / nextRanges) run in this process on two sync indexes, the
// initiator's lacking `--missing` of the responder's `--envelopes` (every (N / missing)-th, or a
// contiguous block), each message encoded as on the wire. Prints, per direction and range mode,
// the ranges and their bytes (with their field tags), the messages' own framing, and the
// envelopes' framing in responses (field tag + length, ≈ 3 bytes an envelope of ≈ 140 bytes),
// then the overhead per missing envelope. The envelopes themselves are not sent (their ids are).

import { randomBytes } from "node:crypto";
import {
  DEFAULT_PARAMS,
  firstRanges,
  nextRanges,
  respond,
  SKETCH_WORK_PER_SESSION,
  SyncIndex,
  SyncRange,
  SyncRequest,
  SyncResponse,
} from "@postbox/node";

const argv = process.argv.slice(2);
const num = (name: string, fallback: number) =>
  argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback;
const N = num("--envelopes", 1_000_000);
const MISSING = num("--missing", 50_000);
const PATTERN = argv.includes("--pattern") ? argv[argv.indexOf("--pattern") + 1]! : "both";
const PARAMS = {
  ...DEFAULT_PARAMS,
  ...(argv.includes("--params") ? JSON.parse(argv[argv.indexOf("--params") + 1]!) : {}),
};
const ENVELOPE_BYTES = 138; // the sync benchmark's envelopes: 100-byte payloads

const varint = (n: number) => (n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4);

export function breakdown(n: number, missing: number, scattered: boolean) {
  const ts = new Float64Array(n);
  const ids = randomBytes(n * 32);
  const week = 7 * 86_400_000;
  for (let i = 0; i < n; i++) ts[i] = 1_700_000_000_000 + Math.floor((i * week) / n);
  const step = Math.max(1, Math.floor(n / missing));
  const from = Math.floor(n / 2 - missing / 2);
  const kept = (i: number) =>
    scattered ? i % step !== 0 || i / step >= missing : i < from || i >= from + missing;
  const responder = new SyncIndex();
  responder.load(ts, ids, n);
  const its = new Float64Array(n - missing);
  const iids = new Uint8Array((n - missing) * 32);
  let k = 0;
  for (let i = 0; i < n; i++)
    if (kept(i)) {
      its[k] = ts[i]!;
      iids.set(ids.subarray(i * 32, i * 32 + 32), k * 32);
      k++;
    }
  const initiator = new SyncIndex();
  initiator.load(its, iids, k);
  const start = { ts: 0, id: new Uint8Array(0) };
  const modes = (r: SyncRange[], into: Record<string, { ranges: number; bytes: number }>) => {
    for (const x of r) {
      const name = SyncRange.Mode[x.mode] ?? String(x.mode);
      const b = SyncRange.encode(x).length;
      into[name] ??= { ranges: 0, bytes: 0 };
      const e = into[name];
      e.ranges++;
      e.bytes += 1 + varint(b) + b;
    }
  };
  const out = {
    request: {} as Record<string, { ranges: number; bytes: number }>,
    response: {} as Record<string, { ranges: number; bytes: number }>,
    messages: 0,
    messageFraming: 0,
    rounds: 0,
    found: 0,
    ms: 0,
  };
  const t0 = performance.now();
  let ranges = firstRanges(initiator, start, PARAMS);
  // The Postbox responder's sketch work for one session (service.ts).
  const budget = { sketchWork: SKETCH_WORK_PER_SESSION };
  let first = true;
  for (;;) {
    out.rounds++;
    const req = SyncRequest.encode({ pubsubTopics: first ? ["/postbox/1/envelopes"] : [], ranges });
    modes(ranges, out.request);
    out.messageFraming +=
      req.length +
      varint(req.length) -
      ranges.reduce((s, x) => s + 1 + varint(SyncRange.encode(x).length) + SyncRange.encode(x).length, 0);
    const r = respond(responder, start, ranges, PARAMS, Number.POSITIVE_INFINITY, budget);
    out.found += r.missing.length;
    const res = SyncResponse.encode({
      status: SyncResponse.Status.OK,
      statusDesc: "",
      ranges: r.ranges,
      envelopes: [],
      pending: 0n,
      truncated: false,
    });
    modes(r.ranges, out.response);
    out.messageFraming +=
      res.length +
      varint(res.length) -
      r.ranges.reduce((s, x) => s + 1 + varint(SyncRange.encode(x).length) + SyncRange.encode(x).length, 0);
    out.messages += 2;
    first = false;
    if (r.done) break;
    const nx = nextRanges(initiator, start, r.ranges, PARAMS);
    if (nx.done) break;
    ranges = nx.ranges;
  }
  out.ms = Math.round(performance.now() - t0);
  const envelopeFraming = out.found * (1 + varint(ENVELOPE_BYTES));
  const sum = (o: Record<string, { bytes: number }>) => Object.values(o).reduce((s, x) => s + x.bytes, 0);
  const total = sum(out.request) + sum(out.response) + out.messageFraming + envelopeFraming;
  const per = (b: number) => +(b / out.found).toFixed(2);
  return {
    pattern: scattered ? `every ${step}th` : "contiguous",
    envelopes: n,
    missing,
    found: out.found,
    rounds: out.rounds,
    ms: out.ms,
    perMissing: {
      total: per(total),
      request: Object.fromEntries(
        Object.entries(out.request).map(([m, x]) => [m, { ranges: x.ranges, bytesPerMissing: per(x.bytes) }]),
      ),
      response: Object.fromEntries(
        Object.entries(out.response).map(([m, x]) => [
          m,
          { ranges: x.ranges, bytesPerMissing: per(x.bytes) },
        ]),
      ),
      messageFraming: per(out.messageFraming),
      envelopeFraming: per(envelopeFraming),
    },
    checked: out.found === missing,
  };
}

for (const scattered of PATTERN === "both" ? [false, true] : [PATTERN === "scattered"])
  console.log(JSON.stringify(breakdown(N, MISSING, scattered), null, 1));
