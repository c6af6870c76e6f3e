import * as nodeCrypto from "node:crypto";
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { describe, expect, it } from "vitest";
import { toBareHex } from "./canonical.js";
import { CertificateCache, deviceCertificateValidity, signDeviceCertificate } from "./certificate.js";
import {
  createGroupKey,
  createIdentity,
  type DeviceSender,
  encryptDirect,
  encryptRoom,
  MessageKind,
  nobleVerifier,
  type OpenContext,
  openEnvelope,
  sealDirectV2,
  sealGroupV2,
  sealRoomV2,
} from "./crypto.js";
import {
  type DeviceKey,
  deviceKeyFromSeed,
  generateDeviceKey,
  loadDeviceKey,
  nobleEd25519,
  nodeCryptoEd25519,
  type SubtleEd25519,
  webCryptoEd25519,
} from "./ed25519.js";
import { BaseError, DecryptionError } from "./errors.js";
import { chatSigningBytesV2, InvalidMessageError, MessageType, messageIdOf } from "./message.js";
import { ChatMessage } from "./pb/messages.js";
import { roomTopic } from "./topics.js";

const ts = 1_767_225_600_000n;
const alice = createIdentity();
const bob = createIdentity();

async function senderOf(identity = alice, device?: DeviceKey): Promise<DeviceSender> {
  const d = device ?? (await generateDeviceKey());
  return {
    identity,
    device: d,
    certificate: signDeviceCertificate(identity, d.publicKey, deviceCertificateValidity(ts)),
  };
}

const ctx = (o: Partial<OpenContext> = {}): OpenContext => ({
  identity: bob,
  certs: new CertificateCache(),
  secp256k1: nobleVerifier,
  ed25519: webCryptoEd25519(),
  ...o,
});

describe("v2 messages", () => {
  it("round-trip in every kind and type, with the message id the sender got", async () => {
    const sender = await senderOf();
    const groupKey = createGroupKey();
    const text = await sealDirectV2(sender, bob.publicKey, { type: "text", text: "hi Bob" }, ts);
    const ack = await sealDirectV2(sender, bob.publicKey, { type: "ack", acks: [text.messageId] }, ts);
    const room = await sealRoomV2(sender, "#Lobby", { type: "text", text: "hi room" }, ts);
    const join = await sealGroupV2(sender, "g-1", groupKey, { type: "join" }, ts);

    const m = await openEnvelope({ kind: "inbox" }, { ...text, timestamp: ts }, ctx());
    expect(m).toMatchObject({ version: 2, kind: MessageKind.Direct, type: "text", text: "hi Bob", acks: [] });
    expect(m.messageId).toEqual(text.messageId);
    expect(m.sender).toEqual(alice.publicKey);
    expect(m.deviceKey).toEqual(sender.device.publicKey);

    const a = await openEnvelope({ kind: "inbox" }, { ...ack, timestamp: ts }, ctx());
    expect(a).toMatchObject({ type: "ack", text: "", acks: [text.messageId] });
    expect(
      (await openEnvelope({ kind: "room", room: "LOBBY" }, { ...room, timestamp: ts }, ctx())).text,
    ).toBe("hi room");
    const j = await openEnvelope(
      { kind: "group", groupId: "g-1", groupKey },
      { ...join, timestamp: ts },
      ctx(),
    );
    expect(j).toMatchObject({ type: "join", kind: MessageKind.Group, conversation: "g-1" });
  });

  it("sign the documented bytes: message id = SHA-256 of them", async () => {
    const sender = await senderOf();
    const sealed = await sealRoomV2(sender, "x", { type: "text", text: "t" }, ts);
    const m = await openEnvelope({ kind: "room", room: "x" }, { ...sealed, timestamp: ts }, ctx());
    const signed = chatSigningBytesV2(
      { ...m, type: MessageType.Text, certDigest: m.certDigest!, acks: [] },
      roomTopic("x"),
    );
    expect(toBareHex(messageIdOf(signed))).toBe(toBareHex(sealed.messageId));
  });

  it("are refused at sealing when readers would refuse them", async () => {
    const sender = await senderOf();
    const other = await generateDeviceKey();
    const seal = (s: DeviceSender, body: Parameters<typeof sealRoomV2>[2], t = ts) =>
      sealRoomV2(s, "x", body, t);
    await expect(seal({ ...sender, device: other }, { type: "text", text: "" })).rejects.toThrow(
      /not the one its certificate names/,
    );
    await expect(seal(sender, { type: "text", text: "" }, sender.certificate.notAfter + 1n)).rejects.toThrow(
      /outside the certificate's validity/,
    );
    await expect(seal(sender, { type: "ack", acks: [] })).rejects.toThrow(InvalidMessageError);
    await expect(seal(sender, { type: "ack", acks: [new Uint8Array(31)] })).rejects.toThrow(/32 bytes/);
    await expect(seal(sender, { type: "ack", acks: Array(101).fill(new Uint8Array(32)) })).rejects.toThrow(
      /1–100/,
    );
    await expect(sealDirectV2(sender, bob.publicKey.subarray(1), { type: "join" }, ts)).rejects.toThrow(
      /33 bytes/,
    );
  });

  it("are opened only on their feed, and a reader error is not a forged message", async () => {
    const sender = await senderOf();
    const sealed = await sealRoomV2(sender, "x", { type: "text", text: "t" }, ts);
    const e = { ...sealed, timestamp: ts };
    await expect(openEnvelope({ kind: "room", room: "y" }, e, ctx())).rejects.toThrow(DecryptionError);
    // An inbox needs the reader's identity: a programming error, not a message to skip.
    await expect(openEnvelope({ kind: "inbox" }, e, ctx({ identity: undefined }))).rejects.toThrow(BaseError);
    await expect(openEnvelope({ kind: "inbox" }, e, ctx({ identity: undefined }))).rejects.not.toThrow(
      DecryptionError,
    );
    const broken = ctx({
      ed25519: () => {
        throw new Error("this runtime has no Ed25519");
      },
    });
    await expect(openEnvelope({ kind: "room", room: "x" }, e, broken)).rejects.toThrow(
      "this runtime has no Ed25519",
    );
  });

  it("open version 1 messages too, with the v1 message id", async () => {
    const v1 = encryptRoom(alice, "#x", "old", ts);
    const m = await openEnvelope({ kind: "room", room: "x" }, { ...v1, timestamp: ts }, ctx());
    expect(m).toMatchObject({
      version: 1,
      type: "text",
      text: "old",
      deviceKey: undefined,
      certDigest: undefined,
    });
    expect(m.messageId).toHaveLength(32);
    const direct = encryptDirect(alice, bob.publicKey, "old dm", ts);
    expect((await openEnvelope({ kind: "inbox" }, { ...direct, timestamp: ts }, ctx())).text).toBe("old dm");
  });

  it("use the platform's XChaCha20-Poly1305 when one is given", async () => {
    const sender = await senderOf();
    const sealed = await sealRoomV2(sender, "x", { type: "text", text: "t" }, ts);
    let calls = 0;
    const open = (key: Uint8Array, nonce: Uint8Array, ct: Uint8Array) => {
      calls++;
      return xchacha20poly1305(key, nonce).decrypt(ct);
    };
    const m = await openEnvelope(
      { kind: "room", room: "x" },
      { ...sealed, timestamp: ts },
      ctx({ xchacha20poly1305Open: open }),
    );
    expect(m.text).toBe("t");
    expect(calls).toBe(1);
  });

  it("are verified alike by OpenSSL, WebCrypto and noble", async () => {
    const sender = await senderOf();
    const sealed = await sealRoomV2(sender, "x", { type: "text", text: "t" }, ts);
    for (const ed25519 of [nodeCryptoEd25519(nodeCrypto), webCryptoEd25519(), nobleEd25519]) {
      const m = await openEnvelope(
        { kind: "room", room: "x" },
        { ...sealed, timestamp: ts },
        ctx({ ed25519 }),
      );
      expect(m.messageId).toEqual(sealed.messageId);
    }
  });

  it("a pre-v2 reader sees a v2 message as not verifying", async () => {
    const { decryptRoom } = await import("./crypto.js");
    const sealed = await sealRoomV2(await senderOf(), "x", { type: "text", text: "t" }, ts);
    expect(() => decryptRoom("x", { ...sealed, timestamp: ts })).toThrow(/sender signature does not verify/);
  });
});

