import { Uint8ArrayList } from "uint8arraylist";
import { describe, expect, it } from "vitest";
import { LIMITS } from "./constants.js";
import { decodeLengthPrefix } from "./framing.js";

/** Unsigned LEB128, written out independently of the decoder. */
function leb128(n: number): Uint8Array {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return new Uint8Array(out);
}

describe("decodeLengthPrefix", () => {
  it("decodes whole prefixes, from arrays and lists, and asks for more bytes while incomplete", () => {
    for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21, LIMITS.maxFrameBytes, 2 ** 32 + 5]) {
      const bytes = leb128(n);
      expect(decodeLengthPrefix(bytes)).toBe(n);
      expect(decodeLengthPrefix(new Uint8ArrayList(bytes))).toBe(n);
      // What lpStream does: one byte at a time; every shorter prefix is "incomplete".
      const errors = new Set<unknown>();
      for (let k = 1; k < bytes.length; k++) {
        try {
          decodeLengthPrefix(new Uint8ArrayList(bytes.subarray(0, k)));
          expect.unreachable(`prefix of ${k} bytes of ${n}`);
        } catch (err) {
          expect(err).toBeInstanceOf(RangeError);
          errors.add(err);
        }
      }
      expect(errors.size).toBeLessThanOrEqual(1); // one shared instance
    }
    expect(() => decodeLengthPrefix(new Uint8Array(0))).toThrow(RangeError);
  });

  it("refuses a prefix longer than 5 bytes with an error that stops the read", () => {
    const endless = new Uint8Array(5).fill(0x80);
    let thrown: unknown;
    try {
      decodeLengthPrefix(new Uint8ArrayList(endless));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(RangeError);
    expect((thrown as Error).message).toMatch(/longer than 5 bytes/);
  });
});
