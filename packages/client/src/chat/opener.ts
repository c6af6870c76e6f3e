import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { BaseError } from "../errors.js";
import { native } from "../native-secp256k1.js";

/** What a feed's envelopes are opened with. */
export interface FeedKeys {
  /** `inbox`, `room:<name>` or `group:<id>`. */
  feed: string;
  topic: string;
  /** The group key, for a group feed. */
  groupKey?: Uint8Array | undefined;
}

export interface EnvelopeToOpen {
  contentTopic: string;
  timestamp: bigint;
  payload: Uint8Array;
}

/** An opened message: its sender and text; null when the envelope is not ours or is forged. */
export type Opened = { sender: Uint8Array; text: string } | null;

/**
 * Each worker decrypts envelopes and checks their senders' signatures (libsecp256k1: the native
 * binding where it loads, else WebAssembly; low-s only, as in verify.ts) with the protocol
 * package's own functions: the code below only chooses which one. Plain JavaScript evaluated in
 * the worker; the modules are loaded from the paths resolved here.
 */
const OPENER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const native = workerData.native ? require(workerData.native) : null;
const secp = native ? null : require(workerData.secp);
const ready = import(workerData.protocol);
const verify = (signature, message, publicKey) => {
  if (signature.length !== 64) return false;
  const digest = createHash("sha256").update(message).digest();
  try {
    return native ? native.ecdsaVerify(signature, digest, publicKey) : secp.verify(digest, publicKey, signature, true);
  } catch {
    return false;
  }
};
parentPort.on("message", async ({ job, keys, envelopes }) => {
  try {
    const p = await ready;
    const me = keys.feed === "inbox" ? p.createIdentity(workerData.identity) : undefined;
    const groupKey = keys.groupKey;
    const out = envelopes.map((e) => {
      if (e.contentTopic !== keys.topic) return null;
      try {
        const m =
          keys.feed === "inbox"
            ? p.decryptDirect(me, e, { verify })
            : keys.feed.startsWith("room:")
              ? p.decryptRoom(keys.feed.slice(5), e, { verify })
              : p.decryptGroup(keys.feed.slice(6), groupKey, e, { verify });
        return { sender: m.sender, text: m.text };
      } catch (err) {
        if (err && err.name === "DecryptionError") return null;
        throw err;
      }
    });
    parentPort.postMessage({ job, out });
  } catch (err) {
    parentPort.postMessage({ job, error: String((err && err.stack) || err) });
  }
});
`;

interface Pending {
  resolve: (out: Opened[]) => void;
  reject: (err: Error) => void;
}

/**
 * Opens pages of envelopes (decrypt + verify the sender's signature) on worker threads, so that a
 * returning user's catch-up uses every core: the main thread keeps paging, paying and saving while
 * the workers check signatures, the bulk of the work (≈ 0.1 ms per message natively, ≈ 0.4 ms in
 * WebAssembly, on the machines we measured). A page is split across the workers and its results
 * come back in order.
 */
export class PageOpener {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #failed: Error | undefined;

  constructor(options: { identityKey: Uint8Array; workers?: number; backend?: "native" | "wasm" }) {
    const size = options.workers ?? Math.max(1, Math.min(8, availableParallelism()));
    const require = createRequire(import.meta.url);
    const workerData = {
      native: (options.backend ?? "native") === "native" ? native?.path : undefined,
      secp: require.resolve("tiny-secp256k1"),
      // The crypto module alone: the package's index also loads viem, which a worker never needs.
      protocol: import.meta.resolve("@postbox/protocol/crypto"),
      identity: options.identityKey,
    };
    for (let i = 0; i < size; i++) {
      const worker = new Worker(OPENER_SOURCE, { eval: true, workerData });
      worker.on("message", (m: { job: number; out?: Opened[]; error?: string }) => {
        const p = this.#pending.get(m.job);
        this.#pending.delete(m.job);
        if (m.error !== undefined) p?.reject(new BaseError("could not open messages", { details: m.error }));
        else p?.resolve(m.out ?? []);
      });
      worker.on("error", (err) => this.#fail(err));
      worker.unref();
      this.#workers.push(worker);
    }
  }

  /** Opens `envelopes` of one feed; the results are in the same order. */
  async open(keys: FeedKeys, envelopes: EnvelopeToOpen[]): Promise<Opened[]> {
    if (this.#failed) throw this.#failed;
    if (envelopes.length === 0) return [];
    const per = Math.ceil(envelopes.length / this.#workers.length);
    const parts: Promise<Opened[]>[] = [];
    for (let i = 0, w = 0; i < envelopes.length; i += per, w++) {
      // A payload is usually a view into a whole decoded page: cloning a view copies its entire
      // buffer, so each goes as a copy of just its bytes.
      const chunk = envelopes.slice(i, i + per).map((e) => ({
        contentTopic: e.contentTopic,
        timestamp: e.timestamp,
        payload: e.payload.slice(),
      }));
      const job = ++this.#next;
      parts.push(
        new Promise<Opened[]>((resolve, reject) => {
          this.#pending.set(job, { resolve, reject });
          this.#workers[w % this.#workers.length]!.postMessage({ job, keys, envelopes: chunk });
        }),
      );
    }
    return (await Promise.all(parts)).flat();
  }

  #fail(err: Error): void {
    this.#failed = new BaseError("a message-opening worker failed", { cause: err });
    for (const p of this.#pending.values()) p.reject(this.#failed);
    this.#pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
