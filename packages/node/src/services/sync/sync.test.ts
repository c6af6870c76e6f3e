// Two real mailboxes (MailboxNode, SQLite, libp2p on loopback, no chain) that name each other as
// sync peers: each pulls what it lacks (old envelopes included: no clock rule), two in-sync
// mailboxes exchange one fingerprint each way, and a mailbox that is not a configured peer is refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { lpStream } from "@libp2p/utils";
import { createEnvelope, framing, toBareHex } from "@postbox/protocol";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePortBlock } from "../../../../../scripts/lib/ports.ts";
import { PostgresArchive } from "../../archive/postgres.js";
import type { StoredEnvelope } from "../../archive/types.js";
import { loadConfig } from "../../config.js";
import { loadOrCreatePeerKey } from "../../keys.js";
import { MailboxNode } from "../../node.js";
import { SyncRequest, SyncResponse } from "../../pb/sync.js";
import { SYNC_PROTOCOL, SyncRefused } from "./service.js";

/** `n` envelopes spread over `spanMs` ending `agoMs` ago. */
function envelopes(n: number, tag: string, spanMs: number, agoMs = 0): StoredEnvelope[] {
  const now = Date.now() - agoMs;
  return Array.from({ length: n }, (_, i) => ({
    ...createEnvelope({
      contentTopic: `/postbox/1/room-${i % 7}/proto`,
      timestamp: BigInt(now - Math.floor((i * spanMs) / n)),
      payload: new TextEncoder().encode(`${tag} ${i}`),
    }),
    receivedAt: now,
  }));
}

describe("mailbox sync between two real nodes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-sync-"));
  const nodes: MailboxNode[] = [];
  let a: MailboxNode;
  let b: MailboxNode;
  let stranger: MailboxNode;
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const port = await freePortBlock(2_550, 3);
    const ids = await Promise.all(
      ["a", "b", "c"].map(async (name) =>
        peerIdFromPrivateKey((await loadOrCreatePeerKey(join(dir, name))).key).toString(),
      ),
    );
    const addr = (i: number) => `/ip4/127.0.0.1/tcp/${port + i}/p2p/${ids[i]}`;
    const make = async (i: number, peers: string[]) => {
      const node = await MailboxNode.create(
        loadConfig({
          flags: {
            dataDir: join(dir, ["a", "b", "c"][i]!),
            listen: [`/ip4/127.0.0.1/tcp/${port + i}`],
            http: { port: 0 },
            free: true,
            logLevel: "silent",
            // Rounds are started by the test; a serves 6 sessions a peer a minute.
            sync: { peers, startDelay: "1h", interval: "1h", ...(i === 0 ? { sessionsPerMinute: 6 } : {}) },
          },
        }),
        { logger: pino({ level: "silent" }) },
      );
      await node.start();
      nodes.push(node);
      return node;
    };
    a = await make(0, [addr(1)]);
    b = await make(1, [addr(0)]);
    stranger = await make(2, [addr(0)]);
  }, 30_000);

  it("each pulls what it lacks, old envelopes included; then one fingerprint each way", async () => {
    // B was down for the last three hours (and A lacks a few of B's since): hours old, past the
    // gossip clock rule.
    const shared = envelopes(3_000, "shared", 6 * 3_600_000, 3 * 3_600_000);
    const onlyA = envelopes(2_000, "a", 3 * 3_600_000);
    const onlyB = envelopes(300, "b", 600_000);
    await a.sync!.ready;
    await b.sync!.ready;
    await a.sync!.track(a.archive).insert([...shared, ...onlyA]);
    await b.sync!.track(b.archive).insert([...shared, ...onlyB]);

    const pulled = await b.sync!.syncWith({ peerId: a.peerId, addrs: a.libp2p.getMultiaddrs() });
    expect(pulled.stored).toBe(2_000);
    expect(pulled.invalid).toBe(0);
    const held = await b.archive.presence(onlyA.map((e) => e.id));
    expect(held.map((h) => toBareHex(h.id))).toEqual(onlyA.map((e) => toBareHex(e.id)));
    // Beyond the envelopes themselves: ranges, fingerprints and id lists at the gap's edges.
    expect((pulled.sent + pulled.received - pulled.envelopeBytes) / 2_000).toBeLessThan(64);

    const back = await a.sync!.syncWith({ peerId: b.peerId, addrs: b.libp2p.getMultiaddrs() });
    expect(back.stored).toBe(300);
    expect((await a.archive.stats()).envelopes).toBe(5_300);

    // A round (b's configured peer: a) shows in /health.
    const [round] = await b.sync!.runRound();
    expect(round).toMatchObject({ envelopes: 0, rounds: 1 });
    const health = (await (await fetch(`${b.httpUrl}/health`)).json()) as { sync: Record<string, unknown> };
    expect(health.sync).toMatchObject({
      indexEnvelopes: 5_300,
      lastRound: { sessions: 1, stored: 0, failed: 0 },
    });

    const again = await b.sync!.syncWith({ peerId: a.peerId, addrs: a.libp2p.getMultiaddrs() });
    expect(again).toMatchObject({ rounds: 1, envelopes: 0, ranges: { fingerprint: 1, ids: 0, skip: 0 } });
    expect(again.sent + again.received).toBeLessThan(200);
  }, 60_000);

  it("refuses another set of pubsub topics, and a peer past its sessions a minute", async () => {
    // b speaks to a by hand, claiming other topics.
    const stream = await b.libp2p.dialProtocol(a.libp2p.peerId, SYNC_PROTOCOL);
    const lp = lpStream(stream, framing(1 << 20));
    await lp.write(
      SyncRequest.encode({
        pubsubTopics: ["/other/topic"],
        start: { timestamp: 0n, id: new Uint8Array(0) },
        ranges: [],
      }),
    );
    const refused = SyncResponse.decode((await lp.read()).subarray());
    expect(refused.status).toBe(SyncResponse.Status.UNSUPPORTED_TOPICS);
    expect(refused.statusDesc).toContain("/postbox/1/envelopes");
    // b has started 4 sessions with a in this minute (3 above, this one); a allows 6.
    const peer = { peerId: a.peerId, addrs: a.libp2p.getMultiaddrs() };
    for (let i = 5; i <= 6; i++) expect((await b.sync!.syncWith(peer)).envelopes).toBe(0);
    const err = await b.sync!.syncWith(peer).catch((e) => e);
    expect(err).toBeInstanceOf(SyncRefused);
    expect((err as SyncRefused).status).toBe(SyncResponse.Status.RATE_LIMITED);
  }, 30_000);

  it("refuses a mailbox that is not one of its sync peers", async () => {
    // The stranger names a as a peer, but a does not name it.
    const err = await stranger
      .sync!.syncWith({ peerId: a.peerId, addrs: a.libp2p.getMultiaddrs() })
      .catch((e) => e);
    expect(err).toBeInstanceOf(SyncRefused);
    expect((err as SyncRefused).status).toBe(SyncResponse.Status.FORBIDDEN);
    expect((await stranger.archive.stats()).envelopes).toBe(0);
  }, 30_000);
});

