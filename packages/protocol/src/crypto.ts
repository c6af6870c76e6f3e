import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesEqual, canonical } from "./canonical.js";
import {
  type CertificateCache,
  certificateDigest,
  InvalidCertificateError,
  type WireCertificate,
} from "./certificate.js";
import { type DeviceSigner, ED25519_L, type Ed25519VerifierFactory, readUint256LE } from "./ed25519.js";
import { BaseError, DecryptionError } from "./errors.js";
import {
  bodyFields,
  bodyOf,
  CHAT_MESSAGE_VERSION,
  chatSigningBytesV2,
  InvalidMessageError,
  type MessageBody,
  messageIdOf,
} from "./message.js";
import { ChatMessage } from "./pb/messages.js";
import { secp } from "./secp.js";
import { groupTopic, inboxTopic, normaliseRoomName, roomTopic } from "./topics.js";

const NONCE_BYTES = 24;
const utf8 = (s: string) => new TextEncoder().encode(s);
const PUBLIC_KEY_BYTES = 33;
const NO_RECIPIENT = new Uint8Array(0);

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

/** A decrypted, signature-checked message (version 1 or 2). */
export interface OpenedMessage {
  version: 1 | 2;
  /** v2: SHA-256 of the signed bytes; v1: SHA-256 of the v1 preimage. Readers deduplicate by it. */
  messageId: Uint8Array;
  kind: MessageKind;
  /** Always `text` in version 1. */
  type: MessageBody["type"];
  /** The identity key (33-byte compressed secp256k1). */
  sender: Uint8Array;
  recipient: Uint8Array;
  conversation: string;
  timestamp: bigint;
  /** Empty unless `type` is `text`. */
  text: string;
  /** The acknowledged message ids of an `ack`; empty otherwise. */
  acks: Uint8Array[];
  /** v2: the Ed25519 device key that signed, and the digest of its certificate. */
  deviceKey: Uint8Array | undefined;
  certDigest: Uint8Array | undefined;
}

type ChatFieldsV1 = Pick<OpenedMessage, "sender" | "recipient" | "conversation" | "timestamp" | "text"> & {
  kind: number;
};

