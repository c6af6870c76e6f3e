import {
  Envelope,
  envelopeArgs,
  identify,
  type PageCommitment,
  type Presence,
  type Receipt,
} from "@postbox/protocol";
import { getAddress, type Hex } from "viem";
import type { ClientStorage, StoredCommitment, StoredReceipt } from "../storage/types.js";

/**
 * Kept evidence as the Disputes contract takes it: what `postbox dispute` and the web chat send
 * (`disputeCustody`, `proveOmission`, `proveOmissionByPresence`), built once from storage.
 */

const hex0x = (bare: string) => `0x${bare.replace(/^0x/, "")}` as Hex;

/** A kept push receipt as the contract takes it (`Disputes.Receipt`). */
export function contractReceipt(r: StoredReceipt): Receipt {
  const e = evidenceOf(r);
  return {
    operator: getAddress(e.operator),
    envelopeId: hex0x(r.envelopeId),
    contentTopic: e.contentTopic,
    timestamp: BigInt(e.timestamp),
    storedAt: BigInt(r.storedAt),
    retainUntil: BigInt(r.retainUntil),
  };
}

/** A kept presence answer as the contract takes it (its `servedAt` is kept as the receipt's `storedAt`). */
export function contractPresence(r: StoredReceipt): Presence {
  const e = evidenceOf(r);
  if (!e.presence)
    throw new Error(`the evidence kept for ${r.envelopeId} is a push receipt, not a presence answer`);
  return {
    operator: getAddress(e.operator),
    ids: e.presence.ids.map(hex0x),
    servedAt: BigInt(r.storedAt),
    retainUntil: BigInt(r.retainUntil),
  };
}

/** A kept page commitment as the contract takes it (`Disputes.PageCommitment`). */
export function contractCommitment(c: StoredCommitment): PageCommitment {
  return {
    operator: getAddress(c.operator),
    contentTopics: c.contentTopics,
    timeStart: c.timeStart,
    timeEnd: c.timeEnd,
    ids: c.ids.map(hex0x),
    nextCursor: c.nextCursor,
    servedAt: BigInt(c.servedAt),
  };
}

/** The envelope's fields as the contract takes them (`Disputes.Envelope`), from the kept bytes. */
export function contractEnvelope(r: StoredReceipt): ReturnType<typeof envelopeArgs> {
  return envelopeArgs(identify(Envelope.decode(evidenceOf(r).envelope)));
}

/**
 * The arguments of an omission proof from a kept receipt (or presence answer) and a kept page
 * commitment of the same operator that leaves its envelope out: `proveOmissionByPresence`'s when
 * the evidence is a presence answer (`kind: "presence"`), else `proveOmission`'s.
 */
export type OmissionProofArgs =
  | {
      kind: "presence";
      commitment: PageCommitment;
      commitmentSignature: Hex;
      presence: Presence;
      presenceSignature: Hex;
      envelope: ReturnType<typeof envelopeArgs>;
    }
  | {
      kind: "receipt";
      commitment: PageCommitment;
      commitmentSignature: Hex;
      receipt: Receipt;
      receiptSignature: Hex;
      envelope: ReturnType<typeof envelopeArgs>;
    };

export function omissionProofArgs(r: StoredReceipt, c: StoredCommitment): OmissionProofArgs {
  const e = evidenceOf(r);
  if (e.operator.toLowerCase() !== c.operator.toLowerCase())
    throw new Error(
      `the evidence for ${r.envelopeId} binds ${e.operator} and the page commitment ${c.operator}: an omission proof takes one operator's`,
    );
  const base = {
    commitment: contractCommitment(c),
    commitmentSignature: c.signature,
    envelope: contractEnvelope(r),
  };
  return e.presence
    ? { kind: "presence", ...base, presence: contractPresence(r), presenceSignature: e.signature }
    : { kind: "receipt", ...base, receipt: contractReceipt(r), receiptSignature: e.signature };
}

/** An omission proof kept in storage: the evidence that a mailbox held an envelope, and its page that left it out. */
export interface KeptOmissionProof {
  envelopeId: string;
  /** The mailbox (as kept: its operator address or its name) and the operator, lowercase. */
  mailbox: string;
  operator: string;
  /** A presence answer ("it said it held it") or a push receipt ("it receipted it"). */
  kind: "presence" | "receipt";
  /** When it held it (the receipt's storedAt, the presence answer's servedAt) and served the page (ms). */
  heldAt: number;
  servedAt: number;
  /** Until when the mailbox promised to keep it (ms). */
  retainUntil: number;
  receipt: StoredReceipt;
  commitment: StoredCommitment;
}

/**
 * Every omission proof the client keeps: each kept page commitment (`omissions`, one read) with the
 * receipt or presence answer of its operator for the envelope it proves omitted, oldest evidence
 * first. A proof whose evidence is gone is not listed.
 */
export async function keptOmissionProofs(
  storage: Pick<ClientStorage, "omissions" | "receipts">,
): Promise<KeptOmissionProof[]> {
  const out: KeptOmissionProof[] = [];
  for (const { envelopeId, commitment: c } of await storage.omissions()) {
    const r = (await storage.receipts(envelopeId)).find(
      (x) => x.evidence?.operator.toLowerCase() === c.operator.toLowerCase(),
    );
    const e = r?.evidence;
    if (!r || !e) continue;
    out.push({
      envelopeId,
      mailbox: r.mailbox,
      operator: e.operator.toLowerCase(),
      kind: e.presence ? "presence" : "receipt",
      heldAt: r.storedAt,
      servedAt: c.servedAt,
      retainUntil: r.retainUntil,
      receipt: r,
      commitment: c,
    });
  }
  return out.sort(
    (a, b) =>
      a.heldAt - b.heldAt ||
      (a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0) ||
      (a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0),
  );
}

function evidenceOf(r: StoredReceipt) {
  if (!r.evidence) throw new Error(`the receipt kept for ${r.envelopeId} carries no evidence`);
  return r.evidence;
}
