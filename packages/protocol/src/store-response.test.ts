import { Uint8ArrayList } from "uint8arraylist";
import { describe, expect, it } from "vitest";
import { StatusCode, StoreResponse } from "./pb/messages.js";
import { decodeStoreResponse, encodeStoreResponse } from "./store-response.js";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);

function response(envelopes: StoreResponse["envelopes"], extra: Partial<StoreResponse> = {}): StoreResponse {
  return {
    requestId: "r-1",
    status: StatusCode.OK,
    statusDesc: "OK",
    envelopes,
    ids: envelopes.map((_, i) => bytes(32, i)),
    spent: bytes(3, 1),
    cost: bytes(2, 2),
    commitment: bytes(64, 3),
    ...extra,
  };
}

function cases(): StoreResponse[] {
  return [
    response([]),
    response(
      Array.from({ length: 100 }, (_, i) => ({
        version: 1,
        contentTopic: `/bench/1/topic-${i % 3}/proto`,
        timestamp: 1_700_000_000_000n + BigInt(i),
        payload: bytes(1_024, i),
      })),
      { nextCursor: bytes(32, 9) },
    ),
    // Edges: proto3 defaults (version 0, empty topic, timestamp 0, empty payload), a timestamp past
    // 2^53 and past 2^63, multi-byte UTF-8, lengths at varint boundaries, a quote, no amounts.
    response(
      [
        { version: 0, contentTopic: "", timestamp: 0n, payload: new Uint8Array(0) },
        { version: 300, contentTopic: "/ünïcødé/😀", timestamp: 2n ** 60n + 5n, payload: bytes(127, 1) },
        { version: 1, contentTopic: "/t", timestamp: 2n ** 64n - 1n, payload: bytes(128, 2) },
        {
          version: 2 ** 32 - 1,
          contentTopic: "/t".padEnd(200, "x"),
          timestamp: 1n,
          payload: bytes(65_536, 3),
        },
      ],
      {
        spent: new Uint8Array(0),
        cost: new Uint8Array(0),
        quote: {
          pricePerQuery: bytes(2, 1),
          pricePerMessage: bytes(2, 2),
          maxPageCost: bytes(3, 3),
          spent: new Uint8Array(0),
          payee: "0xabc",
          chainId: 31337n,
          channelsContract: "0xdef",
        },
      },
    ),
  ];
}

describe("encodeStoreResponse", () => {
  it("decodes to the same message as the generated encoder's bytes, of the same length", () => {
    for (const r of cases()) {
      const ours = encodeStoreResponse(r);
      const generated = StoreResponse.encode(r);
      expect(ours.byteLength).toBe(generated.byteLength);
      expect(StoreResponse.decode(ours)).toEqual(StoreResponse.decode(generated));
    }
  });
});

