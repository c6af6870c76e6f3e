/**
 * Canonical, language-independent byte strings for hashing and signing: each field is written as
 * a 4-byte big-endian length followed by its bytes (strings as UTF-8, integers as 8-byte
 * big-endian unsigned). Nothing depends on a protobuf encoder's choices.
 */
export type CanonicalField = Uint8Array | string | bigint | number;

const encoder = new TextEncoder();

function fieldBytes(f: CanonicalField): Uint8Array {
  if (f instanceof Uint8Array) return f;
  if (typeof f === "string") return encoder.encode(f);
  const v = BigInt(f);
  if (v < 0n || v >= 1n << 64n) throw new RangeError(`canonical integer out of range: ${v}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

/** Concatenates length-prefixed fields. */
export function canonical(...fields: CanonicalField[]): Uint8Array {
  const parts = fields.map(fieldBytes);
  const total = parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** Big-endian unsigned bytes of a non-negative bigint (empty for zero), as amounts travel on the wire. */
export function bigintToBytes(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError("negative amount");
  if (v === 0n) return new Uint8Array(0);
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** The inverse of {@link bigintToBytes}; rejects more than 32 bytes. */
export function bytesToBigint(b: Uint8Array): bigint {
  if (b.length > 32) throw new RangeError("amount longer than 32 bytes");
  let v = 0n;
  for (const byte of b) v = (v << 8n) | BigInt(byte);
  return v;
}

/**
 * Bytes as lowercase hex **without** a `0x` prefix (ids, keys, topics). Not viem's `toHex`, which
 * adds `0x`; named apart so the two are never confused in a file that uses both.
 */
export function toBareHex(b: Uint8Array): string {
  let s = "";
  for (const byte of b) s += byte.toString(16).padStart(2, "0");
  return s;
}

/** The inverse of {@link toBareHex}: hex (a `0x` prefix is tolerated) to bytes; throws a `RangeError`. */
export function fromBareHex(hex: string): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 || /[^0-9a-fA-F]/.test(h)) throw new RangeError("invalid hex");
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte comparison. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
