import type { Hex } from "viem";
import type {
  ArchivedChannelRecord,
  ChannelDeployment,
  ChannelKey,
  ChannelRecord,
  ChannelRecords,
  Feed,
  FeedMark,
  MessageCursor,
  StoredCommitment,
  StoredMessage,
  StoredReceipt,
} from "./types.js";

/** (timestamp, id) order. */
export function compareMessages(a: MessageCursor, b: MessageCursor): number {
  return a.timestamp - b.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Whether `m` comes strictly before `cursor` in (timestamp, id) order. */
export function isBefore(m: MessageCursor, cursor: MessageCursor): boolean {
  return compareMessages(m, cursor) < 0;
}

/** Whether this client owes the sender an ack for `m`: a v2 message from someone else, not in a room. */
export function owesAck(m: StoredMessage): boolean {
  return (
    !m.outgoing &&
    m.version === 2 &&
    m.messageId !== "" &&
    (m.conversation.startsWith("dm:") || m.conversation.startsWith("group:"))
  );
}

/** Whether `mark` is ahead of the feed's mark (a mark never moves back). */
export function markMoves(feed: Feed, mark: FeedMark): boolean {
  return (
    feed.lastTimestamp === null ||
    feed.lastId === null ||
    compareMessages(mark, { timestamp: feed.lastTimestamp, id: feed.lastId }) > 0
  );
}

/** The key of a live channel record: one per chain, PaymentChannels contract and payee (as channels.ts writes it). */
export function channelKey(k: ChannelKey): string {
  return `channel:${k.chainId}:${k.channelsContract.toLowerCase()}:${k.payee.toLowerCase()}`;
}

export function archivedKey(channelId: Hex): string {
  return `archived:${channelId}`;
}

export const SESSION_KEY = "sessionKey";

/** A record of a version that did not name its chain. */
export type UnnamedChannelRecord = Omit<ChannelRecord, "chainId" | "channelsContract">;

/** The channel records' rows, sorted by kind (rows are `[key, record]`, records already parsed). */
export interface ChannelRows {
  sessionKey: Hex | undefined;
  live: Map<string, ChannelRecord>;
  archived: Map<string, ArchivedChannelRecord>;
  /** Records without their chain, with the row they came from (none for a `channels.json`). */
  unnamed: { key?: string; record: UnnamedChannelRecord }[];
}

export function readChannelRows(rows: Iterable<readonly [string, unknown]>): ChannelRows {
  const out: ChannelRows = { sessionKey: undefined, live: new Map(), archived: new Map(), unnamed: [] };
  for (const [key, value] of rows) {
    if (key === SESSION_KEY) out.sessionKey = value as Hex;
    else if (key.startsWith("archived:")) out.archived.set(key, value as ArchivedChannelRecord);
    else if (key.startsWith("channel:")) {
      const record = value as Partial<ChannelRecord> & UnnamedChannelRecord;
      if (record.chainId === undefined || record.channelsContract === undefined)
        out.unnamed.push({ key, record });
      else out.live.set(channelKey(record as ChannelRecord), record as ChannelRecord);
    }
  }
  return out;
}

/**
 * Takes the unnamed records as `deployment`'s (as channels.ts has since it named them): each
 * becomes a live record, or is archived when one of the same payee is there already. Returns the
 * rows to write and the rows to delete; `rows` is updated.
 */
export function nameChannelRecords(
  rows: ChannelRows,
  deployment: ChannelDeployment,
  now: number,
): { put: [string, ChannelRecord][]; remove: string[] } {
  const put: [string, ChannelRecord][] = [];
  const remove: string[] = [];
  for (const { key, record } of rows.unnamed) {
    const named: ChannelRecord = {
      ...record,
      chainId: deployment.chainId,
      channelsContract: deployment.channelsContract,
    };
    const live = channelKey(named);
    if (rows.live.has(live)) {
      const archived: ArchivedChannelRecord = {
        ...named,
        reason: "an older record of a channel to the same mailbox",
        archivedAt: now,
      };
      rows.archived.set(archivedKey(named.channelId), archived);
      put.push([archivedKey(named.channelId), archived]);
    } else {
      rows.live.set(live, named);
      put.push([live, named]);
    }
    if (key !== undefined && key !== live) remove.push(key);
  }
  rows.unnamed = [];
  return { put, remove };
}

export function channelRecords(rows: ChannelRows): ChannelRecords {
  const records = [...rows.live].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
  const archived = [...rows.archived.values()].sort((a, b) => a.archivedAt - b.archivedAt);
  return rows.sessionKey === undefined
    ? { records, archived }
    : { sessionKey: rows.sessionKey, records, archived };
}

/**
 * Whether a page commitment proves a receipt's envelope omitted, by the rules `Disputes.proveOmission`
 * checks (docs/contracts.md, "Disputes"): the same operator; the receipt made before the page was
 * served and still promised then (`storedAt < servedAt < retainUntil`); the envelope on one of the
 * page's topics and within its span; its id not listed. Signatures are the contract's to check.
 */
export function provesOmission(c: StoredCommitment, r: StoredReceipt): boolean {
  const e = r.evidence;
  if (!e || e.operator !== c.operator) return false;
  if (!(r.storedAt < c.servedAt && c.servedAt < r.retainUntil)) return false;
  const ts = BigInt(e.timestamp);
  return (
    ts >= c.timeStart &&
    ts <= c.timeEnd &&
    c.contentTopics.includes(e.contentTopic) &&
    !c.ids.includes(r.envelopeId)
  );
}

/** (storedAt, envelope id, mailbox) order of receipts. */
export function compareReceipts(a: StoredReceipt, b: StoredReceipt): number {
  return (
    a.storedAt - b.storedAt ||
    (a.envelopeId < b.envelopeId ? -1 : a.envelopeId > b.envelopeId ? 1 : 0) ||
    (a.mailbox < b.mailbox ? -1 : a.mailbox > b.mailbox ? 1 : 0)
  );
}
