// The reconciliation against a plain set difference: random sets (overlapping, disjoint, empty,
// with many timestamp ties, a contiguous gap, windows starting mid-set), and the sync index against
// a sorted array.
import { describe, expect, it } from "vitest";
import { SyncRange, SyncRequest, SyncResponse } from "../../pb/sync.js";
import { DEFAULT_PARAMS, firstRanges, nextRanges, type ReconcileParams, respond } from "./reconcile.js";
import { BLOCK, type Bound, END, SyncIndex } from "./sync-index.js";

const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

/** A deterministic generator (mulberry32). */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Item = { ts: number; id: Uint8Array };

function item(rand: () => number, span: number): Item {
  const id = new Uint8Array(32);
  for (let i = 0; i < 32; i++) id[i] = Math.floor(rand() * 256);
  return { ts: 1_700_000_000_000 + Math.floor(rand() * span), id };
}

function indexOf(items: Item[], bulk: boolean): SyncIndex {
  const index = new SyncIndex();
  if (bulk) {
    const ts = new Float64Array(items.length);
    const ids = new Uint8Array(items.length * 32);
    items.forEach((x, i) => {
      ts[i] = x.ts;
      ids.set(x.id, i * 32);
    });
    index.load(ts, ids, items.length);
  } else for (const x of items) index.insert(x.ts, x.id);
  return index;
}

/** Runs a whole session in memory; returns what the responder found missing and the bytes exchanged. */
function session(a: SyncIndex, b: SyncIndex, start: Bound, p: ReconcileParams = DEFAULT_PARAMS) {
  const missing: Uint8Array[] = [];
  let ranges = firstRanges(a, start, p);
  let bytes = 0;
  let rounds = 0;
  for (;;) {
    rounds++;
    if (rounds > 400) throw new Error("no convergence");
    bytes += SyncRequest.encode({ pubsubTopics: [], ranges }).length;
    const r = respond(b, start, ranges, p);
    missing.push(...r.missing);
    bytes += SyncResponse.encode({
      status: 0,
      statusDesc: "",
      ranges: r.ranges,
      envelopes: [],
      pending: 0n,
    }).length;
    if (r.done) break;
    const n = nextRanges(a, start, r.ranges, p);
    if (n.done) break;
    ranges = n.ranges;
  }
  return { missing, bytes, rounds };
}

function expected(a: Item[], b: Item[], startTs: number): string[] {
  const have = new Set(a.map((x) => hex(x.id)));
  return [...new Set(b.filter((x) => x.ts >= startTs && !have.has(hex(x.id))).map((x) => hex(x.id)))].sort();
}

describe("sync index", () => {
  it("keeps (timestamp, id) order, dedupes, ranks, fingerprints and trims like a sorted array", () => {
    const rand = rng(1);
    const items: Item[] = [];
    for (let i = 0; i < 5_000; i++) items.push(item(rand, 3_000)); // many ties
    const index = new SyncIndex();
    for (const x of items) expect(index.insert(x.ts, x.id)).toBe(true);
    for (const x of items.slice(0, 100)) expect(index.insert(x.ts, x.id)).toBe(false);
    const sorted = [...items].sort((x, y) => x.ts - y.ts || Buffer.compare(x.id, y.id));
    expect(index.size).toBe(sorted.length);
    for (let r = 0; r < sorted.length; r += 37) {
      expect(index.at(r).ts).toBe(sorted[r]!.ts);
      expect(hex(index.at(r).id)).toBe(hex(sorted[r]!.id));
      expect(index.rank(sorted[r]!)).toBe(r);
      expect(index.has(sorted[r]!.ts, sorted[r]!.id)).toBe(true);
    }
    for (let k = 0; k < 50; k++) {
      const from = Math.floor(rand() * sorted.length);
      const to = from + Math.floor(rand() * (sorted.length - from));
      const want = new Uint8Array(32);
      for (let r = from; r < to; r++) for (let i = 0; i < 32; i++) want[i]! ^= sorted[r]!.id[i]!;
      expect(hex(index.fingerprint(from, to).xor)).toBe(hex(want));
    }
    const bulk = indexOf([...items, ...items.slice(0, 10)], true);
    expect(bulk.size).toBe(sorted.length);
    expect(hex(bulk.fingerprint(0, bulk.size).xor)).toBe(hex(index.fingerprint(0, index.size).xor));
    const cut = sorted[2_345]!.ts;
    const below = sorted.filter((x) => x.ts < cut).length;
    expect(index.removeBefore(cut)).toBe(below);
    expect(index.size).toBe(sorted.length - below);
    expect(index.at(0).ts).toBe(cut);
    expect(index.rank(END)).toBe(index.size);
    // Full blocks when loaded in bulk: 40 bytes an envelope, give or take a block.
    expect(bulk.bytes).toBeLessThan((sorted.length + BLOCK) * 41);
  });
});

