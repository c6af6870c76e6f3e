import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  bytesEqual,
  bytesToBigint,
  InvalidVoucherError,
  type Voucher,
  type VoucherDomain,
  voucherDigester,
} from "@postbox/protocol";
import * as secp from "tiny-secp256k1";
import type { Address } from "viem";

/**
 * Public-key recovery on worker threads, so that the mailbox's event loop (which serves pages) does
 * not spend ≈ 0.4–0.6 ms per paid page on it. Plain JavaScript evaluated in each worker, loading
 * libsecp256k1 (tiny-secp256k1's WebAssembly build) from the path resolved here.
 */
const RECOVER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const secp = require(workerData.secp);
parentPort.on("message", (jobs) => {
  const out = [];
  for (const [id, digest, signature, recoveryId] of jobs) {
    let key = null;
    try {
      key = secp.recover(digest, signature, recoveryId, false);
    } catch {}
    out.push([id, key]);
  }
  parentPort.postMessage(out);
});
`;

type Job = { resolve: (key: Uint8Array | null) => void; reject: (err: Error) => void };

class RecoverPool {
  readonly #workers: { worker: Worker; busy: number }[] = [];
  readonly #jobs = new Map<number, Job>();
  /** Jobs queued in this tick, per worker: sent together (one message per worker per tick). */
  readonly #queued = new Map<number, [number, Uint8Array, Uint8Array, number][]>();
  #next = 0;
  #round = 0;
  #scheduled = false;
  #failed: Error | undefined;

  constructor(size: number) {
    const path = createRequire(import.meta.url).resolve("tiny-secp256k1");
    for (let i = 0; i < size; i++) {
      const worker = new Worker(RECOVER_SOURCE, { eval: true, workerData: { secp: path } });
      const slot = { worker, busy: 0 };
      worker.on("message", (results: [number, Uint8Array | null][]) => {
        for (const [id, key] of results) {
          slot.busy--;
          const job = this.#jobs.get(id);
          this.#jobs.delete(id);
          job?.resolve(key);
        }
      });
      worker.on("error", (err) => this.#fail(err));
      worker.unref();
      this.#workers.push(slot);
    }
  }

  recover(digest: Uint8Array, signature: Uint8Array, recoveryId: number): Promise<Uint8Array | null> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      const id = ++this.#next;
      this.#jobs.set(id, { resolve, reject });
      // The least busy worker (round robin among equals).
      let best = this.#round++ % this.#workers.length;
      for (let i = 0; i < this.#workers.length; i++) {
        if (this.#workers[i]!.busy < this.#workers[best]!.busy) best = i;
      }
      this.#workers[best]!.busy++;
      const queue = this.#queued.get(best) ?? [];
      queue.push([id, digest, signature.slice(0, 64), recoveryId]);
      this.#queued.set(best, queue);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#send());
      }
    });
  }

  #send(): void {
    this.#scheduled = false;
    for (const [i, jobs] of this.#queued) this.#workers[i]!.worker.postMessage(jobs);
    this.#queued.clear();
  }

  #fail(err: Error): void {
    this.#failed = new Error(`voucher verification worker failed: ${err.message}`);
    for (const job of this.#jobs.values()) job.reject(this.#failed);
    this.#jobs.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map(({ worker }) => worker.terminate()));
  }
}

/** libsecp256k1 as a native addon: the `secp256k1` package's prebuilt N-API binding. */
interface NativeSecp256k1 {
  ecdsaRecover(
    signature: Uint8Array,
    recoveryId: number,
    digest: Uint8Array,
    compressed: boolean,
  ): Uint8Array;
}

/**
 * The native binding, or undefined where it does not load (no prebuilt binary for the platform
 * and none compiled at install): recovery then uses the WebAssembly build on worker threads.
 */
const NATIVE: NativeSecp256k1 | undefined = (() => {
  try {
    return createRequire(import.meta.url)("secp256k1/bindings.js") as NativeSecp256k1;
  } catch {
    return undefined;
  }
})();

/** Whether vouchers are recovered by the native libsecp256k1 (else by its WebAssembly build). */
export const nativeRecovery = NATIVE !== undefined;

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N >> 1n;

/**
 * Verifies vouchers exactly as `PaymentChannels` does (65 bytes, `v` ∈ {27, 28}, low `s`,
 * `ecrecover` to the signer), on the mailbox's hot path. Recovery runs in libsecp256k1: natively,
 * inline (≈ 0.1 ms, less than handing the job to a thread and back), where its prebuilt binding
 * loads; otherwise compiled to WebAssembly (tiny-secp256k1, ≈ 0.4 ms) on `workers` worker threads
 * (default: one per core but one, at least one; 0 recovers inline). The EIP-712 digest is computed
 * directly from a precomputed domain separator. The first voucher of a signer is checked against
 * its address (keccak of the recovered key); its public key is then kept, and later vouchers are
 * compared with it byte for byte.
 */
export class VoucherVerifier {
  readonly digest: (voucher: Voucher) => Uint8Array;
  readonly #keys = new Map<string, Uint8Array>();
  readonly #maxKeys: number;

  readonly #pool: RecoverPool | undefined;

  readonly #native: NativeSecp256k1 | undefined;

  /**
   * `recovery`: `native` (the default where the binding loads) or `wasm`; `workers` applies to
   * `wasm` only.
   */
  constructor(
    domain: VoucherDomain,
    options: { maxKeys?: number; workers?: number; recovery?: "native" | "wasm" } = {},
  ) {
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.digest = voucherDigester(domain);
    const recovery = options.recovery ?? (NATIVE ? "native" : "wasm");
    if (recovery === "native") {
      if (!NATIVE) throw new Error("the native libsecp256k1 binding (package secp256k1) does not load here");
      this.#native = NATIVE;
      return;
    }
    const workers = options.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    if (workers > 0) this.#pool = new RecoverPool(workers);
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.#pool?.close() ?? Promise.resolve();
  }

  /** Rejects with {@link InvalidVoucherError} naming the broken rule. */
  async verify(voucher: Voucher, signature: Uint8Array, signer: Address): Promise<void> {
    if (signature.length !== 65)
      throw new InvalidVoucherError("signature length", `${signature.length} bytes`);
    const v = signature[64]!;
    if (v !== 27 && v !== 28) throw new InvalidVoucherError("signature v", `v = ${v}`);
    const r = bytesToBigint(signature.subarray(0, 32));
    const s = bytesToBigint(signature.subarray(32, 64));
    if (r === 0n || r >= N || s === 0n) throw new InvalidVoucherError("malformed signature");
    if (s > HALF_N) throw new InvalidVoucherError("signature s", "s is in the upper half of the order");
    const digest = this.digest(voucher);
    let recovered: Uint8Array | null = null;
    if (this.#pool) {
      recovered = await this.#pool.recover(digest, signature, v - 27);
    } else {
      try {
        recovered = this.#native
          ? this.#native.ecdsaRecover(signature.subarray(0, 64), v - 27, digest, false)
          : secp.recover(digest, signature.subarray(0, 64), (v - 27) as 0 | 1, false);
      } catch {
        recovered = null;
      }
    }
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
