// The one test suite both archive backends pass.
import { compareEnvelopes, createEnvelope, toBareHex } from "@postbox/protocol";
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
      expect((await archive.insert([a, b])).map(toBareHex)).toEqual([a, b].map((e) => toBareHex(e.id)));
      expect((await archive.insert([a, envelope("/t/a", T0 + 2n)])).length).toBe(1);
      expect(await archive.stats()).toEqual({
        envelopes: 3,
        payloadBytes: a.payload.length + b.payload.length + envelope("/t/a", T0 + 2n).payload.length,
      });
    });

    it("returns every payload byte for byte, whatever its bytes and size, in both directions", async () => {
      // Zeros, 0xff runs and invalid UTF-8, 1 byte to 64 KiB: pages must not treat payloads as text.
      const sizes = [1, 2, 31, 32, 33, 1_000, 4_096, 65_536, 7, 0x80];
      const stored = sizes.map((size, i) => {
        const payload = new Uint8Array(size);
        for (let j = 0; j < size; j++) payload[j] = (i * 131 + j * 29) & 0xff;
        if (i % 3 === 0) payload.fill(0, 0, Math.min(size, 9));
        if (i % 4 === 1) payload.fill(0xff, Math.floor(size / 2));
        return {
          ...createEnvelope({ contentTopic: "/t/bytes", timestamp: T0 + BigInt(i), payload }),
          receivedAt: 1_000 + i,
        };
      });
      await archive.insert(stored);
      for (const forward of [true, false]) {
        const page = await archive.query({ topics: ["/t/bytes"], forward, limit: 100 });
        const want = forward ? stored : [...stored].reverse();
        expect(page.more).toBe(false);
        expect(page.envelopes.map((e) => toBareHex(e.id))).toEqual(want.map((e) => toBareHex(e.id)));
        expect(page.envelopes.map((e) => toBareHex(e.payload))).toEqual(
          want.map((e) => toBareHex(e.payload)),
        );
        expect(page.envelopes.map((e) => [e.version, e.contentTopic, e.timestamp, e.receivedAt])).toEqual(
          want.map((e) => [e.version, e.contentTopic, e.timestamp, e.receivedAt]),
        );
      }
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
        expect(seen.map((e) => toBareHex(e.id))).toEqual(expected.map((e) => toBareHex(e.id)));
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
      const got = await archive.get(held.id);
      expect(got && { ...got, receivedAt: 0 }).toEqual({ ...held, receivedAt: 0 });
      expect(await archive.get(missing.id)).toBeUndefined();
      expect(await archive.presence([missing.id, held.id])).toEqual([
        { id: held.id, timestamp: held.timestamp },
      ]);
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

    it("answers every kind of page like a sort of everything, over days of unordered history", async () => {
      // A deterministic generator: timestamps over ten days (many hours, ties included), a busy
      // topic, a sparse one and a quiet one, inserted in shuffled batches (not in time order).
      let seed = 7;
      const rand = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const DAY = 86_400_000;
      const all: StoredEnvelope[] = [];
      for (let i = 0; i < 400; i++) {
        const topic = i % 10 === 0 ? "/t/sparse" : i % 50 === 1 ? "/t/quiet" : "/t/busy";
        const ts = T0 + BigInt(rand(10 * DAY) - (rand(4) === 0 ? rand(7) : 0));
        all.push(envelope(topic, i % 7 === 0 && i > 0 ? all[i - 1]!.timestamp : ts, `m${i}`));
      }
      const shuffled = [...all].sort(() => rand(3) - 1);
      for (let i = 0; i < shuffled.length; i += 37) await archive.insert(shuffled.slice(i, i + 37));
      const key = (e: StoredEnvelope) => toBareHex(e.id);
      for (let round = 0; round < 60; round++) {
        const topics = [["/t/busy"], ["/t/sparse"], ["/t/quiet", "/t/sparse"], ["/t/busy", "/t/quiet"]][
          round % 4
        ]!;
        const forward = round % 2 === 0;
        const timeStart = rand(3) === 0 ? T0 + BigInt(rand(5 * DAY)) : undefined;
        const timeEnd = rand(3) === 0 ? T0 + BigInt(5 * DAY + rand(5 * DAY)) : undefined;
        const pivot = rand(2) === 0 ? all[rand(all.length)]! : undefined;
        const after = pivot && topics.includes(pivot.contentTopic) ? pivot : undefined;
        const limit = 1 + rand(40);
        const sorted = all
          .filter(
            (e) =>
              topics.includes(e.contentTopic) &&
              (timeStart === undefined || e.timestamp >= timeStart) &&
              (timeEnd === undefined || e.timestamp <= timeEnd) &&
              (after === undefined ||
                (forward ? compareEnvelopes(e, after) > 0 : compareEnvelopes(e, after) < 0)),
          )
          .sort(forward ? compareEnvelopes : (a, b) => compareEnvelopes(b, a));
        const page = await archive.query({
          topics,
          forward,
          limit,
          ...(timeStart !== undefined ? { timeStart } : {}),
          ...(timeEnd !== undefined ? { timeEnd } : {}),
          ...(after ? { after: { timestamp: after.timestamp, id: after.id } } : {}),
        });
        expect(page.envelopes.map(key), `round ${round}`).toEqual(sorted.slice(0, limit).map(key));
        expect(page.more, `round ${round}`).toBe(sorted.length > limit);
      }
      for (const e of all) expect(await archive.position(e.id)).toEqual({ timestamp: e.timestamp, id: e.id });
    });

    it("scans every position once, in batches", async () => {
      const all = Array.from({ length: 250 }, (_, i) =>
        envelope(`/t/${i % 3}`, T0 + BigInt(i % 17), `scan ${i}`),
      );
      await archive.insert(all);
      const seen: string[] = [];
      let batches = 0;
      for await (const b of archive.scan(100)) {
        batches++;
        expect(b.ids.byteLength).toBe(b.count * 32);
        for (let i = 0; i < b.count; i++)
          seen.push(`${b.ts[i]}/${toBareHex(b.ids.subarray(i * 32, (i + 1) * 32))}`);
      }
      expect(batches).toBe(3);
      expect(seen.sort()).toEqual(all.map((e) => `${e.timestamp}/${toBareHex(e.id)}`).sort());
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
