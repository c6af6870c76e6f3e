import { createRequire } from "node:module";

/** libsecp256k1 as a native addon: the `secp256k1` package's prebuilt N-API binding. */
export interface NativeSecp256k1 {
  ecdsaSign(digest: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; recid: number };
  /** Throws on an unparsable signature or key; false for a high-s or wrong signature. */
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

const require = createRequire(import.meta.url);

/**
 * The binding's module path and the binding, or undefined where it does not load (no prebuilt
 * binary for the platform and none compiled at install): the WebAssembly build (tiny-secp256k1)
 * is used instead. Worker threads load it again from `path`.
 */
export const native: { path: string; binding: NativeSecp256k1 } | undefined = (() => {
  try {
    const path = require.resolve("secp256k1/bindings.js");
    return { path, binding: require(path) as NativeSecp256k1 };
  } catch {
    return undefined;
  }
})();
