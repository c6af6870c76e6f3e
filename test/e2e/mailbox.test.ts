// Real libp2p nodes on loopback: a publisher, a mailbox and a reader that joins late. Stories A and
// B at the wire level with the protocol package's encryption, push receipts, and bad input over
// the network.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientHost, createClientHost, fetchInfo, pushEnvelope, queryStore } from "@postbox/client";
import { loadConfig, MailboxNode } from "@postbox/node";
import {
  compareEnvelopes,
  createEnvelope,
  createIdentity,
  DEFAULT_PUBSUB_TOPIC,
  decryptDirect,
  decryptRoom,
  Envelope,
  encryptDirect,
  encryptRoom,
  type IdentifiedEnvelope,
  identify,
  inboxTopic,
  receiptSigningBytes,
  roomTopic,
  STORE_PROTOCOL,
  StatusCode,
  verifyPeerSignature,
} from "@postbox/protocol";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("mailbox over libp2p on loopback", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-e2e-"));
  let mailbox: MailboxNode;
  let publisher: ClientHost;

  beforeAll(async () => {
    mailbox = await MailboxNode.create(
      loadConfig({
        flags: {
          dataDir: join(dir, "mailbox"),
          listen: ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/tcp/0/ws"],
          http: { port: 0 },
          free: true,
          logLevel: "silent",
        },
      }),
      { logger: pino({ level: "silent" }) },
    );
    await mailbox.start();
    publisher = await createClientHost();
    await publisher.start();
    publisher.services.pubsub.subscribe(DEFAULT_PUBSUB_TOPIC);
    await publisher.dial(mailbox.libp2p.getMultiaddrs());
    await until("the gossip mesh", () =>
      publisher.services.pubsub
        .getSubscribers(DEFAULT_PUBSUB_TOPIC)
        .some((p) => p.equals(mailbox.libp2p.peerId)),
    );
  });

  afterAll(async () => {
    await publisher?.stop();
    await mailbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function publish(e: IdentifiedEnvelope): Promise<void> {
    await publisher.services.pubsub.publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(e));
  }

  async function archived(ids: Uint8Array[]): Promise<boolean> {
    return (await mailbox.archive.presence(ids)).length === ids.length;
  }

  /** A reader that was offline: a fresh host that pages through history until complete. */
  async function catchUp(topics: string[], pageSize: number): Promise<IdentifiedEnvelope[]> {
    const reader = await createClientHost();
    await reader.start();
    try {
      const out: IdentifiedEnvelope[] = [];
      let cursor: Uint8Array | undefined;
      for (let page = 0; page < 1_000; page++) {
        const res = await queryStore(reader, mailbox.libp2p.getMultiaddrs(), {
          contentTopics: topics,
          pageSize,
          ...(cursor ? { cursor } : {}),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        out.push(...res.envelopes.map(identify));
        cursor = res.nextCursor;
        if (!cursor) return out;
      }
      throw new Error("history never completed");
    } finally {
      await reader.stop();
    }
  }

  it("story A: Bob's messages to offline Alice arrive in order, once, decrypted", async () => {
    const alice = createIdentity();
    const bob = createIdentity();
    const sent: IdentifiedEnvelope[] = [];
    for (const [i, text] of ["hi Alice", "are you there?", "call me"].entries()) {
      const ts = BigInt(Date.now() + i); // the message and its envelope carry the same time
      const env = createEnvelope({ ...encryptDirect(bob, alice.publicKey, text, ts), timestamp: ts });
      sent.push(env);
      await publish(env);
    }
    await until("the mailbox to archive Bob's messages", () => archived(sent.map((e) => e.id)));
    // Alice comes back.
    const history = await catchUp([inboxTopic(alice.publicKey)], 50);
    const mine = history.flatMap((e) => {
      try {
        return [decryptDirect(alice, e)];
      } catch {
        return []; // another person's message in the same inbox partition
      }
    });
    expect(mine.map((m) => m.text)).toEqual(["hi Alice", "are you there?", "call me"]);
    expect(mine.every((m) => Buffer.from(m.sender).equals(Buffer.from(bob.publicKey)))).toBe(true);
  });

  it("story B: everything missed in #x arrives at once, paged, in order, no duplicates", async () => {
    const posters = [createIdentity(), createIdentity(), createIdentity()];
    const sent: IdentifiedEnvelope[] = [];
    const base = Date.now();
    for (let i = 0; i < 240; i++) {
      const ts = BigInt(base + Math.floor(i / 4)); // several messages share a millisecond
      const sealed = encryptRoom(posters[i % 3]!, "#x", `message ${i}`, ts);
      sent.push(createEnvelope({ ...sealed, timestamp: ts }));
    }
    // Some are published twice (a relay echo): the archive keeps one copy.
    for (const e of [...sent, ...sent.slice(0, 20)]) await publish(e);
    await until("the mailbox to archive the room", () => archived(sent.map((e) => e.id)));
    const history = await catchUp([roomTopic("#x")], 50);
    const expected = [...sent].sort(compareEnvelopes);
    expect(history.length).toBe(240);
    expect(history.map((e) => Buffer.from(e.id).toString("hex"))).toEqual(
      expected.map((e) => Buffer.from(e.id).toString("hex")),
    );
    const texts = history.map((e) => decryptRoom("x", e).text);
    expect(new Set(texts).size).toBe(240);
  });

  it("push: archives, relays, and signs a receipt only after the commit", async () => {
    const ts = BigInt(Date.now());
    const fixed = createEnvelope({ ...encryptRoom(createIdentity(), "#push", "pushed", ts), timestamp: ts });
    const relayed = new Promise<void>((resolve) => {
      publisher.services.pubsub.addEventListener("message", (evt) => {
        if (Buffer.from(evt.detail.data).equals(Buffer.from(Envelope.encode(fixed)))) resolve();
      });
    });
    const pusher = await createClientHost();
    await pusher.start();
    try {
      const receipt = await pushEnvelope(pusher, mailbox.libp2p.getMultiaddrs(), fixed);
      expect(Buffer.from(receipt.envelopeId).equals(Buffer.from(fixed.id))).toBe(true);
      expect(await archived([fixed.id])).toBe(true); // committed before the receipt came back
      await verifyPeerSignature(
        mailbox.libp2p.peerId.publicKey!,
        receiptSigningBytes(receipt),
        receipt.signature,
      );
      // Kept for the retention from the earlier of the envelope's time and its storing (retention
      // deletes by timestamp): docs/protocol.md, receipts.
      let from = receipt.storedAt;
      if (fixed.timestamp < from) from = fixed.timestamp;
      expect(receipt.retainUntil).toBe(from + 30n * 86_400_000n);
      await relayed; // the publisher, a gossip peer, sees it
    } finally {
      await pusher.stop();
    }
  });

  it("queries to one mailbox share a stream, and a stream either side closed is never reused", async () => {
    const reader = await createClientHost();
    await reader.start();
    try {
      await reader.dial(mailbox.libp2p.getMultiaddrs());
      const storeStreams = (host: ClientHost | MailboxNode["libp2p"], peer: typeof mailbox.libp2p.peerId) =>
        host
          .getConnections(peer)
          .flatMap((c) => c.streams)
          .filter((s) => s.protocol === STORE_PROTOCOL && s.status === "open");
      const ask = async () => {
        const res = await queryStore(reader, mailbox.libp2p.peerId, { contentTopics: ["/t/none"] });
        expect(res.status).toBe(StatusCode.OK);
      };
      for (let i = 0; i < 5; i++) await ask();
      expect(storeStreams(reader, mailbox.libp2p.peerId)).toHaveLength(1);
      await Promise.all([ask(), ask(), ask(), ask()]);
      expect(storeStreams(reader, mailbox.libp2p.peerId)).toHaveLength(4);
      // The mailbox ends one of them (as it does after its read timeout): the client skips it.
      await storeStreams(mailbox.libp2p, reader.peerId)[0]!.close();
      await until(
        "the client to see it closed",
        () => storeStreams(reader, mailbox.libp2p.peerId).length === 3,
      );
      // The client's own stream dies under it: skipped too.
      storeStreams(reader, mailbox.libp2p.peerId)[0]!.abort(new Error("test"));
      for (let i = 0; i < 6; i++) await ask();
      expect(storeStreams(reader, mailbox.libp2p.peerId).length).toBeLessThanOrEqual(3);
    } finally {
      await reader.stop();
    }
  });

  it("info describes the mailbox for free", async () => {
    const info = await fetchInfo(publisher, mailbox.libp2p.peerId);
    expect(info.peerId).toBe(mailbox.peerId);
    expect(info.free).toBe(true);
    expect(info.maxPageSize).toBe(100);
    expect(info.envelopeCount).toBeGreaterThan(0n);
  });

  it("bad input over the network gets its status and the node keeps serving", async () => {
    const peer = await createClientHost();
    await peer.start();
    try {
      const addrs = mailbox.libp2p.getMultiaddrs();
      // An unknown protocol version is refused at negotiation.
      await expect(peer.dialProtocol(addrs, "/postbox/store/2")).rejects.toThrow(/protocol/i);
      // An envelope from the future.
      const future = createEnvelope({
        contentTopic: "/t/future",
        timestamp: BigInt(Date.now() + 60_000),
        payload: new Uint8Array([1]),
      });
      await expect(pushEnvelope(peer, addrs, future)).rejects.toMatchObject({
        status: StatusCode.BAD_REQUEST,
      });
      // ...and through gossip it is rejected (the validator has counted it), never archived.
      const rejected = async () =>
        (await mailbox.metrics.ingested.get()).values.find(
          (v) => v.labels.source === "gossip" && v.labels.result === "invalid",
        )?.value ?? 0;
      const rejectedBefore = await rejected();
      await publish(future);
      await until("gossip's validator to reject it", async () => (await rejected()) > rejectedBefore);
      expect(await archived([future.id])).toBe(false);
      // Too many topics, a page size of 0.
      const tooMany = await queryStore(peer, addrs, {
        contentTopics: Array.from({ length: 11 }, (_, i) => `/t/${i}`),
      });
      expect(tooMany.status).toBe(StatusCode.BAD_REQUEST);
      const zero = await queryStore(peer, addrs, { contentTopics: ["/t/a"], pageSize: 0 });
      expect(zero.status).toBe(StatusCode.BAD_REQUEST);
      // Still serving.
      const ok = await queryStore(peer, addrs, { contentTopics: [roomTopic("#x")], pageSize: 10 });
      expect(ok.status).toBe(StatusCode.OK);
      expect(ok.envelopes.length).toBe(10);
    } finally {
      await peer.stop();
    }
  });

  it("limits queries and pushes each at its own rate, and serves 32 info streams at once", async () => {
    const limited = await MailboxNode.create(
      loadConfig({
        flags: {
          dataDir: join(dir, "limited"),
          listen: ["/ip4/127.0.0.1/tcp/0"],
          http: { port: 0 },
          free: true,
          logLevel: "silent",
          rateLimit: { queriesPerSecond: 5, pushesPerSecond: 100 },
        },
      }),
      { logger: pino({ level: "silent" }) },
    );
    await limited.start();
    const peer = await createClientHost();
    await peer.start();
    try {
      const addrs = limited.libp2p.getMultiaddrs();
      // 32 info requests at once on one connection: the documented stream limit, all answered.
      const infos = await Promise.allSettled(Array.from({ length: 32 }, () => fetchInfo(peer, addrs)));
      expect(infos.filter((r) => r.status === "rejected")).toEqual([]);
      // 20 queries in a row: the query limit (5 per second), not the push limit (100), applies.
      const statuses: StatusCode[] = [];
      for (let i = 0; i < 20; i++)
        statuses.push((await queryStore(peer, addrs, { contentTopics: ["/t/limit"] })).status);
      expect(statuses).toContain(StatusCode.RATE_LIMITED);
      // Pushes have their own budget: the queries above did not use it up.
      const pushed = await pushEnvelope(
        peer,
        addrs,
        createEnvelope({ contentTopic: "/t/limit", payload: new Uint8Array([1]) }),
      );
      expect(pushed.envelopeId.length).toBe(32);
    } finally {
      await peer.stop();
      await limited.stop();
    }
  });

  it("still archives gossip from a peer when many peers share its IP", async () => {
    // Regression: gossipsub's default IP-colocation penalty graylisted the 11th+ peer from one IP
    // (every client behind one NAT, or on loopback), silently dropping its envelopes.
    const crowd = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const h = await createClientHost();
        await h.start();
        await h.dial(mailbox.libp2p.getMultiaddrs());
        return h;
      }),
    );
    const late = await createClientHost();
    try {
      await late.start();
      late.services.pubsub.subscribe(DEFAULT_PUBSUB_TOPIC);
      await late.dial(mailbox.libp2p.getMultiaddrs());
      await until(
        "the late peer's mesh",
        () => late.services.pubsub.getSubscribers(DEFAULT_PUBSUB_TOPIC).length > 0,
      );
      const ts = BigInt(Date.now());
      const e = createEnvelope({ ...encryptRoom(createIdentity(), "#crowd", "hello", ts), timestamp: ts });
      await until("the envelope to be archived", async () => {
        await late.services.pubsub.publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(e)).catch(() => undefined);
        return archived([e.id]);
      });
    } finally {
      await Promise.all([...crowd, late].map((h) => h.stop()));
    }
  });

  it("serves /health and /metrics over HTTP", async () => {
    const health = (await (await fetch(`${mailbox.httpUrl}/health`)).json()) as {
      ok: boolean;
      envelopes: number;
    };
    expect(health.ok).toBe(true);
    expect(health.envelopes).toBeGreaterThan(240);
    const metrics = await (await fetch(`${mailbox.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/postbox_ingest_envelopes_total\{source="gossip",result="stored"\} \d+/);
    expect(metrics).toMatch(/postbox_requests_total\{protocol="store",status="OK"\} \d+/);
  });
});
