import * as nodeCrypto from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { fromBareHex, toBareHex } from "./canonical.js";
import {
  certificateBody,
  certificateDigest,
  signDeviceCertificate,
  type WireCertificate,
} from "./certificate.js";
import {
  createIdentity,
  type DeviceSender,
  type Identity,
  MessageKind,
  nobleVerifier,
  type SignatureVerifier,
  sealDirectV2,
  sealGroupV2,
  sealRoomV2,
} from "./crypto.js";
import { deviceKeyFromSeed, nobleEd25519, nodeCryptoEd25519, webCryptoEd25519 } from "./ed25519.js";
import { envelopeId } from "./envelope.js";
import type { MessageBody } from "./message.js";
import { ChatMessage, DeviceCertificate } from "./pb/messages.js";
import { secp } from "./secp.js";
import { groupTopic, inboxTopic, roomTopic } from "./topics.js";
import {
  runVectorRows,
  type V2VectorFile,
  type VectorExpectation,
  type VectorFeed,
  type VectorRow,
} from "./vectors/check.js";

/**
 * Test vectors of message format v2 (docs/protocol.md, "Test vectors"). The builder below makes
 * every vector from fixed keys and fixed randomness, with its own encodings where it can (the
 * canonical bytes, ECIES, the room key, the AEAD), and the tests require the file to equal what
 * it builds, byte for byte. `POSTBOX_WRITE_VECTORS=1 vitest run packages/protocol/src/v2-vectors.test.ts`
 * rewrites the file after an intended change (then `biome format --write` it). Every row is opened with three Ed25519
 * backends (OpenSSL through node:crypto, WebCrypto, noble) and two secp256k1 ones (OpenSSL, noble),
 * which must all give the expected answer; test/browser/protocol-v2.test.ts does the same in
 * Chromium.
 */

const VECTORS_PATH = new URL("./vectors/v2.json", import.meta.url);

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const DAY = 86_400_000n;
const T = 1_767_225_600_000n; // 2026-01-01T00:00:00Z
const NOT_BEFORE = T - 600_000n;
const NOT_AFTER = NOT_BEFORE + 90n * DAY;
/** A point of order 8 (canonical encoding). */
const ORDER_8 = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";

const inputs = {
  identityPrivateKey: "11".repeat(32),
  recipientPrivateKey: "22".repeat(32),
  otherIdentityPrivateKey: "33".repeat(32),
  deviceSeed: "44".repeat(32),
  otherDeviceSeed: "45".repeat(32),
  ephemeralKey: "55".repeat(32),
  nonce: "66".repeat(24),
  groupKey: "77".repeat(32),
  room: "#Lobby",
  groupId: "g-vectors",
  timestamp: T.toString(),
  notBefore: NOT_BEFORE.toString(),
  notAfter: NOT_AFTER.toString(),
};

// ---------------------------------------------------------------- independent encodings

const utf8 = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

/** canonical(): 4-byte big-endian length, then the bytes; integers as 8-byte big-endian. */
function canon(...fields: (Uint8Array | string | bigint | number)[]): Uint8Array {
  return concat(
    ...fields.flatMap((f) => {
      let b: Uint8Array;
      if (f instanceof Uint8Array) b = f;
      else if (typeof f === "string") b = utf8(f);
      else {
        b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, BigInt(f));
      }
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, b.length);
      return [len, b];
    }),
  );
}

const le32 = (v: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
};
const readLE = (b: Uint8Array) => b.reduceRight((v, byte) => (v << 8n) | BigInt(byte), 0n);
const readBE = (b: Uint8Array) => b.reduce((v, byte) => (v << 8n) | BigInt(byte), 0n);
const be32 = (v: bigint) => fromBareHex(v.toString(16).padStart(64, "0"));

const alice = createIdentity(fromBareHex(inputs.identityPrivateKey));
const bob = createIdentity(fromBareHex(inputs.recipientPrivateKey));
const eve = createIdentity(fromBareHex(inputs.otherIdentityPrivateKey));
const deviceSeed = fromBareHex(inputs.deviceSeed);
const devicePublicKey = ed25519.getPublicKey(deviceSeed);
const groupKey = fromBareHex(inputs.groupKey);
const nonce = fromBareHex(inputs.nonce);
const ephemeralKey = fromBareHex(inputs.ephemeralKey);

