/**
 * Range-based set reconciliation over the sync index (docs/protocol.md, "/postbox/sync/1"), as pure
 * functions of an index and the peer's ranges, so that it can be tested against a plain set
 * difference without a network.
 *
 * The initiator pulls: at the end it has learnt nothing it must send, and the responder has listed
 * every id it holds in the window that the initiator lacks (it then sends those envelopes).
 * Every message covers the window `[start, end of key space)` with contiguous ranges, each given by
 * its upper bound: SKIP (settled), FINGERPRINT (count and XOR of the sender's ids in it), IDS
 * (the initiator's ids in it, as 8-byte prefixes, and their XOR) or SKETCH (the initiator's count,
 * XOR and the first d power sums of its short ids, d being how many more the responder holds there).
 */
import { SyncRange } from "../../pb/sync.js";
import { type Bound, END, ID_BYTES, type SyncIndex } from "./sync-index.js";

/** Bytes of a fingerprint on the wire (a prefix of the XOR). */
export const FINGERPRINT_BYTES = 16;
/**
 * Bytes of an id in an IDS list (a prefix of the id) unless the list says otherwise. Eight: lists
 * are compared within one small range, where two honest ids share 8 bytes with odds of ~2^-57; a
 * shared prefix (or one made on purpose, ~2^64 hashes) fails the list's XOR check and costs a round
 * of whole ids, never a missed envelope.
 */
export const KEY_BYTES = 8;
/** The field of sketches: power sums of short ids are taken modulo this prime (2^31 − 1). */
export const SKETCH_PRIME = 2_147_483_647;
/** Bytes of a power sum on the wire. */
export const SKETCH_VALUE_BYTES = 4;
/** Most power sums in one SKETCH range. */
export const SKETCH_MAX_VALUES = 256;

export interface ReconcileParams {
  /** A differing range the initiator holds at most this many of is sent as an id list. */
  idsThreshold: number;
  /** A differing range is split into this many sub-ranges (fewer when it holds fewer). */
  fanout: number;
  /**
   * Most ranges a message carries (give or take the settled ones): past it, a differing range is
   * sent back whole (its fingerprint only), to be split in a later round once the ranges before it
   * have settled.
   */
  maxRanges: number;
  /**
   * A differing range the initiator holds more than `idsThreshold` of, where the responder holds
   * 1 to this many more, is settled by a sketch of that many power sums instead of being split.
   */
  sketchMax: number;
  /** ... provided that (the responder's count) × (the difference) is at most this (its work). */
  sketchWork: number;
  /** Test only: bytes of the id prefixes the initiator lists (Postbox's: {@link KEY_BYTES}). */
  keyBytes?: number;
  /** Test only: bits of the short ids in sketches (the protocol's are 31), to force collisions. */
  shortIdBits?: number;
}

export const DEFAULT_PARAMS: ReconcileParams = {
  idsThreshold: 16,
  fanout: 16,
  maxRanges: 2048,
  sketchMax: 64,
  sketchWork: 2 ** 21,
};

/**
 * Sketch work (responder's count × power sums, summed over sketches) a responder spends on one
 * message at most; past it, sketches are declined (split). ≈ 0.5–1 s of one core.
 */
export const SKETCH_WORK_PER_MESSAGE = 2 ** 24;
/** ... and on one session (the Postbox responder; a session of 1M with 50,000 scattered losses uses ≈ 2^23.5). */
export const SKETCH_WORK_PER_SESSION = 2 ** 26;

/**
 * Whether a differing range where the initiator holds `mine` and the responder `theirs` is settled
 * with a sketch: the initiator then sends SKETCH, and the responder answers I's FINGERPRINT there
 * with its own, unsplit, to ask for one.
 */
export function sketchable(mine: number, theirs: number, p: ReconcileParams = DEFAULT_PARAMS): boolean {
  const d = theirs - mine;
  return mine > p.idsThreshold && d >= 1 && d <= p.sketchMax && d * theirs <= p.sketchWork;
}

/** A malformed message from the peer (answered with BAD_REQUEST). */
export class SyncProtocolError extends Error {}

/** The bound on the wire: absent = the end of the key space. */
export function toWireBound(b: Bound): { timestamp: bigint; id: Uint8Array } | undefined {
  return b.ts === Number.POSITIVE_INFINITY ? undefined : { timestamp: BigInt(b.ts), id: b.id };
}

