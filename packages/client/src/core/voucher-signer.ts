import { fromHex, type Voucher, type VoucherDomain, voucherDigester } from "@postbox/protocol";
import * as secp from "tiny-secp256k1";
import type { Hex } from "viem";
import { native } from "./native-secp256k1.js";

/** Whether vouchers are signed by the native libsecp256k1 (else by its WebAssembly build). */
export const nativeSigning = native !== undefined;

/**
 * Signs vouchers for one key and one channels contract on the client's hot path (one voucher per
 * page). The digest is computed directly from a precomputed domain separator and signed by
 * libsecp256k1: natively where its prebuilt binding loads (≈ 0.07 ms), otherwise compiled to
 * WebAssembly (tiny-secp256k1, ≈ 0.25 ms); `backend` forces one. Either way RFC 6979 nonces and
 * low-s signatures, so the 65 bytes (r ‖ s ‖ v, v ∈ {27, 28}) equal what viem's `signTypedData`
 * gives for the same key and voucher (tested), at a fraction of its cost.
 */
export function createVoucherSigner(
  privateKey: Hex,
  domain: VoucherDomain,
  backend: "native" | "wasm" = native ? "native" : "wasm",
): (voucher: Voucher) => Uint8Array {
  const key = fromHex(privateKey);
  const digest = voucherDigester(domain);
  if (backend === "native" && !native)
    throw new Error("the native libsecp256k1 binding (package secp256k1) does not load here");
  const sign =
    backend === "native"
      ? (d: Uint8Array) => {
          const { signature, recid } = native!.binding.ecdsaSign(d, key);
          return { signature, recoveryId: recid };
        }
      : (d: Uint8Array) => secp.signRecoverable(d, key);
  return (voucher) => {
    const { signature, recoveryId } = sign(digest(voucher));
    const out = new Uint8Array(65);
    out.set(signature, 0);
    out[64] = 27 + recoveryId;
    return out;
  };
}
