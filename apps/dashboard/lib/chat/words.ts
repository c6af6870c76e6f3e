import { formatDuration } from "@postbox/protocol";
import { BaseError as ViemError } from "viem";
import { explainError } from "../errors";
import { shortAddress } from "../format";

/**
 * What the chat says, as text: names of conversations and mailboxes, catch-up progress, failovers,
 * and each sent message's delivery state. Pure functions (no SDK): tested in Node.
 */

const count = (n: number) => n.toLocaleString("en-US");

/** "#x", "group kitchen", "alice", or a short key for a stranger. */
export function conversationName(
  id: string,
  contacts: ReadonlyMap<string, string>,
  groupNames: ReadonlyMap<string, string>,
): string {
  if (id.startsWith("room:")) return `#${id.slice(5)}`;
  if (id.startsWith("group:")) {
    const gid = id.slice(6);
    return groupNames.get(gid) ?? `group ${gid.slice(0, 8)}…`;
  }
  const key = id.startsWith("dm:") ? id.slice(3) : id;
  return contacts.get(key) ?? `${key.slice(0, 10)}…`;
}

/** A mailbox as people know it: its operator's name for it, else a short id. */
export function mailboxLabel(id: string, names: ReadonlyMap<string, string | undefined>): string {
  return names.get(id.toLowerCase()) ?? shortAddress(id);
}

/** The feed a catch-up reports, as a person reads it: "your inbox", "#x", a group's name. */
export function feedName(
  feed: string,
  contacts: ReadonlyMap<string, string>,
  groupNames: ReadonlyMap<string, string>,
): string {
  return feed === "inbox" ? "your inbox" : conversationName(feed, contacts, groupNames);
}

/** "3,400 of ≈ 10,000" while a catch-up runs; "10,000" once done. */
export function progressText(p: { envelopes: number; estimatedTotal: number; fraction: number }): string {
  if (p.fraction >= 1) return count(p.envelopes);
  return `${count(p.envelopes)} of ≈ ${count(Math.max(p.estimatedTotal, p.envelopes))}`;
}

/** A mailbox failed (or was passed over) and the next one took over, in one line for the conversation. */
export function failoverText(
  from: string,
  to: string | undefined,
  reason: string,
  unreachable: boolean,
): string {
  const what = unreachable ? `mailbox ${from} unreachable` : `mailbox ${from} not used (${reason})`;
  return `${what} — ${to ? `using ${to}` : "no other mailbox left"}`;
}

/** The state of a message we sent, as the chat shows it. */
export type DeliveryState = "sending" | "stored" | "delivered" | "not-stored";

export interface Delivery {
  state: DeliveryState;
  /** The mailboxes whose signed receipts say they store it (ids). */
  storedBy: string[];
  /** The identities whose acknowledgements say they have it (hex keys). */
  deliveredTo: string[];
  /** In a group: the other members when it was sent (M of "delivered to N of M"). */
  members?: number | undefined;
  /** Why it is not stored, when known. */
  error?: string | undefined;
  /** How long the mailboxes keep it (ms), when known. */
  retainUntil?: number | undefined;
}

/** One source's word on a sent message (the SDK's outgoing record, or a `message-state` event). */
export interface DeliveryReport {
  state: DeliveryState;
  storedBy: string[];
  deliveredTo: string[];
  error?: string | undefined;
  members?: number | undefined;
}

/** What is known about one sent message, from every source the app has. */
export interface DeliveryEvidence {
  /** The SDK's outgoing record of it. */
  record?: DeliveryReport | undefined;
  /** The latest `message-state` event for it in this session (it may be newer than the record read). */
  event?: DeliveryReport | undefined;
  /** Receipts kept in storage (mailbox ids, with how long each keeps it). */
  receipts: readonly { mailbox: string; retainUntil: number }[];
  /** This tab is sending it right now (before the SDK has recorded it). */
  sending: boolean;
}

const RANK: Record<DeliveryState, number> = { "not-stored": 0, sending: 1, stored: 2, delivered: 3 };

/**
 * The state to show: the furthest any source vouches for (a receipt is proof of "stored", an
 * acknowledgement of "delivered"); "sending" while a send runs; "not stored" otherwise, with the
 * reason the SDK gave. Undefined when nothing is known (a message this identity sent from another
 * device, which arrived here through a mailbox).
 */
export function deliveryOf(e: DeliveryEvidence): Delivery | undefined {
  if (!e.record && !e.event && e.receipts.length === 0 && !e.sending) return undefined;
  const storedBy = new Set<string>(e.receipts.map((r) => r.mailbox));
  const deliveredTo = new Set<string>();
  let state: DeliveryState | undefined = e.sending ? "sending" : undefined;
  let error: string | undefined;
  let members: number | undefined;
  for (const s of [e.record, e.event]) {
    if (!s) continue;
    for (const m of s.storedBy) storedBy.add(m);
    for (const d of s.deliveredTo) deliveredTo.add(d);
    if (state === undefined || RANK[s.state] > RANK[state]) state = s.state;
    if (s.error) error = s.error;
    if (s.members !== undefined) members = Math.max(members ?? 0, s.members);
  }
  state ??= "not-stored";
  if (storedBy.size > 0 && RANK[state] < RANK.stored) state = "stored";
  if (deliveredTo.size > 0) state = "delivered";
  const retainUntil = e.receipts.length > 0 ? Math.max(...e.receipts.map((r) => r.retainUntil)) : undefined;
  return {
    state,
    storedBy: [...storedBy],
    deliveredTo: [...deliveredTo],
    ...(members !== undefined ? { members: Math.max(members, deliveredTo.size) } : {}),
    ...(state === "not-stored" && error ? { error } : {}),
    ...(retainUntil ? { retainUntil } : {}),
  };
}

/** "delivered", or in a group "delivered to 2 of 3" (of how many, when the members are known). */
export function deliveredText(deliveredTo: number, members: number | undefined, group: boolean): string {
  if (!group) return "delivered";
  return members ? `delivered to ${deliveredTo} of ${members}` : `delivered to ${deliveredTo}`;
}

/** "in 2 min 5 s" until a chain time, "now" once reached (both seconds). */
export function untilText(at: number, now: number): string {
  return at <= now ? "now" : `in ${formatDuration(at - now)}`;
}

/** "12 s ago", "3 min 0 s ago", or "never". */
export function agoText(at: number | null | undefined, now: number): string {
  if (!at) return "never";
  return `${formatDuration(Math.max(0, Math.round((now - at) / 1000)))} ago`;
}

/** Any error the chat meets, in one line: the SDK's short message and details, a wallet's or a contract's in words. */
export function chatError(err: unknown): string {
  if (err instanceof ViemError) return explainError(err);
  const e = err as { shortMessage?: unknown; details?: unknown; message?: unknown };
  if (typeof e?.shortMessage === "string") {
    const details = typeof e.details === "string" && e.details ? `: ${e.details}` : "";
    return `${e.shortMessage}${details}`.split("\n")[0]!;
  }
  return explainError(err);
}
