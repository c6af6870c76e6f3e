// @postbox/net: Noise with reusable cipher keys, its frame decoder, and coalesced TCP writes, each
// against the stock implementation it must interoperate with.
import { randomBytes } from "node:crypto";
import { Socket } from "node:net";
import { noise as stockNoise } from "@chainsafe/libp2p-noise";
import { asCrypto, nodeCrypto } from "@chainsafe/libp2p-noise/crypto";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p, Upgrader } from "@libp2p/interface";
import { defaultLogger } from "@libp2p/logger";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { tcp as stockTcp } from "@libp2p/tcp";
import { byteStream, multiaddrConnectionPair } from "@libp2p/utils";
import { createLibp2p } from "libp2p";
import { Uint8ArrayList } from "uint8arraylist";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { noise, noiseCrypto, noiseFrameLength, tcp, usesFastFraming } from "./index.js";

const key = randomBytes(32);
const nonce = randomBytes(12);
const ad = randomBytes(32);

describe("noiseCrypto", () => {
  it.each([0, 1, 200, 255, 256, 1_000, 4_096, 65_519])(
    "interoperates with the stock ChaCha20-Poly1305 at %d bytes, both ways",
    (size) => {
      const plaintext = randomBytes(size);
      for (const [seal, open] of [
        [noiseCrypto, asCrypto],
        [noiseCrypto, nodeCrypto],
        [asCrypto, noiseCrypto],
        [nodeCrypto, noiseCrypto],
      ] as const) {
        const sealed = seal.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key);
        expect(Buffer.from(open.chaCha20Poly1305Decrypt(sealed, nonce, ad, key).subarray())).toEqual(
          plaintext,
        );
      }
      // A sealed message that arrived in pieces (one cut inside the tag) opens the same.
      const whole = Buffer.from(asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key).subarray());
      const cuts = [Math.floor(whole.length / 3), whole.length - 7];
      const arrived = new Uint8ArrayList(
        whole.subarray(0, cuts[0]),
        whole.subarray(cuts[0], cuts[1]),
        whole.subarray(cuts[1]),
      );
      expect(Buffer.from(noiseCrypto.chaCha20Poly1305Decrypt(arrived, nonce, ad, key).subarray())).toEqual(
        plaintext,
      );
      // The same bytes as the stock cipher, split in pieces or not.
      const stock = Buffer.from(asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, key).subarray());
      const pieces = new Uint8ArrayList(plaintext.subarray(0, size >> 1), plaintext.subarray(size >> 1));
      expect(Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(pieces, nonce, ad, key).subarray())).toEqual(
        stock,
      );
    },
  );

  it("refuses a tampered message, a wrong key, a wrong nonce and wrong associated data", () => {
    for (const size of [100, 5_000]) {
      const sealed = Buffer.from(
        noiseCrypto.chaCha20Poly1305Encrypt(randomBytes(size), nonce, ad, key).subarray(),
      );
      const flipped = Buffer.from(sealed);
      flipped[flipped.length >> 1]! ^= 1;
      const otherNonce = Buffer.from(nonce);
      otherNonce[0]! ^= 1;
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(flipped, nonce, ad, key)).toThrow();
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, randomBytes(32))).toThrow();
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, otherNonce, ad, key)).toThrow();
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, randomBytes(32), key)).toThrow();
    }
  });

  it("keeps one key object per session key: a key's bytes are read once, when first used", () => {
    const k = randomBytes(32);
    const plaintext = randomBytes(1_000);
    const first = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray());
    k.fill(0); // noise never changes a session key in place; if it did, the cached key would win
    const second = Buffer.from(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray());
    expect(second).toEqual(first);
  });
});

describe("noiseFrameLength", () => {
  it("reads a 2-byte big-endian length from bytes or a list, and asks for more below two bytes", () => {
    expect(noiseFrameLength(new Uint8Array([0x12, 0x34, 9]))).toBe(0x1234);
    expect(noiseFrameLength(new Uint8ArrayList(new Uint8Array([0xff]), new Uint8Array([0xfe])))).toBe(0xfffe);
    for (const short of [new Uint8Array(0), new Uint8Array([1]), new Uint8ArrayList(new Uint8Array([1]))]) {
      expect(() => noiseFrameLength(short)).toThrow(RangeError);
    }
    // One instance: asking for more must not build an error (and a stack) each time.
    let a: unknown;
    let b: unknown;
    try {
      noiseFrameLength(new Uint8Array(0));
    } catch (err) {
      a = err;
    }
    try {
      noiseFrameLength(new Uint8Array(1));
    } catch (err) {
      b = err;
    }
    expect(a).toBe(b);
  });
});

