import { createPublicKey, type KeyObject, verify } from "node:crypto";
import * as secp from "@noble/secp256k1";
import { type SignatureVerifier, toHex } from "@postbox/protocol";

const HALF_N = secp.Point.CURVE().n >> 1n;
const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/**
 * Verifies secp256k1 message signatures with OpenSSL (node:crypto), about six times faster than
 * pure JS on the machines we measured (docs/BENCHMARKS.md). Keys are parsed once per sender. Like
 * the signer, it accepts only low-s signatures: a mauled copy of a message is refused, so it can
 * never appear twice under two envelope ids.
 */
export function createNativeVerifier(): SignatureVerifier {
  const keys = new Map<string, KeyObject>();
  return (signature, message, publicKey) => {
    let s = 0n;
    for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i]!);
    if (s === 0n || s > HALF_N) return false;
    const id = toHex(publicKey);
    let key = keys.get(id);
    if (!key) {
      let point: Uint8Array;
      try {
        point = secp.Point.fromBytes(publicKey).toBytes(false);
      } catch {
        return false;
      }
      key = createPublicKey({
        key: { kty: "EC", crv: "secp256k1", x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33)) },
        format: "jwk",
      });
      if (keys.size > 10_000) keys.clear();
      keys.set(id, key);
    }
    return verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
  };
}
