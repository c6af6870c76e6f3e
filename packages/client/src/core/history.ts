import type { Libp2p } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  compareEnvelopes,
  fromBareHex,
  type IdentifiedEnvelope,
  identify,
  type PageCommitment,
  pageCommitmentFromWire,
  presenceFromWire,
  StatusCode,
  type StoreResponse,
  toBareHex,
} from "@postbox/protocol";
import type { Address } from "viem";
import { BaseError, MailboxStatusError, PaymentRefusedError, StaleChannelError } from "../errors.js";
import type { ChannelManager } from "./channels.js";
import type { MailboxCandidate } from "./directory.js";
import type { CatchUpProgress } from "./events.js";
import { mailboxNodes } from "./nodes.js";
import { queryStore } from "./wire/index.js";

export type { CatchUpProgress } from "./events.js";

/** What a mailbox did not return that another one did. */
export interface MailboxGap {
  mailbox: string;
  /** Ids another mailbox returned and this one says it does not hold. */
  missing: string[];
  /** Ids this one holds (by its presence answer) but left out of its history pages. */
  omitted: string[];
  /**
   * Of `omitted`, those it left out again when asked for them alone, after a signed presence answer
   * said it held them: an omission proof is kept for each (`postbox dispute omission`).
   */
  proved: string[];
}

export interface FetchHistoryParameters {
  host: Pick<Libp2p, "dialProtocol">;
  /**
   * A mailbox's addresses this client dials, in order: of every node it lists (each address ends
   * in its node's `/p2p/` id; the history queries spread over the nodes and fail over among them).
   */
  addresses: (mailbox: MailboxCandidate) => Multiaddr[];
  /** Candidates in preference order: the first `k` are used, the rest are failover. */
  candidates: MailboxCandidate[];
  k: number;
  topics: string[];
  from: number;
  pageSize: number;
  channels?: ChannelManager | undefined;
  /** Deposit for a channel opened on first use of a paid mailbox. */
  deposit?: bigint | undefined;
  /** Called with each page's new envelopes; a returned promise is awaited before the next query. */
  onPage?: (envelopes: IdentifiedEnvelope[], progress: CatchUpProgress) => Promise<void> | undefined | void;
  /**
   * Called with each history page's signed EIP-712 commitment (a mailbox with a chain whose
   * operator is known), before the next query: the client keeps those that prove an omission, and
   * resolves with the envelope ids (bare hex) a kept one proves omitted.
   */
  onCommitment?: (
    mailbox: MailboxCandidate,
    commitment: PageCommitment,
    signature: Uint8Array,
  ) => Promise<string[] | undefined>;
  /**
   * Called with a mailbox's presence answer, signed as an EIP-712 `Presence`, for an envelope
   * another mailbox returned and this one left out (with that envelope): the "held" half of an
   * omission proof, kept before the page that proves it is asked for.
   */
  onPresence?: (
    mailbox: MailboxCandidate,
    answer: StoreResponse,
    envelope: IdentifiedEnvelope,
  ) => Promise<void>;
  /** Omitted envelopes a catch-up tries to prove, per mailbox (default 3; each costs a page). */
  maxProofs?: number;
  /** A failure of the mailbox's own (not one of {@link isOwnFailure}): the caller may count it. */
  onFailure?: (mailbox: MailboxCandidate, error: Error) => void;
  onSuccess?: (mailbox: MailboxCandidate) => void;
  /** A slot moved from a failed mailbox to the next candidate (`to` undefined: none was left). */
  onFailover?: (from: MailboxCandidate, to: MailboxCandidate | undefined, reason: string) => void;
  feed: string;
  signal?: AbortSignal | undefined;
}

export interface FetchHistoryResult {
  envelopes: IdentifiedEnvelope[];
  pages: number;
  /** Which mailboxes served (in order, including failovers). */
  served: string[];
  gaps: MailboxGap[];
}

/** Statuses that say "this mailbox cannot serve us now": try another. */
const FAILOVER = new Set<StatusCode>([
  StatusCode.INTERNAL,
  StatusCode.RATE_LIMITED, // only once retries with backoff ran out
  StatusCode.NOT_FOUND,
  StatusCode.CHANNEL_CLOSING,
  StatusCode.INVALID_VOUCHER,
  StatusCode.INSUFFICIENT_FUNDS,
  StatusCode.PAYMENT_REQUIRED,
]);

