// The protocol's crypto entry, not its index (which loads viem, ≈ 0.4 s): a worker loads this module.
import {
  type CachedCertificate,
  CertificateCache,
  createIdentity,
  type EnvelopeToOpen,
  type FeedKeys,
  type Identity,
  type OpenContext,
  type OpenedMessage,
  openEnvelope,
} from "@postbox/protocol/crypto";
import { DecryptionError } from "@postbox/protocol/errors";
import type { PlatformCrypto } from "../platform/types.js";
import type { JobHandler } from "./pool.js";

/** A page of one feed's envelopes to open (decrypt, check certificates and signatures). */
export interface OpenPageJob {
  feed: FeedKeys;
  /** The reader's identity key: needed for an inbox only. */
  identityKey?: Uint8Array;
  /** The payloads one after the other, in one buffer (moved to the worker, not copied). */
  buffer: ArrayBuffer;
  envelopes: { contentTopic: string; timestamp: bigint; offset: number; length: number }[];
  /** Certificates known good (their cache keys), which are not checked again. */
  knownCertificates: string[];
}

export interface OpenPageResult {
  /** One per envelope, in order: the message, or null when it is not a valid message of the feed. */
  opened: (OpenedMessage | null)[];
  /** Certificates checked for the first time, for the caller to remember. */
  newCertificates: CachedCertificate[];
}

/** Packs envelopes into a job: their payloads copied into one buffer that travels by transfer. */
export function packPage(
  feed: FeedKeys,
  envelopes: readonly EnvelopeToOpen[],
  options: { identityKey?: Uint8Array | undefined; knownCertificates?: string[] } = {},
): { job: OpenPageJob; transfer: ArrayBuffer[] } {
  let total = 0;
  for (const e of envelopes) total += e.payload.length;
  const bytes = new Uint8Array(total);
  let offset = 0;
  const index = envelopes.map((e) => {
    bytes.set(e.payload, offset);
    const entry = { contentTopic: e.contentTopic, timestamp: e.timestamp, offset, length: e.payload.length };
    offset += e.payload.length;
    return entry;
  });
  const job: OpenPageJob = {
    feed,
    buffer: bytes.buffer,
    envelopes: index,
    knownCertificates: options.knownCertificates ?? [],
    ...(options.identityKey ? { identityKey: options.identityKey } : {}),
  };
  return { job, transfer: [bytes.buffer] };
}

/** The context {@link openEnvelope} opens with, from a platform's crypto. */
export function openContext(
  crypto: PlatformCrypto,
  certs: CertificateCache,
  identity: Identity | undefined,
): OpenContext {
  return {
    identity,
    certs,
    secp256k1: crypto.secp256k1Verify,
    ed25519: crypto.ed25519.verifier,
    xchacha20poly1305Open: crypto.xchacha20poly1305Open,
  };
}

/**
 * Opens a page: each envelope decrypted and verified by the protocol's own rules (v1 or v2), all of
 * the page at once (an asynchronous backend such as WebCrypto verifies them in parallel). An
 * envelope that is not a valid message of the feed is null; anything else (a backend that fails)
 * fails the page.
 */
export async function openPage(
  job: OpenPageJob,
  crypto: PlatformCrypto,
  certs: CertificateCache,
  identity?: Identity,
): Promise<OpenPageResult> {
  if (job.knownCertificates.length > 0) certs.seed(job.knownCertificates);
  const ctx = openContext(crypto, certs, identity);
  const bytes = new Uint8Array(job.buffer);
  const opened = await Promise.all(
    job.envelopes.map(async (e) => {
      try {
        return await openEnvelope(
          job.feed,
          {
            contentTopic: e.contentTopic,
            timestamp: e.timestamp,
            payload: bytes.subarray(e.offset, e.offset + e.length),
          },
          ctx,
        );
      } catch (err) {
        if (err instanceof DecryptionError) return null;
        throw err;
      }
    }),
  );
  return { opened, newCertificates: certs.takeNew() };
}

/**
 * The job handler a worker runs: one certificate cache for its lifetime (so each sender device's
 * certificate is checked once per worker), the reader's identity made once.
 */
export function openPageHandler(crypto: PlatformCrypto): JobHandler<OpenPageJob, OpenPageResult> {
  const certs = new CertificateCache();
  let reader: Identity | undefined;
  return async (job) => {
    if (job.identityKey && (!reader || !sameBytes(reader.privateKey, job.identityKey)))
      reader = createIdentity(job.identityKey);
    const result = await openPage(job, crypto, certs, job.identityKey ? reader : undefined);
    return { result };
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