describe("device keys", () => {
  it("are non-extractable CryptoKeys by default, and PKCS #8 on request; both load and sign", async () => {
    const plain = new Uint8Array([1, 2, 3]);
    const kept = await generateDeviceKey();
    expect(kept.stored.format).toBe("webcrypto");
    if (kept.stored.format === "webcrypto") expect(kept.stored.keyPair.privateKey.extractable).toBe(false);
    const exported = await generateDeviceKey({ extractable: true });
    expect(exported.stored.format).toBe("pkcs8");
    for (const key of [kept, exported]) {
      const loaded = await loadDeviceKey(structuredClone(key.stored));
      expect(loaded.publicKey).toEqual(key.publicKey);
      const verify = await nobleEd25519(key.publicKey);
      expect(await verify(plain, await loaded.sign(plain))).toBe(true);
    }
  });

  it("from a seed sign as RFC 8032 says (deterministically)", async () => {
    // RFC 8032 §7.1, TEST 1.
    const key = await deviceKeyFromSeed(
      Uint8Array.from(Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex")),
    );
    expect(toBareHex(key.publicKey)).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    expect(toBareHex(await key.sign(new Uint8Array(0)))).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
  });

  it("refuse a stored record that does not hold together", async () => {
    const key = await generateDeviceKey({ extractable: true });
    if (key.stored.format !== "pkcs8") throw new Error("expected pkcs8");
    const other = await generateDeviceKey({ extractable: true });
    await expect(loadDeviceKey({ ...key.stored, publicKey: other.stored.publicKey })).rejects.toThrow(
      /does not match/,
    );
    await expect(loadDeviceKey({ ...key.stored, pkcs8: "00" })).rejects.toThrow(/PKCS #8/);
    await expect(loadDeviceKey(undefined as unknown as typeof key.stored)).rejects.toThrow(
      /not a device key/,
    );
  });

  it("fall back to noble where WebCrypto has no Ed25519", async () => {
    const subtle = {
      generateKey: async () => {
        throw new DOMException("Unrecognized algorithm name", "NotSupportedError");
      },
    } as unknown as SubtleEd25519;
    const key = await generateDeviceKey({ subtle });
    expect(key.stored.format).toBe("pkcs8");
    const plain = new Uint8Array([7]);
    expect(await (await webCryptoEd25519()(key.publicKey))(plain, await key.sign(plain))).toBe(true);
  });
});

describe("the v2 ChatMessage fields", () => {
  it("are absent from a v1 message's encoding (so v1 bytes are unchanged)", () => {
    const bytes = ChatMessage.encode({
      kind: 2,
      sender: alice.publicKey,
      recipient: new Uint8Array(0),
      conversation: "x",
      timestamp: ts,
      text: "t",
      signature: new Uint8Array(64),
    });
    const m = ChatMessage.decode(bytes);
    expect([m.version, m.type, m.acks, m.certificate]).toEqual([0, 0, [], undefined]);
  });
});