/**
 * Fetches the history of `topics` since `from` from `k` mailboxes at once, merging their pages by
 * envelope id. A mailbox that fails (unreachable, or a status that says it cannot serve) is
 * replaced by the next candidate, which resumes from the last timestamp received (inclusive:
 * duplicates are dropped by id, so nothing is lost and nothing is doubled). With k ≥ 2, what one
 * mailbox returned and another did not is checked with free presence queries and reported.
 */
export async function fetchHistory(p: FetchHistoryParameters): Promise<FetchHistoryResult> {
  const merged = new Map<string, IdentifiedEnvelope>();
  const queue = [...p.candidates];
  const served: string[] = [];
  const complete: { mailbox: MailboxCandidate; ids: Set<string> }[] = [];
  let pages = 0;
  const now = Date.now();
  const span = Math.max(1, now - p.from);

  const errors: string[] = [];
  /** The failures that were the client's own ({@link isOwnFailure}). */
  const own: unknown[] = [];
  const slot = async () => {
    let from = p.from;
    let first = true;
    for (;;) {
      const mailbox = queue.shift();
      if (!mailbox) {
        // Refused by the client's own rules everywhere (its cap, a closing channel): that is the
        // answer, not a failure of every mailbox.
        if (own.length > 0 && own.length === errors.length) throw own.at(-1);
        throw new BaseError("every mailbox failed", {
          details: `catching up ${p.feed}: ${errors.join("; ")}`,
        });
      }
      served.push(mailbox.id);
      const ids = new Set<string>();
      try {
        let cursor: Uint8Array | undefined;
        let mailboxPages = 0;
        for (;;) {
          p.signal?.throwIfAborted();
          const res = await withBackoff(() => query(p, mailbox, from, cursor), p.signal);
          mailboxPages++;
          pages++;
          if (p.onCommitment && mailbox.operator && res.evidence) {
            const commitment = pageCommitmentFromWire(mailbox.operator, { contentTopics: p.topics }, res);
            if (commitment) await p.onCommitment(mailbox, commitment, res.evidence);
          }
          const page = res.envelopes.map(identify);
          const fresh: IdentifiedEnvelope[] = [];
          for (const e of page) {
            const id = toBareHex(e.id);
            ids.add(id);
            if (!merged.has(id)) {
              merged.set(id, e);
              fresh.push(e);
            }
          }
          const last = page.at(-1);
          if (last) from = Number(last.timestamp);
          const fraction = res.nextCursor ? Math.min(1, Math.max(0, (from - p.from) / span)) : 1;
          await p.onPage?.(fresh, {
            feed: p.feed,
            mailbox: mailbox.id,
            pages: mailboxPages,
            envelopes: merged.size,
            fraction,
            estimatedTotal:
              fraction >= 1 || fraction <= 0
                ? merged.size
                : Math.max(merged.size, Math.round(merged.size / fraction)),
          });
          if (!res.nextCursor) break;
          cursor = res.nextCursor;
        }
        p.onSuccess?.(mailbox);
        if (first) complete.push({ mailbox, ids });
        return;
      } catch (err) {
        if (p.signal?.aborted) throw err;
        if (err instanceof MailboxStatusError && !FAILOVER.has(err.status)) throw err;
        const e = err as BaseError;
        const reason = `${e.shortMessage ?? e.message}${e.shortMessage && e.details ? ` (${e.details})` : ""}`;
        errors.push(`${mailbox.id}: ${reason}`);
        if (isOwnFailure(err)) own.push(err);
        else p.onFailure?.(mailbox, err as Error);
        p.onFailover?.(mailbox, queue[0], reason);
        first = false;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(p.k, p.candidates.length)) }, slot));
  // Gaps before settling: proving an omission reads a page more.
  const gaps = complete.length > 1 ? await findGaps(p, merged, complete) : [];
  if (p.channels) {
    // Settle: one free presence query per paid mailbox with a voucher for exactly what was spent.
    for (const id of new Set(served)) {
      const c = p.candidates.find((m) => m.id === id);
      if (c?.paid && c.operator && p.channels.channelTo(c.operator)) {
        await queryStore(p.host, mailboxNodes.pick(c.id, p.addresses(c)), {
          contentTopics: p.topics,
          includeData: false,
          voucher: await p.channels.settlementFor(c.operator),
        }).catch(() => undefined);
      }
    }
  }
  const envelopes = [...merged.values()].sort(compareEnvelopes);
  return { envelopes, pages, served, gaps };
}

