import type { PrivateKey, PublicKey } from "@libp2p/interface";
import { sha256 } from "@noble/hashes/sha2.js";
import { canonical } from "./canonical.js";
import { InvalidSignatureError } from "./errors.js";
import type { StoreQuery, StoreReceipt } from "./pb/messages.js";

/** The bytes a mailbox signs for a store receipt. */
export function receiptSigningBytes(
  r: Pick<StoreReceipt, "envelopeId" | "storedAt" | "retainUntil">,
): Uint8Array {
  return canonical("postbox/receipt/1", r.envelopeId, r.storedAt, r.retainUntil);
}

/**
 * A digest of everything in a query that determines its answer (the voucher excluded), in a
 * canonical form any implementation can reproduce.
 */
export function queryDigest(q: StoreQuery): Uint8Array {
  return sha256(
    canonical(
      "postbox/query/1",
      q.requestId,
      q.contentTopics.length,
      ...q.contentTopics,
      q.timeStart ?? 0n,
      q.timeEnd ?? 0n,
      q.ids.length,
      ...q.ids,
      q.includeData ? 1 : 0,
      q.cursor ?? new Uint8Array(0),
      q.forward ? 1 : 0,
      q.pageSize ?? 0,
    ),
  );
}

/**
 * The bytes a mailbox signs over a page: the query digest, the ids it returned in order, and the
 * next cursor. Signed, this is evidence of what the mailbox claimed to hold.
 */
export function commitmentSigningBytes(
  q: StoreQuery,
  ids: Uint8Array[],
  nextCursor: Uint8Array | undefined,
): Uint8Array {
  return canonical(
    "postbox/commitment/1",
    queryDigest(q),
    ids.length,
    ...ids,
    nextCursor ?? new Uint8Array(0),
  );
}

/** Signs with a libp2p private key (the mailbox's peer key). */
export async function signWithPeerKey(key: PrivateKey, bytes: Uint8Array): Promise<Uint8Array> {
  return key.sign(bytes);
}

/** Verifies a mailbox signature; throws {@link InvalidSignatureError}. */
export async function verifyPeerSignature(
  key: PublicKey,
  bytes: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  let ok = false;
  try {
    ok = await key.verify(bytes, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidSignatureError("signature does not match the mailbox's peer key");
}
