import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

/** Serves Prometheus metrics at /metrics and a JSON health report at /health. */
export async function startHttp(args: {
  host: string;
  port: number;
  registry: Registry;
  health: () => Promise<{ ok: boolean } & Record<string, unknown>>;
}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET") return reply(405, "text/plain", "method not allowed\n");
    if (path === "/metrics") {
      args.registry
        .metrics()
        .then((m) => reply(200, args.registry.contentType, m))
        .catch(() => reply(500, "text/plain", "metrics unavailable\n"));
    } else if (path === "/health") {
      args
        .health()
        .then((h) => reply(h.ok ? 200 : 503, "application/json", `${JSON.stringify(h)}\n`))
        .catch(() => reply(503, "application/json", '{"ok":false}\n'));
    } else {
      reply(404, "text/plain", "not found: try /metrics or /health\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(args.port, args.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return { server, url: `http://${a.address}:${a.port}` };
}
