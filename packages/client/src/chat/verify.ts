import { createHash } from "node:crypto";
import type { SignatureVerifier } from "@postbox/protocol";
import * as secp from "tiny-secp256k1";
import { native } from "../native-secp256k1.js";

/**
 * Verifies secp256k1 message signatures with libsecp256k1: natively where its prebuilt binding
 * loads (≈ 4× its WebAssembly build here), otherwise compiled to WebAssembly (tiny-secp256k1, about
 * 1.6× OpenSSL and 9× pure-JS noble on the machines we measured, docs/BENCHMARKS.md); `backend`
 * forces one. SHA-256 through node:crypto. Like the signer, it accepts only low-s signatures: a
 * mauled copy of a message is refused, so it can never appear twice under two envelope ids.
 */
export function createNativeVerifier(
  backend: "native" | "wasm" = native ? "native" : "wasm",
): SignatureVerifier {
  if (backend === "native" && !native)
    throw new Error("the native libsecp256k1 binding (package secp256k1) does not load here");
  const lib = backend === "native" ? native!.binding : undefined;
  return (signature, message, publicKey) => {
    if (signature.length !== 64) return false;
    const digest = createHash("sha256").update(message).digest();
    try {
      // libsecp256k1 accepts only lower-s signatures in both builds (tiny-secp256k1's strict mode).
      return lib
        ? lib.ecdsaVerify(signature, digest, publicKey)
        : secp.verify(digest, publicKey, signature, true);
    } catch {
      return false; // not a point, or r/s out of range
    }
  };
}