const url = process.env.POSTBOX_TEST_POSTGRES_URL;

describe.runIf(url)("mailbox sync into a PostgreSQL archive", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-sync-pg-"));
  const schema = `postbox_sync_${process.pid}`;
  const db = `${url}${url?.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const nodes: MailboxNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads its index from PostgreSQL, re-reads it before a round, and pulls what it lacks", async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
    await admin.end();
    const port = await freePortBlock(2_550, 2);
    const ids = await Promise.all(
      ["a", "b"].map(async (name) =>
        peerIdFromPrivateKey((await loadOrCreatePeerKey(join(dir, name))).key).toString(),
      ),
    );
    const addr = (i: number) => `/ip4/127.0.0.1/tcp/${port + i}/p2p/${ids[i]}`;
    const make = async (i: number, extra: object) => {
      const node = await MailboxNode.create(
        loadConfig({
          flags: {
            dataDir: join(dir, ["a", "b"][i]!),
            listen: [`/ip4/127.0.0.1/tcp/${port + i}`],
            http: { port: 0 },
            free: true,
            logLevel: "silent",
            sync: { peers: [addr(1 - i)], startDelay: "1h", interval: "1h" },
            ...extra,
          },
        }),
        { logger: pino({ level: "silent" }) },
      );
      await node.start();
      nodes.push(node);
      return node;
    };
    const shared = envelopes(1_000, "pg shared", 3_600_000, 3_600_000);
    const onlyA = envelopes(1_500, "pg a", 3_600_000);
    const a = await make(0, {});
    await a.sync!.ready;
    await a.sync!.track(a.archive).insert([...shared, ...onlyA]);
    // Written to b's PostgreSQL before b starts (another node of its mailbox, say): its index has it.
    const seed = await PostgresArchive.open({ url: db });
    await seed.insert(shared);
    const b = await make(1, { db });
    await b.sync!.ready;
    expect(b.sync!.index.size).toBe(1_000);
    // Another node writes the newest of a's; the round re-reads the index first, so it is not pulled.
    await seed.insert(onlyA.slice(0, 500));
    await seed.close();
    const [pulled] = await b.sync!.runRound();
    expect(pulled).toMatchObject({ stored: 1_000, envelopes: 1_000, invalid: 0 });
    expect((await b.archive.presence(onlyA.map((e) => e.id))).length).toBe(1_500);
    const [again] = await b.sync!.runRound();
    expect(again).toMatchObject({ rounds: 1, envelopes: 0 });
  }, 60_000);
});
