import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The node's Prometheus metrics, on their own registry (served at /metrics). */
export interface Metrics {
  registry: Registry;
  ingested: Counter<"source" | "result">;
  commitSeconds: Histogram;
  queries: Counter<"protocol" | "status">;
  querySeconds: Histogram<"protocol">;
  envelopesServed: Counter;
  archiveEnvelopes: Gauge;
  archiveBytes: Gauge;
  retentionDeleted: Counter;
  peers: Gauge;
  meshPeers: Gauge;
}

export function createMetrics(
  options: {
    defaultMetrics?: boolean;
    /** Read at each scrape: peers in the gossipsub mesh of the archived topics. */
    meshPeers?: () => number;
  } = {},
): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: "postbox_process_" });
  const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
  return {
    registry,
    ingested: new Counter({
      name: "postbox_ingest_envelopes_total",
      help: "Envelopes received, by source (gossip, push) and result (stored, duplicate, invalid, error)",
      labelNames: ["source", "result"] as const,
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: "postbox_archive_commit_seconds",
      help: "Time to commit one group of envelopes to the archive",
      buckets: seconds,
      registers: [registry],
    }),
    queries: new Counter({
      name: "postbox_requests_total",
      help: "Requests answered, by protocol and status",
      labelNames: ["protocol", "status"] as const,
      registers: [registry],
    }),
    querySeconds: new Histogram({
      name: "postbox_request_seconds",
      help: "Server time per request, from the request read to the response written",
      labelNames: ["protocol"] as const,
      buckets: seconds,
      registers: [registry],
    }),
    envelopesServed: new Counter({
      name: "postbox_envelopes_served_total",
      help: "Envelopes returned by store queries",
      registers: [registry],
    }),
    archiveEnvelopes: new Gauge({
      name: "postbox_archive_envelopes",
      help: "Envelopes held",
      registers: [registry],
    }),
    archiveBytes: new Gauge({
      name: "postbox_archive_payload_bytes",
      help: "Payload bytes held",
      registers: [registry],
    }),
    retentionDeleted: new Counter({
      name: "postbox_retention_deleted_total",
      help: "Envelopes deleted by the retention policy",
      registers: [registry],
    }),
    peers: new Gauge({
      name: "postbox_connected_peers",
      help: "Connected libp2p peers",
      registers: [registry],
    }),
    meshPeers: new Gauge({
      name: "postbox_gossip_mesh_peers",
      help: "Peers in the gossipsub mesh of the archived topics (0 with other mailboxes up: gossip does not reach this one)",
      registers: [registry],
      collect() {
        if (options.meshPeers) this.set(options.meshPeers());
      },
    }),
  };
}