function signCertificate(
  identity: Identity,
  fields: { deviceKey: Uint8Array; notBefore: bigint; notAfter: bigint },
): WireCertificate {
  const digest = sha256(
    canon("postbox/device-cert/1", identity.publicKey, fields.deviceKey, fields.notBefore, fields.notAfter),
  );
  return { ...fields, signature: secp.sign(digest, identity.privateKey, { prehash: false }) };
}

const certificate = signCertificate(alice, {
  deviceKey: devicePublicKey,
  notBefore: NOT_BEFORE,
  notAfter: NOT_AFTER,
});

/** The v2 signed bytes, spelled out. */
function signedBytes(m: ChatMessage, topic: string): Uint8Array {
  const c = m.certificate!;
  const certDigest = sha256(canon("postbox/device-cert/1", m.sender, c.deviceKey, c.notBefore, c.notAfter));
  return canon(
    "postbox/chat/2",
    m.kind,
    m.type,
    m.sender,
    certDigest,
    m.recipient,
    m.conversation,
    topic,
    m.timestamp,
    m.text,
    m.acks.length,
    ...m.acks,
  );
}

function roomKeyOf(name: string): Uint8Array {
  return hkdf(sha256, utf8(name), undefined, utf8("postbox/room-key/1"), 32);
}

function aead(key: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return concat(nonce, xchacha20poly1305(key, nonce).encrypt(plaintext));
}

function ecies(recipient: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const ephemeralPublic = secp.getPublicKey(ephemeralKey, true);
  const shared = secp.getSharedSecret(ephemeralKey, recipient, true).subarray(1);
  const key = hkdf(sha256, shared, canon(ephemeralPublic, recipient), utf8("postbox/ecies/1"), 32);
  return concat(ephemeralPublic, aead(key, plaintext));
}

type Feed = "room" | "group" | "inbox";
const FEEDS: Record<
  Feed,
  { feed: VectorFeed; topic: string; kind: number; recipient: Uint8Array; conversation: string }
> = {
  room: {
    feed: { kind: "room", room: "lobby" },
    topic: roomTopic("lobby"),
    kind: 2,
    recipient: new Uint8Array(0),
    conversation: "lobby",
  },
  group: {
    feed: { kind: "group", groupId: inputs.groupId, groupKey: inputs.groupKey },
    topic: groupTopic(inputs.groupId),
    kind: 3,
    recipient: new Uint8Array(0),
    conversation: inputs.groupId,
  },
  inbox: {
    feed: { kind: "inbox" },
    topic: inboxTopic(bob.publicKey),
    kind: 1,
    recipient: bob.publicKey,
    conversation: "",
  },
};

function sealFor(feed: Feed, plaintext: Uint8Array): Uint8Array {
  if (feed === "room") return aead(roomKeyOf("lobby"), plaintext);
  if (feed === "group") return aead(groupKey, plaintext);
  return ecies(bob.publicKey, plaintext);
}

function baseMessage(feed: Feed, body: { type: number; text: string; acks: Uint8Array[] }): ChatMessage {
  const f = FEEDS[feed];
  return {
    kind: f.kind,
    sender: alice.publicKey,
    recipient: f.recipient,
    conversation: f.conversation,
    timestamp: T,
    ...body,
    signature: new Uint8Array(0),
    version: 2,
    certificate,
  };
}

const TEXT = { type: 1, text: "hello, v2 ✓", acks: [] as Uint8Array[] };

interface RowSpec {
  name: string;
  feed?: Feed;
  body?: { type: number; text: string; acks: Uint8Array[] };
  /** Changes before signing (the signature covers them). */
  before?: (m: ChatMessage) => void;
  /** The topic the sender signs (default: the feed's). */
  signTopic?: string;
  /** The device key that signs (default: the certified one). */
  seed?: Uint8Array;
  /** Replaces the signature. */
  signature?: (sig: Uint8Array, signed: Uint8Array) => Uint8Array;
  /** Changes after signing (tampering). */
  after?: (m: ChatMessage) => void;
  /** Replaces the encoded plaintext. */
  encode?: (plaintext: Uint8Array) => Uint8Array;
  envelopeTopic?: string;
  envelopeTimestamp?: bigint;
  /** Changes the sealed payload. */
  payload?: (p: Uint8Array) => Uint8Array;
  reject?: string;
}

