import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ed25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2.js";
import * as secp from "@noble/secp256k1";
import { createIdentity, fromBareHex, nobleEd25519, nobleVerifier, toBareHex } from "@postbox/protocol";
import { describe, expect, it } from "vitest";
import { browserCrypto } from "../browser/crypto.js";
import { hchacha20, nodeCrypto, xchacha20poly1305OpenSsl } from "./crypto.js";
import { native } from "./secp256k1.js";

const N = secp.Point.CURVE().n;
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

describe("secp256k1 verification (libsecp256k1, and @noble for a browser)", () => {
  it.each([...(native ? ["native" as const] : []), "wasm" as const, "browser" as const])(
    "agrees with noble on valid, mutated, high-s and foreign signatures (%s)",
    (backend) => {
      const verify =
        backend === "browser"
          ? browserCrypto().secp256k1Verify
          : nodeCrypto({ secp256k1: backend }).secp256k1Verify;
      const me = createIdentity();
      const other = createIdentity();
      let checked = 0;
      for (let i = 0; i < 40; i++) {
        const message = random(20 + i);
        const good = secp.sign(sha256(message), me.privateKey, { prehash: false });
        const flipped = good.slice();
        flipped[i % 64]! ^= 1 << (i % 8);
        const s = BigInt(`0x${toBareHex(good.subarray(32))}`);
        const highS = good.slice();
        highS.set(fromBareHex((N - s).toString(16).padStart(64, "0")), 32);
        const cases: [Uint8Array, Uint8Array][] = [
          [good, me.publicKey],
          [flipped, me.publicKey],
          [highS, me.publicKey],
          [good, other.publicKey],
          [good.subarray(0, 63), me.publicKey],
          [good, new Uint8Array(33).fill(7)],
        ];
        for (const [sig, key] of cases) {
          let expected: boolean;
          try {
            expected = nobleVerifier(sig, message, key);
          } catch {
            expected = false;
          }
          expect(verify(sig, message, key)).toBe(expected);
          checked++;
        }
        expect(verify(good, message, me.publicKey)).toBe(true);
        expect(verify(highS, message, me.publicKey)).toBe(false);
      }
      expect(checked).toBe(240);
    },
  );

  it("signs recoverably as noble does (RFC 6979, low-s), natively, in WebAssembly and in a browser", () => {
    const backends = [
      ...(native ? [nodeCrypto({ secp256k1: "native" })] : []),
      nodeCrypto({ secp256k1: "wasm" }),
      browserCrypto(),
    ];
    for (let i = 0; i < 10; i++) {
      const key = createIdentity().privateKey;
      const digest = random(32);
      const expected = secp.sign(digest, key, { prehash: false, format: "recovered" });
      for (const b of backends) {
        const { signature, recovery } = b.secp256k1SignRecoverable(digest, key);
        expect(toBareHex(signature)).toBe(toBareHex(expected.subarray(1)));
        expect(recovery).toBe(expected[0]);
      }
    }
  });
});

describe("XChaCha20-Poly1305 by OpenSSL", () => {
  it("derives the HChaCha20 subkey of draft-irtf-cfrg-xchacha §2.2.1", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = fromBareHex("000000090000004a0000000031415927");
    expect(toBareHex(hchacha20(key, nonce))).toBe(
      "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
    );
  });

  it("opens what noble seals, of every length, and refuses a flipped byte or a wrong key", () => {
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 160, 320, 4096]) {
      const key = random(32);
      const nonce = random(24);
      const plaintext = random(length);
      const sealed = xchacha20poly1305(key, nonce).encrypt(plaintext);
      expect(toBareHex(xchacha20poly1305OpenSsl(key, nonce, sealed))).toBe(toBareHex(plaintext));
      const flipped = sealed.slice();
      flipped[Math.floor(Math.random() * flipped.length)]! ^= 0x40;
      expect(() => xchacha20poly1305OpenSsl(key, nonce, flipped)).toThrow();
      expect(() => xchacha20poly1305OpenSsl(random(32), nonce, sealed)).toThrow();
    }
    expect(() => xchacha20poly1305OpenSsl(random(32), random(24), random(15))).toThrow(RangeError);
  });
});

describe("Ed25519 device keys", () => {
  it("node:crypto verifies as noble does, and a Node device key is kept as PKCS #8 and loads back", async () => {
    const c = nodeCrypto();
    const device = await c.ed25519.generate();
    expect(device.stored.format).toBe("pkcs8");
    const loaded = await c.ed25519.load(device.stored);
    expect(toBareHex(loaded.publicKey)).toBe(toBareHex(device.publicKey));
    const verify = await c.ed25519.verifier(device.publicKey);
    const reference = await nobleEd25519(device.publicKey);
    for (let i = 0; i < 20; i++) {
      const message = random(10 + i);
      const signature = await loaded.sign(message);
      expect(ed25519.verify(signature, message, device.publicKey)).toBe(true);
      const bad = signature.slice();
      bad[i % 64]! ^= 1;
      for (const sig of [signature, bad, signature.subarray(0, 63)])
        expect(await verify(message, sig)).toBe(await reference(message, sig));
    }
  });
});
