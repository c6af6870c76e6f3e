import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, fetchInfo } from "@postbox/client";
import { ConfigError, loadConfig, MailboxNode, type NodeConfigInput, SqliteArchive } from "@postbox/node";
import { bytesToBigint } from "@postbox/protocol";
import { type Output, UsageError } from "../output.js";

export const NODE_START_HELP = `Usage: postbox node start [options]

Starts a mailbox: joins the Postbox libp2p network, archives every envelope on its topics, and
serves history over /postbox/store/1 (free in free mode), pushes over /postbox/push/1 and a
description over /postbox/info/1. Logs are JSON lines (pino) on stdout. Ctrl-C stops it cleanly.

Settings come from defaults, then --config FILE, then POSTBOX_* environment variables, then flags.

Options:
  --config FILE          JSON file with any of the settings below (camelCase keys, see docs/operators.md)
  --data-dir DIR         where the peer key and the SQLite archive live (default ~/.postbox/node;
                         env POSTBOX_DATA_DIR)
  --listen MULTIADDR     a libp2p listen address; repeat for several
                         (default /ip4/0.0.0.0/tcp/60001 and /ip4/0.0.0.0/tcp/60002/ws; env POSTBOX_LISTEN, comma-separated)
  --announce MULTIADDR   an address to announce instead (public address behind NAT); repeatable
  --bootstrap MULTIADDR  a peer to keep connected (another mailbox), dialled again when it drops;
                         repeatable (env POSTBOX_BOOTSTRAP)
  --db sqlite|sqlite:PATH|postgres://USER:PASS@HOST:PORT/DB
                         the archive: SQLite in the data folder (default), another SQLite file, or
                         PostgreSQL (env POSTBOX_DB)
  --retention DURATION   how long envelopes are kept: 30d, 12h, 90m, 45s (default 30d; env POSTBOX_RETENTION)
  --max-envelopes N      also keep at most N envelopes (oldest deleted first)
  --max-size SIZE        also keep at most SIZE of payloads: 10GB, 512MiB (oldest deleted first)
  --free                 serve history free of charge even with a chain configured (env POSTBOX_FREE=1);
                         without a chain the node is always free
  --rpc-url URL          the chain's JSON-RPC endpoint: with the four settings below, paid mode (env POSTBOX_RPC_URL)
  --chain-id ID          the chain id the RPC must serve (env POSTBOX_CHAIN_ID)
  --registry ADDRESS     the MailboxRegistry contract (env POSTBOX_REGISTRY)
  --channels ADDRESS     the PaymentChannels contract (env POSTBOX_CHANNELS)
  --operator-key-file F  a file holding the operator's 0x-prefixed private key: its registry entry, the payee
                         of its channels and the redeemer (or env POSTBOX_OPERATOR_KEY; never a flag value)
  --redeem-min SNT       redeem a channel once this much is redeemable (default 1; also on close requests and at exit)
  --http-port PORT       port of /metrics (Prometheus) and /health on 127.0.0.1 (default 9464; 0 = any free port;
                         env POSTBOX_HTTP_PORT)
  --http-host HOST       interface of the HTTP endpoints (default 127.0.0.1)
  --log-level LEVEL      trace, debug, info, warn, error, fatal or silent (default info; env POSTBOX_LOG_LEVEL)
  -h, --help             this help
`;

export const NODE_INFO_HELP = `Usage: postbox node info [MULTIADDR] [--data-dir DIR]

With MULTIADDR (ending in /p2p/PEER_ID): asks that mailbox over /postbox/info/1 (free) and prints
its peer id, operator, prices, retention, limits, version and archive size.
Without: prints the local mailbox's peer id and archive size from --data-dir (the node may be
stopped).

Options:
  --data-dir DIR   the local mailbox's data folder (default ~/.postbox/node)
  --json           print JSON instead of text
  -h, --help       this help
`;