function buildRow(s: RowSpec): VectorRow {
  const feed = s.feed ?? "room";
  const m = baseMessage(feed, s.body ?? TEXT);
  s.before?.(m);
  const signed = signedBytes(m, s.signTopic ?? FEEDS[feed].topic);
  const sig = ed25519.sign(signed, s.seed ?? deviceSeed);
  m.signature = s.signature ? s.signature(sig, signed) : sig;
  s.after?.(m);
  const encoded = ChatMessage.encode(m);
  const plaintext = s.encode ? s.encode(encoded) : encoded;
  const sealed = sealFor(feed, plaintext);
  const expect: VectorExpectation =
    s.reject === undefined
      ? {
          accept: true,
          version: 2,
          type: ["text", "ack", "join"][m.type - 1]!,
          messageId: toBareHex(sha256(signed)),
          text: m.text,
          acks: m.acks.map(toBareHex),
        }
      : { accept: false, reason: s.reject };
  return {
    name: s.name,
    feed: FEEDS[feed].feed,
    envelope: {
      contentTopic: s.envelopeTopic ?? FEEDS[feed].topic,
      timestamp: (s.envelopeTimestamp ?? m.timestamp).toString(),
      payload: toBareHex(s.payload ? s.payload(sealed) : sealed),
    },
    plaintext: toBareHex(plaintext),
    expect,
  };
}

/** A version-1 message, built by hand: secp256k1 over SHA-256 of the v1 preimage. */
function v1Row(
  name: string,
  feed: "room" | "inbox",
  o: { tamper?: boolean; highS?: boolean } = {},
): VectorRow {
  const f = FEEDS[feed];
  const text = "hello, v1";
  const preimage = canon(
    "postbox/chat/1",
    f.kind,
    alice.publicKey,
    f.recipient,
    f.conversation,
    f.topic,
    T,
    text,
  );
  let signature = secp.sign(sha256(preimage), alice.privateKey, { prehash: false });
  if (o.highS) signature = concat(signature.subarray(0, 32), be32(N - readBE(signature.subarray(32))));
  const plaintext = ChatMessage.encode({
    kind: f.kind,
    sender: alice.publicKey,
    recipient: f.recipient,
    conversation: f.conversation,
    timestamp: T,
    text: o.tamper ? "hello, v1!" : text,
    signature,
  });
  const sealed = sealFor(feed, plaintext);
  return {
    name,
    feed: f.feed,
    envelope: { contentTopic: f.topic, timestamp: T.toString(), payload: toBareHex(sealed) },
    plaintext: toBareHex(plaintext),
    expect:
      o.tamper || o.highS
        ? { accept: false, reason: "sender signature does not verify" }
        : { accept: true, version: 1, type: "text", messageId: toBareHex(sha256(preimage)), text, acks: [] },
  };
}

const certWith = (
  identity: Identity,
  fields: Partial<{ deviceKey: Uint8Array; notBefore: bigint; notAfter: bigint }>,
) =>
  signCertificate(identity, {
    deviceKey: devicePublicKey,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    ...fields,
  });

/** A signature whose R has a small-order component: valid under noble's cofactored equation only. */
function torsionSignature(_sig: Uint8Array, signed: Uint8Array): Uint8Array {
  const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(deviceSeed);
  const r = readLE(sha512(utf8("postbox vectors: r"))) % L;
  const R = ed25519.ExtendedPoint.BASE.multiply(r).add(ed25519.ExtendedPoint.fromHex(ORDER_8)).toRawBytes();
  const k = readLE(sha512(concat(R, pointBytes, signed))) % L;
  return concat(R, le32((r + k * scalar) % L));
}

/** The first x (from 1) that is not the x coordinate of a secp256k1 point. */
function notOnCurve(): Uint8Array {
  for (let x = 1n; ; x++) {
    const key = concat(new Uint8Array([2]), be32(x));
    try {
      secp.Point.fromBytes(key);
    } catch {
      return key;
    }
  }
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => sha256(utf8(`message ${i}`)));
const flip = (b: Uint8Array, at: number) => {
  const out = b.slice();
  out[at < 0 ? out.length + at : at]! ^= 1;
  return out;
};
const ACK = { type: 2, text: "", acks: ids(2) };
const JOIN = { type: 3, text: "", acks: [] as Uint8Array[] };

