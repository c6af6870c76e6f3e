import { fromBareHex, toBareHex } from "../canonical.js";
import { CertificateCache } from "../certificate.js";
import { createIdentity, type FeedKeys, openEnvelope, type SignatureVerifier } from "../crypto.js";
import type { Ed25519VerifierFactory } from "../ed25519.js";
import { DecryptionError } from "../errors.js";

/**
 * Runs the rows of `v2.json` (docs/protocol.md, "Test vectors") through {@link openEnvelope} with
 * one set of backends. Isomorphic: the Node tests and a Chromium page run the same code.
 */

/** Hex strings for bytes, decimal strings for 64-bit integers. */
export type VectorFeed =
  | { kind: "inbox" }
  | { kind: "room"; room: string }
  | { kind: "group"; groupId: string; groupKey: string };

export type VectorExpectation =
  | { accept: true; version: 1 | 2; type: string; messageId: string; text: string; acks: string[] }
  | { accept: false; reason: string };

export interface VectorRow {
  name: string;
  /** The reader's feed; an inbox is the `recipientPrivateKey` identity's. */
  feed: VectorFeed;
  envelope: { contentTopic: string; timestamp: string; payload: string };
  /** The plaintext inside the payload (informative: readers get it by decrypting). */
  plaintext: string;
  expect: VectorExpectation;
}

export interface V2VectorFile {
  rows: VectorRow[];
  inputs: { recipientPrivateKey: string } & Record<string, unknown>;
}

export interface VectorBackends {
  ed25519: Ed25519VerifierFactory;
  secp256k1: SignatureVerifier;
}

export type VectorOutcome = { name: string } & VectorExpectation;

function feedOf(f: VectorFeed): FeedKeys {
  if (f.kind === "group") return { kind: "group", groupId: f.groupId, groupKey: fromBareHex(f.groupKey) };
  return f;
}

/**
 * Opens every row. `shared`: one certificate cache for all rows, run twice (the second pass
 * answers from the cache); otherwise a fresh cache per row.
 */
export async function runVectorRows(
  v: V2VectorFile,
  b: VectorBackends,
  o: { shared?: boolean } = {},
): Promise<VectorOutcome[]> {
  const identity = createIdentity(fromBareHex(v.inputs.recipientPrivateKey));
  const shared = o.shared ? new CertificateCache() : undefined;
  const out: VectorOutcome[] = [];
  for (let pass = 0; pass < (shared ? 2 : 1); pass++) {
    for (const row of v.rows) {
      const envelope = {
        contentTopic: row.envelope.contentTopic,
        timestamp: BigInt(row.envelope.timestamp),
        payload: fromBareHex(row.envelope.payload),
      };
      const ctx = { identity, certs: shared ?? new CertificateCache(), ...b };
      try {
        const m = await openEnvelope(feedOf(row.feed), envelope, ctx);
        out.push({
          name: row.name,
          accept: true,
          version: m.version,
          type: m.type,
          messageId: toBareHex(m.messageId),
          text: m.text,
          acks: m.acks.map(toBareHex),
        });
      } catch (err) {
        if (!(err instanceof DecryptionError)) throw err;
        out.push({ name: row.name, accept: false, reason: err.details ?? err.shortMessage });
      }
    }
  }
  return out;
}
