import { createRequire } from "node:module";
import { dirname } from "node:path";
import { BaseError } from "@postbox/protocol/errors";

/**
 * libsecp256k1 for Node, the one backend the mailbox and the client use: natively, through the
 * `secp256k1` package's prebuilt N-API binding (about 4× faster), where it loads; otherwise
 * compiled to WebAssembly (tiny-secp256k1). Both are the same C library, with the same rules:
 * signatures are RFC 6979, and only lower-s signatures verify.
 */
export interface Secp256k1 {
  readonly kind: Secp256k1Kind;
  /** For people: "libsecp256k1 (native)" or "libsecp256k1 (WebAssembly)". */
  readonly name: string;
  /** A recoverable signature of a 32-byte digest: 64 bytes `r ‖ s` (low `s`) and the recovery id. */
  sign(digest: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recovery: number };
  /**
   * Whether the 64-byte `r ‖ s` signs the digest for the public key; false for a wrong or high-s
   * signature, and for a signature or key that does not parse.
   */
  verify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
  /** The uncompressed 65-byte public key that signed the digest, or null when none recovers. */
  recover(signature: Uint8Array, recovery: number, digest: Uint8Array): Uint8Array | null;
}

export type Secp256k1Kind = "native" | "wasm";

/** The native binding's functions used here (package `secp256k1`, `bindings.js`). */
export interface NativeSecp256k1 {
  ecdsaSign(digest: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  /** Throws on an unparsable signature or key; false for a high-s or wrong signature. */
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
  /** Throws when the signature does not parse or no key recovers. */
  ecdsaRecover(signature: Uint8Array, recovery: number, digest: Uint8Array, compressed: boolean): Uint8Array;
}

/** The secp256k1 backend asked for does not load here. */
export class Secp256k1Error extends BaseError {
  override name = "Secp256k1Error" as const;
}

const require = createRequire(import.meta.url);

type Loaded = { path: string; binding: NativeSecp256k1; problem?: undefined };
type Missing = { path?: undefined; binding?: undefined; problem: string };

/**
 * The native binding as it loaded in this thread: the `.node` file node-gyp-build chose (a
 * prebuilt one from the package's `prebuilds/`, or one compiled at install, which the project's
 * `allowScripts` does not run), or why it did not load. The package's own entry falls back to a
 * pure-JS build silently; this loads the binding alone, so a fallback is always visible here.
 */
export const nativeSecp256k1: Loaded | Missing = (() => {
  try {
    const entry = require.resolve("secp256k1/bindings.js");
    const binding = require(entry) as NativeSecp256k1;
    // The binding's own loader, asked (from the binding's package) which file it took.
    const gyp = createRequire(entry)("node-gyp-build") as { path(dir: string): string };
    return { path: gyp.path(dirname(entry)), binding };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { problem: message.split("\n")[0]! };
  }
})();

let wasmBackend: Secp256k1 | undefined;
let nativeBackend: Secp256k1 | undefined;

/**
 * The backend: `native` (the default where the binding loads) or `wasm`. Asking for `native`
 * where it does not load throws {@link Secp256k1Error}. Libraries do not log which one they got:
 * the application says so once (`name`, and `nativeSecp256k1.problem` when it is WebAssembly).
 */
export function secp256k1(kind: Secp256k1Kind = nativeSecp256k1.binding ? "native" : "wasm"): Secp256k1 {
  if (kind === "wasm") {
    wasmBackend ??= wasm();
    return wasmBackend;
  }
  const { binding, problem } = nativeSecp256k1;
  if (!binding)
    throw new Secp256k1Error("the native libsecp256k1 binding (package secp256k1) does not load here", {
      details: problem,
    });
  nativeBackend ??= native(binding);
  return nativeBackend;
}

function native(lib: NativeSecp256k1): Secp256k1 {
  return {
    kind: "native",
    name: "libsecp256k1 (native)",
    sign(digest, privateKey) {
      const { signature, recid } = lib.ecdsaSign(digest, privateKey);
      return { signature, recovery: recid };
    },
    verify(signature, digest, publicKey) {
      if (signature.length !== 64) return false;
      try {
        return lib.ecdsaVerify(signature, digest, publicKey);
      } catch {
        return false; // not a point, or r/s out of range
      }
    },
    recover(signature, recovery, digest) {
      try {
        return lib.ecdsaRecover(signature.subarray(0, 64), recovery, digest, false);
      } catch {
        return null;
      }
    },
  };
}

function wasm(): Secp256k1 {
  // Loaded on first use: a process on the native binding never instantiates the WebAssembly module.
  const lib = require("tiny-secp256k1") as typeof import("tiny-secp256k1");
  return {
    kind: "wasm",
    name: "libsecp256k1 (WebAssembly)",
    sign(digest, privateKey) {
      const { signature, recoveryId } = lib.signRecoverable(digest, privateKey);
      return { signature, recovery: recoveryId };
    },
    verify(signature, digest, publicKey) {
      if (signature.length !== 64) return false;
      try {
        return lib.verify(digest, publicKey, signature, true); // strict: lower s only
      } catch {
        return false;
      }
    },
    recover(signature, recovery, digest) {
      try {
        return lib.recover(digest, signature.subarray(0, 64), recovery as 0 | 1, false);
      } catch {
        return null;
      }
    },
  };
}