function rows(): VectorRow[] {
  const mixedOrder = ed25519.ExtendedPoint.fromHex(devicePublicKey)
    .add(ed25519.ExtendedPoint.fromHex(ORDER_8))
    .toRawBytes();
  const otherDevice = ed25519.getPublicKey(fromBareHex(inputs.otherDeviceSeed));
  const smallOrder: [string, string][] = [
    ["identity point", `01${"00".repeat(31)}`],
    ["order 2", `ec${"ff".repeat(30)}7f`],
    ["order 4", "00".repeat(32)],
    ["order 8", ORDER_8],
  ];
  const specs: RowSpec[] = [
    // Accepted.
    { name: "room text" },
    { name: "direct text", feed: "inbox" },
    { name: "group join", feed: "group", body: JOIN },
    { name: "group ack", feed: "group", body: ACK },
    { name: "empty text", body: { type: 1, text: "", acks: [] } },
    { name: "ack of 100 ids", feed: "group", body: { type: 2, text: "", acks: ids(100) } },
    {
      name: "timestamp = notBefore",
      before: (m) => {
        m.timestamp = NOT_BEFORE;
      },
    },
    {
      name: "timestamp = notAfter",
      before: (m) => {
        m.timestamp = NOT_AFTER;
      },
    },
    {
      name: "validity of exactly 400 days",
      before: (m) => {
        m.certificate = certWith(alice, { notAfter: NOT_BEFORE + 400n * DAY });
      },
    },
    // The envelope and the wrapping.
    { name: "payload tampered", payload: (p) => flip(p, -1), reject: "authentication failed" },
    {
      name: "envelope on another topic",
      envelopeTopic: roomTopic("other"),
      reject: "envelope is on another topic",
    },
    {
      name: "signed for another topic",
      signTopic: roomTopic("other"),
      reject: "device signature does not verify",
    },
    {
      name: "not protobuf",
      encode: (p) => p.subarray(0, p.length - 1),
      reject: "malformed plaintext",
    },
    // Version and type.
    {
      name: "version 3",
      after: (m) => {
        m.version = 3;
      },
      reject: "unknown message version 3",
    },
    {
      name: "version 1 spelled out",
      after: (m) => {
        m.version = 1;
      },
      reject: "unknown message version 1",
    },
    {
      name: "version absent (read as v1)",
      after: (m) => {
        m.version = 0;
      },
      reject: "sender signature does not verify",
    },
    {
      name: "type 0",
      before: (m) => {
        m.type = 0;
      },
      reject: "unknown message type 0",
    },
    {
      name: "type 4",
      before: (m) => {
        m.type = 4;
      },
      reject: "unknown message type 4",
    },
    {
      name: "join relabelled as an empty text",
      feed: "group",
      body: JOIN,
      after: (m) => {
        m.type = 1;
      },
      reject: "device signature does not verify",
    },
    {
      name: "text with acks",
      before: (m) => {
        m.acks = ids(1);
      },
      reject: "a text message carries acks",
    },
    { name: "ack with a text", feed: "group", body: { ...ACK, text: "x" }, reject: "an ack carries a text" },
    {
      name: "ack of no ids",
      feed: "group",
      body: { ...ACK, acks: [] },
      reject: "an ack carries 1–100 message ids",
    },
    {
      name: "ack of 101 ids",
      feed: "group",
      body: { ...ACK, acks: ids(101) },
      reject: "an ack carries 1–100 message ids",
    },
    {
      name: "ack of a 31-byte id",
      feed: "group",
      body: { ...ACK, acks: [ids(1)[0]!.subarray(1)] },
      reject: "a message id is 32 bytes",
    },
    {
      name: "join with a text",
      feed: "group",
      body: { ...JOIN, text: "hi" },
      reject: "a join carries a text or acks",
    },
    // Every signed field, tampered after signing.
    {
      name: "kind changed",
      after: (m) => {
        m.kind = 3;
      },
      reject: "a message of kind 3 on a feed of kind 2",
    },
    {
      name: "recipient added",
      after: (m) => {
        m.recipient = bob.publicKey;
      },
      reject: "addressed to another recipient",
    },
    {
      name: "direct recipient changed",
      feed: "inbox",
      after: (m) => {
        m.recipient = eve.publicKey;
      },
      reject: "addressed to another recipient",
    },
    {
      name: "conversation changed",
      after: (m) => {
        m.conversation = "lobby2";
      },
      reject: "of another conversation",
    },
    {
      name: "timestamp differs from the envelope's",
      envelopeTimestamp: T + 1n,
      reject: "message and envelope timestamps differ",
    },
    {
      name: "timestamp moved with the envelope",
      after: (m) => {
        m.timestamp = T + 1n;
      },
      reject: "device signature does not verify",
    },
    {
      name: "text changed",
      after: (m) => {
        m.text = "hello, v2 ✗";
      },
      reject: "device signature does not verify",
    },
    {
      name: "ack id changed",
      feed: "group",
      body: ACK,
      after: (m) => {
        m.acks = [flip(m.acks[0]!, 0), m.acks[1]!];
      },
      reject: "device signature does not verify",
    },
    {
      name: "ack id dropped",
      feed: "group",
      body: ACK,
      after: (m) => {
        m.acks = m.acks.slice(1);
      },
      reject: "device signature does not verify",
    },
    {
      name: "re-attributed to another identity that certified the same device key",
      after: (m) => {
        m.sender = eve.publicKey;
        m.certificate = certWith(eve, {});
      },
      reject: "device signature does not verify",
    },
    {
      name: "sender changed",
      after: (m) => {
        m.sender = eve.publicKey;
      },
      reject: "certificate: signature",
    },
    {
      name: "certificate swapped for a renewal of the same device",
      after: (m) => {
        m.certificate = certWith(alice, { notAfter: NOT_AFTER + DAY });
      },
      reject: "device signature does not verify",
    },
    {
      name: "signature bit flipped",
      after: (m) => {
        m.signature = flip(m.signature, 0);
      },
      reject: "device signature does not verify",
    },
    {
      name: "signature of 63 bytes",
      after: (m) => {
        m.signature = m.signature.subarray(0, 63);
      },
      reject: "device signature length",
    },
    {
      name: "S + L",
      signature: (sig) => concat(sig.subarray(0, 32), le32(readLE(sig.subarray(32)) + L)),
      reject: "device signature S ≥ L",
    },
    {
      name: "R with a small-order component",
      signature: torsionSignature,
      reject: "device signature does not verify",
    },
    {
      name: "signed by an uncertified device key",
      seed: fromBareHex(inputs.otherDeviceSeed),
      reject: "device signature does not verify",
    },
    // The certificate.
    { name: "certificate missing", after: (m) => void delete m.certificate, reject: "certificate: missing" },
    {
      name: "certificate device key changed",
      after: (m) => {
        m.certificate = { ...m.certificate!, deviceKey: otherDevice };
      },
      reject: "certificate: signature",
    },
    {
      name: "certificate notBefore changed",
      after: (m) => {
        m.certificate = { ...m.certificate!, notBefore: NOT_BEFORE - 1n };
      },
      reject: "certificate: signature",
    },
    {
      name: "certificate notAfter changed",
      after: (m) => {
        m.certificate = { ...m.certificate!, notAfter: NOT_AFTER + 1n };
      },
      reject: "certificate: signature",
    },
    {
      name: "certificate signature bit flipped",
      after: (m) => {
        m.certificate = { ...m.certificate!, signature: flip(m.certificate!.signature, 5) };
      },
      reject: "certificate: signature",
    },
    {
      name: "certificate signature high-s",
      after: (m) => {
        const sig = m.certificate!.signature;
        m.certificate = {
          ...m.certificate!,
          signature: concat(sig.subarray(0, 32), be32(N - readBE(sig.subarray(32)))),
        };
      },
      reject: "certificate: high-s signature",
    },
    {
      name: "certificate signature r = 0",
      after: (m) => {
        m.certificate = {
          ...m.certificate!,
          signature: concat(new Uint8Array(32), m.certificate!.signature.subarray(32)),
        };
      },
      reject: "certificate: signature range",
    },
    {
      name: "certificate signature of 63 bytes",
      after: (m) => {
        m.certificate = { ...m.certificate!, signature: m.certificate!.signature.subarray(1) };
      },
      reject: "certificate: signature length",
    },
    {
      name: "identity key not on the curve",
      after: (m) => {
        m.sender = notOnCurve();
      },
      reject: "certificate: identity key",
    },
    ...smallOrder.map(
      ([what, key]): RowSpec => ({
        name: `device key of small order (${what})`,
        before: (m) => {
          m.certificate = certWith(alice, { deviceKey: fromBareHex(key) });
        },
        reject: "certificate: small-order device key",
      }),
    ),
    {
      name: "device key of mixed order",
      before: (m) => {
        m.certificate = certWith(alice, { deviceKey: mixedOrder });
      },
      reject: "certificate: mixed-order device key",
    },
    {
      name: "device key encoded with y ≥ p",
      before: (m) => {
        m.certificate = certWith(alice, { deviceKey: fromBareHex(`ee${"ff".repeat(30)}7f`) });
      },
      reject: "certificate: device key encoding",
    },
    {
      name: "device key encoded as negative zero",
      before: (m) => {
        m.certificate = certWith(alice, { deviceKey: fromBareHex(`01${"00".repeat(30)}80`) });
      },
      reject: "certificate: device key encoding",
    },
    {
      name: "device key of 31 bytes",
      before: (m) => {
        m.certificate = certWith(alice, { deviceKey: devicePublicKey.subarray(1) });
      },
      reject: "certificate: device key length",
    },
    {
      name: "validity of 400 days and 1 ms",
      before: (m) => {
        m.certificate = certWith(alice, { notAfter: NOT_BEFORE + 400n * DAY + 1n });
      },
      reject: "certificate: validity",
    },
    {
      name: "validity empty (notBefore = notAfter)",
      before: (m) => {
        m.certificate = certWith(alice, { notBefore: T, notAfter: T });
      },
      reject: "certificate: validity",
    },
    {
      name: "validity reversed",
      before: (m) => {
        m.certificate = certWith(alice, { notBefore: NOT_AFTER, notAfter: NOT_BEFORE });
      },
      reject: "certificate: validity",
    },
    {
      name: "timestamp before notBefore",
      before: (m) => {
        m.certificate = certWith(alice, { notBefore: T + 1n });
      },
      reject: "timestamp outside the certificate's validity",
    },
    {
      name: "timestamp after notAfter",
      before: (m) => {
        m.certificate = certWith(alice, { notBefore: T - 2n * DAY, notAfter: T - 1n });
      },
      reject: "timestamp outside the certificate's validity",
    },
    // One encoding per message.
    {
      name: "fields out of order",
      encode: (p) => concat(ChatMessage.encode({ version: 2 }), withoutVersion(p)),
      reject: "not the canonical encoding",
    },
    {
      name: "unknown field 12",
      encode: (p) => concat(p, new Uint8Array([0x60, 0x01])),
      reject: "not the canonical encoding",
    },
    {
      name: "text field repeated",
      encode: (p) => concat(p, ChatMessage.encode({ text: "hello, v2 ✓" })),
      reject: "not the canonical encoding",
    },
    {
      name: "text not valid UTF-8 (signed as U+FFFD)",
      before: (m) => {
        m.text = "\uFFFD";
      },
      encode: (p) => replaceBytes(p, [0x32, 0x03, 0xef, 0xbf, 0xbd], [0x32, 0x01, 0xff]),
      reject: "not the canonical encoding",
    },
  ];
  return [
    ...specs.map(buildRow),
    v1Row("v1 room text", "room"),
    v1Row("v1 direct text", "inbox"),
    v1Row("v1 text changed", "room", { tamper: true }),
    v1Row("v1 high-s signature", "room", { highS: true }),
  ];
}

