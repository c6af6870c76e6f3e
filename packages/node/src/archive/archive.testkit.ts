// The one test suite both archive backends pass.
import { compareEnvelopes, createEnvelope, toHex } from "@postbox/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Archive, StoredEnvelope } from "./types.js";

const T0 = 1_700_000_000_000n;

export function envelope(topic: string, ts: bigint, body = `${topic}@${ts}`): StoredEnvelope {
  return {
    ...createEnvelope({ contentTopic: topic, timestamp: ts, payload: new TextEncoder().encode(body) }),
    receivedAt: Number(ts),
  };
}

export function archiveSuite(
  name: string,
  open: () => Promise<Archive>,
  reopen?: (a: Archive) => Promise<Archive>,
) {
  describe(`${name} archive`, () => {
    let archive: Archive;
    beforeEach(async () => {
      archive = await open();
    });
    afterEach(async () => {
      await archive.close();
    });

    it("stores new envelopes once and reports which were new", async () => {
      const a = envelope("/t/a", T0);
      const b = envelope("/t/a", T0 + 1n);
      expect((await archive.insert([a, b])).map(toHex)).toEqual([a, b].map((e) => toHex(e.id)));
      expect((await archive.insert([a, envelope("/t/a", T0 + 2n)])).length).toBe(1);
      expect(await archive.stats()).toEqual({
        envelopes: 3,
        payloadBytes: a.payload.length + b.payload.length + envelope("/t/a", T0 + 2n).payload.length,
      });
    });

    it("pages forward and backward over several topics in (timestamp, id) order, each envelope once", async () => {
      const all: StoredEnvelope[] = [];
      for (let i = 0; i < 57; i++) {
        // Ties on purpose: three envelopes share each timestamp.
        all.push(envelope(["/t/a", "/t/b", "/t/c"][i % 3]!, T0 + BigInt(Math.floor(i / 3))));
      }
      all.push(envelope("/t/other", T0));
      await archive.insert(all);
      const wanted = all.filter((e) => e.contentTopic !== "/t/other").sort(compareEnvelopes);
      for (const forward of [true, false]) {
        const seen: StoredEnvelope[] = [];
        let after: { timestamp: bigint; id: Uint8Array } | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await archive.query({
            topics: ["/t/a", "/t/b", "/t/c"],
            forward,
            limit: 10,
            ...(after ? { after } : {}),
          });
          seen.push(...page.envelopes);
          if (!page.more) break;
          const last = page.envelopes.at(-1)!;
          after = { timestamp: last.timestamp, id: last.id };
        }
        const expected = forward ? wanted : [...wanted].reverse();
        expect(seen.map((e) => toHex(e.id))).toEqual(expected.map((e) => toHex(e.id)));
      }
    });

    it("honours an inclusive time range", async () => {
      await archive.insert([10n, 20n, 30n, 40n].map((d) => envelope("/t/a", T0 + d)));
      const page = await archive.query({
        topics: ["/t/a"],
        forward: true,
        limit: 10,
        timeStart: T0 + 20n,
        timeEnd: T0 + 30n,
      });
      expect(page.envelopes.map((e) => e.timestamp - T0)).toEqual([20n, 30n]);
      expect(page.more).toBe(false);
    });

    it("stops a page at the byte budget but always returns one envelope", async () => {
      await archive.insert([1n, 2n, 3n].map((d) => envelope("/t/a", T0 + d, "x".repeat(100))));
      const page = await archive.query({ topics: ["/t/a"], forward: true, limit: 10, maxBytes: 250 });
      expect(page.envelopes.length).toBe(2);
      expect(page.more).toBe(true);
      const tiny = await archive.query({ topics: ["/t/a"], forward: true, limit: 10, maxBytes: 1 });
      expect(tiny.envelopes.length).toBe(1);
    });

    it("finds positions and answers presence queries", async () => {
      const held = envelope("/t/a", T0 + 5n);
      const missing = envelope("/t/a", T0 + 6n);
      await archive.insert([held]);
      expect(await archive.position(held.id)).toEqual({ timestamp: T0 + 5n, id: held.id });
      expect(await archive.position(missing.id)).toBeUndefined();
      expect((await archive.presence([missing.id, held.id])).map(toHex)).toEqual([toHex(held.id)]);
    });

    it("prunes by age, by count and by size, oldest first, in batches", async () => {
      const now = Number(T0) + 1_000_000;
      await archive.insert(
        Array.from({ length: 20 }, (_, i) => envelope("/t/a", T0 + BigInt(i * 1000), "y".repeat(10))),
      );
      expect(await archive.prune({ maxAgeMs: now - Number(T0) - 4_500 }, now, 3)).toBe(3);
      expect(await archive.prune({ maxAgeMs: now - Number(T0) - 4_500 }, now, 100)).toBe(2);
      expect((await archive.stats()).envelopes).toBe(15);
      expect(await archive.prune({ maxCount: 10 }, now, 100)).toBe(5);
      expect(await archive.prune({ maxBytes: 50 }, now, 100)).toBe(5);
      const left = await archive.query({ topics: ["/t/a"], forward: true, limit: 100 });
      expect(left.envelopes.map((e) => Number(e.timestamp - T0) / 1000)).toEqual([15, 16, 17, 18, 19]);
      expect(await archive.stats()).toEqual({ envelopes: 5, payloadBytes: 50 });
    });

    if (reopen) {
      it("keeps what it acknowledged across a reopen", async () => {
        const e = envelope("/t/durable", T0);
        await archive.insert([e]);
        archive = await reopen(archive);
        expect((await archive.presence([e.id])).length).toBe(1);
        expect((await archive.stats()).envelopes).toBe(1);
      });
    }
  });
}
