import { describe, expect, it } from "vitest";
import { StatusCode, StoreResponse } from "./pb/messages.js";
import { encodeStoreResponse } from "./store-response.js";

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

describe("encodeStoreResponse", () => {
  it("decodes to the same message as the generated encoder's bytes, of the same length", () => {
    const cases: StoreResponse[] = [
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
    for (const r of cases) {
      const ours = encodeStoreResponse(r);
      const generated = StoreResponse.encode(r);
      expect(ours.byteLength).toBe(generated.byteLength);
      expect(StoreResponse.decode(ours)).toEqual(StoreResponse.decode(generated));
    }
  });
});