function withoutVersion(p: Uint8Array): Uint8Array {
  return ChatMessage.encode({ ...ChatMessage.decode(p), version: 0 });
}

function replaceBytes(p: Uint8Array, from: number[], to: number[]): Uint8Array {
  const hex = toBareHex(p);
  const at = hex.indexOf(toBareHex(new Uint8Array(from)));
  if (at < 0 || at % 2) throw new Error("pattern not found");
  return fromBareHex(hex.slice(0, at) + toBareHex(new Uint8Array(to)) + hex.slice(at + from.length * 2));
}

/** The positive vectors with every intermediate value, made through the public API. */
async function messages() {
  const device = await deviceKeyFromSeed(deviceSeed);
  const sender: DeviceSender = { identity: alice, device, certificate };
  const fixed = (n: number) => (n === 32 ? ephemeralKey : n === 24 ? nonce : fail(n));
  const cases: {
    name: string;
    feed: Feed;
    body: MessageBody;
    seal: () => Promise<{ contentTopic: string; payload: Uint8Array; messageId: Uint8Array }>;
  }[] = [
    {
      name: "room text",
      feed: "room",
      body: { type: "text", text: TEXT.text },
      seal: () =>
        sealRoomV2(sender, inputs.room, { type: "text", text: TEXT.text }, T, { randomBytes: fixed }),
    },
    {
      name: "direct text",
      feed: "inbox",
      body: { type: "text", text: TEXT.text },
      seal: () =>
        sealDirectV2(sender, bob.publicKey, { type: "text", text: TEXT.text }, T, { randomBytes: fixed }),
    },
    {
      name: "group join",
      feed: "group",
      body: { type: "join" },
      seal: () => sealGroupV2(sender, inputs.groupId, groupKey, { type: "join" }, T, { randomBytes: fixed }),
    },
    {
      name: "group ack",
      feed: "group",
      body: { type: "ack", acks: ACK.acks },
      seal: () =>
        sealGroupV2(sender, inputs.groupId, groupKey, { type: "ack", acks: ACK.acks }, T, {
          randomBytes: fixed,
        }),
    },
  ];
  const out = [];
  for (const c of cases) {
    const sealed = await c.seal();
    const body = c.body.type === "text" ? TEXT : c.body.type === "ack" ? ACK : JOIN;
    const m = baseMessage(c.feed, body);
    const signed = signedBytes(m, FEEDS[c.feed].topic);
    m.signature = ed25519.sign(signed, deviceSeed);
    const plaintext = ChatMessage.encode(m);
    const payload = sealFor(c.feed, plaintext);
    // The API and the hand-built encoding agree.
    expect(toBareHex(sealed.payload)).toBe(toBareHex(payload));
    expect(toBareHex(sealed.messageId)).toBe(toBareHex(sha256(signed)));
    expect(sealed.contentTopic).toBe(FEEDS[c.feed].topic);
    out.push({
      name: c.name,
      feed: FEEDS[c.feed].feed,
      body: c.body.type === "ack" ? { type: "ack", acks: c.body.acks.map(toBareHex) } : c.body,
      timestamp: T.toString(),
      contentTopic: sealed.contentTopic,
      signedBytes: toBareHex(signed),
      signature: toBareHex(m.signature),
      messageId: toBareHex(sealed.messageId),
      plaintext: toBareHex(plaintext),
      randomness:
        c.feed === "inbox"
          ? { ephemeralKey: inputs.ephemeralKey, nonce: inputs.nonce }
          : { nonce: inputs.nonce },
      payload: toBareHex(payload),
      envelopeId: toBareHex(
        envelopeId({ version: 1, contentTopic: sealed.contentTopic, timestamp: T, payload }),
      ),
    });
  }
  return out;
}

