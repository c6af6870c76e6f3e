import { type NativeSecp256k1, nativeSecp256k1 } from "@postbox/net/secp256k1";

/**
 * The native libsecp256k1 binding as @postbox/net loaded it (its path and the binding), or
 * undefined where it does not load: the WebAssembly build is used instead. The one loader is
 * `@postbox/net/secp256k1` (with `secp256k1()`, the backend); this keeps the client's name for it.
 */
export const native: { path: string; binding: NativeSecp256k1 } | undefined = nativeSecp256k1.binding
  ? { path: nativeSecp256k1.path, binding: nativeSecp256k1.binding }
  : undefined;
