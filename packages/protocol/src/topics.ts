import { sha256 } from "@noble/hashes/sha2.js";
import { canonical, toBareHex } from "./canonical.js";

/**
 * Content topics. A person's inbox is one of {@link INBOX_PARTITIONS} partitions chosen by a hash
 * of their public key, so a history query for it names a crowd, not a person (as Status did). A
 * room's topic comes from its name, a group's from its id; both are hashed so the topic does not
 * reveal the name to a mailbox that does not know it.
 */
export const INBOX_PARTITIONS = 4096;

/** The partition of a public key's inbox. */
export function inboxPartition(publicKey: Uint8Array): number {
  const h = sha256(canonical("postbox/inbox-partition/1", publicKey));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0) % INBOX_PARTITIONS;
}

/** The inbox topic of a public key (33-byte compressed secp256k1). */
export function inboxTopic(publicKey: Uint8Array): string {
  return `/postbox/1/inbox-${inboxPartition(publicKey)}/proto`;
}

/** Normalises a room name: trimmed, lower-case, without a leading '#'. */
export function normaliseRoomName(name: string): string {
  return name.trim().replace(/^#/, "").toLowerCase();
}

/** The topic of a public room. */
export function roomTopic(name: string): string {
  const h = sha256(canonical("postbox/room-topic/1", normaliseRoomName(name)));
  return `/postbox/1/room-${toBareHex(h.subarray(0, 16))}/proto`;
}

/** The topic of a group, from its id (any string, typically random). */
export function groupTopic(groupId: string): string {
  const h = sha256(canonical("postbox/group-topic/1", groupId));
  return `/postbox/1/group-${toBareHex(h.subarray(0, 16))}/proto`;
}
