import * as openssl from "node:crypto";
import { createRequire } from "node:module";
import {
  generateDeviceKey,
  loadDeviceKey,
  nodeCryptoEd25519,
  type SignatureVerifier,
  type XChaCha20Poly1305Open,
} from "@postbox/protocol/crypto";
import type { PlatformCrypto } from "../types.js";
import { native } from "./secp256k1.js";

const require = createRequire(import.meta.url);

export interface NodeCryptoOptions {
  /**
   * libsecp256k1 natively (the `secp256k1` package's prebuilt binding, ≈ 4× faster) or compiled to
   * WebAssembly (tiny-secp256k1). Default: native where the binding loads.
   */
  secp256k1?: "native" | "wasm";
}

/**
 * Node's crypto: libsecp256k1 for secp256k1 (v1 messages, certificates, vouchers), OpenSSL for
 * SHA-256, Ed25519 (one `KeyObject` per device key) and ChaCha20-Poly1305 (XChaCha20 by an
 * HChaCha20 subkey, see {@link xchacha20poly1305OpenSsl}); device keys are made by WebCrypto and
 * kept as PKCS #8 in the client's database.
 */
export function nodeCrypto(options: NodeCryptoOptions = {}): PlatformCrypto {
  const backend = options.secp256k1 ?? (native ? "native" : "wasm");
  if (backend === "native" && !native)
    throw new Error("the native libsecp256k1 binding (package secp256k1) does not load here");
  const lib = backend === "native" ? native!.binding : undefined;
  // The WebAssembly build is loaded only where it is used (it costs a worker ≈ 50 ms to load).
  const wasm = lib ? undefined : (require("tiny-secp256k1") as typeof import("tiny-secp256k1"));
  const sha256 = (data: Uint8Array) => openssl.createHash("sha256").update(data).digest();
  const secp256k1Verify: SignatureVerifier = (signature, message, publicKey) => {
    if (signature.length !== 64) return false;
    const digest = sha256(message);
    try {
      // libsecp256k1 accepts only lower-s signatures in both builds (tiny-secp256k1's strict mode):
      // a mauled copy of a signature is refused.
      return lib
        ? lib.ecdsaVerify(signature, digest, publicKey)
        : wasm!.verify(digest, publicKey, signature, true);
    } catch {
      return false; // not a point, or r/s out of range
    }
  };
  return {
    sha256,
    secp256k1Verify,
    secp256k1SignRecoverable: lib
      ? (digest, key) => {
          const { signature, recid } = lib.ecdsaSign(digest, key);
          return { signature, recovery: recid };
        }
      : (digest, key) => {
          const { signature, recoveryId } = wasm!.signRecoverable(digest, key);
          return { signature, recovery: recoveryId };
        },
    ed25519: {
      generate: () => generateDeviceKey({ extractable: true }),
      load: (stored) => loadDeviceKey(stored),
      verifier: nodeCryptoEd25519(openssl),
    },
    xchacha20poly1305Open: xchacha20poly1305OpenSsl,
    backends: {
      secp256k1: backend === "native" ? "libsecp256k1 (native)" : "libsecp256k1 (WebAssembly)",
      ed25519: "OpenSSL (node:crypto)",
      xchacha20poly1305: "OpenSSL ChaCha20-Poly1305 + HChaCha20",
    },
  };
}

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574];
const ZERO_BLOCK = new Uint8Array(64);

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2) by OpenSSL's ChaCha20: its first keystream block, with
 * the 16-byte nonce as OpenSSL's counter ‖ nonce, is the 20 rounds of the HChaCha20 state plus that
 * state; the subkey is words 0–3 and 12–15 of the rounds alone, so the known state words are
 * subtracted back out.
 */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const block = openssl.createCipheriv("chacha20", key, nonce16).update(ZERO_BLOCK);
  const ks = new DataView(block.buffer, block.byteOffset, 64);
  const n = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    o.setUint32(i * 4, (ks.getUint32(i * 4, true) - SIGMA[i]!) >>> 0, true);
    o.setUint32(16 + i * 4, (ks.getUint32(48 + i * 4, true) - n.getUint32(i * 4, true)) >>> 0, true);
  }
  return out;
}

/**
 * XChaCha20-Poly1305 opening by OpenSSL: the HChaCha20 subkey of the key and the nonce's first 16
 * bytes, then IETF ChaCha20-Poly1305 with four zero bytes ‖ the nonce's last 8. About 5× the pure-JS
 * speed for message-sized payloads. Throws when the tag does not verify.
 */
export const xchacha20poly1305OpenSsl: XChaCha20Poly1305Open = (key, nonce, sealed) => {
  if (nonce.length !== 24) throw new RangeError("an XChaCha20 nonce is 24 bytes");
  if (sealed.length < 16) throw new RangeError("ciphertext shorter than its tag");
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16), 4);
  const decipher = openssl.createDecipheriv("chacha20-poly1305", hchacha20(key, nonce.subarray(0, 16)), iv, {
    authTagLength: 16,
  });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const head = decipher.update(sealed.subarray(0, sealed.length - 16));
  const tail = decipher.final();
  return tail.length === 0 ? head : Buffer.concat([head, tail]);
};