describe("noise()", () => {
  const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader;
  async function components() {
    const privateKey = await generateKeyPair("Ed25519");
    return { privateKey, peerId: peerIdFromPrivateKey(privateKey), logger: defaultLogger(), upgrader };
  }

  it("handshakes with stock Noise either way, decodes frames with noiseFrameLength, and carries bytes intact", async () => {
    for (const [dialerOurs, listenerOurs] of [
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const dialer = dialerOurs ? noise() : stockNoise();
      const listener = listenerOurs ? noise() : stockNoise();
      const [a, b] = multiaddrConnectionPair();
      const ca = await components();
      const cb = await components();
      const [outbound, inbound] = await Promise.all([
        dialer(ca).secureOutbound(a, { remotePeer: cb.peerId, skipStreamMuxerNegotiation: true }),
        listener(cb).secureInbound(b, { skipStreamMuxerNegotiation: true }),
      ]);
      expect(outbound.remotePeer.equals(cb.peerId)).toBe(true);
      expect(inbound.remotePeer.equals(ca.peerId)).toBe(true);
      expect([usesFastFraming(outbound), usesFastFraming(inbound)]).toEqual([dialerOurs, listenerOurs]);
      // 300 KB, sent in pieces of uneven size: frame boundaries fall anywhere in the reads.
      const payload = randomBytes(300_000);
      const reader = byteStream(inbound.connection);
      const writer = byteStream(outbound.connection);
      const sent = (async () => {
        for (let at = 0; at < payload.length; at += 7_777)
          await writer.write(payload.subarray(at, at + 7_777));
      })();
      const got = await reader.read({ bytes: payload.length });
      await sent;
      expect(Buffer.from(got.subarray())).toEqual(payload);
      await Promise.all([outbound.connection.close(), inbound.connection.close()]);
    }
  });
});

describe("tcp()", () => {
  const hosts: Libp2p[] = [];
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.stop()));
  });

  async function host(transport: typeof tcp) {
    const h = await createLibp2p({
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [transport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    });
    hosts.push(h);
    return h;
  }

  /** Sends 1 MB from a to b over a fresh connection; returns the sockets' write calls meanwhile. */
  async function transfer(transport: typeof tcp) {
    const [a, b] = [await host(transport), await host(transport)];
    const payload = randomBytes(1_000_000);
    let received: Buffer | undefined;
    await b.handle("/postbox-test/sink/1", async (stream) => {
      received = Buffer.from((await byteStream(stream).read({ bytes: payload.length })).subarray());
      await stream.close();
    });
    const writes = vi.spyOn(Socket.prototype, "_write" as never);
    const writevs = vi.spyOn(Socket.prototype, "_writev" as never);
    const stream = await a.dialProtocol(b.getMultiaddrs(), "/postbox-test/sink/1");
    const bytes = byteStream(stream);
    for (let at = 0; at < payload.length; at += 100_000)
      await bytes.write(payload.subarray(at, at + 100_000));
    await stream.close();
    await vi.waitFor(() => expect(received).toBeDefined());
    expect(received).toEqual(payload);
    return { write: writes.mock.calls.length, writev: writevs.mock.calls.length };
  }

  it("carries a stream intact and hands the kernel each batch in one writev; stock TCP writes piece by piece", async () => {
    const coalesced = await transfer(tcp);
    vi.restoreAllMocks();
    const stock = await transfer(stockTcp as typeof tcp);
    expect(stock.writev).toBe(0);
    expect(coalesced.writev).toBeGreaterThan(0);
    // Each Noise message is several pieces (length, ciphertext, tag, and a yamux header before it):
    // coalesced, the socket sees at most half as many writes.
    expect(coalesced.write + coalesced.writev).toBeLessThan((stock.write + stock.writev) / 2);
  });
});
