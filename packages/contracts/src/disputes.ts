import type { Address, BlockNumber, Hex, PublicClient } from "viem";
import { disputesAbi } from "./generated/artifacts.js";

/** Where a dispute stands: open (custody, not answered nor finalised), answered, or upheld. */
export type MailboxDisputeState = "open" | "answered" | "upheld";

/** One dispute against a mailbox, as the Disputes contract's events tell it. */
export interface MailboxDispute {
  /** The dispute id: the receipt's (custody) or the commitment's (omission) EIP-712 digest. */
  id: Hex;
  kind: "custody" | "omission";
  state: MailboxDisputeState;
  /** Who opened it (custody) or proved it (omission). */
  challenger: Address;
  /** The disputed envelope's id (custody; an omission's is in the contract's record). */
  envelopeId: Hex | null;
  /** The bond a custody dispute locked (0 for an omission). */
  bond: bigint;
  /** The last second an answer is accepted (custody; null for an omission). */
  deadline: bigint | null;
  /** SNT slashed from the stake when upheld (0 otherwise, or when the period's allowance was used up). */
  slashed: bigint;
  /** The end of the jail term it imposed (0 if none). */
  jailedUntil: bigint;
  /** The transaction that opened it (custody) or proved it (omission). */
  openedTx: Hex;
  openedBlock: bigint;
  /** The transaction that answered or upheld it (null while open; the proof itself for an omission). */
  resolvedTx: Hex | null;
}

/**
 * Every dispute against `operator` in the Disputes contract at `disputes`, oldest first, read from
 * its events from `fromBlock` (the deployment's block: `PostboxAddresses.fromBlock`): custody
 * disputes opened (`CustodyDisputed`), answered (`CustodyAnswered`) or upheld, and omissions proved
 * (`DisputeUpheld` with `omission`). An open dispute whose deadline has passed is still "open"
 * until someone finalises it (compare `deadline` with the chain's time).
 */
export async function readMailboxDisputes(
  client: PublicClient,
  p: { disputes: Address; operator: Address; fromBlock?: BlockNumber },
): Promise<MailboxDispute[]> {
  const range = {
    address: p.disputes,
    abi: disputesAbi,
    fromBlock: p.fromBlock ?? 0n,
    toBlock: "latest",
  } as const;
  const [opened, answered, upheld] = await Promise.all([
    client.getContractEvents({ ...range, eventName: "CustodyDisputed", args: { operator: p.operator } }),
    client.getContractEvents({ ...range, eventName: "CustodyAnswered", args: { operator: p.operator } }),
    client.getContractEvents({ ...range, eventName: "DisputeUpheld", args: { operator: p.operator } }),
  ]);
  const byId = new Map<Hex, MailboxDispute>();
  for (const e of opened) {
    byId.set(e.args.disputeId!, {
      id: e.args.disputeId!,
      kind: "custody",
      state: "open",
      challenger: e.args.challenger!,
      envelopeId: e.args.envelopeId!,
      bond: e.args.bond!,
      deadline: e.args.deadline!,
      slashed: 0n,
      jailedUntil: 0n,
      openedTx: e.transactionHash,
      openedBlock: e.blockNumber,
      resolvedTx: null,
    });
  }
  for (const e of answered) {
    const d = byId.get(e.args.disputeId!);
    if (d) Object.assign(d, { state: "answered", resolvedTx: e.transactionHash });
  }
  for (const e of upheld) {
    const d = byId.get(e.args.disputeId!);
    const outcome = { state: "upheld", slashed: e.args.slashed!, jailedUntil: e.args.jailedUntil! } as const;
    if (!e.args.omission) {
      // A custody dispute opened before `fromBlock` is not listed.
      if (d) Object.assign(d, outcome, { resolvedTx: e.transactionHash });
    } else {
      byId.set(e.args.disputeId!, {
        id: e.args.disputeId!,
        kind: "omission",
        challenger: e.args.challenger!,
        envelopeId: null,
        bond: 0n,
        deadline: null,
        openedTx: e.transactionHash,
        openedBlock: e.blockNumber,
        resolvedTx: e.transactionHash,
        ...outcome,
      });
    }
  }
  return [...byId.values()].sort((a, b) =>
    a.openedBlock < b.openedBlock ? -1 : a.openedBlock > b.openedBlock ? 1 : 0,
  );
}
