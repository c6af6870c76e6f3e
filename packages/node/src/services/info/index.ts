/**
 * @packageDocumentation
 * `/postbox/info/1`: free. The client writes an empty `InfoRequest`; the mailbox answers its
 * on-chain address, prices (effective and pending), retention, limits and version.
 */
import type { Connection, Startable, Stream } from "@libp2p/interface";
import type { Registrar } from "@libp2p/interface-internal";
import { pbStream } from "@libp2p/utils";
import { framing, INFO_PROTOCOL, InfoRequest, InfoResponse } from "@postbox/protocol";
import type { Logger } from "pino";
import type { Metrics } from "../../metrics.js";

export interface MailboxInfoInit {
  describe: () => Promise<InfoResponse>;
  metrics: Metrics;
  log: Logger;
  maxInboundStreams?: number;
}

export class MailboxInfo implements Startable {
  readonly #registrar: Registrar;
  readonly #init: MailboxInfoInit;
  #started = false;

  constructor(components: { registrar: Registrar }, init: MailboxInfoInit) {
    this.#registrar = components.registrar;
    this.#init = init;
  }

  readonly [Symbol.toStringTag] = "@postbox/info";

  async start(): Promise<void> {
    await this.#registrar.handle(INFO_PROTOCOL, (stream, connection) => this.handle(stream, connection), {
      maxInboundStreams: this.#init.maxInboundStreams ?? 32,
    });
    this.#started = true;
  }

  async stop(): Promise<void> {
    await this.#registrar.unhandle(INFO_PROTOCOL);
    this.#started = false;
  }

  isStarted(): boolean {
    return this.#started;
  }

  async handle(stream: Stream, connection: Pick<Connection, "remotePeer">): Promise<void> {
    const started = performance.now();
    const pb = pbStream(stream, framing(1024));
    try {
      await pb.read(InfoRequest, { signal: AbortSignal.timeout(10_000) });
      await pb.write(await this.#init.describe(), InfoResponse, { signal: AbortSignal.timeout(10_000) });
      await stream.close({ signal: AbortSignal.timeout(5_000) });
      this.#init.metrics.queries.inc({ protocol: "info", status: "OK" });
    } catch (err) {
      this.#init.log.debug({ err, peer: connection.remotePeer.toString() }, "info request failed");
      this.#init.metrics.queries.inc({ protocol: "info", status: "BAD_REQUEST" });
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    }
    this.#init.metrics.querySeconds.observe({ protocol: "info" }, (performance.now() - started) / 1000);
  }
}

export function mailboxInfo(init: MailboxInfoInit): (components: { registrar: Registrar }) => MailboxInfo {
  return (components) => new MailboxInfo(components, init);
}