export function fromWireBound(b: { timestamp: bigint; id: Uint8Array } | undefined): Bound {
  if (!b) return END;
  if (b.timestamp > BigInt(Number.MAX_SAFE_INTEGER)) throw new SyncProtocolError("bound timestamp too large");
  if (b.id.length > ID_BYTES) throw new SyncProtocolError("bound id longer than 32 bytes");
  return { ts: Number(b.timestamp), id: b.id };
}

export function compareBounds(a: Bound, b: Bound): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  const n = Math.max(a.id.length, b.id.length);
  for (let i = 0; i < n; i++) {
    const x = a.id[i] ?? 0;
    const y = b.id[i] ?? 0;
    if (x !== y) return x - y;
  }
  return 0;
}

/** The shortest bound that lies above the position at rank `r - 1` and at or below the one at `r`. */
function boundAt(index: SyncIndex, r: number): Bound {
  const cur = index.at(r);
  const prev = index.at(r - 1);
  if (prev.ts < cur.ts) return { ts: cur.ts, id: new Uint8Array(0) };
  let l = 0;
  while (l < ID_BYTES && prev.id[l] === cur.id[l]) l++;
  return { ts: cur.ts, id: cur.id.slice(0, l + 1) };
}

function fingerprintRange(index: SyncIndex, r0: number, r1: number, upper: Bound): SyncRange {
  const fp = index.fingerprint(r0, r1);
  return {
    upper: toWireBound(upper),
    mode: SyncRange.Mode.FINGERPRINT,
    count: BigInt(fp.count),
    fingerprint: fp.xor.slice(0, FINGERPRINT_BYTES),
    ids: new Uint8Array(0),
  } as SyncRange;
}

function idsRange(index: SyncIndex, r0: number, r1: number, upper: Bound, key: number): SyncRange {
  const ids = new Uint8Array((r1 - r0) * key);
  let o = 0;
  index.forEach(r0, r1, (_ts, id) => {
    ids.set(id.subarray(0, key), o);
    o += key;
  });
  return {
    upper: toWireBound(upper),
    mode: SyncRange.Mode.IDS,
    count: 0n,
    // The XOR of the full ids, so that the responder can tell a prefix shared by two ids.
    fingerprint:
      r1 > r0 && key < ID_BYTES
        ? index.fingerprint(r0, r1).xor.slice(0, FINGERPRINT_BYTES)
        : new Uint8Array(0),
    ids,
    keyBytes: key === KEY_BYTES ? 0 : key,
  } as SyncRange;
}

/** x mod 2^31 − 1 for 0 ≤ x < 2^53: x = hi · 2^31 + lo ≡ hi + lo. */
function reduce(x: number): number {
  const hi = Math.floor(x / 2_147_483_648);
  const r = hi + (x - hi * 2_147_483_648);
  return r >= SKETCH_PRIME ? r - SKETCH_PRIME : r;
}

/** a · b mod 2^31 − 1 for a, b < 2^31, exact in doubles (each partial product below 2^48). */
function mulmod(a: number, b: number): number {
  return reduce(reduce(a * (b >>> 16)) * 65_536 + a * (b & 0xffff));
}