describe("range-based reconciliation", () => {
  it("finds exactly what the initiator lacks, on random sets of every shape", () => {
    const rand = rng(42);
    for (let round = 0; round < 120; round++) {
      const span = [10, 1_000, 1_000_000][round % 3]!;
      const shared = Array.from({ length: Math.floor(rand() * 3_000) }, () => item(rand, span));
      const onlyA = Array.from({ length: Math.floor(rand() * (round % 4 === 0 ? 0 : 200)) }, () =>
        item(rand, span),
      );
      const onlyB = Array.from({ length: Math.floor(rand() * (round % 5 === 0 ? 0 : 400)) }, () =>
        item(rand, span),
      );
      const a = [...shared, ...onlyA];
      const b = [...shared, ...onlyB];
      const startTs = round % 2 === 0 ? 0 : 1_700_000_000_000 + Math.floor(rand() * span);
      const p: ReconcileParams =
        round % 3 === 0
          ? DEFAULT_PARAMS
          : {
              idsThreshold: 1 + (round % 7),
              fanout: 2 + (round % 15),
              maxRanges: round % 4 === 1 ? 8 : 2048,
            };
      const r = session(
        indexOf(a, round % 2 === 0),
        indexOf(b, round % 3 === 0),
        { ts: startTs, id: new Uint8Array(0) },
        p,
      );
      expect(r.missing.map(hex).sort(), `round ${round}`).toEqual(expected(a, b, startTs));
    }
  });

  it("lists at most maxMissing of what the initiator lacks, and says it stopped", () => {
    const rand = rng(3);
    const items = Array.from({ length: 100 }, () => item(rand, 1_000));
    const start = { ts: 0, id: new Uint8Array(0) };
    const r = respond(indexOf(items, true), start, firstRanges(new SyncIndex(), start), DEFAULT_PARAMS, 10);
    expect(r.missing.length).toBe(10);
    expect(r.truncated).toBe(true);
    expect(respond(indexOf(items, true), start, firstRanges(new SyncIndex(), start)).truncated).toBe(false);
  });

  it("two equal archives exchange one fingerprint each way", () => {
    const rand = rng(7);
    const items = Array.from({ length: 20_000 }, () => item(rand, 86_400_000));
    const r = session(indexOf(items, true), indexOf(items, true), { ts: 0, id: new Uint8Array(0) });
    expect(r.missing).toEqual([]);
    expect(r.rounds).toBe(1);
    expect(r.bytes).toBeLessThan(64);
  });

  it("a contiguous gap (a mailbox that was down) costs little beyond its ids", () => {
    const rand = rng(9);
    const items = Array.from({ length: 50_000 }, () => item(rand, 3_600_000)).sort((x, y) => x.ts - y.ts);
    const a = [...items.slice(0, 20_000), ...items.slice(25_000)];
    const r = session(indexOf(a, true), indexOf(items, true), { ts: 0, id: new Uint8Array(0) });
    expect(r.missing.map(hex).sort()).toEqual(expected(a, items, 0));
    // Ranges and fingerprints, not ids: far below a byte per missing envelope here.
    expect(r.bytes / 5_000).toBeLessThan(8);
  });
});

describe("wire examples (docs/protocol.md, /postbox/sync/1)", () => {
  const range = (r: Partial<SyncRange>): SyncRange =>
    ({
      mode: SyncRange.Mode.SKIP,
      count: 0n,
      fingerprint: new Uint8Array(0),
      ids: new Uint8Array(0),
      ...r,
    }) as SyncRange;
  it("encodes as the protocol page shows", () => {
    // An initiator holding nothing in its window opens with an empty id list.
    const start = { ts: 1_700_000_000_000, id: new Uint8Array(0) };
    const first = SyncRequest.encode({
      pubsubTopics: ["/postbox/1/envelopes"],
      start: { timestamp: 1_700_000_000_000n, id: new Uint8Array(0) },
      ranges: firstRanges(new SyncIndex(), start),
    });
    expect(hex(first)).toBe("0a142f706f7374626f782f312f656e76656c6f70657312070880d095ffbc311a021002");
    // Two ids 01…01 and 03…03 below the bound (1,700,000,000,500, 0a0c), then the rest settled.
    const xor = new Uint8Array(32).fill(1).map((b) => b ^ 3);
    const fp = SyncRequest.encode({
      pubsubTopics: [],
      ranges: [
        range({
          upper: { timestamp: 1_700_000_000_500n, id: Uint8Array.from([0x0a, 0x0c]) },
          mode: SyncRange.Mode.FINGERPRINT,
          count: 2n,
          fingerprint: xor.slice(0, 16),
        }),
        range({}),
      ],
    });
    expect(hex(fp)).toBe("1a230a0b08f4d395ffbc3112020a0c100118022210020202020202020202020202020202021a00");
    const settled = SyncResponse.encode({
      status: SyncResponse.Status.OK,
      statusDesc: "",
      ranges: [range({})],
      envelopes: [],
      pending: 0n,
      truncated: false,
    });
    expect(hex(settled)).toBe("1a00");
  });
});
