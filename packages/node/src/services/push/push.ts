import type { Connection, PrivateKey, Startable, Stream } from "@libp2p/interface";
import type { Registrar } from "@libp2p/interface-internal";
import { pbStream, type RateLimiter } from "@libp2p/utils";
import {
  type Envelope,
  framing,
  InvalidEnvelopeError,
  LIMITS,
  PUSH_PROTOCOL,
  PushRequest,
  PushResponse,
  receiptSigningBytes,
  StatusCode,
} from "@postbox/protocol";
import type { Logger } from "pino";
import type { EvidenceSigner } from "../../evidence.js";
import type { Ingestor } from "../../ingest.js";
import { createSigner } from "../../keys.js";
import type { Metrics } from "../../metrics.js";

export interface MailboxPushInit {
  ingestor: Ingestor;
  /** Publishes an envelope to the gossip network (best effort). */
  relay: (envelope: Envelope) => Promise<void>;
  privateKey: PrivateKey;
  /** Seconds the mailbox promises to keep what it stores. */
  retentionSeconds: number;
  /** Signs each receipt's EIP-712 evidence too (a mailbox with a chain). */
  evidence?: EvidenceSigner | undefined;
  metrics: Metrics;
  log: Logger;
  rateLimiter: RateLimiter;
  maxInboundStreams?: number;
  readTimeoutMs?: number;
}

export class MailboxPush implements Startable {
  readonly #registrar: Registrar;
  readonly #init: MailboxPushInit;
  readonly #signBytes: (data: Uint8Array) => Promise<Uint8Array>;
  #started = false;

  constructor(components: { registrar: Registrar }, init: MailboxPushInit) {
    this.#registrar = components.registrar;
    this.#init = init;
    this.#signBytes = createSigner(init.privateKey);
  }

  readonly [Symbol.toStringTag] = "@postbox/push";

  async start(): Promise<void> {
    await this.#registrar.handle(PUSH_PROTOCOL, (stream, connection) => this.handle(stream, connection), {
      maxInboundStreams: this.#init.maxInboundStreams ?? 32,
    });
    this.#started = true;
  }

  async stop(): Promise<void> {
    await this.#registrar.unhandle(PUSH_PROTOCOL);
    this.#started = false;
  }

  isStarted(): boolean {
    return this.#started;
  }

  async handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
    const started = performance.now();
    const pb = pbStream(stream, framing(LIMITS.maxPayloadBytes + 4 * 1024));
    let requestId = "";
    let response: PushResponse;
    try {
      let request: PushRequest;
      try {
        request = await pb.read(PushRequest, {
          signal: AbortSignal.timeout(this.#init.readTimeoutMs ?? 10_000),
        });
      } catch (err) {
        throw refusal(
          StatusCode.BAD_REQUEST,
          `malformed push: ${err instanceof Error ? err.name : "cannot decode"}`,
        );
      }
      if (new TextEncoder().encode(request.requestId).length > LIMITS.maxRequestIdBytes)
        throw refusal(StatusCode.BAD_REQUEST, `request id longer than ${LIMITS.maxRequestIdBytes} bytes`);
      requestId = request.requestId;
      try {
        this.#init.rateLimiter.consume(`push:${connection.remotePeer.toString()}`);
      } catch {
        throw refusal(StatusCode.RATE_LIMITED, "too many pushes; slow down");
      }
      if (!request.envelope) throw refusal(StatusCode.BAD_REQUEST, "no envelope");
      const envelope = request.envelope;
      let result: Awaited<ReturnType<Ingestor["submit"]>>;
      try {
        result = await this.#init.ingestor.submit(envelope, "push");
      } catch (err) {
        if (err instanceof InvalidEnvelopeError)
          throw refusal(StatusCode.BAD_REQUEST, err.details ?? err.shortMessage);
        throw err;
      }
      // Committed: now relay (new envelopes only) and sign the receipt.
      if (result.fresh) {
        this.#init.relay(envelope).catch((err) => this.#init.log.debug({ err }, "relay failed"));
      }
      // Retention deletes by the envelope's timestamp, which may be up to 20 s before its commit:
      // the promise runs from the earlier of the two, so the envelope is never deleted before it.
      const storedAt = BigInt(result.storedAt);
      const from = envelope.timestamp < storedAt ? envelope.timestamp : storedAt;
      const receipt = {
        envelopeId: result.id,
        storedAt,
        retainUntil: from + BigInt(this.#init.retentionSeconds * 1000),
      };
      const signature = await this.#signBytes(receiptSigningBytes(receipt));
      const evidence = this.#init.evidence?.receipt({
        ...receipt,
        contentTopic: envelope.contentTopic,
        timestamp: envelope.timestamp,
      });
      response = {
        requestId,
        status: StatusCode.OK,
        statusDesc: "OK",
        receipt: { ...receipt, signature, ...(evidence ? { evidence } : {}) },
      };
    } catch (err) {
      if (isRefusal(err)) {
        response = { requestId, status: err.status, statusDesc: err.desc };
      } else {
        this.#init.log.error({ err, peer: connection.remotePeer.toString() }, "push failed");
        response = { requestId, status: StatusCode.INTERNAL, statusDesc: "internal error" };
      }
    }
    this.#init.metrics.queries.inc({
      protocol: "push",
      status: StatusCode[response.status] ?? String(response.status),
    });
    try {
      await pb.write(response, PushResponse, { signal: AbortSignal.timeout(10_000) });
      await stream.close({ signal: AbortSignal.timeout(5_000) });
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
    this.#init.metrics.querySeconds.observe({ protocol: "push" }, (performance.now() - started) / 1000);
  }
}

interface Refusal {
  refusal: true;
  status: StatusCode;
  desc: string;
}

function refusal(status: StatusCode, desc: string): Refusal {
  return { refusal: true, status, desc };
}

function isRefusal(e: unknown): e is Refusal {
  return typeof e === "object" && e !== null && (e as Refusal).refusal === true;
}
