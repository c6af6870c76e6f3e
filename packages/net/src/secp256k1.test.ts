// libsecp256k1 natively and in WebAssembly, each against OpenSSL's public keys and the other.
import { createECDH, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { nativeSecp256k1, Secp256k1Error, secp256k1 } from "./secp256k1.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const publicKey = (privateKey: Uint8Array) =>
  new Uint8Array(createECDH("secp256k1").setPrivateKey(privateKey).getPublicKey());

describe("the native binding", () => {
  it("loads the prebuilt binary on the platforms the package ships one for (no install script runs)", () => {
    const shipped = ["linux-x64", "darwin-arm64", "win32-x64"].includes(
      `${process.platform}-${process.arch}`,
    );
    if (!shipped) return;
    // A silent fall back to WebAssembly would cost ≈ 0.3 ms of CPU per paid page.
    expect(nativeSecp256k1.problem).toBeUndefined();
    expect(nativeSecp256k1.path).toMatch(
      new RegExp(`secp256k1[/\\\\]prebuilds[/\\\\]${process.platform}-${process.arch}[/\\\\]secp256k1\\.`),
    );
    expect(secp256k1().kind).toBe("native");
  });

  it("is refused by name where it does not load, with why", () => {
    if (nativeSecp256k1.binding) return;
    expect(nativeSecp256k1.problem).toBeTruthy();
    expect(() => secp256k1("native")).toThrow(Secp256k1Error);
    expect(secp256k1().kind).toBe("wasm");
  });
});

describe.each([...(nativeSecp256k1.binding ? ["native" as const] : []), "wasm" as const])(
  "libsecp256k1 (%s)",
  (kind) => {
    const lib = secp256k1(kind);

    it("signs, verifies and recovers the signer's key; refuses the high-s mirror and mutations", () => {
      for (let i = 0; i < 40; i++) {
        const key = randomBytes(32);
        const digest = randomBytes(32);
        const { signature, recovery } = lib.sign(digest, key);
        expect(signature.length).toBe(64);
        const s = BigInt(`0x${hex(signature.subarray(32))}`);
        expect(s <= N >> 1n).toBe(true); // low s
        expect(hex(lib.recover(signature, recovery, digest)!)).toBe(hex(publicKey(key)));
        expect(lib.verify(signature, digest, publicKey(key))).toBe(true);
        const mirror = signature.slice();
        mirror.set(Buffer.from((N - s).toString(16).padStart(64, "0"), "hex"), 32);
        expect(lib.verify(mirror, digest, publicKey(key))).toBe(false);
        const flipped = signature.slice();
        flipped[i % 64]! ^= 1 << (i % 8);
        expect(lib.verify(flipped, digest, publicKey(key))).toBe(false);
        const other = lib.recover(flipped, recovery, digest);
        if (other) expect(hex(other)).not.toBe(hex(publicKey(key)));
        expect(lib.verify(signature, randomBytes(32), publicKey(key))).toBe(false);
      }
    });

    it("answers false or null, never throws, for what does not parse", () => {
      const digest = randomBytes(32);
      const key = publicKey(randomBytes(32));
      for (const bad of [new Uint8Array(64), new Uint8Array(64).fill(0xff), new Uint8Array(63)]) {
        expect(lib.verify(bad, digest, key)).toBe(false);
        expect(lib.recover(bad.length === 64 ? bad : new Uint8Array(64), 0, digest)).toBeNull();
      }
      expect(lib.verify(lib.sign(digest, randomBytes(32)).signature, digest, new Uint8Array(65))).toBe(false);
    });
  },
);

describe("the two builds", () => {
  it("give the same RFC 6979 signatures", () => {
    if (!nativeSecp256k1.binding) return;
    for (let i = 0; i < 20; i++) {
      const key = randomBytes(32);
      const digest = randomBytes(32);
      const a = secp256k1("native").sign(digest, key);
      const b = secp256k1("wasm").sign(digest, key);
      expect([hex(a.signature), a.recovery]).toEqual([hex(b.signature), b.recovery]);
    }
  });
});