/** An id's short id: its first 4 bytes big-endian, shifted right by one (31 bits), mod 2^31 − 1. */
function shortId(id: Uint8Array, p: ReconcileParams): number {
  const v = ((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0;
  const bits = p.shortIdBits ?? 31;
  return (v >>> (32 - bits)) % SKETCH_PRIME;
}

/** The power sums Σ x^j (j = 1..d) of the short ids of ranks [r0, r1), mod 2^31 − 1. */
function powerSums(index: SyncIndex, r0: number, r1: number, d: number, p: ReconcileParams): Float64Array {
  const sums = new Float64Array(d);
  index.forEach(r0, r1, (_ts, id) => {
    const x = shortId(id, p);
    let pw = x;
    for (let j = 0; j < d; j++) {
      const v = sums[j]! + pw;
      sums[j] = v >= SKETCH_PRIME ? v - SKETCH_PRIME : v;
      pw = mulmod(pw, x);
    }
  });
  return sums;
}

function sketchRange(
  index: SyncIndex,
  r0: number,
  r1: number,
  upper: Bound,
  d: number,
  p: ReconcileParams,
): SyncRange {
  const sums = powerSums(index, r0, r1, d, p);
  const sketch = new Uint8Array(d * SKETCH_VALUE_BYTES);
  const view = new DataView(sketch.buffer);
  for (let j = 0; j < d; j++) view.setUint32(j * SKETCH_VALUE_BYTES, sums[j]!);
  const fp = index.fingerprint(r0, r1);
  return {
    upper: toWireBound(upper),
    mode: SyncRange.Mode.SKETCH,
    count: BigInt(fp.count),
    fingerprint: fp.xor.slice(0, FINGERPRINT_BYTES),
    ids: new Uint8Array(0),
    sketch,
  } as SyncRange;
}

function invmod(a: number): number {
  // a^(p − 2) mod p
  let r = 1;
  let b = a % SKETCH_PRIME;
  let e = SKETCH_PRIME - 2;
  while (e > 0) {
    if (e & 1) r = mulmod(r, b);
    b = mulmod(b, b);
    e = Math.floor(e / 2);
  }
  return r;
}

/**
 * Decodes a SKETCH range against the responder's own ranks [r0, r1): the ranks whose ids the
 * initiator lacks, or undefined when the sketch does not settle the range (the difference is not
 * d envelopes the initiator lacks, or two short ids collide): then the range is split.
 */
function decodeSketch(
  index: SyncIndex,
  r0: number,
  r1: number,
  range: SyncRange,
  p: ReconcileParams,
): number[] | undefined {
  const d = range.sketch.length / SKETCH_VALUE_BYTES;
  if (BigInt(r1 - r0 - d) !== range.count) return undefined;
  // The power sums of the short ids the initiator lacks: ours minus its.
  const mine = powerSums(index, r0, r1, d, p);
  const view = new DataView(range.sketch.buffer, range.sketch.byteOffset, range.sketch.byteLength);
  const q = new Float64Array(d + 1);
  for (let j = 0; j < d; j++) {
    const theirs = view.getUint32(j * SKETCH_VALUE_BYTES);
    q[j + 1] = (mine[j]! - theirs + SKETCH_PRIME) % SKETCH_PRIME;
  }
  // Newton's identities: the elementary symmetric polynomials e_1..e_d of those short ids.
  const e = new Float64Array(d + 1);
  e[0] = 1;
  for (let k = 1; k <= d; k++) {
    let acc = 0;
    for (let i = 1; i <= k; i++) {
      const t = mulmod(e[k - i]!, q[i]!);
      acc = i % 2 === 1 ? (acc + t) % SKETCH_PRIME : (acc - t + SKETCH_PRIME) % SKETCH_PRIME;
    }
    e[k] = mulmod(acc, invmod(k));
  }
  // Their polynomial Π (z − x) = Σ (−1)^k e_k z^(d−k); every own id whose short id is a root.
  const c = new Float64Array(d + 1);
  for (let k = 0; k <= d; k++) c[k] = k % 2 === 0 ? e[k]! : (SKETCH_PRIME - e[k]!) % SKETCH_PRIME;
  const found: number[] = [];
  let r = r0;
  const xor = new Uint8Array(ID_BYTES);
  index.forEach(r0, r1, (_ts, id) => {
    const x = shortId(id, p);
    let v = c[0]!;
    for (let k = 1; k <= d; k++) {
      v = mulmod(v, x) + c[k]!;
      if (v >= SKETCH_PRIME) v -= SKETCH_PRIME;
    }
    if (v === 0) {
      found.push(r);
      for (let i = 0; i < ID_BYTES; i++) xor[i]! ^= id[i]!;
    }
    r++;
  });
  if (found.length !== d) return undefined;
  // What remains must be the initiator's set: the same XOR.
  const all = index.fingerprint(r0, r1).xor;
  for (let i = 0; i < FINGERPRINT_BYTES; i++)
    if ((all[i]! ^ xor[i]!) !== range.fingerprint[i]) return undefined;
  return found;
}

function sameFingerprint(index: SyncIndex, r0: number, r1: number, range: SyncRange): boolean {
  if (BigInt(r1 - r0) !== range.count) return false;
  const mine = index.fingerprint(r0, r1).xor;
  if (range.fingerprint.length !== FINGERPRINT_BYTES)
    throw new SyncProtocolError("a fingerprint has 16 bytes");
  for (let i = 0; i < FINGERPRINT_BYTES; i++) if (mine[i] !== range.fingerprint[i]) return false;
  return true;
}

/** Builds a message's ranges, merging adjacent SKIPs. */
class Out {
  readonly ranges: SyncRange[] = [];
  skip(upper: Bound): void {
    const last = this.ranges.at(-1);
    if (last && last.mode === SyncRange.Mode.SKIP) {
      const wire = toWireBound(upper);
      if (wire) last.upper = wire;
      else delete last.upper;
    } else
      this.ranges.push({
        upper: toWireBound(upper),
        mode: SyncRange.Mode.SKIP,
        count: 0n,
        fingerprint: new Uint8Array(0),
        ids: new Uint8Array(0),
      } as SyncRange);
  }
  push(r: SyncRange): void {
    this.ranges.push(r);
  }
  /** True when every range is settled. */
  get done(): boolean {
    return this.ranges.every((r) => r.mode === SyncRange.Mode.SKIP);
  }
}

/** Splits own ranks [r0, r1) (below `upper`) into up to `fanout` fingerprinted sub-ranges. */
function split(index: SyncIndex, r0: number, r1: number, upper: Bound, p: ReconcileParams, out: Out): void {
  const c = r1 - r0;
  let parts = Math.max(1, Math.min(p.fanout, c));
  // The first differing range always finds room for a split, so every round makes progress.
  parts = Math.max(1, Math.min(parts, p.maxRanges - out.ranges.length));
  let from = r0;
  for (let j = 1; j <= parts; j++) {
    const to = j === parts ? r1 : r0 + Math.floor((j * c) / parts);
    const up = j === parts ? upper : boundAt(index, to);
    out.push(fingerprintRange(index, from, to, up));
    from = to;
  }
}

/** Walks a message's ranges with their lower bounds, checking that bounds increase and end at END. */
function* walk(start: Bound, ranges: SyncRange[]): Generator<[Bound, Bound, SyncRange]> {
  let lower = start;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    const upper = fromWireBound(r.upper);
    if (compareBounds(upper, lower) <= 0) throw new SyncProtocolError(`range ${i}: bounds do not increase`);
    if (upper === END && i !== ranges.length - 1)
      throw new SyncProtocolError(`range ${i}: open before the last`);
    yield [lower, upper, r];
    lower = upper;
  }
  if (ranges.length > 0 && lower !== END) throw new SyncProtocolError("the ranges do not reach the end");
}

/** The initiator's first message: the whole window as one range. */
export function firstRanges(
  index: SyncIndex,
  start: Bound,
  p: ReconcileParams = DEFAULT_PARAMS,
): SyncRange[] {
  const r0 = index.rank(start);
  const r1 = index.size;
  return [
    r1 - r0 <= p.idsThreshold
      ? idsRange(index, r0, r1, END, p.keyBytes ?? KEY_BYTES)
      : fingerprintRange(index, r0, r1, END),
  ];
}

/**
 * The responder's answer to a message: its ranges, and the ids (full, from its index, in order) of
 * the envelopes the initiator lacks that this message revealed — at most `maxMissing` of them
 * (`truncated` when there were more).
 */
export function respond(
  index: SyncIndex,
  start: Bound,
  ranges: SyncRange[],
  p: ReconcileParams = DEFAULT_PARAMS,
  maxMissing = Number.POSITIVE_INFINITY,
  /** What the session may still spend on sketches (decremented here); each message also stops at SKETCH_WORK_PER_MESSAGE. */
  session: { sketchWork: number } = { sketchWork: SKETCH_WORK_PER_MESSAGE },
): { ranges: SyncRange[]; missing: Uint8Array[]; done: boolean; truncated: boolean } {
  const out = new Out();
  const missing: Uint8Array[] = [];
  let truncated = false;
  let work = SKETCH_WORK_PER_MESSAGE;
  const add = (id: Uint8Array) => {
    if (missing.length < maxMissing) missing.push(id.slice());
    else truncated = true;
  };
  for (const [lower, upper, range] of walk(start, ranges)) {
    const r0 = index.rank(lower);
    const r1 = index.rank(upper);
    switch (range.mode) {
      case SyncRange.Mode.SKIP:
        out.skip(upper);
        break;
      case SyncRange.Mode.FINGERPRINT:
        if (r1 === r0 || sameFingerprint(index, r0, r1, range)) out.skip(upper);
        else if (range.count === 0n) {
          // The initiator holds nothing here: everything of ours is missing there.
          index.forEach(r0, r1, (_ts, id) => add(id));
          out.skip(upper);
        } else if (range.count <= BigInt(r1 - r0) && sketchable(Number(range.count), r1 - r0, p))
          // A few more here than there: our fingerprint, unsplit, asks for a sketch.
          out.push(fingerprintRange(index, r0, r1, upper));
        else split(index, r0, r1, upper, p, out);
        break;
      case SyncRange.Mode.IDS: {
        const key = range.keyBytes || KEY_BYTES;
        if (key > ID_BYTES) throw new SyncProtocolError("an id list's ids have at most 32 bytes");
        if (range.ids.length % key !== 0)
          throw new SyncProtocolError(`an id list is a multiple of ${key} bytes`);
        const n = range.ids.length / key;
        if (n > 0 && key < ID_BYTES && range.fingerprint.length !== FINGERPRINT_BYTES)
          throw new SyncProtocolError("an id list's fingerprint has 16 bytes");
        const theirs = new Set<string>();
        const hex = Buffer.from(range.ids.buffer, range.ids.byteOffset, range.ids.byteLength).toString("hex");
        for (let o = 0; o < hex.length; o += key * 2) theirs.add(hex.slice(o, o + key * 2));
        const unmatched: Uint8Array[] = [];
        let matched = 0;
        const xor = new Uint8Array(ID_BYTES);
        index.forEach(r0, r1, (_ts, id) => {
          if (!theirs.has(Buffer.from(id.buffer, id.byteOffset, key).toString("hex"))) unmatched.push(id);
          else {
            matched++;
            for (let i = 0; i < ID_BYTES; i++) xor[i]! ^= id[i]!;
          }
        });
        // Prefixes: the ids matched must be the initiator's — as many, the same XOR. Otherwise a
        // prefix may stand for two ids (or it holds some we lack, and we cannot tell): ask for its
        // ids in full.
        let settled = key === ID_BYTES || matched === 0 || matched === n;
        for (let i = 0; settled && key < ID_BYTES && matched > 0 && i < FINGERPRINT_BYTES; i++)
          settled = xor[i] === range.fingerprint[i];
        if (settled) {
          for (const id of unmatched) add(id);
          out.skip(upper);
        } else out.push({ ...fingerprintRange(index, r0, r1, upper), keyBytes: ID_BYTES });
        break;
      }
      case SyncRange.Mode.SKETCH: {
        const d = range.sketch.length / SKETCH_VALUE_BYTES;
        if (!Number.isInteger(d) || d < 1 || d > SKETCH_MAX_VALUES)
          throw new SyncProtocolError(`a sketch has 1 to ${SKETCH_MAX_VALUES} power sums of 4 bytes`);
        if (range.fingerprint.length !== FINGERPRINT_BYTES)
          throw new SyncProtocolError("a sketch's fingerprint has 16 bytes");
        const sums = new DataView(range.sketch.buffer, range.sketch.byteOffset, range.sketch.byteLength);
        for (let j = 0; j < d; j++)
          if (sums.getUint32(j * SKETCH_VALUE_BYTES) >= SKETCH_PRIME)
            throw new SyncProtocolError("a power sum is below 2^31 - 1");
        const cost = (r1 - r0) * d;
        let found: number[] | undefined;
        if (cost <= work && cost <= session.sketchWork) {
          work -= cost;
          session.sketchWork -= cost;
          found = decodeSketch(index, r0, r1, range, p);
        }
        if (found) {
          for (const r of found) add(index.at(r).id);
          out.skip(upper);
        } else if (r1 > r0) split(index, r0, r1, upper, p, out);
        else out.skip(upper);
        break;
      }
      default:
        throw new SyncProtocolError(`unknown range mode ${range.mode}`);
    }
  }
  return { ranges: out.ranges, missing, done: out.done, truncated };
}

/**
 * The initiator's next message after a response; `done` when every range is settled (then it
 * sends no more ranges).
 */
export function nextRanges(
  index: SyncIndex,
  start: Bound,
  ranges: SyncRange[],
  p: ReconcileParams = DEFAULT_PARAMS,
): { ranges: SyncRange[]; done: boolean } {
  const out = new Out();
  for (const [lower, upper, range] of walk(start, ranges)) {
    switch (range.mode) {
      case SyncRange.Mode.SKIP:
        out.skip(upper);
        break;
      case SyncRange.Mode.FINGERPRINT: {
        const r0 = index.rank(lower);
        const r1 = index.rank(upper);
        if (sameFingerprint(index, r0, r1, range)) out.skip(upper);
        // Asked for our ids in full (a prefix stood for two ids there), or few enough to list.
        else if (range.keyBytes === ID_BYTES && r1 - r0 <= p.idsThreshold)
          out.push(idsRange(index, r0, r1, upper, ID_BYTES));
        else if (r1 - r0 <= p.idsThreshold) out.push(idsRange(index, r0, r1, upper, p.keyBytes ?? KEY_BYTES));
        else if (sketchable(r1 - r0, Number(range.count), p))
          out.push(sketchRange(index, r0, r1, upper, Number(range.count) - (r1 - r0), p));
        else split(index, r0, r1, upper, p, out);
        break;
      }
      default:
        throw new SyncProtocolError(`a responder sends SKIP or FINGERPRINT ranges, not mode ${range.mode}`);
    }
  }
  return { ranges: out.done ? [] : out.ranges, done: out.done };
}
