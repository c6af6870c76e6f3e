/**
 * The sync index: every envelope of the archive as its position (timestamp, id), sorted, in memory,
 * with the XOR of the ids of each block of positions cached, so that the fingerprint of any range
 * costs a walk over the blocks it covers plus two partial blocks (docs/protocol.md, "/postbox/sync/1").
 *
 * Layout: blocks of at most {@link BLOCK} positions, each a `Float64Array` of timestamps (ms since
 * the epoch fit exactly in a double) and one `Uint8Array` of the ids back to back: 40 bytes per
 * envelope when blocks are full (a bulk load fills them; an insert into a full block splits it in
 * two halves), plus ~100 bytes per block.
 */

export const ID_BYTES = 32;
/** Positions per block. */
export const BLOCK = 1024;

/** A bound of a range: a position `(ts, id)`, where `id` may be a prefix (compared as if padded with zeros). */
export interface Bound {
  /** Infinity is the end of the key space (no upper bound). */
  ts: number;
  id: Uint8Array;
}

export const END: Bound = { ts: Number.POSITIVE_INFINITY, id: new Uint8Array(0) };

/** Compares a full id with a bound's id prefix, as if the prefix were padded with zeros to 32 bytes. */
function compareIdToPrefix(id: Uint8Array, ido: number, prefix: Uint8Array): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const a = id[ido + i]!;
    const b = i < prefix.length ? prefix[i]! : 0;
    if (a !== b) return a - b;
  }
  return 0;
}

