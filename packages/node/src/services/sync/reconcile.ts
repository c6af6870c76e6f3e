/**
 * Range-based set reconciliation over the sync index (docs/protocol.md, "/postbox/sync/1"), as pure
 * functions of an index and the peer's ranges, so that it can be tested against a plain set
 * difference without a network.
 *
 * The initiator pulls: at the end it has learnt nothing it must send, and the responder has listed
 * every id it holds in the window that the initiator lacks (it then sends those envelopes).
 * Every message covers the window `[start, end of key space)` with contiguous ranges, each given by
 * its upper bound: SKIP (settled), FINGERPRINT (count and XOR of the sender's ids in it) or IDS
 * (the initiator's ids in it, as 8-byte prefixes).
 */
import { SyncRange } from "../../pb/sync.js";
import { type Bound, END, ID_BYTES, type SyncIndex } from "./sync-index.js";

/** Bytes of a fingerprint on the wire (a prefix of the XOR). */
export const FINGERPRINT_BYTES = 16;
/**
 * Bytes of an id in an IDS list (a prefix of the id). Eight: lists are compared within one small
 * range, where two honest ids share 8 bytes with odds of ~2^-57; matching a given id's prefix on
 * purpose (to hide it from sync) costs ~2^64 hashes.
 */
export const KEY_BYTES = 8;

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
}

export const DEFAULT_PARAMS: ReconcileParams = { idsThreshold: 16, fanout: 16, maxRanges: 2048 };

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

function idsRange(index: SyncIndex, r0: number, r1: number, upper: Bound): SyncRange {
  const ids = new Uint8Array((r1 - r0) * KEY_BYTES);
  let o = 0;
  index.forEach(r0, r1, (_ts, id) => {
    ids.set(id.subarray(0, KEY_BYTES), o);
    o += KEY_BYTES;
  });
  return {
    upper: toWireBound(upper),
    mode: SyncRange.Mode.IDS,
    count: 0n,
    fingerprint: new Uint8Array(0),
    ids,
  } as SyncRange;
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
  return [r1 - r0 <= p.idsThreshold ? idsRange(index, r0, r1, END) : fingerprintRange(index, r0, r1, END)];
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
): { ranges: SyncRange[]; missing: Uint8Array[]; done: boolean; truncated: boolean } {
  const out = new Out();
  const missing: Uint8Array[] = [];
  let truncated = false;
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
        } else split(index, r0, r1, upper, p, out);
        break;
      case SyncRange.Mode.IDS: {
        if (range.ids.length % KEY_BYTES !== 0)
          throw new SyncProtocolError(`an id list is a multiple of ${KEY_BYTES} bytes`);
        const theirs = new Set<string>();
        const hex = Buffer.from(range.ids.buffer, range.ids.byteOffset, range.ids.byteLength).toString("hex");
        for (let o = 0; o < hex.length; o += KEY_BYTES * 2) theirs.add(hex.slice(o, o + KEY_BYTES * 2));
        index.forEach(r0, r1, (_ts, id) => {
          if (!theirs.has(Buffer.from(id.buffer, id.byteOffset, KEY_BYTES).toString("hex"))) add(id);
        });
        out.skip(upper);
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
        else if (r1 - r0 <= p.idsThreshold) out.push(idsRange(index, r0, r1, upper));
        else split(index, r0, r1, upper, p, out);
        break;
      }
      default:
        throw new SyncProtocolError(`a responder sends SKIP or FINGERPRINT ranges, not mode ${range.mode}`);
    }
  }
  return { ranges: out.done ? [] : out.ranges, done: out.done };
}
