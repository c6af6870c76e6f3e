// /postbox/store/1 over in-memory stream pairs (no network), against a real SQLite archive.
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { byteStream, lpStream, pbStream, RateLimiter, streamPair } from "@libp2p/utils";
import {
  checkPageCommitmentEvidence,
  checkPresenceEvidence,
  commitmentSigningBytes,
  committedSpan,
  createEnvelope,
  pageCommitmentFromWire,
  presenceFromWire,
  StatusCode,
  StoreQuery,
  StoreResponse,
  toBareHex,
  verifyPeerSignature,
} from "@postbox/protocol";
import { pino } from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteArchive } from "../../archive/sqlite.js";
import { EvidenceSigner } from "../../evidence.js";
import { FreeMeter } from "../../meter.js";
import { createMetrics } from "../../metrics.js";
import { MailboxStore, type MailboxStoreInit } from "./store.js";

const T0 = 1_700_000_000_000n;

function query(q: Partial<StoreQuery>): StoreQuery {
  return { requestId: "r1", contentTopics: [], ids: [], includeData: true, forward: true, ...q };
}

describe("/postbox/store/1 handler", () => {
  let archive: SqliteArchive;
  let key: PrivateKey;
  let store: MailboxStore;
  const peer = peerIdFromPrivateKey;

  /** A handler on the test's archive and key, free, with these settings changed. */
  function storeWith(init: Partial<MailboxStoreInit>): MailboxStore {
    return new MailboxStore(
      { registrar: undefined as never, logger: undefined as never },
      {
        archive,
        meter: new FreeMeter(),
        privateKey: key,
        metrics: createMetrics({ defaultMetrics: false }),
        log: pino({ level: "silent" }),
        rateLimiter: new RateLimiter({ points: 1_000, duration: 1 }),
        retentionSeconds: 3_600,
        ...init,
      },
    );
  }

  beforeEach(async () => {
    archive = new SqliteArchive({ path: ":memory:" });
    key = await generateKeyPair("Ed25519");
    store = storeWith({ readTimeoutMs: 2_000 });
    await archive.insert(
      Array.from({ length: 25 }, (_, i) => ({
        ...createEnvelope({
          contentTopic: i % 2 ? "/t/odd" : "/t/even",
          timestamp: T0 + BigInt(i),
          payload: new Uint8Array([i]),
        }),
        receivedAt: 0,
      })),
    );
  });

  afterEach(async () => {
    await archive.close();
  });

  /** Runs the handler on one end of a pair; returns the response read on the other. */
  async function roundTrip(write: (outbound: Awaited<ReturnType<typeof streamPair>>[0]) => Promise<void>) {
    const [outbound, inbound] = await streamPair();
    const remote = peer(await generateKeyPair("Ed25519"));
    const handled = store.handle(inbound, { remotePeer: remote });
    await write(outbound);
    const response = await pbStream(outbound).read(StoreResponse);
    await outbound.close(); // done: the mailbox ends the stream when the client closes its side
    await handled;
    return response;
  }

  const send = (q: StoreQuery) => roundTrip(async (s) => pbStream(s).write(q, StoreQuery));

  it("pages forward over two topics to completion, each envelope once, with a verifiable commitment", async () => {
    const seen: string[] = [];
    let cursor: Uint8Array | undefined;
    for (let i = 0; i < 10; i++) {
      const q = query({ contentTopics: ["/t/odd", "/t/even"], pageSize: 10, ...(cursor ? { cursor } : {}) });
      const res = await send(q);
      expect(res.status).toBe(StatusCode.OK);
      await verifyPeerSignature(
        key.publicKey,
        commitmentSigningBytes(q, res.ids, res.nextCursor),
        res.commitment,
      );
      seen.push(...res.envelopes.map((e) => String(e.timestamp - T0)));
      cursor = res.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
  });

  it("pages backward", async () => {
    const res = await send(query({ contentTopics: ["/t/even"], pageSize: 3, forward: false }));
    expect(res.envelopes.map((e) => Number(e.timestamp - T0))).toEqual([24, 22, 20]);
    expect(res.nextCursor).toBeDefined();
  });

  it("answers presence queries with the ids it holds", async () => {
    const held = createEnvelope({ contentTopic: "/t/odd", timestamp: T0 + 1n, payload: new Uint8Array([1]) });
    const missing = createEnvelope({
      contentTopic: "/t/odd",
      timestamp: T0 + 99n,
      payload: new Uint8Array([1]),
    });
    const res = await send(query({ includeData: false, ids: [held.id, missing.id] }));
    expect(res.status).toBe(StatusCode.OK);
    expect(res.ids.map(toBareHex)).toEqual([toBareHex(held.id)]);
    expect(res.envelopes).toEqual([]);
  });

  it.each([
    [
      "too many topics",
      query({ contentTopics: Array.from({ length: 11 }, (_, i) => `/t/${i}`) }),
      StatusCode.BAD_REQUEST,
      /at most 10/,
    ],
    ["no topics", query({}), StatusCode.BAD_REQUEST, /no content topics/],
    ["page size 0", query({ contentTopics: ["/t/odd"], pageSize: 0 }), StatusCode.BAD_REQUEST, /page size/],
    [
      "a huge page size",
      query({ contentTopics: ["/t/odd"], pageSize: 1_000_000 }),
      StatusCode.BAD_REQUEST,
      /page size/,
    ],
    [
      "a cursor never issued",
      query({ contentTopics: ["/t/odd"], cursor: new Uint8Array(32).fill(7) }),
      StatusCode.NOT_FOUND,
      /unknown cursor/,
    ],
    [
      "a malformed cursor",
      query({ contentTopics: ["/t/odd"], cursor: new Uint8Array(3) }),
      StatusCode.BAD_REQUEST,
      /32-byte/,
    ],
    [
      "an inverted time range",
      query({ contentTopics: ["/t/odd"], timeStart: 10n, timeEnd: 5n }),
      StatusCode.BAD_REQUEST,
      /after/,
    ],
    ["an empty topic", query({ contentTopics: [""] }), StatusCode.BAD_REQUEST, /1\.\.256 bytes/],
    [
      "a topic without a leading /",
      query({ contentTopics: ["t/x"] }),
      StatusCode.BAD_REQUEST,
      /start with \//,
    ],
    [
      "a 60 KB topic",
      query({ contentTopics: [`/${"t".repeat(60_000)}`] }),
      StatusCode.BAD_REQUEST,
      /1\.\.256 bytes/,
    ],
    // What a protobuf decoder makes of invalid UTF-8 on the wire.
    ["a topic of invalid UTF-8", query({ contentTopics: ["/t/\uFFFD"] }), StatusCode.BAD_REQUEST, /UTF-8/],
    [
      "too many presence ids",
      query({ includeData: false, ids: Array.from({ length: 101 }, () => new Uint8Array(32)) }),
      StatusCode.BAD_REQUEST,
      /at most 100/,
    ],
  ])("refuses %s with its status", async (_name, q, status, desc) => {
    const res = await send(q);
    expect(res.status).toBe(status);
    expect(res.statusDesc).toMatch(desc);
    expect(res.envelopes).toEqual([]);
    expect(res.statusDesc).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
  });

  it("refuses a malformed frame", async () => {
    const res = await roundTrip(async (s) =>
      lpStream(s).write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
    );
    expect(res.status).toBe(StatusCode.BAD_REQUEST);
    expect(res.statusDesc).toMatch(/malformed query/);
  });

  it("refuses an oversize frame without reading it", async () => {
    const res = await roundTrip(async (s) => {
      // A varint length prefix announcing 10 MB, then a little of it.
      await byteStream(s).write(new Uint8Array([0x80, 0xad, 0xe2, 0x04, 1, 2, 3]));
    });
    expect(res.status).toBe(StatusCode.BAD_REQUEST);
    expect(res.statusDesc).toBe("malformed query: frame too large");
  });

  it("rate-limits a peer that queries too fast", async () => {
    const limited = storeWith({ rateLimiter: new RateLimiter({ points: 2, duration: 60 }) });
    const remote = peer(await generateKeyPair("Ed25519"));
    const statuses: StatusCode[] = [];
    for (let i = 0; i < 3; i++) {
      const [outbound, inbound] = await streamPair();
      const handled = limited.handle(inbound, { remotePeer: remote });
      await pbStream(outbound).write(query({ contentTopics: ["/t/odd"] }), StoreQuery);
      statuses.push((await pbStream(outbound).read(StoreResponse)).status);
      await outbound.close();
      await handled;
    }
    expect(statuses).toEqual([StatusCode.OK, StatusCode.OK, StatusCode.RATE_LIMITED]);
  });

  it("answers several queries on one stream, in order, until the client closes its side", async () => {
    const [outbound, inbound] = await streamPair();
    const handled = store.handle(inbound, { remotePeer: peer(await generateKeyPair("Ed25519")) });
    const pb = pbStream(outbound);
    const seen: number[] = [];
    let cursor: Uint8Array | undefined;
    for (let i = 0; i < 3; i++) {
      const q = query({
        requestId: `q${i}`,
        contentTopics: ["/t/odd"],
        pageSize: 4,
        ...(cursor ? { cursor } : {}),
      });
      await pb.write(q, StoreQuery);
      const res = await pb.read(StoreResponse);
      expect([res.requestId, res.status]).toEqual([`q${i}`, StatusCode.OK]);
      seen.push(...res.envelopes.map((e) => Number(e.timestamp - T0)));
      cursor = res.nextCursor;
    }
    expect(cursor).toBeUndefined();
    expect(seen).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    // A refusal does not end the stream either.
    await pb.write(query({ requestId: "bad", contentTopics: [] }), StoreQuery);
    expect((await pb.read(StoreResponse)).status).toBe(StatusCode.BAD_REQUEST);
    await pb.write(query({ requestId: "last", contentTopics: ["/t/even"], pageSize: 1 }), StoreQuery);
    const last = await pb.read(StoreResponse);
    expect([last.requestId, last.envelopes.map((e) => Number(e.timestamp - T0))]).toEqual(["last", [0]]);
    await outbound.close();
    await handled;
    expect(inbound.status).toBe("closed");
  });

  it("closes a stream that stays silent after a response, and one whose next frame is malformed", async () => {
    const remote = peer(await generateKeyPair("Ed25519"));
    const quiet = storeWith({ readTimeoutMs: 200 });
    // Silent: one answer, then the mailbox ends the stream on its own.
    {
      const [outbound, inbound] = await streamPair();
      const handled = quiet.handle(inbound, { remotePeer: remote });
      const pb = pbStream(outbound);
      await pb.write(query({ contentTopics: ["/t/odd"], pageSize: 2 }), StoreQuery);
      expect((await pb.read(StoreResponse)).status).toBe(StatusCode.OK);
      await handled; // returns after the 200 ms of silence, without the client closing
      expect(inbound.writeStatus).toBe("closed");
      await expect(pb.read(StoreResponse)).rejects.toThrow(/EOF/);
    }
    // Malformed after a good query: answered with BAD_REQUEST, then closed.
    {
      const [outbound, inbound] = await streamPair();
      const handled = quiet.handle(inbound, { remotePeer: remote });
      const pb = pbStream(outbound);
      await pb.write(query({ contentTopics: ["/t/odd"], pageSize: 2 }), StoreQuery);
      expect((await pb.read(StoreResponse)).status).toBe(StatusCode.OK);
      await lpStream(outbound).write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      const res = await pb.read(StoreResponse);
      expect([res.status, res.statusDesc]).toEqual([
        StatusCode.BAD_REQUEST,
        expect.stringMatching(/malformed query/),
      ]);
      await handled;
      expect(inbound.writeStatus).toBe("closed");
    }
  });

  it("keeps serving after bad input", async () => {
    await roundTrip(async (s) => lpStream(s).write(new Uint8Array([0xff, 0xff])));
    const res = await send(query({ contentTopics: ["/t/odd"], pageSize: 5 }));
    expect(res.status).toBe(StatusCode.OK);
    expect(res.envelopes.length).toBe(5);
  });

  it("signs each history page's EIP-712 commitment: the span it is complete for, served at, by the evidence key", async () => {
    const evidenceKey = generatePrivateKey();
    const operator = privateKeyToAccount(generatePrivateKey()).address;
    const domain = {
      chainId: 31337,
      verifyingContract: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" as const,
    };
    store = storeWith({ evidence: new EvidenceSigner({ privateKey: evidenceKey, operator, domain }) });
    const signer = privateKeyToAccount(evidenceKey).address;
    let cursor: Uint8Array | undefined;
    let cursorTimestamp: bigint | undefined;
    const spans: [bigint, bigint][] = [];
    for (let i = 0; i < 5; i++) {
      const q = query({
        contentTopics: ["/t/odd"],
        timeStart: T0 + 2n,
        pageSize: 4,
        ...(cursor ? { cursor } : {}),
      });
      const before = BigInt(Date.now());
      const res = await send(q);
      expect(res.status).toBe(StatusCode.OK);
      expect(res.servedAt).toBeGreaterThanOrEqual(before);
      expect(res.servedAt).toBeLessThanOrEqual(BigInt(Date.now()));
      const commitment = pageCommitmentFromWire(operator, q, res)!;
      checkPageCommitmentEvidence(domain, commitment, res.evidence!, signer);
      // Another key's signer, or the page's ids changed, is refused.
      expect(() =>
        checkPageCommitmentEvidence(
          domain,
          commitment,
          res.evidence!,
          privateKeyToAccount(generatePrivateKey()).address,
        ),
      ).toThrow(/expected/);
      expect(() =>
        checkPageCommitmentEvidence(
          domain,
          { ...commitment, ids: commitment.ids.slice(1) },
          res.evidence!,
          signer,
        ),
      ).toThrow(/expected/);
      // The span is the rule's, as a reader recomputes it.
      expect({ timeStart: commitment.timeStart, timeEnd: commitment.timeEnd }).toEqual(
        committedSpan(q, {
          cursorTimestamp,
          lastTimestamp: res.envelopes.at(-1)?.timestamp,
          more: res.nextCursor !== undefined,
        }),
      );
      spans.push([commitment.timeStart - T0, commitment.timeEnd - T0]);
      cursor = res.nextCursor;
      cursorTimestamp = res.envelopes.at(-1)?.timestamp;
      if (!cursor) break;
    }
    // Odd timestamps 3…23 in pages of four: each span ends before its last envelope and the next
    // starts after it; the last runs to the end of time.
    expect(spans.slice(0, 2)).toEqual([
      [2n, 8n],
      [10n, 16n],
    ]);
    expect(spans[2]).toEqual([18n, 2n ** 64n - 1n - T0]);
    // A presence answer that holds nothing promises nothing: no evidence.
    const none = await send(query({ includeData: false, ids: [new Uint8Array(32)] }));
    expect(none.evidence).toBeUndefined();
    expect(none.servedAt).toBeUndefined();
  });

  it("signs a presence answer's EIP-712 Presence: the held ids, served after the lookup, kept until the earliest retention end", async () => {
    const evidenceKey = generatePrivateKey();
    const operator = privateKeyToAccount(generatePrivateKey()).address;
    const domain = {
      chainId: 31337,
      verifyingContract: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" as const,
    };
    store = storeWith({ evidence: new EvidenceSigner({ privateKey: evidenceKey, operator, domain }) });
    const page = await send(query({ contentTopics: ["/t/odd", "/t/even"], pageSize: 25 }));
    const [a, b] = [page.envelopes[7]!, page.envelopes[3]!].map((e) => createEnvelope(e));
    const before = BigInt(Date.now());
    const res = await send(query({ includeData: false, ids: [a!.id, new Uint8Array(32), b!.id] }));
    const after = BigInt(Date.now());
    expect(res.ids.map(toBareHex)).toEqual([toBareHex(a!.id), toBareHex(b!.id)]);
    const presence = presenceFromWire(operator, res)!;
    checkPresenceEvidence(domain, presence, res.evidence!, privateKeyToAccount(evidenceKey).address);
    expect(presence.servedAt >= before && presence.servedAt <= after).toBe(true);
    // The earlier of the two timestamps (T0 + 3) plus the hour of retention.
    expect(presence.retainUntil).toBe(T0 + 3n + 3_600_000n);
    // Its libp2p commitment is unchanged: over the query and the held ids.
    expect(res.commitment.length).toBe(64);
    // Another key's, or a changed field, is refused.
    expect(() =>
      checkPresenceEvidence(
        domain,
        { ...presence, ids: presence.ids.slice(1) },
        res.evidence!,
        privateKeyToAccount(evidenceKey).address,
      ),
    ).toThrow(/expected/);
  });
});
