import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import * as secp from "@noble/secp256k1";
import { bytesEqual, canonical } from "./canonical.js";
import { DecryptionError } from "./errors.js";
import { ChatMessage } from "./pb/messages.js";
import { groupTopic, inboxTopic, normaliseRoomName, roomTopic } from "./topics.js";

// Synchronous signing needs these (noble-secp256k1 v3 leaves the choice of hash to the caller).
secp.hashes.sha256 = sha256;
secp.hashes.hmacSha256 = (key, msg) => hmac(sha256, key, msg);

const NONCE_BYTES = 24;
const utf8 = (s: string) => new TextEncoder().encode(s);
const PUBLIC_KEY_BYTES = 33;

/** A chat identity: a secp256k1 key pair (public key compressed, 33 bytes). */
export interface Identity {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

export function createIdentity(privateKey: Uint8Array = secp.utils.randomSecretKey()): Identity {
  return { privateKey, publicKey: secp.getPublicKey(privateKey, true) };
}

export const MessageKind = { Direct: 1, Room: 2, Group: 3 } as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/**
 * Checks a 64-byte compact ECDSA signature over SHA-256(`message`) with a 33-byte compressed
 * secp256k1 key. The default is noble's (pure JS, everywhere); a Node app may pass a native one
 * (OpenSSL), which must also refuse high-s signatures.
 */
export type SignatureVerifier = (
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
) => boolean;

/** noble-secp256k1: low-s only, as signed here. */
export const nobleVerifier: SignatureVerifier = (signature, message, publicKey) =>
  secp.verify(signature, sha256(message), publicKey, { prehash: false });

export interface OpenOptions {
  verify?: SignatureVerifier;
}

/** A decrypted, signature-checked message. */
export interface OpenedMessage {
  kind: MessageKind;
  sender: Uint8Array;
  recipient: Uint8Array;
  conversation: string;
  timestamp: bigint;
  text: string;
}

function signingPreimage(
  m: Omit<OpenedMessage, "kind"> & { kind: number },
  contentTopic: string,
): Uint8Array {
  return canonical(
    "postbox/chat/1",
    m.kind,
    m.sender,
    m.recipient,
    m.conversation,
    contentTopic,
    m.timestamp,
    m.text,
  );
}

function seal(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const nonce = secp.etc.randomBytes(NONCE_BYTES);
  const ct = xchacha20poly1305(key, nonce).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + ct.length);
  out.set(nonce);
  out.set(ct, NONCE_BYTES);
  return out;
}

function unseal(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < NONCE_BYTES + 16) throw new DecryptionError("ciphertext too short");
  try {
    return xchacha20poly1305(key, sealed.subarray(0, NONCE_BYTES)).decrypt(sealed.subarray(NONCE_BYTES));
  } catch (cause) {
    throw new DecryptionError("authentication failed", cause);
  }
}

function signedPlaintext(
  identity: Identity,
  m: Omit<OpenedMessage, "sender">,
  contentTopic: string,
): Uint8Array {
  const full = { ...m, sender: identity.publicKey };
  const signature = secp.sign(sha256(signingPreimage(full, contentTopic)), identity.privateKey, {
    prehash: false,
  });
  return ChatMessage.encode({ ...full, signature } as ChatMessage);
}

function openPlaintext(
  plaintext: Uint8Array,
  contentTopic: string,
  envelopeTimestamp: bigint,
  verify: SignatureVerifier = nobleVerifier,
): OpenedMessage {
  let m: ChatMessage;
  try {
    m = ChatMessage.decode(plaintext);
  } catch (cause) {
    throw new DecryptionError("malformed plaintext", cause);
  }
  if (m.sender.length !== PUBLIC_KEY_BYTES) throw new DecryptionError("bad sender key");
  if (m.kind !== 1 && m.kind !== 2 && m.kind !== 3)
    throw new DecryptionError(`unknown message kind ${m.kind}`);
  if (m.timestamp !== envelopeTimestamp) throw new DecryptionError("message and envelope timestamps differ");
  let ok = false;
  try {
    ok = m.signature.length === 64 && verify(m.signature, signingPreimage(m, contentTopic), m.sender);
  } catch {
    ok = false;
  }
  if (!ok) throw new DecryptionError("sender signature does not verify");
  return {
    kind: m.kind as MessageKind,
    sender: m.sender,
    recipient: m.recipient,
    conversation: m.conversation,
    timestamp: m.timestamp,
    text: m.text,
  };
}

// ---------------------------------------------------------------- 1:1 (ECIES)

function eciesKey(shared: Uint8Array, ephemeralPublicKey: Uint8Array, recipient: Uint8Array): Uint8Array {
  // The x coordinate of the shared point, bound to both public keys.
  return hkdf(
    sha256,
    shared.subarray(1),
    canonical(ephemeralPublicKey, recipient),
    utf8("postbox/ecies/1"),
    32,
  );
}