function fail(n: number): never {
  throw new Error(`unexpected randomness of ${n} bytes`);
}

async function build() {
  const api = signDeviceCertificate(alice, devicePublicKey, { notBefore: NOT_BEFORE, notAfter: NOT_AFTER });
  expect(toBareHex(api.signature)).toBe(toBareHex(certificate.signature));
  const body = canon("postbox/device-cert/1", alice.publicKey, devicePublicKey, NOT_BEFORE, NOT_AFTER);
  expect(toBareHex(certificateBody(alice.publicKey, api))).toBe(toBareHex(body));
  expect(toBareHex(certificateDigest(alice.publicKey, api))).toBe(toBareHex(sha256(body)));
  return {
    description:
      "Postbox message format v2 test vectors (docs/protocol.md, 'Message format v2'). Bytes are hex, 64-bit integers decimal strings. Built by packages/protocol/src/v2-vectors.test.ts.",
    inputs: {
      ...inputs,
      identityPublicKey: toBareHex(alice.publicKey),
      recipientPublicKey: toBareHex(bob.publicKey),
      otherIdentityPublicKey: toBareHex(eve.publicKey),
      devicePublicKey: toBareHex(devicePublicKey),
    },
    certificate: {
      identityKey: toBareHex(alice.publicKey),
      deviceKey: toBareHex(devicePublicKey),
      notBefore: NOT_BEFORE.toString(),
      notAfter: NOT_AFTER.toString(),
      body: toBareHex(body),
      digest: toBareHex(sha256(body)),
      signature: toBareHex(certificate.signature),
      encoded: toBareHex(DeviceCertificate.encode(certificate)),
    },
    messages: await messages(),
    rows: rows(),
  };
}

