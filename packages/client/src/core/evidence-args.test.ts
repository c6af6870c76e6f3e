import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createEnvelope,
  Envelope,
  type EvidenceDomain,
  NO_CURSOR,
  signPageCommitment,
  signPresence,
  signReceipt,
  toBareHex,
  verifyPageCommitment,
  verifyPresence,
  verifyReceipt,
} from "@postbox/protocol";
import { bytesToHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStorage } from "../storage/sqlite.js";
import type { StoredCommitment, StoredReceipt } from "../storage/types.js";
import { contractReceipt, keptOmissionProofs, omissionProofArgs } from "./evidence-args.js";

// Evidence signed as a mailbox signs it, kept by the client's own storage, turned back into the
// contract's arguments: each must verify against the signer (the contract's digest of what the
// conversion built), so a field converted wrongly fails here.

const root = mkdtempSync(join(tmpdir(), "postbox-evidence-args-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SIGNER = privateKeyToAccount(`0x${"11".repeat(32)}`);
const OPERATOR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as const;
const OTHER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc" as const;
const DOMAIN: EvidenceDomain = {
  chainId: 31337,
  verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};
const TOPIC = "/postbox/1/room-x/proto";

const envelope = (n: number) =>
  createEnvelope({ contentTopic: TOPIC, payload: new Uint8Array([n, n + 1]), timestamp: 1_000n + BigInt(n) });

describe("omission proofs kept in storage, as the Disputes contract takes them", () => {
  it("pairs each kept presence answer or receipt with its operator's page, and builds arguments that verify", async () => {
    const storage = await openSqliteStorage(join(root, "a"));
    try {
      const held = envelope(1); // a presence answer says it is held
      const receipted = envelope(2); // a push receipt
      const elsewhere = envelope(3); // another operator's receipt: no page leaves it out
      const heldId = toBareHex(held.id);
      const presence = {
        operator: OPERATOR,
        ids: [`0x${heldId}` as Hex],
        servedAt: 2_000n,
        retainUntil: 10_000n,
      };
      const presenceReceipt: StoredReceipt = {
        envelopeId: heldId,
        mailbox: OPERATOR,
        storedAt: 2_000,
        retainUntil: 10_000,
        evidence: {
          operator: OPERATOR,
          contentTopic: TOPIC,
          timestamp: 1_001,
          signature: await signPresence(SIGNER, DOMAIN, presence),
          envelope: Envelope.encode(held),
          presence: { ids: [heldId] },
        },
      };
      const receipt = {
        operator: OPERATOR,
        envelopeId: bytesToHex(receipted.id),
        contentTopic: TOPIC,
        timestamp: 1_002n,
        storedAt: 1_500n,
        retainUntil: 10_000n,
      };
      const pushReceipt: StoredReceipt = {
        envelopeId: toBareHex(receipted.id),
        mailbox: "beta",
        storedAt: 1_500,
        retainUntil: 10_000,
        evidence: {
          operator: OPERATOR,
          contentTopic: TOPIC,
          timestamp: 1_002,
          signature: await signReceipt(SIGNER, DOMAIN, receipt),
          envelope: Envelope.encode(receipted),
        },
      };
      const otherReceipt: StoredReceipt = {
        envelopeId: toBareHex(elsewhere.id),
        mailbox: OTHER,
        storedAt: 1_500,
        retainUntil: 10_000,
        evidence: { ...pushReceipt.evidence!, operator: OTHER, envelope: Envelope.encode(elsewhere) },
      };
      for (const r of [presenceReceipt, pushReceipt, otherReceipt]) await storage.saveReceipt(r);
      expect(await keptOmissionProofs(storage), "no page kept yet").toEqual([]);

      // The operator's page over the span, served after both, listing neither.
      const page = {
        operator: OPERATOR,
        contentTopics: [TOPIC],
        timeStart: 0n,
        timeEnd: 5_000n,
        ids: [] as Hex[],
        nextCursor: NO_CURSOR,
        servedAt: 3_000n,
      };
      const commitment: StoredCommitment = {
        mailbox: OPERATOR,
        operator: OPERATOR,
        contentTopics: [TOPIC],
        timeStart: 0n,
        timeEnd: 5_000n,
        ids: [],
        nextCursor: NO_CURSOR,
        servedAt: 3_000,
        signature: await signPageCommitment(SIGNER, DOMAIN, page),
      };
      expect((await storage.saveCommitment(commitment)).sort()).toEqual(
        [heldId, pushReceipt.envelopeId].sort(),
      );

      const kept = await keptOmissionProofs(storage);
      // Oldest evidence first (the push receipt at 1,500, then the presence answer at 2,000).
      expect(kept.map((k) => [k.envelopeId, k.kind, k.operator, k.heldAt, k.servedAt])).toEqual([
        [pushReceipt.envelopeId, "receipt", OPERATOR, 1_500, 3_000],
        [heldId, "presence", OPERATOR, 2_000, 3_000],
      ]);

      const byPresence = omissionProofArgs(kept[1]!.receipt, kept[1]!.commitment);
      expect(byPresence.kind).toBe("presence");
      if (byPresence.kind !== "presence") throw new Error("unreachable");
      await verifyPresence(DOMAIN, byPresence.presence, byPresence.presenceSignature, SIGNER.address);
      await verifyPageCommitment(
        DOMAIN,
        byPresence.commitment,
        byPresence.commitmentSignature,
        SIGNER.address,
      );
      expect(byPresence.envelope).toEqual({
        version: BigInt(held.version),
        contentTopic: TOPIC,
        timestamp: 1_001n,
        payload: "0x0102",
      });

      const byReceipt = omissionProofArgs(kept[0]!.receipt, kept[0]!.commitment);
      expect(byReceipt.kind).toBe("receipt");
      if (byReceipt.kind !== "receipt") throw new Error("unreachable");
      await verifyReceipt(DOMAIN, byReceipt.receipt, byReceipt.receiptSignature, SIGNER.address);
      expect(byReceipt.receipt).toEqual(contractReceipt(pushReceipt));
      expect(byReceipt.receipt.operator).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

      // Evidence of one operator with another's page is refused, not sent.
      expect(() => omissionProofArgs(otherReceipt, commitment)).toThrow(/one operator's/);
    } finally {
      await storage.close();
    }
  });
});