/** A deterministic pseudo-random source (xorshift32). */
function random(seed: number) {
  let x = seed || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** `bytes` cut into pieces at `cuts` random places (one-byte pieces included). */
function cut(bytes: Uint8Array, rand: (n: number) => number, cuts: number): Uint8ArrayList {
  const at = [...new Set(Array.from({ length: cuts }, () => rand(bytes.byteLength + 1)))].sort(
    (a, b) => a - b,
  );
  const list = new Uint8ArrayList();
  let from = 0;
  for (const to of [...at, bytes.byteLength]) {
    if (to > from) list.append(bytes.subarray(from, to));
    from = to;
  }
  return list;
}

/** What the generated decoder makes of `bytes`: the message, or that it threw. */
function generated(bytes: Uint8Array): StoreResponse | "throws" {
  try {
    return StoreResponse.decode(bytes);
  } catch {
    return "throws";
  }
}

function ours(bytes: Uint8Array | Uint8ArrayList): StoreResponse | "throws" {
  try {
    return decodeStoreResponse(bytes);
  } catch {
    return "throws";
  }
}

describe("decodeStoreResponse", () => {
  it("decodes what the generated decoder decodes, whole or cut into pieces anywhere", () => {
    const rand = random(7);
    const topics = ["/postbox/1/room-x/proto", "", "/ünï/😀", "/t".padEnd(300, "y")];
    const randomResponse = (): StoreResponse => {
      const n = rand(4) === 0 ? 0 : rand(120);
      return response(
        Array.from({ length: n }, () => ({
          version: [0, 1, 127, 128, 2 ** 32 - 1][rand(5)]!,
          contentTopic: topics[rand(8) === 0 ? rand(topics.length) : 0]!,
          timestamp: [
            0n,
            1n,
            1_700_000_000_000n + BigInt(rand(1e6)),
            2n ** 49n - 1n,
            2n ** 49n,
            2n ** 53n - 1n,
            2n ** 53n,
            2n ** 64n - 1n,
          ][rand(8)]!,
          payload: bytes([0, 1, 127, 128, 1_024, 5_000][rand(6)]!, rand(256)),
        })),
        rand(2) === 0 ? { nextCursor: bytes(32, rand(9)) } : {},
      );
    };
    for (const r of [...cases(), ...Array.from({ length: 60 }, randomResponse)]) {
      for (const encoded of [StoreResponse.encode(r), encodeStoreResponse(r)]) {
        const expected = StoreResponse.decode(encoded);
        expect(decodeStoreResponse(encoded)).toEqual(expected);
        expect(decodeStoreResponse(cut(encoded, rand, 1 + rand(6)))).toEqual(expected);
        expect(decodeStoreResponse(cut(encoded, rand, rand(40)))).toEqual(expected);
      }
    }
  });

  it("leaves each envelope's payload where it arrived, unless it straddles two pieces", () => {
    const r = response(
      Array.from({ length: 100 }, (_, i) => ({
        version: 1,
        contentTopic: "/postbox/1/room-x/proto",
        timestamp: 1_700_000_000_000n + BigInt(i),
        payload: bytes(1_024, i),
      })),
    );
    const encoded = encodeStoreResponse(r);
    const first = encoded.slice(0, 65_519);
    const second = encoded.slice(65_519);
    const decoded = decodeStoreResponse(new Uint8ArrayList(first, second));
    expect(decoded).toEqual(StoreResponse.decode(encoded));
    const copies = decoded.envelopes.filter(
      ({ payload }) => payload.buffer !== first.buffer && payload.buffer !== second.buffer,
    );
    expect(copies.length).toBe(1); // the one cut at 65,519
  });

  it("agrees with the generated decoder on odd envelopes, and refuses what is truncated", () => {
    const envelope = (...body: number[]) => Uint8Array.from([(4 << 3) | 2, body.length, ...body]);
    const odd = [
      envelope(0x08, 0x01, 0x08, 0x02), // version twice: the last wins
      envelope(0x28, 0x05, 0x08, 0x03), // an unknown field 5 before version
      envelope(0x0a, 0x01, 0x41), // version with wire type 2
      envelope(0x12, 0x02, 0xc3, 0xa9), // a two-byte UTF-8 topic
      envelope(0x12, 0x02, 0xff, 0xfe), // not UTF-8
      envelope(0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), // timestamp 2^64 - 1
      envelope(0x08, 0x80, 0x80, 0x80, 0x80, 0x10), // version past 2^32
      envelope(0x22, 0x05, 0x01), // payload longer than the envelope
      envelope(0x98, 0x01, 0x01), // a two-byte tag (field 19)
      Uint8Array.from([(4 << 3) | 2, 0x80, 0x01]), // an envelope longer than the response
      Uint8Array.from([0x0a, 0x05, 0x61]), // request id longer than the response
      Uint8Array.from([(4 << 3) | 0, 0x01]), // envelopes not length-delimited
    ];
    for (const bytes of odd) {
      const expected = generated(bytes);
      if (expected === "throws") {
        expect(ours(bytes)).toBe("throws");
        expect(ours(new Uint8ArrayList(bytes.subarray(0, 1), bytes.subarray(1)))).toBe("throws");
      } else {
        expect(ours(bytes)).toEqual(expected);
        expect(ours(new Uint8ArrayList(bytes.subarray(0, 2), bytes.subarray(2)))).toEqual(expected);
      }
    }
  });
});
