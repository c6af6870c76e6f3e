// The delivery tracker against the real SQLite storage (no network: what it would send is recorded).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MessageBody, toBareHex } from "@postbox/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { outgoingRecord } from "../storage/contract.js";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { ClientStorage, StoredMessage } from "../storage/types.js";
import { DeliveryTracker, type DeliveryTrackerInit, type ReceivedMessage } from "./delivery.js";
import type { ClientEvent } from "./events.js";

const ME = `02${"aa".repeat(32)}`;
const BOB = `03${"bb".repeat(32)}`;
const CAROL = `02${"cc".repeat(32)}`;
const DAVE = `03${"dd".repeat(32)}`;
const GROUP = "group:0123abcd";

const open: { storage: ClientStorage; tracker: DeliveryTracker; dir: string }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.tracker.close();
    await o.storage.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

type Sent = { conversation: string; body: MessageBody };
type States = Extract<ClientEvent, { type: "message-state" }>;

/** A tracker over a fresh (or given) data folder, recording what it sends and reports. */
async function setup(options: Partial<DeliveryTrackerInit> & { dir?: string; fail?: () => boolean } = {}) {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "postbox-delivery-"));
  const storage = await openSqliteStorage(dir);
  const sent: Sent[] = [];
  const events: States[] = [];
  const tracker = new DeliveryTracker({
    storage,
    self: ME,
    emit: (e) => {
      if (e.type === "message-state") events.push(e);
    },
    send: async (conversation, body) => {
      if (options.fail?.()) throw new Error("no mailbox took it");
      sent.push({ conversation, body });
    },
    ackDelayMs: options.ackDelayMs ?? 60_000,
    sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
    ...(options.now ? { now: options.now } : {}),
  });
  const o = { storage, tracker, dir };
  open.push(o);
  return { ...o, sent, events };
}

/** A sent message's id, and its record (`sending`) as the storage contract builds it. */
const id = (n: number) => outgoingRecord(n, "", 0).messageId;
const record = outgoingRecord;

function incoming(n: number, conversation: string, sender: string, timestamp = 1_000 + n): StoredMessage {
  return {
    id: `f${n.toString(16).padStart(63, "0")}`,
    messageId: `d${n.toString(16).padStart(63, "0")}`,
    version: 2,
    conversation,
    timestamp,
    sender,
    text: `text ${n}`,
    outgoing: false,
  };
}

const text = (m: StoredMessage): ReceivedMessage => ({
  conversation: m.conversation,
  sender: m.sender,
  type: "text",
  acks: [],
  timestamp: m.timestamp,
});
const ack = (conversation: string, sender: string, ids: string[], timestamp = 5_000): ReceivedMessage => ({
  conversation,
  sender,
  type: "ack",
  acks: ids,
  timestamp,
});
const join_ = (conversation: string, sender: string, timestamp: number): ReceivedMessage => ({
  conversation,
  sender,
  type: "join",
  acks: [],
  timestamp,
});
const ackedIds = (s: Sent) => (s.body.type === "ack" ? s.body.acks.map((a) => toBareHex(a)) : []);