export async function nodeStart(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      config: { type: "string" },
      "data-dir": { type: "string" },
      listen: { type: "string", multiple: true },
      announce: { type: "string", multiple: true },
      bootstrap: { type: "string", multiple: true },
      db: { type: "string" },
      retention: { type: "string" },
      "max-envelopes": { type: "string" },
      "max-size": { type: "string" },
      free: { type: "boolean" },
      "rpc-url": { type: "string" },
      "chain-id": { type: "string" },
      registry: { type: "string" },
      channels: { type: "string" },
      "operator-key-file": { type: "string" },
      "redeem-min": { type: "string" },
      "http-port": { type: "string" },
      "http-host": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(NODE_START_HELP);
    return 0;
  }
  const flags: Record<string, unknown> = {};
  const retention: Record<string, unknown> = {};
  const http: Record<string, unknown> = {};
  if (values["data-dir"]) flags.dataDir = values["data-dir"];
  if (values.listen) flags.listen = values.listen;
  if (values.announce) flags.announce = values.announce;
  if (values.bootstrap) flags.bootstrap = values.bootstrap;
  if (values.db) flags.db = values.db;
  if (values.free) flags.free = true;
  if (values["log-level"]) flags.logLevel = values["log-level"];
  if (values.retention) retention.maxAge = values.retention;
  if (values["max-envelopes"]) retention.maxEnvelopes = integer("--max-envelopes", values["max-envelopes"]);
  if (values["max-size"]) retention.maxSize = values["max-size"];
  if (values["http-port"]) http.port = integer("--http-port", values["http-port"]);
  if (values["http-host"]) http.host = values["http-host"];
  const chain: Record<string, unknown> = {};
  if (values["rpc-url"]) chain.rpcUrl = values["rpc-url"];
  if (values["chain-id"]) chain.chainId = integer("--chain-id", values["chain-id"]);
  if (values.registry) chain.registry = values.registry;
  if (values.channels) chain.channels = values.channels;
  if (values["operator-key-file"])
    chain.operatorKey = readSecret("operator-key-file", values["operator-key-file"]);
  if (Object.keys(chain).length) flags.chain = chain;
  if (values["redeem-min"]) flags.payments = { redeemMin: values["redeem-min"] };
  if (Object.keys(retention).length) flags.retention = retention;
  if (Object.keys(http).length) flags.http = http;
  const config = loadConfig({
    ...(values.config ? { file: values.config } : {}),
    env: process.env,
    flags: flags as NodeConfigInput,
  });
  const node = await MailboxNode.create(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      io.err(`postbox: ${signal} again, exiting without a clean stop`);
      process.exit(1);
    }
    stopping = true;
    node.log.info({ signal }, "shutting down");
    node.stop().then(
      () => process.exit(0),
      (err) => {
        node.log.error({ err }, "unclean shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  await node.start();
  return new Promise<number>(() => undefined); // runs until a signal
}

export async function nodeInfo(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(NODE_INFO_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("node info takes at most one MULTIADDR");
  if (positionals[0]) {
    let addr: ReturnType<typeof multiaddr>;
    try {
      addr = multiaddr(positionals[0]);
    } catch {
      throw new UsageError(`not a multiaddr: ${positionals[0]}`);
    }
    const host = await createClientHost();
    await host.start();
    try {
      const info = await fetchInfo(host, addr);
      const view = {
        peerId: info.peerId,
        version: info.version,
        operator: info.operator || "(none)",
        mode: info.free ? "free" : "paid",
        chainId: Number(info.chainId),
        pricePerQuery: bytesToBigint(info.pricePerQuery).toString(),
        pricePerMessage: bytesToBigint(info.pricePerMessage).toString(),
        retentionSeconds: Number(info.retentionSeconds),
        envelopes: Number(info.envelopeCount),
        maxPageSize: info.maxPageSize,
        maxContentTopics: info.maxContentTopics,
        maxEnvelopeBytes: info.maxEnvelopeBytes,
        pubsubTopics: info.pubsubTopics,
      };
      print(io, view, values.json);
    } finally {
      await host.stop();
    }
    return 0;
  }
  const config = loadConfig({
    env: process.env,
    flags: values["data-dir"] ? { dataDir: values["data-dir"] } : {},
  });
  const keyFile = join(config.dataDir, "peer.key");
  if (!existsSync(keyFile))
    throw new UsageError(`no mailbox in ${config.dataDir} (no peer.key); start one with postbox node start`);
  const { loadOrCreatePeerKey } = await import("@postbox/node");
  const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
  const { key } = await loadOrCreatePeerKey(config.dataDir);
  const view: Record<string, unknown> = {
    dataDir: config.dataDir,
    peerId: peerIdFromPrivateKey(key).toString(),
    db: config.db,
  };
  const sqlite = join(config.dataDir, "archive.sqlite");
  if (config.db === "sqlite" && existsSync(sqlite)) {
    const archive = new SqliteArchive({ path: sqlite });
    const stats = await archive.stats();
    await archive.close();
    view.envelopes = stats.envelopes;
    view.payloadBytes = stats.payloadBytes;
  }
  print(io, view, values.json);
  return 0;
}

function readSecret(setting: string, file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new ConfigError(setting, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function print(io: Output, view: Record<string, unknown>, json: boolean | undefined): void {
  if (json) {
    io.out(JSON.stringify(view, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(view).map((k) => k.length));
  for (const [k, v] of Object.entries(view))
    io.out(`${k.padEnd(width)}  ${Array.isArray(v) ? v.join(", ") : String(v)}`);
}

function integer(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError(flag.replace(/^--/, ""), `"${v}" is not a whole number`);
  return n;
}
