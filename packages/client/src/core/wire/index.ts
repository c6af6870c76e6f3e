import type { AbortOptions, Libp2p } from "@libp2p/interface";
import {
  type Envelope,
  INFO_PROTOCOL,
  InfoRequest,
  type InfoResponse,
  InfoResponse as InfoResponseCodec,
  PUSH_PROTOCOL,
  PushRequest,
  PushResponse,
  STORE_PROTOCOL,
  StatusCode,
  StoreQuery,
  type StoreResponse,
  StoreResponseCodec,
} from "@postbox/protocol";
import { MailboxStatusError } from "../../errors.js";
import { type MailboxAddress, request, requestOnSession } from "./request.js";

export type { MailboxAddress } from "./request.js";

type Dialer = Pick<Libp2p, "dialProtocol">;

let counter = 0;
/** A request id unique enough to match responses in logs. */
export function newRequestId(): string {
  counter = (counter + 1) % 1_000_000;
  return `${Date.now().toString(36)}-${counter.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Sends one store query and returns the mailbox's response, whatever its status. Queries to one
 * mailbox reuse idle streams ({@link requestOnSession}).
 */
export async function queryStore(
  libp2p: Dialer,
  to: MailboxAddress,
  query: Partial<StoreQuery> & Pick<StoreQuery, "contentTopics">,
  options?: AbortOptions & { timeoutMs?: number },
): Promise<StoreResponse> {
  const full: StoreQuery = {
    requestId: query.requestId ?? newRequestId(),
    contentTopics: query.contentTopics,
    ids: query.ids ?? [],
    includeData: query.includeData ?? true,
    forward: query.forward ?? true,
    ...(query.timeStart !== undefined ? { timeStart: query.timeStart } : {}),
    ...(query.timeEnd !== undefined ? { timeEnd: query.timeEnd } : {}),
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
    ...(query.pageSize !== undefined ? { pageSize: query.pageSize } : {}),
    ...(query.voucher !== undefined ? { voucher: query.voucher } : {}),
  };
  // A query that failed on a kept stream is sent again, unchanged, once on a fresh stream. For a
  // paid query that is safe either way: a mailbox that never read it serves it, and one that took
  // its voucher refuses the repeat as a replay (nothing served, nothing charged) and reports what
  // was spent, which the channel manager reconciles (`ChannelManager.record`).
  return requestOnSession(
    libp2p,
    to,
    STORE_PROTOCOL,
    full,
    { request: StoreQuery, response: StoreResponseCodec },
    { ...options, retry: true },
  );
}

/** Pushes an envelope; resolves with the signed receipt, or throws {@link MailboxStatusError}. */
export async function pushEnvelope(
  libp2p: Dialer,
  to: MailboxAddress,
  envelope: Envelope,
  options?: AbortOptions & { timeoutMs?: number },
) {
  const res = await request(
    libp2p,
    to,
    PUSH_PROTOCOL,
    { requestId: newRequestId(), envelope },
    { request: PushRequest, response: PushResponse },
    options,
  );
  if (res.status !== StatusCode.OK || !res.receipt) {
    throw new MailboxStatusError(res.status, res.statusDesc, StatusCode[res.status] ?? String(res.status));
  }
  return res.receipt;
}

/** Asks a mailbox to describe itself (free). */
export async function fetchInfo(
  libp2p: Dialer,
  to: MailboxAddress,
  options?: AbortOptions & { timeoutMs?: number },
): Promise<InfoResponse> {
  return request(
    libp2p,
    to,
    INFO_PROTOCOL,
    {},
    { request: InfoRequest, response: InfoResponseCodec },
    options,
  );
}
