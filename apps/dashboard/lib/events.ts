import { mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import { formatDuration, formatSnt } from "@postbox/protocol";
import { type Abi, type AbiEvent, decodeEventLog, type Hex, type Log } from "viem";
import { formatTime, shortAddress, statusWord } from "./format";
import { exact, priceText } from "./mailboxes";

/**
 * The contracts' events in words, with every amount in SNT and every time as a date: what the
 * mailbox page's history and the /tx page show.
 */

export interface DescribedEvent {
  /** The event's name in the contract ("PriceAnnounced"). */
  event: string;
  /** A few words for it ("Price announced"). */
  title: string;
  /** Its arguments as phrases ("stake 1,000 SNT"). */
  details: string[];
}

const addr = (x: unknown) => shortAddress(String(x));
const snt = (x: unknown) => formatSnt(x as bigint);
const list = (x: unknown) => (Array.isArray(x) ? x.join(", ") : String(x));

/** A metadata URI as a history line shows it: an inline document by its kind, a URL shortened. */
export function metadataText(uri: unknown): string | undefined {
  const u = String(uri ?? "");
  if (u === "") return undefined;
  if (u.startsWith("data:")) return `metadata inline (${u.slice(5, u.search(/[;,]/)) || "text"})`;
  return `metadata ${u.length > 80 ? `${u.slice(0, 79)}…` : u}`;
}

/** One decoded event of SNT, the registry or the channels, in words. */
export function describeEvent(event: string, args: Record<string, unknown>): DescribedEvent {
  const a = args;
  const d = (title: string, details: (string | false | undefined)[]): DescribedEvent => ({
    event,
    title,
    details: details.filter((x): x is string => typeof x === "string" && x !== ""),
  });
  switch (event) {
    // MailboxRegistry
    case "MailboxRegistered":
      return d("Registered", [
        `stake ${snt(a.stake)}`,
        priceText({ pricePerQuery: a.pricePerQuery as bigint, pricePerMessage: a.pricePerMessage as bigint }),
        `retention ${formatDuration(Number(a.retention))}`,
        `peer ${String(a.peerId)}`,
        `at ${list(a.multiaddrs)}`,
        metadataText(a.metadataURI),
      ]);
    case "StakeAdded":
      return d("Stake added", [`+${snt(a.amount)}`, `stake now ${snt(a.stake)}`]);
    case "PriceAnnounced": {
      const from = {
        pricePerQuery: a.oldPricePerQuery as bigint,
        pricePerMessage: a.oldPricePerMessage as bigint,
      };
      const to = {
        pricePerQuery: a.newPricePerQuery as bigint,
        pricePerMessage: a.newPricePerMessage as bigint,
      };
      return d("Price announced", [
        `from ${priceText(from)}`,
        `to ${priceText(to)}`,
        `applies ${formatTime(a.effectiveAt as bigint)}`,
      ]);
    }
    case "EndpointUpdated":
      return d("Endpoint updated", [
        a.oldPeerId !== a.peerId
          ? `peer ${String(a.oldPeerId)} → ${String(a.peerId)}`
          : `peer ${String(a.peerId)}`,
        `at ${list(a.multiaddrs)}`,
        metadataText(a.metadataURI),
      ]);
    case "RetentionUpdated":
      return d("Retention changed", [
        `from ${formatDuration(Number(a.oldRetention))} to ${formatDuration(Number(a.retention))}`,
      ]);
    case "ExitRequested":
      return d("Exit requested", [
        `stake ${snt(a.stake)}`,
        `withdrawable ${formatTime(a.withdrawableAt as bigint)}`,
      ]);
    case "StakeWithdrawn":
      return d("Stake withdrawn", [snt(a.amount)]);
    case "Slashed":
      return d("Slashed", [
        `dispute ${addr(a.disputeId)}`,
        `${snt(a.amount)} taken`,
        `${snt(a.reward)} reward to the disputes contract`,
        `${snt(a.toTreasury)} to the treasury`,
        `stake now ${snt(a.stake)}`,
      ]);
    case "Jailed": {
      // A slash that leaves an Active stake below the minimum jails with the term already set
      // (0: none): what then bars unjailing is the stake alone.
      const until = BigInt((a.until as bigint | undefined) ?? 0n);
      return d("Jailed", [
        `was ${statusWord(Number(a.previous))}`,
        until > 0n ? `until ${formatTime(until)}` : "no term: until the stake is back at the minimum",
      ]);
    }
    case "Unjailed":
      return d("Unjailed", ["active again"]);
    case "EvidenceSignerSet":
      return d("Evidence key set", [
        BigInt(String(a.previous ?? 0)) === 0n
          ? `key ${addr(a.signer)}`
          : `key ${addr(a.previous)} → ${addr(a.signer)} (evidence the old key signed until now stays valid)`,
        "signs the mailbox's receipts and page commitments, which disputes check",
      ]);
    case "TreasuryScheduled":
      return d("Treasury change scheduled", [
        `from ${addr(a.oldTreasury)}`,
        `to ${addr(a.newTreasury)}`,
        `applies ${formatTime(a.effectiveAt as bigint)}`,
        "receives the non-reward part of later slashes",
      ]);
    case "DefaultAdminTransferScheduled":
      return d("Admin transfer scheduled", [
        `to ${addr(a.newAdmin)}`,
        `can accept ${formatTime(BigInt(a.acceptSchedule as number | bigint))}`,
      ]);
    case "DefaultAdminTransferCanceled":
      return d("Admin transfer cancelled", []);
    case "DefaultAdminDelayChangeScheduled":
      return d("Admin delay change scheduled", [
        `to ${formatDuration(Number(a.newDelay))}`,
        `applies ${formatTime(BigInt(a.effectSchedule as number | bigint))}`,
      ]);
    case "DefaultAdminDelayChangeCanceled":
      return d("Admin delay change cancelled", []);
    // PaymentChannels
    case "ChannelOpened":
      return d("Channel opened", [
        `channel ${addr(a.channelId)}`,
        `payer ${addr(a.payer)}`,
        `mailbox ${addr(a.payee)}`,
        `deposit ${snt(a.deposit)}`,
      ]);
    case "ChannelToppedUp":
      return d("Channel topped up", [
        `channel ${addr(a.channelId)}`,
        `+${snt(a.amount)}`,
        `deposit now ${snt(a.deposit)}`,
      ]);
    case "Redeemed":
      return d("Redeemed", [
        `channel ${addr(a.channelId)}`,
        `${formatSnt(a.amount as bigint, exact)} paid to ${addr(a.payee)}`,
        `${formatSnt(a.paid as bigint, exact)} in total`,
      ]);
    case "RedemptionSkipped":
      return d("Redemption skipped", [`channel ${addr(a.channelId)}`, `reason ${String(a.reason)}`]);
    case "CloseRequested":
      return d("Close requested", [
        `channel ${addr(a.channelId)}`,
        `withdrawable ${formatTime(a.closesAt as bigint)}`,
      ]);
    case "CloseCancelled":
      return d("Close cancelled", [`channel ${addr(a.channelId)}`]);
    case "ChannelFinalised":
      return d("Channel closed", [
        `channel ${addr(a.channelId)}`,
        `${formatSnt(a.paid as bigint, exact)} paid`,
        `${formatSnt(a.refund as bigint, exact)} refunded`,
      ]);
    // SNT
    case "Transfer":
      return d("SNT transfer", [
        `${formatSnt(a.value as bigint, exact)}`,
        `from ${addr(a.from)}`,
        `to ${addr(a.to)}`,
      ]);
    case "Approval":
      return d("SNT approval", [
        `${addr(a.spender)} may take ${formatSnt(a.value as bigint, exact)}`,
        `from ${addr(a.owner)}`,
      ]);
    default:
      return d(
        event,
        Object.entries(a).map(([k, v]) => `${k} ${String(v)}`),
      );
  }
}

/** Every event of the three contracts (for decoding a receipt's logs). */
const eventsAbi: Abi = ([...sntAbi, ...mailboxRegistryAbi, ...paymentChannelsAbi] as Abi).filter(
  (x): x is AbiEvent => x.type === "event",
);

/** A receipt's log in words, or undefined for a log of another contract. */
export function describeLog(log: Pick<Log, "data" | "topics">): DescribedEvent | undefined {
  try {
    const decoded = decodeEventLog({ abi: eventsAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
    return describeEvent(decoded.eventName ?? "", (decoded.args ?? {}) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}
