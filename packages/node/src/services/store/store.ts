import type { Connection, PrivateKey, Startable, Stream } from "@libp2p/interface";
import { pbStream, type RateLimiter } from "@libp2p/utils";
import {
  bigintToBytes,
  commitmentSigningBytes,
  committedSpan,
  framing,
  type InvalidEnvelopeError,
  LIMITS,
  STORE_PROTOCOL,
  StatusCode,
  StoreQuery,
  type StoreResponse,
  StoreResponseCodec,
  validateContentTopic,
} from "@postbox/protocol";
import type { Logger } from "pino";
import type { Archive, Position } from "../../archive/types.js";
import type { EvidenceSigner } from "../../evidence.js";
import { createSigner } from "../../keys.js";
import { ChargeRefused, type QueryMeter } from "../../meter.js";
import type { Metrics } from "../../metrics.js";
import type { MailboxStoreComponents } from "./index.js";

export interface MailboxStoreInit {
  archive: Archive;
  meter: QueryMeter;
  /** The mailbox's libp2p key: signs page commitments. */
  privateKey: PrivateKey;
  /**
   * Signs each history page's EIP-712 commitment too, and each presence answer that holds an id (a
   * mailbox with a chain).
   */
  evidence?: EvidenceSigner | undefined;
  /** How long envelopes are kept (`retention.maxAge`): a presence answer's promise. */
  retentionSeconds: number;
  metrics: Metrics;
  log: Logger;
  rateLimiter: RateLimiter;
  /** Concurrent inbound store streams per connection (default 32). */
  maxInboundStreams?: number;
  /** Largest response payload per page in bytes (default 4 MiB; one envelope is always returned). */
  maxPageBytes?: number;
  /** How long a peer has to send its first query on a stream, and each next one (default 10 s). */
  readTimeoutMs?: number;
}

/** A query that failed validation: the status and description go back to the peer. */
class Refusal {
  constructor(
    readonly status: StatusCode,
    readonly desc: string,
  ) {}
}

const REQUEST_MAX_BYTES = 64 * 1024;

export class MailboxStore implements Startable {
  readonly #components: MailboxStoreComponents;
  readonly #init: MailboxStoreInit;
  readonly #signBytes: (data: Uint8Array) => Promise<Uint8Array>;
  #started = false;

  constructor(components: MailboxStoreComponents, init: MailboxStoreInit) {
    this.#components = components;
    this.#init = init;
    this.#signBytes = createSigner(init.privateKey);
  }

  readonly [Symbol.toStringTag] = "@postbox/store";

