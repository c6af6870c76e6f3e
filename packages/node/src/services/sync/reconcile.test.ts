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
function session(
  a: SyncIndex,
  b: SyncIndex,
  start: Bound,
  p: ReconcileParams = DEFAULT_PARAMS,
  budget = { sketchWork: 2 ** 26 },
) {
  const missing: Uint8Array[] = [];
  let ranges = firstRanges(a, start, p);
  let bytes = 0;
  let rounds = 0;
  const modes = {
    sent: {} as Record<string, number>,
    received: {} as Record<string, number>,
    fullIds: 0,
    askedFull: 0,
  };
  for (;;) {
    rounds++;
    if (rounds > 400) throw new Error("no convergence");
    bytes += SyncRequest.encode({ pubsubTopics: [], ranges }).length;
    for (const x of ranges) {
      modes.sent[x.mode] = (modes.sent[x.mode] ?? 0) + 1;
      if (x.mode === SyncRange.Mode.IDS && x.keyBytes === 32) modes.fullIds++;
    }
    const r = respond(b, start, ranges, p, Number.POSITIVE_INFINITY, budget);
    for (const x of r.ranges) {
      modes.received[x.mode] = (modes.received[x.mode] ?? 0) + 1;
      if (x.keyBytes === 32) modes.askedFull++;
    }
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
  return { missing, bytes, rounds, modes };
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
    const used = { sketches: 0, ids: 0, fullIds: 0, askedFull: 0 };
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
              sketchMax: round % 5 === 0 ? 0 : 1 + (round % 40),
              sketchWork: round % 7 === 0 ? 64 : 2 ** 21,
              // Test-only short prefixes and short ids: collisions every few ranges.
              ...(round % 2 === 1 ? { keyBytes: 1 + (round % 3), shortIdBits: 3 + (round % 9) } : {}),
            };
      const r = session(
        indexOf(a, round % 2 === 0),
        indexOf(b, round % 3 === 0),
        { ts: startTs, id: new Uint8Array(0) },
        p,
      );
      expect(r.missing.map(hex).sort(), `round ${round}`).toEqual(expected(a, b, startTs));
      used.sketches += r.modes.sent[SyncRange.Mode.SKETCH] ?? 0;
      used.ids += r.modes.sent[SyncRange.Mode.IDS] ?? 0;
      used.fullIds += r.modes.fullIds;
      used.askedFull += r.modes.askedFull;
    }
    // Every path ran: sketches, prefix lists, and collisions of the test's short prefixes answered
    // by a round of full ids.
    expect(used.sketches).toBeGreaterThan(100);
    expect(used.ids).toBeGreaterThan(100);
    expect(used.askedFull).toBeGreaterThan(10);
    expect(used.fullIds).toBeGreaterThan(10);
  });

  it("a prefix or short id shared by two ids costs a round of full ids or a split, never a wrong result", () => {
    const rand = rng(11);
    const base = Array.from({ length: 10 }, () => item(rand, 1_000));
    const twin = (of: Item, sameBytes: number): Item => {
      const id = of.id.slice();
      id[sameBytes] = id[sameBytes]! ^ 0xff; // same first `sameBytes` bytes, then different
      return { ts: of.ts, id };
    };
    const y = item(rand, 1_000);
    const x = twin(y, 8); // x and y share the 8 bytes an id list carries
    const start = { ts: 0, id: new Uint8Array(0) };
    // The initiator holds y, the responder x (and the rest is shared): x's prefix is in the list.
    let r = session(indexOf([...base, y], true), indexOf([...base, x], true), start);
    expect(r.missing.map(hex)).toEqual([hex(x.id)]);
    expect(r.modes.askedFull).toBe(1);
    expect(r.modes.fullIds).toBe(1);
    // The responder holds both: it matches one more id than the initiator listed.
    r = session(indexOf([...base, y], true), indexOf([...base, x, y], true), start);
    expect(r.missing.map(hex)).toEqual([hex(x.id)]);
    expect(r.modes.askedFull).toBe(1);
    // Sketches: many envelopes, among them one the initiator lacks whose short id (its first 4
    // bytes) equals that of one it holds; the sketch finds two roots where it expected one, and
    // the range is split instead, down to id lists.
    const many = Array.from({ length: 400 }, () => item(rand, 1_000));
    const lacking = twin(many[123]!, 4);
    r = session(indexOf(many, true), indexOf([...many, lacking], true), start);
    expect(r.missing.map(hex)).toEqual([hex(lacking.id)]);
    expect(r.modes.sent[SyncRange.Mode.SKETCH]).toBeGreaterThan(0);
    expect(r.modes.sent[SyncRange.Mode.IDS]).toBeGreaterThan(0);
    // Without the collision, one sketch settles it.
    const other = item(rand, 1_000);
    r = session(indexOf(many, true), indexOf([...many, other], true), start);
    expect(r.missing.map(hex)).toEqual([hex(other.id)]);
    expect(r.modes.sent[SyncRange.Mode.SKETCH]).toBe(1);
    expect(r.modes.sent[SyncRange.Mode.IDS] ?? 0).toBe(0);
  });

  it("scattered losses (every 20th envelope) cost a sketch of 4 bytes each plus their ranges", () => {
    const rand = rng(5);
    const items = Array.from({ length: 100_000 }, () => item(rand, 86_400_000)).sort(
      (x, y) => x.ts - y.ts || Buffer.compare(x.id, y.id),
    );
    const a = items.filter((_, i) => i % 20 !== 0);
    const r = session(indexOf(a, true), indexOf(items, true), { ts: 0, id: new Uint8Array(0) });
    expect(r.missing.map(hex).sort()).toEqual(expected(a, items, 0));
    expect(r.bytes / 5_000).toBeLessThan(16);
    expect(r.rounds).toBeLessThanOrEqual(4);
  });

  it("a responder out of sketch work splits instead, and the result is the same", () => {
    const rand = rng(8);
    const items = Array.from({ length: 20_000 }, () => item(rand, 86_400_000));
    const a = items.filter((_, i) => i % 20 !== 0);
    const start = { ts: 0, id: new Uint8Array(0) };
    const budget = { sketchWork: 100_000 };
    const r = session(indexOf(a, true), indexOf(items, true), start, DEFAULT_PARAMS, budget);
    expect(r.missing.map(hex).sort()).toEqual(expected(a, items, 0));
    expect(r.modes.sent[SyncRange.Mode.SKETCH]).toBeGreaterThan(0);
    expect(r.modes.sent[SyncRange.Mode.IDS]).toBeGreaterThan(0); // the declined ones, split down
    expect(budget.sketchWork).toBeGreaterThanOrEqual(0);
    expect(budget.sketchWork).toBeLessThan(100_000);
  });

  it("one envelope missing among many costs one sketch", () => {
    const rand = rng(6);
    const items = Array.from({ length: 100_000 }, () => item(rand, 86_400_000));
    const a = items.filter((_, i) => i !== 777);
    const r = session(indexOf(a, true), indexOf(items, true), { ts: 0, id: new Uint8Array(0) });
    expect(r.missing.map(hex)).toEqual([hex(items[777]!.id)]);
    expect(r.rounds).toBe(2);
    expect(r.bytes).toBeLessThan(160);
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

/** The initiator's opening fingerprint over the window, whatever it holds. */
function firstRangesOver(index: SyncIndex, start: Bound): SyncRange[] {
  return firstRanges(index, start, { ...DEFAULT_PARAMS, idsThreshold: 0 });
}

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
    // A sketch of those two ids where the responder holds two more (05…05, 07…07): d = 2.
    const id = (b: number) => new Uint8Array(32).fill(b);
    const two = new SyncIndex();
    for (const b of [1, 3]) two.insert(1_700_000_000_100, id(b));
    const four = new SyncIndex();
    for (const b of [1, 3, 5, 7]) four.insert(1_700_000_000_100, id(b));
    const whole = { ts: 0, id: new Uint8Array(0) };
    // (Two ids are too few for a sketch with Postbox's parameters: these let two be enough.)
    const few = { ...DEFAULT_PARAMS, idsThreshold: 1 };
    const sketch = nextRanges(two, whole, respond(four, whole, firstRangesOver(two, whole), few).ranges, few);
    expect(hex(SyncRequest.encode({ pubsubTopics: [], ranges: sketch.ranges }))).toBe(
      "1a20100318022210020202020202020202020202020202023208020202010" + "80a8d10",
    );
    const found = respond(four, whole, sketch.ranges, few);
    expect(found.missing.map(hex)).toEqual([hex(id(5)), hex(id(7))]);
    expect(found.done).toBe(true);
  });
});