function signingPreimage(m: ChatFieldsV1, contentTopic: string): Uint8Array {
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

/** Where sealing gets its randomness (ECIES ephemeral keys, nonces). Only test vectors pass their own. */
export interface SealOptions {
  /** Returns `n` random bytes. The default is the platform's CSPRNG. */
  randomBytes?: ((n: number) => Uint8Array) | undefined;
}

/**
 * XChaCha20-Poly1305 decryption as a platform may supply it (e.g. OpenSSL ChaCha20-Poly1305 after
 * an HChaCha20 subkey): key, 24-byte nonce, ciphertext ‖ 16-byte tag → plaintext; throws when the
 * tag does not verify.
 */
export type XChaCha20Poly1305Open = (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array) => Uint8Array;

function seal(key: Uint8Array, plaintext: Uint8Array, o: SealOptions = {}): Uint8Array {
  const nonce = (o.randomBytes ?? secp.etc.randomBytes)(NONCE_BYTES);
  const ct = xchacha20poly1305(key, nonce).encrypt(plaintext);
  const out = new Uint8Array(NONCE_BYTES + ct.length);
  out.set(nonce);
  out.set(ct, NONCE_BYTES);
  return out;
}

function unseal(key: Uint8Array, sealed: Uint8Array, open?: XChaCha20Poly1305Open): Uint8Array {
  if (sealed.length < NONCE_BYTES + 16) throw new DecryptionError("ciphertext too short");
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const ct = sealed.subarray(NONCE_BYTES);
  try {
    return open ? open(key, nonce, ct) : xchacha20poly1305(key, nonce).decrypt(ct);
  } catch (cause) {
    throw new DecryptionError("authentication failed", cause);
  }
}

function signedPlaintext(
  identity: Identity,
  m: Omit<ChatFieldsV1, "sender">,
  contentTopic: string,
): Uint8Array {
  const full = { ...m, sender: identity.publicKey };
  const signature = secp.sign(sha256(signingPreimage(full, contentTopic)), identity.privateKey, {
    prehash: false,
  });
  return ChatMessage.encode({ ...full, signature } as ChatMessage);
}

function decodePlaintext(plaintext: Uint8Array): ChatMessage {
  try {
    return ChatMessage.decode(plaintext);
  } catch (cause) {
    throw new DecryptionError("malformed plaintext", cause);
  }
}

function openPlaintext(
  plaintext: Uint8Array,
  contentTopic: string,
  envelopeTimestamp: bigint,
  verify: SignatureVerifier = nobleVerifier,
): OpenedMessage {
  return openV1(decodePlaintext(plaintext), contentTopic, envelopeTimestamp, verify);
}

/** Version 1: fields 1–7, signed by the identity key (fields 8–11 are ignored, as v1 readers do). */
function openV1(
  m: ChatMessage,
  contentTopic: string,
  envelopeTimestamp: bigint,
  verify: SignatureVerifier,
): OpenedMessage {
  if (m.sender.length !== PUBLIC_KEY_BYTES) throw new DecryptionError("bad sender key");
  if (m.kind !== 1 && m.kind !== 2 && m.kind !== 3)
    throw new DecryptionError(`unknown message kind ${m.kind}`);
  if (m.timestamp !== envelopeTimestamp) throw new DecryptionError("message and envelope timestamps differ");
  const preimage = signingPreimage(m, contentTopic);
  let ok = false;
  try {
    ok = m.signature.length === 64 && verify(m.signature, preimage, m.sender);
  } catch {
    ok = false;
  }
  if (!ok) throw new DecryptionError("sender signature does not verify");
  return {
    version: 1,
    messageId: messageIdOf(preimage),
    kind: m.kind as MessageKind,
    type: "text",
    sender: m.sender,
    recipient: m.recipient,
    conversation: m.conversation,
    timestamp: m.timestamp,
    text: m.text,
    acks: [],
    deviceKey: undefined,
    certDigest: undefined,
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

/** ECIES to `recipient`: ephemeral key ‖ nonce ‖ AEAD ciphertext. */
function sealDirectPayload(recipient: Uint8Array, plaintext: Uint8Array, o: SealOptions = {}): Uint8Array {
  const ephemeral = o.randomBytes ? o.randomBytes(32) : secp.utils.randomSecretKey();
  const ephemeralPublicKey = secp.getPublicKey(ephemeral, true);
  const key = eciesKey(secp.getSharedSecret(ephemeral, recipient, true), ephemeralPublicKey, recipient);
  const sealed = seal(key, plaintext, o);
  const payload = new Uint8Array(PUBLIC_KEY_BYTES + sealed.length);
  payload.set(ephemeralPublicKey);
  payload.set(sealed, PUBLIC_KEY_BYTES);
  return payload;
}

function openDirectPayload(me: Identity, payload: Uint8Array, open?: XChaCha20Poly1305Open): Uint8Array {
  if (payload.length < PUBLIC_KEY_BYTES) throw new DecryptionError("payload too short");
  const ephemeralPublicKey = payload.subarray(0, PUBLIC_KEY_BYTES);
  let shared: Uint8Array;
  try {
    shared = secp.getSharedSecret(me.privateKey, ephemeralPublicKey, true);
  } catch (cause) {
    throw new DecryptionError("bad ephemeral key", cause);
  }
  const key = eciesKey(shared, ephemeralPublicKey, me.publicKey);
  return unseal(key, payload.subarray(PUBLIC_KEY_BYTES), open);
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
  return { contentTopic, payload: sealDirectPayload(recipient, plaintext) };
}

/** Opens a direct message addressed to `me`. Throws {@link DecryptionError} when it is not for me. */
export function decryptDirect(
  me: Identity,
  envelope: { contentTopic: string; timestamp: bigint; payload: Uint8Array },
  options: OpenOptions = {},
): OpenedMessage {
  const m = openPlaintext(
    openDirectPayload(me, envelope.payload),
    envelope.contentTopic,
    envelope.timestamp,
    options.verify,
  );
  checkV1Target(m, { kind: MessageKind.Direct, recipient: me.publicKey, conversation: "" });
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
  checkV1Target(m, { kind: MessageKind.Room, recipient: NO_RECIPIENT, conversation });
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
  checkV1Target(m, { kind: MessageKind.Group, recipient: NO_RECIPIENT, conversation: groupId });
  return m;
}

/** A fresh random 32-byte group key. */
export function createGroupKey(): Uint8Array {
  return secp.etc.randomBytes(32);
}

// ---------------------------------------------------------------- message format v2

/** Who sends a v2 message: the identity (its public key), its device key, and the certificate binding them. */
export interface DeviceSender {
  identity: Pick<Identity, "publicKey">;
  device: DeviceSigner;
  certificate: WireCertificate;
}

/** A sealed v2 message: put `payload` in an envelope on `contentTopic` with the same timestamp. */
export interface SealedMessage {
  contentTopic: string;
  payload: Uint8Array;
  messageId: Uint8Array;
}

async function signedPlaintextV2(
  sender: DeviceSender,
  m: { kind: MessageKind; recipient: Uint8Array; conversation: string; timestamp: bigint },
  body: MessageBody,
  contentTopic: string,
): Promise<{ plaintext: Uint8Array; messageId: Uint8Array }> {
  const { identity, device, certificate } = sender;
  if (!bytesEqual(device.publicKey, certificate.deviceKey)) {
    throw new InvalidMessageError("the device key is not the one its certificate names");
  }
  if (m.timestamp < certificate.notBefore || m.timestamp > certificate.notAfter) {
    throw new InvalidMessageError(
      `timestamp ${m.timestamp} is outside the certificate's validity (${certificate.notBefore}–${certificate.notAfter}): renew it`,
    );
  }
  const fields = {
    ...m,
    ...bodyFields(body),
    sender: identity.publicKey,
    certDigest: certificateDigest(identity.publicKey, certificate),
  };
  const signed = chatSigningBytesV2(fields, contentTopic);
  const signature = await device.sign(signed);
  if (signature.length !== 64) throw new InvalidMessageError("the device signature is not 64 bytes");
  const plaintext = ChatMessage.encode({
    kind: fields.kind,
    sender: fields.sender,
    recipient: fields.recipient,
    conversation: fields.conversation,
    timestamp: fields.timestamp,
    text: fields.text,
    signature,
    version: CHAT_MESSAGE_VERSION,
    certificate: {
      deviceKey: certificate.deviceKey,
      notBefore: certificate.notBefore,
      notAfter: certificate.notAfter,
      signature: certificate.signature,
    },
    type: fields.type,
    acks: fields.acks,
  });
  return { plaintext, messageId: messageIdOf(signed) };
}

/** Seals a v2 direct message to `recipient` (ECIES, on the recipient's inbox topic). */
export async function sealDirectV2(
  sender: DeviceSender,
  recipient: Uint8Array,
  body: MessageBody,
  timestamp: bigint,
  o: SealOptions = {},
): Promise<SealedMessage> {
  if (recipient.length !== PUBLIC_KEY_BYTES) throw new InvalidMessageError("a recipient key is 33 bytes");
  const contentTopic = inboxTopic(recipient);
  const { plaintext, messageId } = await signedPlaintextV2(
    sender,
    { kind: MessageKind.Direct, recipient, conversation: "", timestamp },
    body,
    contentTopic,
  );
  return { contentTopic, payload: sealDirectPayload(recipient, plaintext, o), messageId };
}

/** Seals a v2 message to a public room (by name). */
export async function sealRoomV2(
  sender: DeviceSender,
  room: string,
  body: MessageBody,
  timestamp: bigint,
  o: SealOptions = {},
): Promise<SealedMessage> {
  const conversation = normaliseRoomName(room);
  const contentTopic = roomTopic(conversation);
  const { plaintext, messageId } = await signedPlaintextV2(
    sender,
    { kind: MessageKind.Room, recipient: new Uint8Array(0), conversation, timestamp },
    body,
    contentTopic,
  );
  return { contentTopic, payload: seal(roomKey(conversation), plaintext, o), messageId };
}

/** Seals a v2 message to a group with its shared 32-byte key. */
export async function sealGroupV2(
  sender: DeviceSender,
  groupId: string,
  groupKey: Uint8Array,
  body: MessageBody,
  timestamp: bigint,
  o: SealOptions = {},
): Promise<SealedMessage> {
  if (groupKey.length !== 32) throw new RangeError("a group key is 32 bytes");
  const contentTopic = groupTopic(groupId);
  const { plaintext, messageId } = await signedPlaintextV2(
    sender,
    { kind: MessageKind.Group, recipient: new Uint8Array(0), conversation: groupId, timestamp },
    body,
    contentTopic,
  );
  return { contentTopic, payload: seal(groupKey, plaintext, o), messageId };
}

/** A feed whose envelopes are opened: the identity's inbox (`OpenContext.identity`), a room, a group. */
export type FeedKeys =
  | { kind: "inbox" }
  | { kind: "room"; room: string }
  | { kind: "group"; groupId: string; groupKey: Uint8Array };

export interface EnvelopeToOpen {
  contentTopic: string;
  timestamp: bigint;
  payload: Uint8Array;
}

/** The keys and backends {@link openEnvelope} opens with. */
export interface OpenContext {
  /** The reader: needed for an inbox. */
  identity?: Identity | undefined;
  /** Checked certificates (and each device's imported key). */
  certs: CertificateCache;
  /** secp256k1, low-s only: v1 signatures and certificates. */
  secp256k1: SignatureVerifier;
  /** Ed25519 for device signatures: `webCryptoEd25519()`, `nodeCryptoEd25519(crypto)` or `nobleEd25519`. */
  ed25519: Ed25519VerifierFactory;
  /** A faster XChaCha20-Poly1305 than the pure-JS default. */
  xchacha20poly1305Open?: XChaCha20Poly1305Open | undefined;
}

/** What an envelope of a feed must be: its topic, and the kind, recipient and conversation it carries. */
interface Target {
  topic: string;
  kind: MessageKind;
  recipient: Uint8Array;
  conversation: string;
}

const targets = new WeakMap<FeedKeys, Target>();

function targetOf(feed: FeedKeys, identity: Identity | undefined): Target {
  const known = targets.get(feed);
  if (known && (feed.kind !== "inbox" || (identity && bytesEqual(known.recipient, identity.publicKey))))
    return known;
  let t: Target;
  if (feed.kind === "inbox") {
    if (!identity)
      throw new BaseError("Cannot open an inbox.", { details: "OpenContext.identity is missing" });
    t = {
      topic: inboxTopic(identity.publicKey),
      kind: MessageKind.Direct,
      recipient: identity.publicKey,
      conversation: "",
    };
  } else if (feed.kind === "room") {
    const conversation = normaliseRoomName(feed.room);
    t = { topic: roomTopic(conversation), kind: MessageKind.Room, recipient: NO_RECIPIENT, conversation };
  } else {
    if (feed.groupKey.length !== 32) throw new RangeError("a group key is 32 bytes");
    t = {
      topic: groupTopic(feed.groupId),
      kind: MessageKind.Group,
      recipient: NO_RECIPIENT,
      conversation: feed.groupId,
    };
  }
  targets.set(feed, t);
  return t;
}

/** Version 1's addressing rules, unchanged (its conversation for rooms and groups, its recipient for direct). */
function checkV1Target(m: OpenedMessage, t: Omit<Target, "topic">): void {
  if (t.kind === MessageKind.Direct) {
    if (m.kind !== MessageKind.Direct || !bytesEqual(m.recipient, t.recipient))
      throw new DecryptionError("not a direct message to this identity");
  } else if (m.kind !== t.kind || m.conversation !== t.conversation) {
    throw new DecryptionError(
      t.kind === MessageKind.Room ? "not a message of this room" : "not a message of this group",
    );
  }
}

/**
 * Decrypts and verifies an envelope of `feed`, version 1 or 2 (docs/protocol.md, "Message format
 * v2", reader rules). Throws {@link DecryptionError} for anything that is not a valid message of
 * this feed (its `details` say which rule failed; an invalid certificate is its `cause`); other
 * errors mean the reader itself failed (e.g. a backend that cannot import a key).
 */
export async function openEnvelope(
  feed: FeedKeys,
  e: EnvelopeToOpen,
  ctx: OpenContext,
): Promise<OpenedMessage> {
  const target = targetOf(feed, ctx.identity);
  if (e.contentTopic !== target.topic) throw new DecryptionError("envelope is on another topic");
  const plaintext =
    feed.kind === "inbox"
      ? openDirectPayload(ctx.identity!, e.payload, ctx.xchacha20poly1305Open)
      : unseal(
          feed.kind === "room" ? roomKey(target.conversation) : feed.groupKey,
          e.payload,
          ctx.xchacha20poly1305Open,
        );
  const m = decodePlaintext(plaintext);
  if (m.version === 0) {
    const opened = openV1(m, e.contentTopic, e.timestamp, ctx.secp256k1);
    checkV1Target(opened, target);
    return opened;
  }
  if (m.version !== CHAT_MESSAGE_VERSION) throw new DecryptionError(`unknown message version ${m.version}`);
  return openV2(m, plaintext, e, target, ctx);
}

async function openV2(
  m: ChatMessage,
  plaintext: Uint8Array,
  e: EnvelopeToOpen,
  target: Target,
  ctx: OpenContext,
): Promise<OpenedMessage> {
  // One encoding per message: no reordered, repeated or unknown fields, and valid UTF-8.
  if (!bytesEqual(ChatMessage.encode(m), plaintext)) throw new DecryptionError("not the canonical encoding");
  const body = bodyOf(m.type, m.text, m.acks);
  if (typeof body === "string") throw new DecryptionError(body);
  if (m.kind !== target.kind)
    throw new DecryptionError(`a message of kind ${m.kind} on a feed of kind ${target.kind}`);
  if (!bytesEqual(m.recipient, target.recipient)) throw new DecryptionError("addressed to another recipient");
  if (m.conversation !== target.conversation) throw new DecryptionError("of another conversation");
  if (m.timestamp !== e.timestamp) throw new DecryptionError("message and envelope timestamps differ");
  let cert: ReturnType<CertificateCache["check"]>;
  try {
    cert = ctx.certs.check(m.sender, m.certificate, ctx.secp256k1);
  } catch (err) {
    if (err instanceof InvalidCertificateError) throw new DecryptionError(`certificate: ${err.reason}`, err);
    throw err;
  }
  if (m.timestamp < cert.notBefore || m.timestamp > cert.notAfter) {
    throw new DecryptionError("timestamp outside the certificate's validity");
  }
  if (m.signature.length !== 64) throw new DecryptionError("device signature length");
  if (readUint256LE(m.signature.subarray(32)) >= ED25519_L)
    throw new DecryptionError("device signature S ≥ L");
  const signed = chatSigningBytesV2(
    {
      kind: m.kind,
      type: m.type,
      sender: m.sender,
      certDigest: cert.digest,
      recipient: m.recipient,
      conversation: m.conversation,
      timestamp: m.timestamp,
      text: m.text,
      acks: m.acks,
    },
    e.contentTopic,
  );
  const verify = await ctx.certs.verifier(cert.deviceKey, ctx.ed25519);
  let ok = false;
  try {
    ok = await verify(signed, m.signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new DecryptionError("device signature does not verify");
  return {
    version: 2,
    messageId: messageIdOf(signed),
    kind: m.kind as MessageKind,
    type: body.type,
    sender: m.sender,
    recipient: m.recipient,
    conversation: m.conversation,
    timestamp: m.timestamp,
    text: m.text,
    acks: m.acks,
    deviceKey: cert.deviceKey,
    certDigest: cert.digest,
  };
}

// The "@postbox/protocol/crypto" entry opens and seals both versions without the package's index
// (which also loads viem): a worker needs only this module.
export {
  type CachedCertificate,
  CertificateCache,
  type CertificateCacheOptions,
  type CheckedCertificate,
  certificateBody,
  certificateCacheKey,
  certificateDigest,
  InvalidCertificateError,
  signDeviceCertificate,
  type WireCertificate,
} from "./certificate.js";
export {
  type DeviceKey,
  type DeviceSigner,
  type Ed25519Verifier,
  type Ed25519VerifierFactory,
  generateDeviceKey,
  loadDeviceKey,
  nobleEd25519,
  nodeCryptoEd25519,
  type StoredDeviceKey,
  webCryptoEd25519,
} from "./ed25519.js";
export { InvalidMessageError, type MessageBody, MessageType, messageIdOf } from "./message.js";
