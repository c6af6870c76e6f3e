import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import * as secp from "@noble/secp256k1";
import {
  type Ed25519VerifierFactory,
  generateDeviceKey,
  loadDeviceKey,
  nobleEd25519,
  nobleVerifier,
  type SignatureVerifier,
  webCryptoEd25519,
} from "@postbox/protocol/crypto";
import type { PlatformCrypto } from "../types.js";

/**
 * Ed25519 by WebCrypto (Chrome ≥ 137, Firefox ≥ 129, Safari ≥ 17; it runs on the browser's own
 * threads), or by @noble/curves where WebCrypto has none. A key WebCrypto will not import is checked
 * by noble, which is the reference: one odd key never fails a whole page.
 */
function ed25519Verifier(): Ed25519VerifierFactory {
  let web: Ed25519VerifierFactory | undefined;
  let supported = globalThis.crypto?.subtle !== undefined;
  return async (publicKey) => {
    if (supported) {
      try {
        web ??= webCryptoEd25519();
        return await web(publicKey);
      } catch (err) {
        if ((err as { name?: unknown } | null)?.name === "NotSupportedError") supported = false;
      }
    }
    return nobleEd25519(publicKey);
  };
}

/**
 * A browser's crypto: WebCrypto Ed25519 for v2 messages, @noble for the rest (secp256k1 for v1
 * messages, certificates and vouchers; SHA-256; the protocol's own XChaCha20-Poly1305). Device keys
 * are non-extractable WebCrypto keys, kept in IndexedDB as they are.
 */
export function browserCrypto(): PlatformCrypto {
  // noble-secp256k1 signs synchronously once it is given its hashes (RFC 6979 needs HMAC).
  secp.hashes.sha256 ??= sha256;
  secp.hashes.hmacSha256 ??= (key, message) => hmac(sha256, key, message);
  const secp256k1Verify: SignatureVerifier = (signature, message, publicKey) => {
    try {
      return nobleVerifier(signature, message, publicKey);
    } catch {
      return false; // not a point, or a malformed signature
    }
  };
  return {
    sha256: (data) => sha256(data),
    secp256k1Verify,
    secp256k1SignRecoverable(digest, privateKey) {
      const sig = secp.sign(digest, privateKey, { prehash: false, format: "recovered" });
      return { signature: sig.subarray(1), recovery: sig[0]! };
    },
    ed25519: {
      generate: () => generateDeviceKey(),
      load: (stored) => loadDeviceKey(stored),
      verifier: ed25519Verifier(),
    },
    backends: {
      secp256k1: "@noble/secp256k1",
      ed25519: "WebCrypto (else @noble/curves)",
      xchacha20poly1305: "@noble/ciphers",
    },
  };
}
