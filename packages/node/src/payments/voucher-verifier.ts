import { secp256k1 } from "@noble/curves/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  InvalidVoucherError,
  MAX_AMOUNT,
  VOUCHER_DOMAIN_NAME,
  VOUCHER_DOMAIN_VERSION,
  type VoucherDomain,
} from "@postbox/protocol";
import type { Address, Hex } from "viem";

type Point = InstanceType<typeof secp256k1.ProjectivePoint>;
const G = secp256k1.ProjectivePoint.BASE;
const N = secp256k1.CURVE.n;
const HALF_N = N >> 1n;

const TYPEHASH = keccak_256(new TextEncoder().encode("Voucher(bytes32 channelId,uint256 cumulativeAmount)"));

function hexBytes(hex: string, length: number): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length !== length * 2) throw new InvalidVoucherError("malformed signature", "bad field length");
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number.parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function uint256(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = v;
  for (let i = 31; i >= 0 && x > 0n; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

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
  readonly #separator: Uint8Array;
  readonly #keys = new Map<string, Point>();
  readonly #maxKeys: number;

  constructor(domain: VoucherDomain, options: { maxKeys?: number } = {}) {
    this.#maxKeys = options.maxKeys ?? 10_000;
    // The domain separator, once.
    const enc = new TextEncoder();
    const domainTypehash = keccak_256(
      enc.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
    );
    const d = new Uint8Array(160);
    d.set(domainTypehash, 0);
    d.set(keccak_256(enc.encode(VOUCHER_DOMAIN_NAME)), 32);
    d.set(keccak_256(enc.encode(VOUCHER_DOMAIN_VERSION)), 64);
    d.set(uint256(BigInt(domain.chainId)), 96);
    d.set(hexBytes(domain.verifyingContract, 20), 140);
    this.#separator = keccak_256(d);
  }

  /**
   * The EIP-712 digest, computed directly: keccak256(0x1901 ‖ domainSeparator ‖
   * keccak256(VOUCHER_TYPEHASH ‖ channelId ‖ cumulativeAmount)), with the domain separator computed
   * once. Equal to `hashVoucher` (tested).
   */
  digest(voucher: { channelId: Hex; cumulativeAmount: bigint }): Uint8Array {
    const struct = new Uint8Array(96);
    struct.set(TYPEHASH, 0);
    struct.set(hexBytes(voucher.channelId, 32), 32);
    struct.set(uint256(voucher.cumulativeAmount), 64);
    const message = new Uint8Array(66);
    message[0] = 0x19;
    message[1] = 0x01;
    message.set(this.#separator, 2);
    message.set(keccak_256(struct), 34);
    return keccak_256(message);
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
    const digest = this.digest(voucher);
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
