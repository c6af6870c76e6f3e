import { fromBareHex, MAX_ACKS, type MessageBody } from "@postbox/protocol";
import { BaseError } from "../errors.js";
import type { ClientStorage, OutgoingQuery, OutgoingRecord, StoredReceipt } from "../storage/types.js";
import type { ClientEvent } from "./events.js";

/**
 * Delivery states (docs/protocol.md, "Delivery acknowledgements"): every message this client sends
 * goes `sending → stored` (mailboxes' verified receipts, or a presence query that finds the copy
 * gossip brought them) `→ delivered` (the recipient's ack; in a group, each member's), or
 * `not-stored` when no mailbox took it within {@link SEND_TIMEOUT_MS}. The tracker keeps the
 * records in storage, reports each change as a `message-state` event, sends the acks this client
 * owes (batched, once, never for an ack or a join) and counts a group's members from what they
 * send on its topic. The client calls it at fixed points; it never touches the network itself.
 */

/** A message no mailbox stored within this long is `not-stored` (ms). */
export const SEND_TIMEOUT_MS = 10_000;
/** Live messages wait this long for more of their conversation before one ack covers them all (ms). */
export const ACK_DELAY_MS = 1_000;
/**
 * A retry pushes the same envelope while its timestamp is this close to now (mailboxes accept
 * ±20 s); later it is sealed again under a new id (ms).
 */
export const RESEND_WINDOW_MS = 15_000;

/** Why one mailbox did not store a message: `unreachable`, a status name (`RATE_LIMITED`), … */
export interface MailboxFailure {
  /** The mailbox's id (operator address, or peer id for one configured by address). */
  mailbox: string;
  /** Its name (from its metadata), when known. */
  name?: string | undefined;
  reason: string;
}

/** `alpha: unreachable; beta: RATE_LIMITED` (names where known). */
export function failureText(failures: readonly MailboxFailure[]): string {
  return failures.map((f) => `${f.name ?? shortId(f.mailbox)}: ${f.reason}`).join("; ");
}

function shortId(id: string): string {
  return id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}

/** No mailbox stored a message: it is kept, as `not-stored`, and `retry(messageId)` sends it again. */
export class NotStoredError extends BaseError {
  override name = "NotStoredError" as const;
  /** The message (hex message id); empty for an ack or a join. */
  readonly messageId: string;
  readonly failures: MailboxFailure[];

  constructor(
    messageId: string,
    failures: readonly MailboxFailure[],
    what = "the message",
    details?: string,
  ) {
    super(`no mailbox stored ${what}`, { details: details ?? (failureText(failures) || "no mailbox") });
    this.messageId = messageId;
    this.failures = [...failures];
  }
}

/** An outgoing record as an app shows it. */
export interface OutgoingStatus extends OutgoingRecord {
  /**
   * In a group: the other members known to have been in it when the message was sent (M in
   * "delivered to N of M"), always at least `deliveredTo.length`. Absent elsewhere.
   */
  members?: number;
}

/** What the tracker is told of a message that was opened and verified (and, for a text, saved). */
export interface ReceivedMessage {
  /** `dm:<sender>` for the inbox, `group:<id>`, `room:<name>`. */
  conversation: string;
  /** The sender's identity key (hex). */
  sender: string;
  type: "text" | "ack" | "join";
  /** An ack's message ids (hex). */
  acks: readonly string[];
  /** ms */
  timestamp: number;
}

/** What a sent message keeps to be sent again: its envelope (protobuf) and its text. */
export interface PendingCopy {
  envelope?: Uint8Array | undefined;
  text: string;
}

export interface DeliveryTrackerInit {
  storage: ClientStorage;
  /** This client's identity key (hex): its own acks and joins count for nothing. */
  self: string;
  emit(event: ClientEvent): void;
  /**
   * Seals an ack or a join for a conversation (`dm:<key>`: to that identity's inbox; `group:<id>`:
   * on the group's topic) and gets it stored; throws when no mailbox took it.
   */
  send(conversation: string, body: MessageBody): Promise<void>;
  now?: (() => number) | undefined;
  /** Default {@link SEND_TIMEOUT_MS}. */
  sendTimeoutMs?: number | undefined;
  /** Default {@link ACK_DELAY_MS}. */
  ackDelayMs?: number | undefined;
}

