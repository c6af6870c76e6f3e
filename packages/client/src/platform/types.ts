import type {
  DeviceKey,
  Ed25519VerifierFactory,
  SignatureVerifier,
  StoredDeviceKey,
  XChaCha20Poly1305Open,
} from "@postbox/protocol";
import type { Libp2pOptions } from "libp2p";
import type { DialPolicy } from "../core/addresses.js";
import type { OpenPageJob, OpenPageResult } from "../core/open-page.js";
import type { WorkerPool } from "../core/pool.js";
import type { ChannelStore, ClientStorage } from "../storage/types.js";

/**
 * What the isomorphic core needs from where it runs. Two implementations: `platform/node` (SQLite,
 * TCP and WebSockets, OpenSSL and libsecp256k1, worker_threads) and `platform/browser` (IndexedDB,
 * WebSockets, WebCrypto and @noble, Web Workers). The package's entries bind one each.
 */
export interface Platform {
  readonly name: "node" | "browser";
  /** The client's storage: a data folder (Node) or an IndexedDB database name (browser). */
  openStorage(location: string): Promise<ClientStorage>;
  /** The payment channels' records, at the same location. */
  openChannelStore(location: string): Promise<ChannelStore>;
  /** Which addresses this client can dial. */
  dialPolicy(): DialPolicy;
  /** The libp2p transports, connection encrypters and gater for that policy. */
  libp2p(policy: DialPolicy): Pick<Libp2pOptions, "transports" | "connectionEncrypters" | "connectionGater">;
  readonly crypto: PlatformCrypto;
  /** Workers that open catch-up pages (default size: the platform's; 0 opens them inline). */
  openerPool(size?: number): WorkerPool<OpenPageJob, OpenPageResult>;
  /** Logical cores. */
  cores(): number;
}

/** The fastest primitives a platform has; the core uses nothing else. */
export interface PlatformCrypto {
  /** SHA-256, synchronous (node:crypto | @noble/hashes). */
  sha256(data: Uint8Array): Uint8Array;
  /** secp256k1 ECDSA over SHA-256(message), low-s only: v1 messages and device certificates. */
  secp256k1Verify: SignatureVerifier;
  /** RFC 6979, low-s: `signature` is r ‖ s (64 bytes), `recovery` 0 or 1 (vouchers). */
  secp256k1SignRecoverable(
    digest: Uint8Array,
    privateKey: Uint8Array,
  ): { signature: Uint8Array; recovery: number };
  /** Device keys (v2): made, loaded from storage, and each sender device's key imported once to verify. */
  ed25519: {
    generate(): Promise<DeviceKey>;
    load(stored: StoredDeviceKey): Promise<DeviceKey>;
    verifier: Ed25519VerifierFactory;
  };
  /** A faster XChaCha20-Poly1305 opening than the pure-JS default (Node: OpenSSL). */
  xchacha20poly1305Open?: XChaCha20Poly1305Open | undefined;
  /** Which backend does what, in words (benchmarks, diagnostics). */
  readonly backends: { secp256k1: string; ed25519: string; xchacha20poly1305: string };
}
