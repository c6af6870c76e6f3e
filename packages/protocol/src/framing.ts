import type { Uint8ArrayList } from "uint8arraylist";

/** Thrown while a length prefix is incomplete: one instance, so waiting for a byte captures no stack. */
const INCOMPLETE = new RangeError("incomplete length prefix");

/** The longest length prefix accepted: 5 bytes of varint hold any length up to 2^35 − 1. */
const MAX_PREFIX_BYTES = 5;

/**
 * Decodes a frame's length prefix (an unsigned LEB128 varint) for libp2p's `lpStream` /
 * `pbStream` (`lengthDecoder`). The stream reads the prefix a byte at a time and calls this after
 * each one; while the prefix is incomplete it throws a `RangeError`, its signal to read another
 * byte. The default decoder builds a new error, with a stack trace, each time, which cost the
 * mailbox ≈ 30 µs per paid query (its frames are longer than 127 bytes, so their prefix is two
 * bytes). This one throws a single shared instance, and refuses a prefix longer than 5 bytes.
 */
export function decodeLengthPrefix(buf: Uint8Array | Uint8ArrayList): number {
  const n = Math.min(buf.byteLength, MAX_PREFIX_BYTES);
  let value = 0;
  for (let i = 0, scale = 1; i < n; i++, scale *= 128) {
    const b = buf instanceof Uint8Array ? buf[i]! : buf.get(i);
    value += (b & 0x7f) * scale;
    if (b < 0x80) return value;
  }
  if (buf.byteLength >= MAX_PREFIX_BYTES)
    throw new Error(`length prefix longer than ${MAX_PREFIX_BYTES} bytes`);
  throw INCOMPLETE;
}

/** `pbStream` options for every Postbox stream: frames up to `maxDataLength`, the decoder above. */
export function framing(maxDataLength: number) {
  return { maxDataLength, lengthDecoder: decodeLengthPrefix };
}