describe("delivery states", () => {
  it("sending → stored (by each mailbox that receipted it) → delivered by the peer's ack, once", async () => {
    const { tracker, storage, events } = await setup();
    await tracker.sealed(record(1, `dm:${BOB}`, 1_000));
    expect(events.map((e) => e.state)).toEqual(["sending"]);
    expect(events[0]).toMatchObject({ messageId: id(1), conversation: `dm:${BOB}`, storedBy: [] });

    const receipt = (mailbox: string) => ({
      envelopeId: record(1, "", 0).envelopeId,
      mailbox,
      storedAt: 1,
      retainUntil: 2,
    });
    await tracker.receipt(id(1), receipt("0xalpha"));
    await tracker.receipt(id(1), receipt("0xbeta"));
    await tracker.receipt(id(1), receipt("0xbeta")); // the same receipt again: no change
    expect(events.map((e) => [e.state, e.storedBy])).toEqual([
      ["sending", []],
      ["stored", ["0xalpha"]],
      ["stored", ["0xalpha", "0xbeta"]],
    ]);

    // Acks from someone else, or for another conversation, count for nothing.
    await tracker.received([ack(`dm:${CAROL}`, CAROL, [id(1)]), ack(`dm:${ME}`, ME, [id(1)])]);
    expect((await tracker.record(id(1)))?.state).toBe("stored");
    // The peer's ack: delivered; again (a catch-up's overlap) changes nothing.
    await tracker.received([ack(`dm:${BOB}`, BOB, [id(1), id(99)])]);
    await tracker.received([ack(`dm:${BOB}`, BOB, [id(1)])]);
    expect(events.at(-1)).toMatchObject({
      state: "delivered",
      deliveredTo: [BOB],
      storedBy: ["0xalpha", "0xbeta"],
    });
    expect(events.filter((e) => e.state === "delivered")).toHaveLength(1);
    expect(await storage.acks(id(1))).toEqual([{ messageId: id(1), from: BOB, at: 5_000 }]);
    // A late receipt does not take it back from delivered.
    await tracker.receipt(id(1), receipt("0xgamma"));
    expect(await tracker.record(id(1))).toMatchObject({
      state: "delivered",
      storedBy: ["0xalpha", "0xbeta", "0xgamma"],
    });
  });

  it("not-stored: says why mailbox by mailbox, after the timeout, and when a client stopped waiting", async () => {
    const { tracker, events, dir } = await setup({ sendTimeoutMs: 100 });
    await tracker.sealed(record(1, `dm:${BOB}`, Date.now()));
    await tracker.failed(id(1), [
      { mailbox: "0x1111111111111111111111111111111111111111", name: "alpha", reason: "unreachable" },
      { mailbox: "0x2222222222222222222222222222222222222222", reason: "RATE_LIMITED" },
    ]);
    expect(events.at(-1)).toMatchObject({
      state: "not-stored",
      error: "alpha: unreachable; 0x222222…2222: RATE_LIMITED",
    });
    // No answer at all within the timeout: not-stored; a receipt arriving later still counts.
    await tracker.sealed(record(2, `dm:${BOB}`, Date.now()));
    await vi.waitFor(async () => expect((await tracker.record(id(2)))?.state).toBe("not-stored"));
    expect((await tracker.record(id(2)))?.error).toBe("no mailbox stored it within 0.1 s");
    await tracker.confirmed(id(2), "0xalpha");
    expect(await tracker.record(id(2))).toMatchObject({ state: "stored", storedBy: ["0xalpha"] });
    expect((await tracker.record(id(2)))?.error).toBeUndefined();

    // A record left `sending` by a process that stopped is not-stored once past the timeout.
    await tracker.sealed(record(3, "room:x", Date.now() - 1_000), { timer: false });
    const other = await setup({ dir, sendTimeoutMs: 100 });
    expect((await other.tracker.outgoing({ conversation: "room:x" }))[0]).toMatchObject({
      state: "not-stored",
      error: "no mailbox stored it within 0.1 s",
    });
  });

  it("keeps what a retry needs until a mailbox stores it, and replaces a record sealed again", async () => {
    const { tracker, storage, events } = await setup();
    const envelope = new Uint8Array([1, 2, 3]);
    await tracker.sealed(record(1, `dm:${BOB}`, 1_000), { copy: { envelope, text: "hi" } });
    await tracker.failed(id(1), "no mailbox");
    expect(await tracker.pendingCopy(id(1))).toEqual({ envelope, text: "hi" });
    expect(await tracker.attempt(id(1))).toMatchObject({ state: "sending", attempts: 2 });
    // Sealed again under a new id: the old record and its copy are gone.
    await tracker.sealed(
      { ...record(2, `dm:${BOB}`, 30_000), attempts: 3 },
      { copy: { text: "hi" }, replaces: id(1) },
    );
    expect(events.at(-1)).toMatchObject({ messageId: id(2), state: "sending", replaces: id(1) });
    expect((await storage.outgoing()).map((r) => [r.messageId, r.attempts])).toEqual([[id(2), 3]]);
    expect(await tracker.pendingCopy(id(1))).toBeUndefined();
    await tracker.confirmed(id(2), "0xalpha");
    expect(await tracker.pendingCopy(id(2))).toBeUndefined();
    // Stored: nothing more to attempt.
    expect(await tracker.attempt(id(2))).toMatchObject({ state: "stored", attempts: 3 });
  });
});