/**
 * Runs `attempt`, waiting and retrying (up to 6 times, 100 ms doubling) while the mailbox says
 * RATE_LIMITED: a busy mailbox is slowed down to, not failed over from.
 */
export async function withBackoff<T>(attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof MailboxStatusError) || err.status !== StatusCode.RATE_LIMITED || i >= 6) throw err;
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

async function query(
  p: FetchHistoryParameters,
  mailbox: MailboxCandidate,
  from: number,
  cursor: Uint8Array | undefined,
  to?: number,
): Promise<StoreResponse> {
  const payee = mailbox.operator as Address;
  const channels = mailbox.paid ? p.channels : undefined;
  if (mailbox.paid && (!channels || !mailbox.operator))
    throw new PaymentRefusedError("this mailbox is paid and no wallet is configured", {
      details: mailbox.id,
    });
  let repaid = false;
  let retries = 0;
  let reopened = false;
  // A registry entry may list several nodes of the mailbox (one PostgreSQL behind them): queries
  // are spread over them, and one that does not answer is asked again of the next node, before the
  // mailbox counts as failed. A cursor is the envelope's id, so any node resumes it.
  const nodes = mailboxNodes.order(mailbox.id, p.addresses(mailbox));
  let node = 0;
  for (;;) {
    let voucher: Awaited<ReturnType<ChannelManager["voucherFor"]>> | undefined;
    if (channels) {
      // The recorded channel once the chain confirms it, or a new one.
      await channels.open(payee, p.deposit ?? defaultDeposit(mailbox, p.pageSize));
      voucher = await channels.voucherFor(payee, p.pageSize);
    }
    let res: StoreResponse;
    try {
      res = await queryStore(
        p.host,
        nodes[node] ?? [],
        {
          contentTopics: p.topics,
          timeStart: BigInt(Math.max(0, from)),
          ...(to !== undefined ? { timeEnd: BigInt(to) } : {}),
          pageSize: p.pageSize,
          ...(cursor ? { cursor } : {}),
          ...(voucher ? { voucher } : {}),
        },
        p.signal ? { signal: p.signal } : {},
      );
    } catch (err) {
      if (voucher) channels?.release(voucher); // no answer: the page is no longer in flight
      if (nodes.length > 1) mailboxNodes.failed(nodes[node]!);
      if (node + 1 < nodes.length && !p.signal?.aborted) {
        node++;
        continue;
      }
      throw err;
    }
    if (nodes.length > 1) mailboxNodes.answered(nodes[node]!);
    // A refusal that reports more spent than we knew (an answer we lost) is paid again once, with a
    // voucher on the mailbox's figure.
    const reconciled = channels?.record(payee, res, voucher) ?? false;
    if (res.status === StatusCode.OK) return res;
    if (channels && reconciled && !repaid && REPAYABLE.has(res.status)) {
      repaid = true;
      continue;
    }
    // One that pages in flight at once explain (a draw whose credit they used up, a voucher a newer
    // one overtook) asks for the next voucher: a few times, as each retry takes the newest.
    if (
      channels &&
      voucher &&
      retries < 8 &&
      REPAYABLE.has(res.status) &&
      channels.mayRetry(payee, voucher)
    ) {
      retries++;
      continue;
    }
    if (channels && OWN_RECORD.has(res.status)) {
      // Was it our record? The chain says: a record that does not hold is archived and a new
      // channel opened (once); a channel we asked to close is ours to withdraw. Only a refusal of a
      // channel the chain confirms is the mailbox's.
      const check = await channels.reconcile(payee);
      if (check.state === "archived" && !reopened) {
        reopened = true;
        continue;
      }
      if (check.state === "archived") throw new StaleChannelError(check.record.reason);
      if (check.state === "closing")
        throw new PaymentRefusedError(`your channel to ${payee} is closing`, {
          details: "withdraw it once the close grace ends; the next catch-up opens a new one",
        });
    }
    throw new MailboxStatusError(res.status, res.statusDesc, StatusCode[res.status] ?? String(res.status));
  }
}

