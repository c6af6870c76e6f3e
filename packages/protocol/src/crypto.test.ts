import { describe, expect, it } from "vitest";
import {
  createGroupKey,
  createIdentity,
  decryptDirect,
  decryptGroup,
  decryptRoom,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  MessageKind,
} from "./crypto.js";
import { DecryptionError } from "./errors.js";
import { groupTopic, INBOX_PARTITIONS, inboxPartition, inboxTopic, roomTopic } from "./topics.js";

const ts = 1_700_000_000_000n;

describe("direct messages (ECIES)", () => {
  const alice = createIdentity();
  const bob = createIdentity();
  const eve = createIdentity();

  it("round-trips to the recipient, with the sender authenticated", () => {
    const { contentTopic, payload } = encryptDirect(bob, alice.publicKey, "hi Alice", ts);
    expect(contentTopic).toBe(inboxTopic(alice.publicKey));
    const m = decryptDirect(alice, { contentTopic, payload, timestamp: ts });
    expect(m.text).toBe("hi Alice");
    expect(m.kind).toBe(MessageKind.Direct);
    expect(m.sender).toEqual(bob.publicKey);
  });

  it("cannot be opened by anyone else", () => {
    const { contentTopic, payload } = encryptDirect(bob, alice.publicKey, "secret", ts);
    expect(() => decryptDirect(eve, { contentTopic, payload, timestamp: ts })).toThrow(DecryptionError);
  });

  it("detects tampering, a moved timestamp and a moved topic", () => {
    const { contentTopic, payload } = encryptDirect(bob, alice.publicKey, "secret", ts);
    const flipped = payload.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(() => decryptDirect(alice, { contentTopic, payload: flipped, timestamp: ts })).toThrow(
      /authentication failed/,
    );
    expect(() => decryptDirect(alice, { contentTopic, payload, timestamp: ts + 1n })).toThrow(
      /timestamps differ/,
    );
    expect(() =>
      decryptDirect(alice, { contentTopic: "/postbox/1/inbox-0/proto", payload, timestamp: ts }),
    ).toThrow(/signature/);
  });
});

describe("rooms and groups", () => {
  const alice = createIdentity();

  it("round-trips a room message by name, case- and #-insensitive", () => {
    const sealed = encryptRoom(alice, "#Lobby", "hello room", ts);
    expect(sealed.contentTopic).toBe(roomTopic("lobby"));
    const m = decryptRoom("lobby", { ...sealed, timestamp: ts });
    expect(m.text).toBe("hello room");
    expect(m.sender).toEqual(alice.publicKey);
    expect(() => decryptRoom("other", { ...sealed, timestamp: ts })).toThrow(DecryptionError);
  });

  it("round-trips a group message with its key only", () => {
    const key = createGroupKey();
    const sealed = encryptGroup(alice, "g-1", key, "hello group", ts);
    expect(sealed.contentTopic).toBe(groupTopic("g-1"));
    expect(decryptGroup("g-1", key, { ...sealed, timestamp: ts }).text).toBe("hello group");
    expect(() => decryptGroup("g-1", createGroupKey(), { ...sealed, timestamp: ts })).toThrow(
      DecryptionError,
    );
  });
});

describe("topics", () => {
  it("spreads inboxes over the partitions", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) seen.add(inboxPartition(createIdentity().publicKey));
    expect(seen.size).toBeGreaterThan(150);
    for (const p of seen) expect(p).toBeLessThan(INBOX_PARTITIONS);
  });
});
