import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { hashVoucher, InvalidVoucherError, MAX_AMOUNT, type VoucherDomain } from "@postbox/protocol";
import type { Address, Hex } from "viem";

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;
const G = secp256k1.ProjectivePoint.BASE;
const N = secp256k1.CURVE.n;
const HALF_N = N >> 1n;

function big(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function invert(a: bigint): bigint {
  let [x, y, u, v] = [((a % N) + N) % N, N, 1n, 0n];
  while (x !== 0n) {
    const q = y / x;
    [x, y, u, v] = [y % x, x, v - q * u, u];
  }
  return ((v % N) + N) % N;
}

/**
 * Verifies vouchers exactly as `PaymentChannels` does (65 bytes, `v` ∈ {27, 28}, low `s`, `ecrecover`
 * to the signer), faster for signers seen before. The first voucher of a signer is checked by
 * recovery; its public key is then kept with a precomputed multiplication table, and later
 * vouchers are checked by computing `R = z·s⁻¹·G + r·s⁻¹·Q` and requiring `R.x == r` and the parity
 * of `R.y` to be `v − 27` — which holds if and only if `ecrecover(digest, v, r, s) == Q`.
 */
export class VoucherVerifier {
  readonly #domain: VoucherDomain;
  readonly #keys = new Map<string, Point>();
  readonly #maxKeys: number;

  constructor(domain: VoucherDomain, options: { maxKeys?: number } = {}) {
    this.#domain = domain;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Throws {@link InvalidVoucherError} naming the broken rule. */
  verify(
    voucher: { channelId: Hex; cumulativeAmount: bigint },
    signature: Uint8Array,
    signer: Address,
  ): void {
    if (signature.length !== 65)
      throw new InvalidVoucherError("signature length", `${signature.length} bytes`);
    const v = signature[64]!;
    if (v !== 27 && v !== 28) throw new InvalidVoucherError("signature v", `v = ${v}`);
    const r = big(signature.subarray(0, 32));
    const s = big(signature.subarray(32, 64));
    if (r === 0n || r >= N || s === 0n) throw new InvalidVoucherError("malformed signature");
    if (s > HALF_N) throw new InvalidVoucherError("signature s", "s is in the upper half of the order");
    if (voucher.cumulativeAmount < 0n || voucher.cumulativeAmount > MAX_AMOUNT) {
      throw new InvalidVoucherError("amount out of range", `${voucher.cumulativeAmount}`);
    }
    const digestHex = hashVoucher(this.#domain, voucher);
    const digest = new Uint8Array(32);
    for (let i = 0; i < 32; i++) digest[i] = Number.parseInt(digestHex.slice(2 + i * 2, 4 + i * 2), 16);
    const key = signer.toLowerCase();
    const Q = this.#keys.get(key);
    if (!Q) {
      let recovered: Point;
      try {
        recovered = new secp256k1.Signature(r, s).addRecoveryBit(v - 27).recoverPublicKey(digest);
      } catch {
        throw new InvalidVoucherError("malformed signature");
      }
      const address = `0x${Buffer.from(keccak_256(recovered.toRawBytes(false).subarray(1)).subarray(12)).toString("hex")}`;
      if (address !== key)
        throw new InvalidVoucherError("wrong signer", `recovered ${address}, expected ${signer}`);
      recovered._setWindowSize(8);
      if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(key, recovered);
      return;
    }
    const z = big(digest) % N;
    const w = invert(s);
    const u1 = (z * w) % N;
    const u2 = (r * w) % N;
    const sum = (u1 === 0n ? secp256k1.ProjectivePoint.ZERO : G.multiply(u1)).add(Q.multiply(u2));
    if (sum.equals(secp256k1.ProjectivePoint.ZERO)) throw new InvalidVoucherError("wrong signer");
    const R = sum.toAffine();
    if (R.x !== r || (R.y & 1n) !== BigInt(v - 27))
      throw new InvalidVoucherError("wrong signer", "does not recover to the channel's signer");
  }
}
