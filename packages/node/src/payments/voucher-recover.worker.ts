// Public-key recovery for the voucher verifier (see `VoucherVerifier`) on a worker thread, for
// when libsecp256k1 runs as WebAssembly: the mailbox's event loop, which serves pages, does not
// spend ≈ 0.4 ms per paid page on it.
import { workerData } from "node:worker_threads";
import { type Secp256k1Kind, secp256k1 } from "@postbox/net/secp256k1";
import { serveParent } from "@postbox/net/worker";

/** One recovery: the voucher's digest, its signature's `r ‖ s` and its recovery id. */
export interface RecoverJob {
  digest: Uint8Array;
  signature: Uint8Array;
  recovery: number;
}

const backend = secp256k1((workerData as { secp256k1: Secp256k1Kind }).secp256k1);

serveParent<RecoverJob, Uint8Array | null>(async ({ digest, signature, recovery }) => ({
  result: backend.recover(signature, recovery, digest),
}));
