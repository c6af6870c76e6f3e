import { availableParallelism } from "node:os";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { nativeSecp256k1, type Secp256k1, secp256k1 } from "@postbox/net/secp256k1";
import { threadPool } from "@postbox/net/worker";
import {
  bytesEqual,
  checkVoucherSignature,
  InvalidVoucherError,
  type Voucher,
  type VoucherDomain,
  voucherDigester,
} from "@postbox/protocol";
import type { WorkerPool } from "@postbox/protocol/pool";
import type { Address } from "viem";
import type { RecoverJob } from "./voucher-recover.worker.js";

/** Whether vouchers are recovered by the native libsecp256k1 (else by its WebAssembly build). */
export const nativeRecovery = nativeSecp256k1.binding !== undefined;

/**
 * Verifies vouchers exactly as `PaymentChannels` does (the signature's shape by
 * `checkVoucherSignature` — 65 bytes, `v` ∈ {27, 28}, `r` in range, low `s` —, then `ecrecover` to
 * the signer), on the mailbox's hot path. Recovery runs in libsecp256k1 (`@postbox/net/secp256k1`):
 * natively, inline (≈ 0.1 ms, less than handing the job to a thread and back), where its prebuilt
 * binding loads; otherwise compiled to WebAssembly (≈ 0.4 ms) on `workers` worker threads
 * (`voucher-recover.worker.ts`; default: one per core but one, at least one; 0 recovers inline).
 * The EIP-712 digest is computed directly from a precomputed domain separator. The first voucher
 * of a signer is checked against its address (keccak of the recovered key); its public key is
 * then kept, and later vouchers are compared with it byte for byte.
 */
export class VoucherVerifier {
  readonly digest: (voucher: Voucher) => Uint8Array;
  /** The libsecp256k1 build that recovers, for the application to report ("libsecp256k1 (native)"). */
  readonly backend: string;
  readonly #keys = new Map<string, Uint8Array>();
  readonly #maxKeys: number;
  readonly #secp: Secp256k1;
  readonly #pool: WorkerPool<RecoverJob, Uint8Array | null> | undefined;

  /**
   * `recovery`: `native` (the default where the binding loads; elsewhere asking for it throws
   * `Secp256k1Error`) or `wasm`; `workers` applies to `wasm` only.
   */
  constructor(
    domain: VoucherDomain,
    options: { maxKeys?: number; workers?: number; recovery?: "native" | "wasm" } = {},
  ) {
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.digest = voucherDigester(domain);
    this.#secp = secp256k1(options.recovery);
    this.backend = this.#secp.name;
    if (this.#secp.kind === "native") return;
    const workers = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    if (workers > 0)
      this.#pool = threadPool(import.meta.url, "voucher-recover", {
        size: workers,
        workerData: { secp256k1: this.#secp.kind },
        name: "postbox voucher recovery",
      });
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.#pool?.close() ?? Promise.resolve();
  }

  /** Rejects with {@link InvalidVoucherError} naming the broken rule. */
  async verify(voucher: Voucher, signature: Uint8Array, signer: Address): Promise<void> {
    const recovery = checkVoucherSignature(signature);
    const digest = this.digest(voucher);
    // Only the 64 bytes of `r ‖ s` go to a worker: the signature is often a view into a stream's
    // large receive buffer, which cloning the view would copy whole.
    const recovered = this.#pool
      ? await this.#pool.run({ digest, signature: signature.slice(0, 64), recovery })
      : this.#secp.recover(signature, recovery, digest);
    if (!recovered) throw new InvalidVoucherError("malformed signature", "no key recovers from it");
    const key = signer.toLowerCase();
    const known = this.#keys.get(key);
    if (known) {
      if (!bytesEqual(known, recovered))
        throw new InvalidVoucherError("wrong signer", "does not recover to the channel's signer");
      return;
    }
    const address = `0x${Buffer.from(keccak_256(recovered.subarray(1)).subarray(12)).toString("hex")}`;
    if (address !== key)
      throw new InvalidVoucherError("wrong signer", `recovered ${address}, expected ${signer}`);
    if (this.#keys.size >= this.#maxKeys) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(key, recovered);
  }
}