// ---------------------------------------------------------------- backends

/** secp256k1 through OpenSSL (node:crypto), low-s only as the SignatureVerifier contract requires. */
const SECP256K1_SPKI = fromBareHex("3036301006072a8648ce3d020106052b8104000a032200");
const opensslSecp256k1: SignatureVerifier = (signature, message, publicKey) => {
  if (signature.length !== 64 || readBE(signature.subarray(32)) > N >> 1n) return false;
  const key = nodeCrypto.createPublicKey({
    key: Buffer.from(concat(SECP256K1_SPKI, publicKey)),
    format: "der",
    type: "spki",
  });
  return nodeCrypto.verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
};

const BACKENDS = {
  "node:crypto (OpenSSL)": { ed25519: nodeCryptoEd25519(nodeCrypto), secp256k1: opensslSecp256k1 },
  "WebCrypto (Node)": { ed25519: webCryptoEd25519(), secp256k1: nobleVerifier },
  noble: { ed25519: nobleEd25519, secp256k1: nobleVerifier },
};

const file = () =>
  JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as V2VectorFile & Awaited<ReturnType<typeof build>>;

describe("message format v2 test vectors", () => {
  it("are exactly what the fixed keys and randomness produce", async () => {
    const built = JSON.parse(JSON.stringify(await build()));
    if (process.env.POSTBOX_WRITE_VECTORS === "1")
      writeFileSync(VECTORS_PATH, `${JSON.stringify(built, null, 2)}\n`);
    expect(file()).toEqual(built);
  });

  it("cover every rule: each rejection reason and both versions appear", () => {
    const v = file();
    const reasons = new Set(v.rows.flatMap((r) => (r.expect.accept ? [] : [r.expect.reason])));
    expect(reasons.size).toBeGreaterThanOrEqual(30);
    expect(v.rows.filter((r) => r.expect.accept && r.expect.version === 1)).toHaveLength(2);
    expect(new Set(v.rows.map((r) => r.name)).size).toBe(v.rows.length);
  });

  for (const [name, backends] of Object.entries(BACKENDS)) {
    it(`open row by row as expected with ${name}`, async () => {
      const v = file();
      const expected = v.rows.map((r) => ({ name: r.name, ...r.expect }));
      expect(await runVectorRows(v, backends)).toEqual(expected);
      // A shared cache (the second pass answers from it) changes nothing.
      expect(await runVectorRows(v, backends, { shared: true })).toEqual([...expected, ...expected]);
    });
  }

  it("the positive message vectors open to their ids", async () => {
    const v = file();
    for (const m of v.messages) {
      const row = v.rows.find((r) => r.name === m.name)!;
      expect(row.envelope.payload).toBe(m.payload);
      expect(row.expect).toMatchObject({ accept: true, messageId: m.messageId });
    }
  });
});