function compareIds(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < ID_BYTES; i++) {
    const d = a[ao + i]! - b[bo + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

class Block {
  ts: Float64Array;
  ids: Uint8Array;
  n: number;
  #xor: Uint8Array | undefined;

  constructor(capacity = BLOCK) {
    this.ts = new Float64Array(capacity);
    this.ids = new Uint8Array(capacity * ID_BYTES);
    this.n = 0;
  }

  /** The XOR of every id in the block (cached until the block changes). */
  get xor(): Uint8Array {
    if (!this.#xor) {
      const x = new Uint8Array(ID_BYTES);
      xorInto(x, this.ids, 0, this.n);
      this.#xor = x;
    }
    return this.#xor;
  }

  touched(): void {
    this.#xor = undefined;
  }

  /** First index whose position is ≥ (ts, id). */
  lowerBound(ts: number, id: Uint8Array, prefix: boolean): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.ts[mid]!;
      const c =
        t !== ts
          ? t - ts
          : prefix
            ? compareIdToPrefix(this.ids, mid * ID_BYTES, id)
            : compareIds(this.ids, mid * ID_BYTES, id, 0);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** XORs `count` ids from `src` (starting at id `from`) into `acc`. */
function xorInto(acc: Uint8Array, src: Uint8Array, from: number, count: number): void {
  // Eight 32-bit words per id.
  const words = new Uint32Array(8);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = from; i < from + count; i++) {
    const o = i * ID_BYTES;
    for (let w = 0; w < 8; w++) words[w]! ^= view.getUint32(o + w * 4, true);
  }
  const out = new DataView(acc.buffer, acc.byteOffset, acc.byteLength);
  for (let w = 0; w < 8; w++) out.setUint32(w * 4, out.getUint32(w * 4, true) ^ words[w]!, true);
}

/** A summary of a range: how many positions it holds and the XOR of their ids. */
export interface Fingerprint {
  count: number;
  xor: Uint8Array;
}

export class SyncIndex {
  #blocks: Block[] = [new Block()];
  #size = 0;
  /** Rank of each block's first position, recomputed when stale. */
  #starts: Int32Array | undefined;

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the index's arrays (its memory, to within object headers). */
  get bytes(): number {
    let b = 0;
    for (const k of this.#blocks) b += k.ts.byteLength + k.ids.byteLength + 96;
    return b;
  }

  /** Drops everything. */
  clear(): void {
    this.#blocks = [new Block()];
    this.#size = 0;
    this.#starts = undefined;
  }

  /**
   * Replaces the content with these positions (any order, duplicates dropped): sorted here, then
   * packed into full blocks.
   */
  load(ts: Float64Array, ids: Uint8Array, count: number): void {
    const order = new Uint32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    order.sort((a, b) => ts[a]! - ts[b]! || compareIds(ids, a * ID_BYTES, ids, b * ID_BYTES));
    this.clear();
    let block = this.#blocks[0]!;
    let lastT = Number.NaN;
    let last = -1;
    for (let k = 0; k < count; k++) {
      const i = order[k]!;
      if (last >= 0 && ts[i] === lastT && compareIds(ids, i * ID_BYTES, ids, last * ID_BYTES) === 0) continue;
      if (block.n === BLOCK) {
        block = new Block();
        this.#blocks.push(block);
      }
      block.ts[block.n] = ts[i]!;
      block.ids.set(ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES), block.n * ID_BYTES);
      block.n++;
      this.#size++;
      lastT = ts[i]!;
      last = i;
    }
    this.#starts = undefined;
  }

  /** Adds a position; false when it was already there. */
  insert(ts: number, id: Uint8Array): boolean {
    if (id.length !== ID_BYTES) throw new RangeError("an id has 32 bytes");
    const bi = this.#blockFor(ts, id);
    const block = this.#blocks[bi]!;
    const at = block.lowerBound(ts, id, false);
    if (at < block.n && block.ts[at] === ts && compareIds(block.ids, at * ID_BYTES, id, 0) === 0)
      return false;
    if (block.n === block.ts.length && at === block.n) {
      // Past the end of a full block (live envelopes arrive in time order): a new block, so that
      // blocks stay full.
      const next = new Block();
      this.#blocks.splice(bi + 1, 0, next);
      this.#starts = undefined;
      return this.#insertAt(next, 0, ts, id);
    }
    if (block.n === block.ts.length) {
      // Split the full block in two halves, then insert into the right one.
      const right = new Block();
      const half = block.n >> 1;
      right.ts.set(block.ts.subarray(half, block.n));
      right.ids.set(block.ids.subarray(half * ID_BYTES, block.n * ID_BYTES));
      right.n = block.n - half;
      block.n = half;
      block.touched();
      this.#blocks.splice(bi + 1, 0, right);
      this.#starts = undefined;
      return this.#insertAt(at <= half ? block : right, at <= half ? at : at - half, ts, id);
    }
    return this.#insertAt(block, at, ts, id);
  }

  #insertAt(block: Block, at: number, ts: number, id: Uint8Array): boolean {
    block.ts.copyWithin(at + 1, at, block.n);
    block.ids.copyWithin((at + 1) * ID_BYTES, at * ID_BYTES, block.n * ID_BYTES);
    block.ts[at] = ts;
    block.ids.set(id, at * ID_BYTES);
    block.n++;
    block.touched();
    this.#size++;
    this.#starts = undefined;
    return true;
  }

  /** Whether this position is held. */
  has(ts: number, id: Uint8Array): boolean {
    const block = this.#blocks[this.#blockFor(ts, id)]!;
    const at = block.lowerBound(ts, id, false);
    return at < block.n && block.ts[at] === ts && compareIds(block.ids, at * ID_BYTES, id, 0) === 0;
  }

  /** Drops every position with a timestamp below `ts`; returns how many. */
  removeBefore(ts: number): number {
    const r = this.rank({ ts, id: new Uint8Array(0) });
    if (r === 0) return 0;
    let left = r;
    while (left > 0) {
      const b = this.#blocks[0]!;
      if (b.n <= left) {
        left -= b.n;
        if (this.#blocks.length > 1) this.#blocks.shift();
        else b.n = 0;
        b.touched();
      } else {
        b.ts.copyWithin(0, left, b.n);
        b.ids.copyWithin(0, left * ID_BYTES, b.n * ID_BYTES);
        b.n -= left;
        b.touched();
        left = 0;
      }
    }
    this.#size -= r;
    this.#starts = undefined;
    return r;
  }

  /** The number of positions below a bound. */
  rank(bound: Bound): number {
    if (bound.ts === Number.POSITIVE_INFINITY) return this.#size;
    const starts = this.#startsOf();
    // The first block whose last position is ≥ the bound.
    let lo = 0;
    let hi = this.#blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.#blocks[mid]!;
      if (b.n === 0) {
        lo = mid + 1;
        continue;
      }
      const t = b.ts[b.n - 1]!;
      const c = t !== bound.ts ? t - bound.ts : compareIdToPrefix(b.ids, (b.n - 1) * ID_BYTES, bound.id);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.#blocks.length) return this.#size;
    return starts[lo]! + this.#blocks[lo]!.lowerBound(bound.ts, bound.id, true);
  }

  /** The position at a rank (0 ≤ rank < size): its timestamp and a view of its id. */
  at(rank: number): { ts: number; id: Uint8Array } {
    const [b, i] = this.#locate(rank);
    return { ts: b.ts[i]!, id: b.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES) };
  }

  /** Count and XOR of the ids of ranks [from, to). */
  fingerprint(from: number, to: number): Fingerprint {
    const xor = new Uint8Array(ID_BYTES);
    if (to <= from) return { count: 0, xor };
    const starts = this.#startsOf();
    let [bi] = this.#locateIndex(from);
    for (; bi < this.#blocks.length; bi++) {
      const b = this.#blocks[bi]!;
      const s = starts[bi]!;
      if (s >= to) break;
      const a = Math.max(from - s, 0);
      const z = Math.min(to - s, b.n);
      if (a === 0 && z === b.n) {
        const x = b.xor;
        for (let k = 0; k < ID_BYTES; k++) xor[k]! ^= x[k]!;
      } else if (z > a) xorInto(xor, b.ids, a, z - a);
    }
    return { count: to - from, xor };
  }

  /** Calls `f` with each position of ranks [from, to), in order (the id is a view: copy it to keep it). */
  forEach(from: number, to: number, f: (ts: number, id: Uint8Array) => void): void {
    if (to <= from) return;
    const starts = this.#startsOf();
    let [bi] = this.#locateIndex(from);
    for (; bi < this.#blocks.length; bi++) {
      const b = this.#blocks[bi]!;
      const s = starts[bi]!;
      if (s >= to) break;
      const a = Math.max(from - s, 0);
      const z = Math.min(to - s, b.n);
      for (let i = a; i < z; i++) f(b.ts[i]!, b.ids.subarray(i * ID_BYTES, (i + 1) * ID_BYTES));
    }
  }

  #startsOf(): Int32Array {
    if (!this.#starts) {
      const s = new Int32Array(this.#blocks.length);
      let r = 0;
      for (let i = 0; i < this.#blocks.length; i++) {
        s[i] = r;
        r += this.#blocks[i]!.n;
      }
      this.#starts = s;
    }
    return this.#starts;
  }

  #locateIndex(rank: number): [number, number] {
    const starts = this.#startsOf();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= rank) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty blocks that share the start.
    while (lo < this.#blocks.length - 1 && rank - starts[lo]! >= this.#blocks[lo]!.n) lo++;
    return [lo, rank - starts[lo]!];
  }

  #locate(rank: number): [Block, number] {
    if (rank < 0 || rank >= this.#size) throw new RangeError(`rank ${rank} out of 0..${this.#size}`);
    const [bi, i] = this.#locateIndex(rank);
    return [this.#blocks[bi]!, i];
  }

  /** The block a new position belongs in: the first whose last position is ≥ it, else the last. */
  #blockFor(ts: number, id: Uint8Array): number {
    let lo = 0;
    let hi = this.#blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = this.#blocks[mid]!;
      const c =
        b.n === 0
          ? -1
          : b.ts[b.n - 1]! !== ts
            ? b.ts[b.n - 1]! - ts
            : compareIds(b.ids, (b.n - 1) * ID_BYTES, id, 0);
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