/** Encrypts a direct message to `recipient`: the payload is ephemeral key ‖ nonce ‖ AEAD ciphertext. */
export function encryptDirect(
  sender: Identity,
  recipient: Uint8Array,
  text: string,
  timestamp: bigint,
): { contentTopic: string; payload: Uint8Array } {
  const contentTopic = inboxTopic(recipient);
  const plaintext = signedPlaintext(
    sender,
    { kind: MessageKind.Direct, recipient, conversation: "", timestamp, text },
    contentTopic,
  );
  const ephemeral = secp.utils.randomSecretKey();
  const ephemeralPublicKey = secp.getPublicKey(ephemeral, true);
  const key = eciesKey(secp.getSharedSecret(ephemeral, recipient, true), ephemeralPublicKey, recipient);
  const sealed = seal(key, plaintext);
  const payload = new Uint8Array(PUBLIC_KEY_BYTES + sealed.length);
  payload.set(ephemeralPublicKey);
  payload.set(sealed, PUBLIC_KEY_BYTES);
  return { contentTopic, payload };
}

/** Opens a direct message addressed to `me`. Throws {@link DecryptionError} when it is not for me. */
export function decryptDirect(
  me: Identity,
  envelope: { contentTopic: string; timestamp: bigint; payload: Uint8Array },
  options: OpenOptions = {},
): OpenedMessage {
  if (envelope.payload.length < PUBLIC_KEY_BYTES) throw new DecryptionError("payload too short");
  const ephemeralPublicKey = envelope.payload.subarray(0, PUBLIC_KEY_BYTES);
  let shared: Uint8Array;
  try {
    shared = secp.getSharedSecret(me.privateKey, ephemeralPublicKey, true);
  } catch (cause) {
    throw new DecryptionError("bad ephemeral key", cause);
  }
  const key = eciesKey(shared, ephemeralPublicKey, me.publicKey);
  const m = openPlaintext(
    unseal(key, envelope.payload.subarray(PUBLIC_KEY_BYTES)),
    envelope.contentTopic,
    envelope.timestamp,
    options.verify,
  );
  if (m.kind !== MessageKind.Direct || !bytesEqual(m.recipient, me.publicKey)) {
    throw new DecryptionError("not a direct message to this identity");
  }
  return m;
}

// ---------------------------------------------------------------- rooms and groups (shared key)

/** The symmetric key of a public room: derived from its (normalised) name. */
export function roomKey(name: string): Uint8Array {
  const normalised = normaliseRoomName(name);
  let key = roomKeys.get(normalised);
  if (!key) {
    key = hkdf(sha256, utf8(normalised), undefined, utf8("postbox/room-key/1"), 32);
    if (roomKeys.size >= 256) roomKeys.delete(roomKeys.keys().next().value!);
    roomKeys.set(normalised, key);
  }
  return key.slice();
}

/** Derived room keys, by normalised name: catching up a room opens thousands of its messages. */
const roomKeys = new Map<string, Uint8Array>();

/** Encrypts a message to a public room. */
export function encryptRoom(sender: Identity, room: string, text: string, timestamp: bigint) {
  const conversation = normaliseRoomName(room);
  const contentTopic = roomTopic(conversation);
  const plaintext = signedPlaintext(
    sender,
    { kind: MessageKind.Room, recipient: new Uint8Array(0), conversation, timestamp, text },
    contentTopic,
  );
  return { contentTopic, payload: seal(roomKey(conversation), plaintext) };
}

export function decryptRoom(
  room: string,
  envelope: { contentTopic: string; timestamp: bigint; payload: Uint8Array },
  options: OpenOptions = {},
) {
  const conversation = normaliseRoomName(room);
  const m = openPlaintext(
    unseal(roomKey(conversation), envelope.payload),
    envelope.contentTopic,
    envelope.timestamp,
    options.verify,
  );
  if (m.kind !== MessageKind.Room || m.conversation !== conversation)
    throw new DecryptionError("not a message of this room");
  return m;
}

/** Encrypts a message to a group with its shared 32-byte key. */
export function encryptGroup(
  sender: Identity,
  groupId: string,
  groupKey: Uint8Array,
  text: string,
  timestamp: bigint,
) {
  if (groupKey.length !== 32) throw new RangeError("a group key is 32 bytes");
  const contentTopic = groupTopic(groupId);
  const plaintext = signedPlaintext(
    sender,
    { kind: MessageKind.Group, recipient: new Uint8Array(0), conversation: groupId, timestamp, text },
    contentTopic,
  );
  return { contentTopic, payload: seal(groupKey, plaintext) };
}

export function decryptGroup(
  groupId: string,
  groupKey: Uint8Array,
  envelope: { contentTopic: string; timestamp: bigint; payload: Uint8Array },
  options: OpenOptions = {},
) {
  const m = openPlaintext(
    unseal(groupKey, envelope.payload),
    envelope.contentTopic,
    envelope.timestamp,
    options.verify,
  );
  if (m.kind !== MessageKind.Group || m.conversation !== groupId)
    throw new DecryptionError("not a message of this group");
  return m;
}

/** A fresh random 32-byte group key. */
export function createGroupKey(): Uint8Array {
  return secp.etc.randomBytes(32);
}