describe("what the backends do on their own", () => {
  const signed = utf8("postbox");
  const sig = ed25519.sign(signed, deviceSeed);
  const sPlusL = concat(sig.subarray(0, 32), le32(readLE(sig.subarray(32)) + L));
  const torsion = torsionSignature(sig, signed);

  it("every backend refuses S + L and an R with a small-order component", async () => {
    for (const factory of [nodeCryptoEd25519(nodeCrypto), webCryptoEd25519(), nobleEd25519]) {
      const verify = await factory(devicePublicKey);
      expect(await verify(signed, sig)).toBe(true);
      expect(await verify(signed, sPlusL)).toBe(false);
      expect(await verify(signed, torsion)).toBe(false);
    }
  });

  it("agree on random signatures and their mutations, for new and often-seen keys", async () => {
    const factories = [nodeCryptoEd25519(nodeCrypto), webCryptoEd25519(), nobleEd25519];
    const answers: boolean[][] = [[], [], []];
    for (let i = 0; i < 40; i++) {
      const seed = new Uint8Array(nodeCrypto.randomBytes(32));
      const key = ed25519.getPublicKey(seed);
      const verifiers = await Promise.all(factories.map((f) => f(key)));
      for (let j = 0; j < 12; j++) {
        const message = new Uint8Array(nodeCrypto.randomBytes(j * 37));
        const good = ed25519.sign(message, seed);
        const cases: [Uint8Array, Uint8Array][] = [
          [message, good],
          [message, flip(good, j % 32)],
          [message, flip(good, 32 + (j % 32))],
          [message.length ? flip(message, 0) : utf8("x"), good],
          [message, concat(good.subarray(0, 32), le32(readLE(good.subarray(32)) + L))],
        ];
        for (const [m, sig] of cases) {
          for (const [b, v] of verifiers.entries()) answers[b]!.push(await v(m, sig));
        }
      }
    }
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    expect(answers[0]!.filter(Boolean)).toHaveLength(40 * 12);
  });

  it("noble's own equation accepts that R: the cofactorless equation is what makes noble agree", () => {
    expect(ed25519.verify(torsion, signed, devicePublicKey, { zip215: false })).toBe(true);
    expect(readLE(sPlusL.subarray(32)) >= L).toBe(true);
  });

  it("the kinds of the vectors are the protocol's", () => {
    expect([FEEDS.inbox.kind, FEEDS.room.kind, FEEDS.group.kind]).toEqual([
      MessageKind.Direct,
      MessageKind.Room,
      MessageKind.Group,
    ]);
  });
});