const ACKED_KINDS = ["dm:", "group:"];
const owesAcks = (conversation: string) => ACKED_KINDS.some((k) => conversation.startsWith(k));
const PENDING = "outgoing-copy:";
const MEMBERS = "members:";
const JOIN = "join:";

type Timer = ReturnType<typeof setTimeout>;
/** A record as changed (`error: undefined` clears it). */
type RecordChange = Omit<OutgoingRecord, "error"> & { error?: string | undefined };

export class DeliveryTracker {
  readonly #d: DeliveryTrackerInit;
  readonly #now: () => number;
  /** Per message id (records) and per conversation (members, acks): one update at a time. */
  readonly #chains = new Map<string, Promise<unknown>>();
  /** `sending` messages this process is waiting on. */
  readonly #timers = new Map<string, Timer>();
  /** Conversations that may owe acks, and the live ones' pending flush. */
  readonly #owed = new Set<string>();
  readonly #ackTimers = new Map<string, Timer>();
  /** Messages whose copy for a retry this process wrote or read (deleted once stored). */
  readonly #copies = new Set<string>();
  #swept = false;
  #closed = false;

  constructor(init: DeliveryTrackerInit) {
    this.#d = init;
    this.#now = init.now ?? Date.now;
  }

  get #timeout(): number {
    return this.#d.sendTimeoutMs ?? SEND_TIMEOUT_MS;
  }

  /** Runs `fn` after every earlier call for the same key. */
  #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#chains.set(key, settled);
    void settled.then(() => {
      if (this.#chains.get(key) === settled) this.#chains.delete(key);
    });
    return next;
  }

  // ---- sent messages ----

  /**
   * A message was sealed and saved: its record starts `sending` (replacing `replaces`, the record
   * of a copy sealed again), with what a retry needs, and a timer that makes it `not-stored`.
   */
  async sealed(
    record: OutgoingRecord,
    options: { copy?: PendingCopy | undefined; replaces?: string | undefined; timer?: boolean } = {},
  ): Promise<void> {
    await this.#serial(record.messageId, async () => {
      if (options.copy) {
        await this.#d.storage.setObject(PENDING + record.messageId, options.copy);
        this.#copies.add(record.messageId);
      }
      await this.#d.storage.putOutgoing(record, options.replaces);
      if (options.replaces && options.replaces !== record.messageId) {
        await this.#d.storage.setObject(PENDING + options.replaces, undefined);
        this.#copies.delete(options.replaces);
        this.#stopTimer(options.replaces);
      }
    });
    if (options.timer !== false) this.#startTimer(record.messageId);
    await this.#announce(record, options.replaces);
  }

  /** A sent message is tried again (the same envelope): `sending` once more. */
  async attempt(messageId: string): Promise<OutgoingRecord | undefined> {
    const r = await this.#update(messageId, (r) =>
      r.state === "stored" || r.state === "delivered"
        ? undefined
        : { ...r, state: "sending", error: undefined, attempts: r.attempts + 1 },
    );
    if (r?.state === "sending") this.#startTimer(messageId);
    return r;
  }

  /** A mailbox's verified receipt: the message is stored (by one more mailbox). */
  async receipt(messageId: string, receipt: StoredReceipt): Promise<void> {
    await this.confirmed(messageId, receipt.mailbox);
  }

  /** A mailbox holds the message (its receipt, or a presence query that found it). */
  async confirmed(messageId: string, mailbox: string): Promise<void> {
    this.#stopTimer(messageId);
    await this.#update(messageId, (r) => {
      if (r.storedBy.includes(mailbox) && r.state !== "sending" && r.state !== "not-stored") return undefined;
      return {
        ...r,
        state: r.state === "delivered" ? "delivered" : "stored",
        storedBy: r.storedBy.includes(mailbox) ? r.storedBy : [...r.storedBy, mailbox],
        error: undefined,
      };
    });
    if (this.#copies.delete(messageId)) await this.#d.storage.setObject(PENDING + messageId, undefined);
  }

  /** No mailbox stored the message: `not-stored`, saying why (unless one did meanwhile). */
  async failed(messageId: string, failures: readonly MailboxFailure[] | string): Promise<void> {
    this.#stopTimer(messageId);
    const error = typeof failures === "string" ? failures : failureText(failures) || "no mailbox";
    await this.#update(messageId, (r) =>
      r.state === "sending" || r.state === "not-stored" ? { ...r, state: "not-stored", error } : undefined,
    );
  }

  /** What a retry of `messageId` sends: the envelope (if still kept) and the text. */
  async pendingCopy(messageId: string): Promise<PendingCopy | undefined> {
    const copy = await this.#d.storage.getObject<PendingCopy>(PENDING + messageId);
    if (copy) this.#copies.add(messageId);
    return copy;
  }

  /** One record, with its group's member count. */
  async record(messageId: string): Promise<OutgoingStatus | undefined> {
    return (await this.outgoing({ messageIds: [messageId] }))[0];
  }

  /**
   * Outgoing records, oldest first, with each group message's member count. A record still
   * `sending` past the timeout that no call in this process is waiting on (its sender stopped
   * before an answer) is `not-stored`.
   */
  async outgoing(query: OutgoingQuery = {}): Promise<OutgoingStatus[]> {
    const records = await this.#d.storage.outgoing(query);
    const now = this.#now();
    const out: OutgoingStatus[] = [];
    const members = new Map<string, Record<string, number>>();
    for (let r of records) {
      if (r.state === "sending" && !this.#timers.has(r.messageId) && now - r.timestamp > this.#timeout) {
        const error = `no mailbox stored it within ${this.#timeout / 1000} s`;
        r =
          (await this.#update(r.messageId, (x) =>
            x.state === "sending" ? { ...x, state: "not-stored", error } : undefined,
          )) ?? r;
      }
      if (r.conversation.startsWith("group:")) {
        if (!members.has(r.conversation)) members.set(r.conversation, await this.#members(r.conversation));
        out.push({ ...r, members: this.#memberCount(r, members.get(r.conversation)!) });
      } else out.push(r);
    }
    return out;
  }

  /**
   * Changes a record (`change` returns undefined for no change), saves it and reports it. Returns
   * the record as it is now.
   */
  async #update(
    messageId: string,
    change: (r: OutgoingRecord) => RecordChange | undefined,
  ): Promise<OutgoingRecord | undefined> {
    const result = await this.#serial(messageId, async () => {
      const [r] = await this.#d.storage.outgoing({ messageIds: [messageId] });
      if (!r) return undefined;
      const changed = change(r);
      if (!changed) return { record: r, changed: false };
      const { error, ...rest } = changed;
      const next: OutgoingRecord = error === undefined ? rest : { ...rest, error };
      await this.#d.storage.putOutgoing(next);
      return { record: next, changed: true };
    });
    if (result?.changed) await this.#announce(result.record);
    return result?.record;
  }

  async #announce(r: OutgoingRecord, replaces?: string): Promise<void> {
    if (this.#closed) return;
    const members = r.conversation.startsWith("group:")
      ? this.#memberCount(r, await this.#members(r.conversation))
      : undefined;
    this.#d.emit({
      type: "message-state",
      messageId: r.messageId,
      conversation: r.conversation,
      state: r.state,
      storedBy: [...r.storedBy],
      deliveredTo: [...r.deliveredTo],
      ...(r.error === undefined ? {} : { error: r.error }),
      ...(members === undefined ? {} : { members }),
      ...(replaces === undefined || replaces === r.messageId ? {} : { replaces }),
    });
  }

  #startTimer(messageId: string): void {
    if (this.#closed) return;
    this.#stopTimer(messageId);
    const timer = setTimeout(() => {
      this.#timers.delete(messageId);
      void this.failed(messageId, `no mailbox stored it within ${this.#timeout / 1000} s`).catch(
        () => undefined,
      );
    }, this.#timeout);
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(messageId, timer);
  }

  #stopTimer(messageId: string): void {
    const t = this.#timers.get(messageId);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(messageId);
  }

  // ---- received messages: acks in, acks owed, members ----

  /**
   * Messages opened on a feed (texts after they were saved): acks for our messages are applied,
   * group members learnt, and the conversations of texts from others owe acks — sent after
   * {@link ACK_DELAY_MS} when `live`, else at the next {@link flush} (the end of a catch-up).
   */
  async received(messages: readonly ReceivedMessage[], options: { live?: boolean } = {}): Promise<void> {
    const acks = new Map<string, Set<string>>(); // "conversation\0messageId" → senders
    const seen = new Map<string, Map<string, number>>(); // group → sender → first timestamp
    for (const m of messages) {
      if (m.conversation.startsWith("group:") && m.sender !== this.#d.self) {
        const s = seen.get(m.conversation) ?? new Map<string, number>();
        s.set(m.sender, Math.min(s.get(m.sender) ?? Number.POSITIVE_INFINITY, m.timestamp));
        seen.set(m.conversation, s);
      }
      if (m.sender === this.#d.self || !owesAcks(m.conversation)) continue;
      if (m.type === "text") {
        this.#owed.add(m.conversation);
        if (options.live) this.#flushSoon(m.conversation);
      } else if (m.type === "ack")
        for (const id of m.acks) {
          const key = `${m.conversation}\0${id}`;
          const from = acks.get(key) ?? new Set<string>();
          from.add(m.sender);
          acks.set(key, from);
        }
    }
    for (const [conversation, senders] of seen) await this.#learn(conversation, senders);
    if (acks.size > 0) await this.#applyAcks(acks, messages);
  }

  async #applyAcks(acks: Map<string, Set<string>>, messages: readonly ReceivedMessage[]): Promise<void> {
    const ids = [...new Set([...acks.keys()].map((k) => k.split("\0")[1]!))];
    const at = new Map<string, number>();
    for (const m of messages) if (m.type === "ack") at.set(m.sender, m.timestamp);
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.#d.storage.outgoing({ messageIds: ids.slice(i, i + 500) })) {
        // Only the conversation the message was sent to counts: in 1:1 the peer, in a group its members.
        const from = [...(acks.get(`${r.conversation}\0${r.messageId}`) ?? [])];
        if (from.length === 0) continue;
        await this.#d.storage.saveAcks(
          from.map((f) => ({ messageId: r.messageId, from: f, at: at.get(f) ?? 0 })),
        );
        await this.#update(r.messageId, (x) => {
          const fresh = from.filter((f) => !x.deliveredTo.includes(f));
          if (fresh.length === 0 && x.state === "delivered") return undefined;
          return {
            ...x,
            state: "delivered",
            deliveredTo: [...x.deliveredTo, ...fresh],
            error: undefined,
          };
        });
        this.#stopTimer(r.messageId);
      }
    }
  }

  #flushSoon(conversation: string): void {
    if (this.#closed || this.#ackTimers.has(conversation)) return;
    const timer = setTimeout(() => {
      this.#ackTimers.delete(conversation);
      void this.flush(conversation).catch(() => undefined);
    }, this.#d.ackDelayMs ?? ACK_DELAY_MS);
    (timer as { unref?: () => void }).unref?.();
    this.#ackTimers.set(conversation, timer);
  }

  /**
   * Sends the acks owed in `conversation`, or in every conversation that may owe some (and, the
   * first time, in every 1:1 and group conversation: acks a stopped process did not send): the
   * unacked message ids, 100 per ack, each batch recorded as acked once a mailbox stored its
   * ack. Returns how many acks were sent; a conversation whose ack no mailbox took stays owed.
   */
  async flush(conversation?: string): Promise<{ acks: number; failed: string[] }> {
    let targets: string[];
    if (conversation !== undefined) targets = [conversation];
    else {
      if (!this.#swept) {
        this.#swept = true;
        for (const c of await this.#d.storage.conversations())
          if (owesAcks(c.conversation)) this.#owed.add(c.conversation);
      }
      targets = [...this.#owed];
    }
    let sent = 0;
    const failed: string[] = [];
    for (const c of targets) {
      const t = this.#ackTimers.get(c);
      if (t !== undefined) clearTimeout(t);
      this.#ackTimers.delete(c);
      this.#owed.delete(c);
      if (!owesAcks(c)) continue;
      try {
        sent += await this.#serial(`acks:${c}`, async () => {
          let n = 0;
          for (;;) {
            const ids = await this.#d.storage.unacked(c, MAX_ACKS);
            if (ids.length === 0) return n;
            await this.#d.send(c, { type: "ack", acks: ids.map((id) => fromBareHex(id)) });
            await this.#d.storage.markAcked(ids);
            n++;
          }
        });
      } catch {
        this.#owed.add(c);
        failed.push(c);
      }
    }
    return { acks: sent, failed };
  }

  // ---- groups ----

  /** Announces membership of a group once (a join message); if no mailbox takes it now, at the next {@link sendJoins}. */
  async join(conversation: string): Promise<boolean> {
    const state = await this.#d.storage.get(JOIN + conversation);
    if (state === "sent") return true;
    if (state !== "owed") await this.#d.storage.set(JOIN + conversation, "owed");
    return this.#sendJoin(conversation);
  }

  /** Sends the joins still owed for the groups this client follows. */
  async sendJoins(): Promise<void> {
    for (const f of await this.#d.storage.feeds())
      if (f.feed.startsWith("group:") && (await this.#d.storage.get(JOIN + f.feed)) === "owed")
        await this.#sendJoin(f.feed);
  }

  #sendJoin(conversation: string): Promise<boolean> {
    return this.#serial(JOIN + conversation, async () => {
      if ((await this.#d.storage.get(JOIN + conversation)) === "sent") return true;
      try {
        await this.#d.send(conversation, { type: "join" });
      } catch {
        return false;
      }
      await this.#d.storage.set(JOIN + conversation, "sent");
      return true;
    });
  }

  /** The other members of a group seen so far (join, text or ack on its topic), by identity key. */
  async members(conversation: string): Promise<string[]> {
    return Object.keys(await this.#members(conversation)).sort();
  }

  async #members(conversation: string): Promise<Record<string, number>> {
    return (await this.#d.storage.getObject<Record<string, number>>(MEMBERS + conversation)) ?? {};
  }

  /** Remembers when each sender was first seen in a group (the earliest of what it sent). */
  #learn(conversation: string, senders: Map<string, number>): Promise<void> {
    return this.#serial(MEMBERS + conversation, async () => {
      const known = await this.#members(conversation);
      let changed = false;
      for (const [sender, at] of senders)
        if (known[sender] === undefined || at < known[sender]) {
          known[sender] = at;
          changed = true;
        }
      if (changed) await this.#d.storage.setObject(MEMBERS + conversation, known);
    });
  }

  /**
   * M of "N of M": the members seen before the message was sent (a later one never reads it: a
   * member's catch-up starts when it joined), and every one that acked it.
   */
  #memberCount(r: OutgoingRecord, members: Record<string, number>): number {
    const counted = new Set(r.deliveredTo);
    for (const [m, at] of Object.entries(members))
      if (at <= r.timestamp && m !== this.#d.self) counted.add(m);
    return counted.size;
  }

  /** Sends the acks still waiting for their live delay, stops the timers, and reports nothing more. */
  async close(): Promise<void> {
    const live = [...this.#ackTimers.keys()];
    for (const t of this.#ackTimers.values()) clearTimeout(t);
    this.#ackTimers.clear();
    for (const c of live) await this.flush(c).catch(() => undefined);
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#closed = true;
  }
}
