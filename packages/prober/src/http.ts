import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { SignedReport } from "@postbox/protocol";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Account } from "viem";
import { DAY, type MailboxFigures } from "./figures.js";
import type { Prober } from "./prober.js";
import type { SampleStore } from "./samples.js";

export interface ProberHttpOptions {
  prober: Prober;
  store: SampleStore;
  account: Account & { signMessage: NonNullable<Account["signMessage"]> };
  metrics: Registry;
  log: Logger;
  host?: string;
  port: number;
}

/**
 * The prober's HTTP API (read-only JSON, CORS open so a dashboard in a browser can read it):
 * `GET /mailboxes`, `/mailboxes/:address`, `/mailboxes/:address/samples?from=&to=` (ms), each a
 * {@link SignedReport}; `/metrics` (Prometheus) and `/health`.
 */
export type { SignedReport };

export async function startProberHttp(o: ProberHttpOptions): Promise<Server> {
  const sign = async <T>(report: T): Promise<SignedReport<T>> => {
    const text = JSON.stringify(report);
    return {
      signer: o.account.address,
      signature: await o.account.signMessage({ message: text }),
      report: JSON.parse(text) as T,
    };
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, {
      "content-type": "application/json",
      "access-control-allow-origin": "*",
      "cache-control": "no-store",
    });
    res.end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://prober");
    if (req.method !== "GET") return send(res, 405, { error: "only GET" });
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (path === "/health") return send(res, 200, { ok: true });
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": o.metrics.contentType });
      return res.end(await o.metrics.metrics());
    }
    if (path === "/mailboxes") {
      return send(res, 200, await sign({ generatedAt: Date.now(), mailboxes: o.prober.figures() }));
    }
    const m = /^\/mailboxes\/(0x[0-9a-fA-F]{40})(\/samples)?$/.exec(path);
    if (!m) return send(res, 404, { error: "not found: try /mailboxes" });
    const address = m[1]!.toLowerCase();
    const figures = o.prober.figures().find((f: MailboxFigures) => f.address === address);
    if (!figures) return send(res, 404, { error: `no mailbox ${address} in the registry` });
    if (!m[2]) return send(res, 200, await sign({ generatedAt: Date.now(), mailbox: figures }));
    const now = Date.now();
    const num = (name: string, fallback: number) => {
      const v = url.searchParams.get(name);
      if (v === null || v === "") return fallback;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a time in ms`);
      return n;
    };
    let from: number;
    let to: number;
    try {
      from = num("from", now - DAY);
      to = num("to", now);
    } catch (err) {
      return send(res, 400, { error: (err as Error).message });
    }
    if (from > to) return send(res, 400, { error: "from must not be after to" });
    const samples = o.store.samples(address, from, to);
    return send(res, 200, await sign({ generatedAt: now, address, from, to, samples }));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.error({ err }, "http request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "127.0.0.1", () => resolve());
  });
  return server;
}
