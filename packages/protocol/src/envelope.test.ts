import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toBareHex } from "./canonical.js";
import {
  checkEnvelopeTime,
  compareEnvelopes,
  createEnvelope,
  envelopeId,
  identify,
  validateEnvelope,
} from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";
import { Envelope } from "./pb/messages.js";

describe("envelopes", () => {
  const base = {
    contentTopic: "/postbox/1/room-ab/proto",
    payload: new Uint8Array([1, 2, 3]),
    timestamp: 1_700_000_000_000n,
  };

  it("has an id that depends on every field and survives the wire", () => {
    const e = createEnvelope(base);
    // The canonical encoding, built independently: 4-byte big-endian length, then the bytes.
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const u64 = (v: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(v);
      return b;
    };
    const expected = createHash("sha256")
      .update(
        Buffer.concat([
          field(Buffer.from("postbox/envelope/1")),
          field(u64(1n)),
          field(Buffer.from(base.contentTopic)),
          field(u64(base.timestamp)),
          field(Buffer.from(base.payload)),
        ]),
      )
      .digest("hex");
    expect(toBareHex(e.id)).toBe(expected);
    const wire = Envelope.decode(Envelope.encode(e));
    expect(identify(wire).id).toEqual(e.id);
    expect(envelopeId({ ...e, timestamp: e.timestamp + 1n })).not.toEqual(e.id);
    expect(envelopeId({ ...e, contentTopic: "/other" })).not.toEqual(e.id);
    expect(envelopeId({ ...e, payload: new Uint8Array([1, 2, 4]) })).not.toEqual(e.id);
  });

  it("orders by timestamp, then id", () => {
    const a = createEnvelope({ ...base, timestamp: 1n });
    const b = createEnvelope({ ...base, timestamp: 2n });
    const c = createEnvelope({ ...base, timestamp: 2n, payload: new Uint8Array([9]) });
    const sorted = [c, b, a].sort(compareEnvelopes);
    expect(sorted[0]).toBe(a);
    expect(compareEnvelopes(b, c)).toBe(-compareEnvelopes(c, b));
    expect(compareEnvelopes(b, b)).toBe(0);
  });

  it("rejects malformed envelopes with a typed error", () => {
    const ok = createEnvelope(base);
    expect(() => validateEnvelope(ok)).not.toThrow();
    expect(() => validateEnvelope({ ...ok, version: 2 })).toThrow(InvalidEnvelopeError);
    expect(() => validateEnvelope({ ...ok, contentTopic: "" })).toThrow(/content topic/);
    expect(() => validateEnvelope({ ...ok, payload: new Uint8Array(0) })).toThrow(/empty payload/);
    expect(() => validateEnvelope({ ...ok, payload: new Uint8Array(64 * 1024 + 1) })).toThrow(/exceeds/);
  });

  it("accepts timestamps within ±20 s of the clock only", () => {
    const now = 1_700_000_000_000;
    const at = (ms: number) => createEnvelope({ ...base, timestamp: BigInt(ms) });
    expect(() => checkEnvelopeTime(at(now + 20_000), now)).not.toThrow();
    expect(() => checkEnvelopeTime(at(now - 20_000), now)).not.toThrow();
    expect(() => checkEnvelopeTime(at(now + 20_001), now)).toThrow(/future/);
    expect(() => checkEnvelopeTime(at(now - 20_001), now)).toThrow(/past/);
  });
});
