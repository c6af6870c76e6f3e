import { createHash } from "node:crypto";
import type { SignatureVerifier } from "@postbox/protocol";
import * as secp from "tiny-secp256k1";

/**
 * Verifies secp256k1 message signatures with libsecp256k1 compiled to WebAssembly (tiny-secp256k1),
 * about 1.6× OpenSSL and 9× pure-JS noble on the machines we measured (docs/BENCHMARKS.md); SHA-256
 * through node:crypto. Like the signer, it accepts only low-s signatures (strict mode): a mauled copy
 * of a message is refused, so it can never appear twice under two envelope ids.
 */
export function createNativeVerifier(): SignatureVerifier {
  return (signature, message, publicKey) => {
    if (signature.length !== 64) return false;
    try {
      return secp.verify(createHash("sha256").update(message).digest(), publicKey, signature, true);
    } catch {
      return false; // not a point, or r/s out of range
    }
  };
}