  async start(): Promise<void> {
    await this.#components.registrar.handle(
      STORE_PROTOCOL,
      (stream, connection) => this.handle(stream, connection),
      {
        maxInboundStreams: this.#init.maxInboundStreams ?? 32,
      },
    );
    this.#started = true;
  }

  async stop(): Promise<void> {
    await this.#components.registrar.unhandle(STORE_PROTOCOL);
    this.#started = false;
  }

  isStarted(): boolean {
    return this.#started;
  }

  /**
   * Serves the queries of one stream, in order: the first must come within `readTimeoutMs`, and
   * each next one within `readTimeoutMs` of the previous response. The stream closes when the
   * client closes its side, falls silent, or sends a frame that cannot be read (answered first
   * with BAD_REQUEST: after a bad frame the stream's framing is lost). Never throws: every
   * failure becomes a status.
   */
  async handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
    const pb = pbStream(stream, framing(REQUEST_MAX_BYTES));
    const readTimeoutMs = this.#init.readTimeoutMs ?? 10_000;
    for (let first = true; ; first = false) {
      let query: StoreQuery | undefined;
      try {
        query = await pb.read(StoreQuery, {
          signal: AbortSignal.timeout(readTimeoutMs),
          limits: { contentTopics: 64, ids: 1_000 },
        });
      } catch (err) {
        // After a response, the end of the stream or silence is the client being done.
        if (!first && isEndOrSilence(err)) break;
        await this.#answer(
          pb,
          stream,
          empty("", StatusCode.BAD_REQUEST, `malformed query: ${describe(err)}`),
        );
        break;
      }
      const started = performance.now();
      let response: StoreResponse;
      try {
        response = await this.#serve(query, connection);
      } catch (err) {
        if (err instanceof Refusal) {
          response = empty(query.requestId, err.status, err.desc);
        } else {
          this.#init.log.error({ err, peer: connection.remotePeer.toString() }, "store query failed");
          response = empty(query.requestId, StatusCode.INTERNAL, "internal error");
        }
      }
      const sent = await this.#answer(pb, stream, response);
      this.#init.metrics.querySeconds.observe({ protocol: "store" }, (performance.now() - started) / 1000);
      if (!sent) return;
    }
    try {
      await stream.close({ signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Counts and writes one response; false (the stream aborted) if it could not be sent. */
  async #answer(pb: PbStream, stream: Stream, response: StoreResponse): Promise<boolean> {
    this.#init.metrics.queries.inc({
      protocol: "store",
      status: StatusCode[response.status] ?? String(response.status),
    });
    try {
      await pb.write(response, StoreResponseCodec, { signal: AbortSignal.timeout(30_000) });
      return true;
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  async #serve(q: StoreQuery, connection: Pick<Connection, "remotePeer">): Promise<StoreResponse> {
    const { archive, meter } = this.#init;
    try {
      this.#init.rateLimiter.consume(connection.remotePeer.toString());
    } catch {
      throw new Refusal(StatusCode.RATE_LIMITED, "too many queries; slow down");
    }
    if (new TextEncoder().encode(q.requestId).length > LIMITS.maxRequestIdBytes) {
      throw new Refusal(StatusCode.BAD_REQUEST, `request id longer than ${LIMITS.maxRequestIdBytes} bytes`);
    }

    // Presence query: which of these ids do you hold? Free of charge and cheap. With a voucher,
    // it also settles the channel (a voucher for exactly what was spent).
    if (!q.includeData && (q.ids.length > 0 || q.voucher)) {
      let spent: bigint | undefined;
      if (q.voucher) {
        if (!meter.settle)
          throw new Refusal(StatusCode.BAD_REQUEST, "this mailbox is free: nothing to settle");
        const settled = await meter.settle({ voucher: q.voucher });
        if (!settled.ok) throw new Refusal(settled.status, settled.desc);
        spent = settled.spent;
      }
      if (q.ids.length > LIMITS.maxPresenceIds) {
        throw new Refusal(StatusCode.BAD_REQUEST, `at most ${LIMITS.maxPresenceIds} ids per presence query`);
      }
      if (q.ids.some((id) => id.length !== 32)) throw new Refusal(StatusCode.BAD_REQUEST, "ids are 32 bytes");
      const held = await archive.presence(q.ids);
      const ids = held.map((h) => h.id);
      const response: StoreResponse = { ...empty(q.requestId, StatusCode.OK, "OK"), ids };
      if (spent !== undefined) response.spent = bigintToBytes(spent);
      if (this.#init.evidence && held.length > 0) Object.assign(response, this.#presenceEvidence(held));
      return this.#respond(q, response, ids, undefined);
    }

    if (q.contentTopics.length === 0) throw new Refusal(StatusCode.BAD_REQUEST, "no content topics");
    if (q.contentTopics.length > LIMITS.maxContentTopics) {
      throw new Refusal(
        StatusCode.BAD_REQUEST,
        `at most ${LIMITS.maxContentTopics} content topics per query`,
      );
    }
    for (const topic of q.contentTopics) {
      try {
        validateContentTopic(topic);
      } catch (err) {
        // A query that can never match is refused before it is metered: nobody pays for it.
        throw new Refusal(
          StatusCode.BAD_REQUEST,
          (err as InvalidEnvelopeError).details ?? "bad content topic",
        );
      }
    }
    if (q.ids.length > 0)
      throw new Refusal(StatusCode.BAD_REQUEST, "ids are for presence queries (include_data false)");
    const pageSize = q.pageSize ?? LIMITS.defaultPageSize;
    if (pageSize < 1 || pageSize > LIMITS.maxPageSize) {
      throw new Refusal(StatusCode.BAD_REQUEST, `page size must be 1..${LIMITS.maxPageSize}`);
    }
    if (q.timeStart !== undefined && q.timeEnd !== undefined && q.timeStart > q.timeEnd) {
      throw new Refusal(StatusCode.BAD_REQUEST, "time_start is after time_end");
    }
    let after: Position | undefined;
    if (q.cursor !== undefined) {
      if (q.cursor.length !== 32)
        throw new Refusal(StatusCode.BAD_REQUEST, "a cursor is a 32-byte envelope id");
      after = await archive.position(q.cursor);
      if (!after) throw new Refusal(StatusCode.NOT_FOUND, "unknown cursor (never issued here, or expired)");
    }

    const decision = await meter.authorize({ peer: connection.remotePeer, query: q, maxMessages: pageSize });
    if (!decision.ok) {
      const refused = empty(q.requestId, decision.status, decision.desc);
      if (decision.quote) refused.quote = decision.quote;
      return refused;
    }
    // Taken before the read: every envelope committed before this instant is in what it reads,
    // so a receipt's `storedAt` earlier than `servedAt` means the page saw the envelope.
    const servedAt = Date.now();
    let page: Awaited<ReturnType<Archive["query"]>>;
    try {
      page = await archive.query({
        topics: q.contentTopics,
        ...(q.timeStart !== undefined ? { timeStart: q.timeStart } : {}),
        ...(q.timeEnd !== undefined ? { timeEnd: q.timeEnd } : {}),
        ...(after ? { after } : {}),
        forward: q.forward,
        limit: pageSize,
        maxBytes: this.#init.maxPageBytes ?? 4 * 1024 * 1024,
      });
    } catch (err) {
      decision.release();
      throw err;
    }
    const ids = page.envelopes.map((e) => e.id);
    const nextCursor = page.more ? ids.at(-1) : undefined;
    // The commitment does not depend on the charge: it is signed while the charge commits.
    const charging = decision.charge(page.envelopes.length);
    const commitment = this.#sign(q, ids, nextCursor);
    commitment.catch(() => undefined); // awaited below; a failed charge must not leave it unhandled
    const evidence = this.#init.evidence && this.#evidence(q, page, after, ids, nextCursor, servedAt);
    let charge: Awaited<typeof charging>;
    try {
      charge = await charging;
    } catch (err) {
      // Another node of the mailbox drew the channel's credit first: a refusal, nothing served.
      if (!(err instanceof ChargeRefused)) throw err;
      const refused = empty(q.requestId, err.status, err.desc);
      if (err.quote) refused.quote = err.quote;
      return refused;
    }
    this.#init.metrics.envelopesServed.inc(page.envelopes.length);
    const response: StoreResponse = {
      ...empty(q.requestId, StatusCode.OK, "OK"),
      envelopes: page.envelopes.map((e) => ({
        version: e.version,
        contentTopic: e.contentTopic,
        timestamp: e.timestamp,
        payload: e.payload,
      })),
      ids,
      spent: bigintToBytes(charge.spent),
      cost: bigintToBytes(charge.cost),
      commitment: await commitment,
      ...evidence,
    };
    if (nextCursor) response.nextCursor = nextCursor;
    return response;
  }

  /** The page's EIP-712 commitment: the span it is complete for, signed with `servedAt`. */
  #evidence(
    q: StoreQuery,
    page: Awaited<ReturnType<Archive["query"]>>,
    after: Position | undefined,
    ids: Uint8Array[],
    nextCursor: Uint8Array | undefined,
    servedAt: number,
  ): Pick<StoreResponse, "servedAt" | "evidenceTimeStart" | "evidenceTimeEnd" | "evidence"> {
    const span = committedSpan(q, {
      cursorTimestamp: after?.timestamp,
      lastTimestamp: page.envelopes.at(-1)?.timestamp,
      more: page.more,
    });
    const at = BigInt(servedAt);
    const evidence = this.#init.evidence!.page({
      contentTopics: q.contentTopics,
      timeStart: span.timeStart,
      timeEnd: span.timeEnd,
      ids,
      nextCursor,
      servedAt: at,
    });
    return { servedAt: at, evidenceTimeStart: span.timeStart, evidenceTimeEnd: span.timeEnd, evidence };
  }

  /**
   * A presence answer's EIP-712 `Presence`: every id it lists is held at `servedAt`, taken after the
   * lookup (so each was committed before it), and kept until `retainUntil`, the earliest of their
   * retention ends. Retention deletes an envelope once its timestamp is older than `maxAge`; as a
   * push receipt's promise, each runs from the earlier of its timestamp and now.
   */
  #presenceEvidence(held: Position[]): Pick<StoreResponse, "servedAt" | "retainUntil" | "evidence"> {
    const servedAt = BigInt(Date.now());
    let from = servedAt;
    for (const h of held) if (h.timestamp < from) from = h.timestamp;
    const retainUntil = from + BigInt(this.#init.retentionSeconds * 1000);
    const evidence = this.#init.evidence!.presence({ ids: held.map((h) => h.id), servedAt, retainUntil });
    return { servedAt, retainUntil, evidence };
  }

  async #respond(
    q: StoreQuery,
    response: StoreResponse,
    ids: Uint8Array[],
    nextCursor: Uint8Array | undefined,
  ): Promise<StoreResponse> {
    if (nextCursor) response.nextCursor = nextCursor;
    response.commitment = await this.#sign(q, ids, nextCursor);
    return response;
  }

  /** The signed commitment over (query, returned ids, next cursor). */
  async #sign(q: StoreQuery, ids: Uint8Array[], nextCursor: Uint8Array | undefined): Promise<Uint8Array> {
    return this.#signBytes(commitmentSigningBytes(q, ids, nextCursor));
  }
}

function empty(requestId: string, status: StatusCode, statusDesc: string): StoreResponse {
  return {
    requestId,
    status,
    statusDesc,
    envelopes: [],
    ids: [],
    spent: new Uint8Array(0),
    cost: new Uint8Array(0),
    commitment: new Uint8Array(0),
  };
}

type PbStream = ReturnType<typeof pbStream>;

/** The client closed its side, or sent nothing within the read timeout. */
function isEndOrSilence(err: unknown): boolean {
  return (
    err instanceof Error &&
    (err.name === "UnexpectedEOFError" || err.name === "TimeoutError" || err.name === "AbortError")
  );
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "InvalidDataLengthError" || err.name === "InvalidDataLengthLengthError")
      return "frame too large";
    if (err.name === "TimeoutError" || err.name === "AbortError") return "timed out waiting for the query";
    if (err.name === "UnexpectedEOFError") return "stream ended before a full query";
    return err.name === "Error" ? "cannot decode" : err.name;
  }
  return "cannot decode";
}