/** Refusals that a voucher on the mailbox's reported spent amount may cure. */
const REPAYABLE = new Set<StatusCode>([StatusCode.INVALID_VOUCHER, StatusCode.INSUFFICIENT_FUNDS]);

/** Refusals our own channel record may have caused: checked against the chain before blaming the mailbox. */
const OWN_RECORD = new Set<StatusCode>([StatusCode.INVALID_VOUCHER, StatusCode.CHANNEL_CLOSING]);

/**
 * Whether a failure comes from the client itself (its price rules, a stale or closing channel of
 * its own, no wallet) rather than from the mailbox: such a failure moves on to the next mailbox but
 * is never counted against this one.
 */
export function isOwnFailure(err: unknown): boolean {
  return err instanceof PaymentRefusedError || err instanceof StaleChannelError;
}

/** Enough for 100 full pages: catching up rarely needs a top-up. */
function defaultDeposit(c: MailboxCandidate, pageSize: number): bigint {
  return (c.price.pricePerQuery + c.price.pricePerMessage * BigInt(pageSize)) * 100n;
}

async function findGaps(
  p: FetchHistoryParameters,
  merged: Map<string, IdentifiedEnvelope>,
  complete: { mailbox: MailboxCandidate; ids: Set<string> }[],
): Promise<MailboxGap[]> {
  const gaps: MailboxGap[] = [];
  for (const { mailbox, ids } of complete) {
    const absent = [...merged.keys()].filter((id) => !ids.has(id));
    if (absent.length === 0) continue;
    const held = new Set<string>();
    for (let i = 0; i < absent.length; i += 100) {
      const chunk = absent.slice(i, i + 100);
      const res = await queryStore(p.host, mailboxNodes.pick(mailbox.id, p.addresses(mailbox)), {
        contentTopics: p.topics,
        includeData: false,
        ids: chunk.map(fromBareHex),
      }).catch(() => undefined);
      for (const id of res?.ids ?? []) held.add(toBareHex(id));
    }
    const omitted = absent.filter((id) => held.has(id));
    gaps.push({
      mailbox: mailbox.id,
      missing: absent.filter((id) => !held.has(id)),
      omitted,
      proved: await proveOmissions(
        p,
        mailbox,
        omitted.map((id) => merged.get(id)!),
      ),
    });
  }
  return gaps;
}

/**
 * Turns "held but not returned" into an omission proof a contract checks, for up to
 * {@link FetchHistoryParameters.maxProofs} envelopes: a presence query for the envelope alone (its
 * signed answer, served after the mailbox looked it up, says it holds it), then a history page for
 * that envelope's millisecond. A page served after the answer that leaves it out again is the
 * proof; the caller's {@link FetchHistoryParameters.onCommitment} keeps it. Returns the ids proved.
 * A mailbox without a chain (no operator) or without evidence proves nothing; failures are ignored
 * (the gap is reported all the same).
 */
async function proveOmissions(
  p: FetchHistoryParameters,
  mailbox: MailboxCandidate,
  omitted: IdentifiedEnvelope[],
): Promise<string[]> {
  const operator = mailbox.operator;
  if (!operator || !p.onPresence || !p.onCommitment) return [];
  const proved: string[] = [];
  for (const envelope of omitted.slice(0, p.maxProofs ?? 3)) {
    const id = toBareHex(envelope.id);
    try {
      const answer = await queryStore(p.host, mailboxNodes.pick(mailbox.id, p.addresses(mailbox)), {
        contentTopics: p.topics,
        includeData: false,
        ids: [envelope.id],
      });
      const presence = presenceFromWire(operator, answer);
      if (!presence || !answer.evidence || !presence.ids.some((h) => h.slice(2) === id)) continue;
      await p.onPresence(mailbox, answer, envelope);
      const t = Number(envelope.timestamp);
      const res = await withBackoff(() => query(p, mailbox, t, undefined, t), p.signal);
      const commitment = res.evidence && pageCommitmentFromWire(operator, { contentTopics: p.topics }, res);
      if (!commitment || !res.evidence) continue;
      if ((await p.onCommitment(mailbox, commitment, res.evidence))?.includes(id)) proved.push(id);
    } catch (err) {
      if (p.signal?.aborted) throw err;
    }
  }
  return proved;
}