describe("acks this client owes", () => {
  it("acks saved texts from others once, 100 ids per ack, and never acks, joins, rooms or its own", async () => {
    const { tracker, storage, sent, dir } = await setup();
    const fromBob = Array.from({ length: 250 }, (_, i) => incoming(i, `dm:${BOB}`, BOB));
    const room = [incoming(300, "room:x", BOB)];
    const mine = [{ ...incoming(301, `dm:${BOB}`, ME), outgoing: true }];
    await storage.saveMessages([...fromBob, ...room, ...mine]);
    await tracker.received([
      ...[...fromBob, ...room, ...mine].map(text),
      ack(`dm:${BOB}`, BOB, [id(7)]),
      join_(GROUP, BOB, 1),
    ]);
    expect(sent).toEqual([]); // a catch-up's acks wait for its end
    expect(await tracker.flush()).toEqual({ acks: 3, failed: [] });
    expect(sent.map((s) => [s.conversation, s.body.type, ackedIds(s).length])).toEqual([
      [`dm:${BOB}`, "ack", 100],
      [`dm:${BOB}`, "ack", 100],
      [`dm:${BOB}`, "ack", 50],
    ]);
    expect(sent.flatMap(ackedIds)).toEqual(fromBob.map((m) => m.messageId));
    // The next catch-up re-reads the same messages (its overlap): nothing more, even after a restart.
    await tracker.received(fromBob.map(text));
    expect(await tracker.flush()).toEqual({ acks: 0, failed: [] });
    const again = await setup({ dir });
    await again.tracker.received(fromBob.map(text));
    expect(await again.tracker.flush()).toEqual({ acks: 0, failed: [] });
    expect(sent).toHaveLength(3);
    expect(again.sent).toEqual([]);
  });

  it("acks live messages after the delay, one ack per conversation, on the group's topic for a group", async () => {
    const { tracker, storage, sent } = await setup({ ackDelayMs: 50 });
    const messages = [
      incoming(1, `dm:${BOB}`, BOB),
      incoming(2, `dm:${BOB}`, BOB),
      incoming(3, GROUP, CAROL),
      incoming(4, GROUP, BOB),
    ];
    for (const m of messages) {
      await storage.saveMessages([m]);
      await tracker.received([text(m)], { live: true });
    }
    expect(sent).toEqual([]);
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent.map((s) => [s.conversation, ackedIds(s)]).sort()).toEqual([
      [`dm:${BOB}`, [messages[0]!.messageId, messages[1]!.messageId]],
      [GROUP, [messages[2]!.messageId, messages[3]!.messageId]],
    ]);
  });

  it("an ack no mailbox took stays owed; the first flush of a new client sends what an earlier one did not", async () => {
    let down = true;
    const { tracker, storage, sent, dir } = await setup({ fail: () => down });
    await storage.saveMessages([incoming(1, `dm:${BOB}`, BOB)]);
    await tracker.received([text(incoming(1, `dm:${BOB}`, BOB))]);
    expect(await tracker.flush()).toEqual({ acks: 0, failed: [`dm:${BOB}`] });
    down = false;
    expect(await tracker.flush()).toEqual({ acks: 1, failed: [] });
    expect(sent.map(ackedIds)).toEqual([[incoming(1, "", "").messageId]]);

    // Saved by a process that stopped before acking (nothing received in this one).
    await storage.saveMessages([incoming(2, GROUP, CAROL)]);
    const next = await setup({ dir });
    expect(await next.tracker.flush()).toEqual({ acks: 1, failed: [] });
    expect(next.sent.map((s) => [s.conversation, ackedIds(s)])).toEqual([
      [GROUP, [incoming(2, "", "").messageId]],
    ]);
  });

  it("close() sends the acks still waiting for their live delay", async () => {
    const { tracker, storage, sent } = await setup({ ackDelayMs: 60_000 });
    await storage.saveMessages([incoming(1, `dm:${BOB}`, BOB)]);
    await tracker.received([text(incoming(1, `dm:${BOB}`, BOB))], { live: true });
    await tracker.close();
    expect(sent.map(ackedIds)).toEqual([[incoming(1, "", "").messageId]]);
  });
});

describe("groups", () => {
  it("counts members from join, text and ack on the group: delivered to 1 of 2, then 2 of 2", async () => {
    const { tracker, events } = await setup();
    await tracker.received([join_(GROUP, BOB, 1_000), join_(GROUP, CAROL, 1_500), join_(GROUP, ME, 900)]);
    expect(await tracker.members(GROUP)).toEqual([BOB, CAROL].sort());
    await tracker.sealed(record(1, GROUP, 2_000));
    expect(events.at(-1)).toMatchObject({ state: "sending", members: 2 });
    // Dave joins after the message was sent: he never reads it, so he is not counted for it.
    await tracker.received([join_(GROUP, DAVE, 3_000), ack(GROUP, BOB, [id(1)], 3_100)]);
    expect(await tracker.record(id(1))).toMatchObject({ state: "delivered", deliveredTo: [BOB], members: 2 });
    expect(events.at(-1)).toMatchObject({ state: "delivered", deliveredTo: [BOB], members: 2 });
    // Our own ack (read back from the topic) counts for nothing.
    await tracker.received([ack(GROUP, ME, [id(1)])]);
    await tracker.received([ack(GROUP, CAROL, [id(1)], 4_000)]);
    expect(await tracker.record(id(1))).toMatchObject({ deliveredTo: [BOB, CAROL], members: 2 });
    // A member first seen through a text or an ack counts from then; one who acks always counts.
    await tracker.received([text(incoming(5, GROUP, DAVE, 2_500))]);
    await tracker.sealed(record(2, GROUP, 2_600));
    expect((await tracker.record(id(2)))?.members).toBe(3);
    expect((await tracker.outgoing({ conversation: GROUP })).map((r) => r.members)).toEqual([2, 3]);
  });

  it("announces membership once; a join no mailbox took is sent later", async () => {
    let down = true;
    const { tracker, storage, sent, dir } = await setup({ fail: () => down });
    await storage.follow({ feed: GROUP, topic: "/postbox/1/group/x/proto", since: 0, key: "00".repeat(32) });
    expect(await tracker.join(GROUP)).toBe(false);
    await tracker.sendJoins();
    down = false;
    await tracker.sendJoins();
    expect(await tracker.join(GROUP)).toBe(true);
    const again = await setup({ dir });
    expect(await again.tracker.join(GROUP)).toBe(true);
    await again.tracker.sendJoins();
    expect([...sent, ...again.sent]).toEqual([{ conversation: GROUP, body: { type: "join" } }]);
  });
});
