import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, fetchInfo } from "@postbox/client";
import {
  loadConfig,
  loadOrCreatePeerKey,
  loadSettings,
  MailboxNode,
  PEER_KEY_FILE,
  SqliteArchive,
} from "@postbox/node";
import {
  bytesToBigint,
  formatDuration,
  formatSnt,
  PRICE_REFERENCE_LABEL,
  PRICE_REFERENCE_PAGE,
  pageCost,
} from "@postbox/protocol";
import { type Output, UsageError } from "../output.js";
import { SETTING_OPTIONS, settingOptions, settingSources } from "./node-settings.js";

export const NODE_START_HELP = `Usage: postbox node start [options]

Starts a mailbox: joins the Postbox libp2p network, archives every envelope on its topics, and
serves history over /postbox/store/1 (free in free mode), pushes over /postbox/push/1 and a
description over /postbox/info/1. Logs are JSON lines (pino) on stdout. Ctrl-C stops it cleanly.

Settings come from defaults, then --config FILE, then POSTBOX_* environment variables, then flags.
Paid mode needs all five chain settings (--rpc-url, --chain-id, --registry, --channels and the
operator's key); with none the mailbox is free; with some, it says which are missing.

Options:
  --config FILE          JSON file with any of the settings below (camelCase keys, see docs/operators.md)
  --data-dir DIR         where the peer key and the SQLite archive live (default ~/.postbox/node;
                         env POSTBOX_DATA_DIR)
  --listen MULTIADDR     a libp2p listen address; repeat for several
                         (default /ip4/0.0.0.0/tcp/60001 and /ip4/0.0.0.0/tcp/60002/ws; env POSTBOX_LISTEN, comma-separated)
  --announce MULTIADDR   an address to announce instead (public address behind NAT); repeatable
                         (env POSTBOX_ANNOUNCE)
  --tls-cert FILE        the PEM certificate (and chain) of the /tls/ws listen addresses, which browsers
                         on the internet dial; required with one (env POSTBOX_TLS_CERT; docs/operators.md,
                         "Reachable from browsers")
  --tls-key FILE         its unencrypted PEM private key (env POSTBOX_TLS_KEY). SIGHUP re-reads both
                         files: new connections get the renewed certificate, open ones keep theirs
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
  --evidence-key-file F  a file holding the 0x-prefixed secp256k1 key that signs the mailbox's EIP-712 evidence
                         (env POSTBOX_EVIDENCE_KEY; default: evidence.key in the data folder, created on first
                         start with a chain); the node names it in the registry as its evidence signer
  --redeem-min SNT       redeem a channel once this much is redeemable (default 1; also on close requests and at exit)
  --http-port PORT       port of /metrics (Prometheus) and /health on 127.0.0.1 (default 9464; 0 = any free port;
                         env POSTBOX_HTTP_PORT)
  --http-host HOST       interface of the HTTP endpoints (default 127.0.0.1)
  --log-level LEVEL      trace, debug, info, warn, error, fatal or silent (default info; env POSTBOX_LOG_LEVEL)
  -h, --help             this help
`;

export const NODE_INFO_HELP = `Usage: postbox node info [MULTIADDR] [--data-dir DIR]

With MULTIADDR (ending in /p2p/PEER_ID): asks that mailbox over /postbox/info/1 (free) and prints
its peer id, the addresses it announces (identify), operator, prices (in SNT, and for a
${PRICE_REFERENCE_PAGE}-message page), retention, limits, version and archive size.
Without: prints the local mailbox's peer id and archive size from its data folder (the node may be
stopped; no chain settings or key needed). An empty folder: run postbox node init first.

Options:
  --data-dir DIR   the local mailbox's data folder (default ~/.postbox/node; env POSTBOX_DATA_DIR)
  --config FILE    a JSON settings file (its dataDir and db are used)
  --json           print JSON (prices also exactly, in base units: pricePerQueryWei, …)
  -h, --help       this help
`;

export const NODE_INIT_HELP = `Usage: postbox node init [--data-dir DIR] [--listen MULTIADDR…] [--announce MULTIADDR…]

Prepares a mailbox's data folder: creates its peer key (peer.key, mode 0600; the peer id is the
mailbox's identity in the registry) unless one is there — an existing key is never replaced — and
prints the peer id, the addresses to register and the next commands (postbox node register, then
postbox node start). Register public addresses: the --announce ones, or the --listen ones, where
0.0.0.0 (every interface) cannot be dialled and must be replaced by the machine's public address.

Options:
  --data-dir DIR         the mailbox's data folder (default ~/.postbox/node; env POSTBOX_DATA_DIR)
  --listen MULTIADDR     a listen address, as node start will use; repeatable (env POSTBOX_LISTEN)
  --announce MULTIADDR   a public address to announce; repeatable (env POSTBOX_ANNOUNCE)
  --config FILE          a JSON settings file (its dataDir, listen and announce are used)
  --json                 print JSON
  -h, --help             this help
`;

export async function nodeStart(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...SETTING_OPTIONS, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    io.out(NODE_START_HELP);
    return 0;
  }
  const config = loadConfig(settingSources(values));
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
  // With a certificate, SIGHUP re-reads it (after a renewal); a bad file keeps the previous one.
  if (config.tls)
    process.on("SIGHUP", () => {
      if (stopping) return;
      try {
        node.reloadCertificate();
      } catch (err) {
        node.log.error({ err }, "tls certificate not reloaded: new connections keep the previous one");
      }
    });
  await node.start();
  return new Promise<number>(() => undefined); // runs until a signal
}

export async function nodeInfo(argv: string[], io: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ...settingOptions("config", "data-dir"),
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(NODE_INFO_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("node info takes at most one MULTIADDR");
  if (positionals[0]) return remoteInfo(positionals[0], io, values.json);
  // The local folder: only where it is and which archive; never the chain (no key needed).
  const { dataDir, db } = loadSettings(settingSources(values), { settings: ["dataDir", "db"] });
  const keyFile = join(dataDir, PEER_KEY_FILE);
  if (!existsSync(keyFile))
    throw new UsageError(
      `no mailbox in ${dataDir} (no ${PEER_KEY_FILE}): create its key and see its peer id with: postbox node init --data-dir ${dataDir}`,
    );
  const { key } = await loadOrCreatePeerKey(dataDir);
  const view: Record<string, unknown> = { dataDir, peerId: peerIdFromPrivateKey(key).toString(), db };
  const sqlite = join(dataDir, "archive.sqlite");
  if (db === "sqlite" && existsSync(sqlite)) {
    const archive = new SqliteArchive({ path: sqlite });
    const stats = await archive.stats();
    await archive.close();
    view.envelopes = stats.envelopes;
    view.payloadBytes = stats.payloadBytes;
  }
  print(io, view, values.json);
  return 0;
}

/** Asks a mailbox for its info over /postbox/info/1 and prints it, amounts in SNT. */
async function remoteInfo(address: string, io: Output, json: boolean | undefined): Promise<number> {
  let addr: ReturnType<typeof multiaddr>;
  try {
    addr = multiaddr(address);
  } catch {
    throw new UsageError(`not a multiaddr: ${address}`);
  }
  const host = await createClientHost();
  await host.start();
  try {
    const info = await fetchInfo(host, addr);
    // Where it listens, as it announces itself (identify): its /tls/ws address among them.
    const connection = host.getConnections().find((c) => c.remotePeer.toString() === info.peerId);
    const identified = connection
      ? await host.services.identify.identify(connection).catch(() => undefined)
      : undefined;
    const price = {
      pricePerQuery: bytesToBigint(info.pricePerQuery),
      pricePerMessage: bytesToBigint(info.pricePerMessage),
    };
    const pending =
      info.priceEffectiveAt && info.pendingPricePerQuery && info.pendingPricePerMessage
        ? {
            pricePerQuery: bytesToBigint(info.pendingPricePerQuery),
            pricePerMessage: bytesToBigint(info.pendingPricePerMessage),
            at: new Date(Number(info.priceEffectiveAt) * 1000).toISOString(),
          }
        : undefined;
    const view: Record<string, unknown> = {
      peerId: info.peerId,
      version: info.version,
      operator: info.operator || "(none)",
      mode: info.free ? "free" : "paid",
      ...(identified ? { addresses: identified.listenAddrs.map(String) } : {}),
      chainId: Number(info.chainId),
      pricePerQuery: formatSnt(price.pricePerQuery, EXACT),
      pricePerMessage: formatSnt(price.pricePerMessage, EXACT),
      pagePrice: `${formatSnt(pageCost(price, PRICE_REFERENCE_PAGE), EXACT)} ${PRICE_REFERENCE_LABEL}`,
      ...(pending
        ? {
            pendingPrice: `${formatSnt(pending.pricePerQuery, EXACT)} per query + ${formatSnt(pending.pricePerMessage, EXACT)} per message from ${pending.at}`,
          }
        : {}),
      retention: formatDuration(Number(info.retentionSeconds)),
      envelopes: Number(info.envelopeCount),
      maxPageSize: info.maxPageSize,
      maxContentTopics: info.maxContentTopics,
      maxEnvelopeBytes: info.maxEnvelopeBytes,
      pubsubTopics: info.pubsubTopics,
    };
    if (json)
      // Exact amounts for programs, in base units (1 SNT = 10^18), beside the readable ones.
      Object.assign(view, {
        pricePerQueryWei: price.pricePerQuery.toString(),
        pricePerMessageWei: price.pricePerMessage.toString(),
        retentionSeconds: Number(info.retentionSeconds),
        ...(pending
          ? {
              pendingPricePerQueryWei: pending.pricePerQuery.toString(),
              pendingPricePerMessageWei: pending.pricePerMessage.toString(),
              priceEffectiveAt: pending.at,
            }
          : {}),
      });
    print(io, view, json);
  } finally {
    await host.stop();
  }
  return 0;
}

export async function nodeInit(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...settingOptions("config", "data-dir", "listen", "announce"),
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(NODE_INIT_HELP);
    return 0;
  }
  const { dataDir, listen, announce } = loadSettings(settingSources(values), {
    settings: ["dataDir", "listen", "announce"],
  });
  const { key, created } = await loadOrCreatePeerKey(dataDir);
  const peerId = peerIdFromPrivateKey(key).toString();
  const plan = registrationPlan(listen, announce);
  const dirFlag = values["data-dir"] !== undefined ? ` --data-dir ${dataDir}` : "";
  // init keeps no settings: the start command repeats the addresses given as flags here (the
  // placeholder where 0.0.0.0 has to be announced as the public address).
  const startFlags = [
    ...(values.listen ?? []).map((a) => ` --listen ${a}`),
    ...(values.announce ?? (plan.ready ? [] : plan.register)).map((a) => ` --announce ${a}`),
  ].join("");
  const start = `postbox node start${dirFlag}${startFlags} --operator-key-file OPERATOR_KEY_FILE`;
  const next = `postbox node register${dirFlag} ${plan.register.map((a) => `--multiaddr ${a}`).join(" ")} --operator-key-file OPERATOR_KEY_FILE --stake SNT --price-per-query SNT --price-per-message SNT`;
  if (values.json) {
    io.out(
      JSON.stringify(
        {
          dataDir,
          keyFile: join(dataDir, PEER_KEY_FILE),
          created,
          peerId,
          listen,
          announce,
          register: plan.register,
          ready: plan.ready,
          notes: plan.notes,
          next,
          start,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  const keyFile = join(dataDir, PEER_KEY_FILE);
  io.out(
    created
      ? `Created the mailbox's peer key ${keyFile} (mode 0600). Back it up: the peer id is the mailbox's identity in the registry.`
      : `Kept the existing peer key ${keyFile} (an existing key is never replaced).`,
  );
  io.out("");
  io.out(`peer id    ${peerId}`);
  io.out(`listen     ${listen.join("\n           ")}`);
  if (announce.length) io.out(`announce   ${announce.join("\n           ")}`);
  io.out(`register   ${plan.register.join("\n           ")}`);
  for (const note of plan.notes) io.out(`\n${note}`);
  io.out(`\nNext: list it in the registry (with the chain settings as in docs/operators.md), then start it:`);
  io.out(`  ${next}`);
  io.out(`  ${start}`);
  return 0;
}

/**
 * The addresses an operator should register: the announced ones, or else the listen ones. Clients
 * dial what the registry lists, so only addresses reachable from the internet belong there:
 * 0.0.0.0 ("every interface") is replaced by a placeholder for the public host name, and loopback
 * or private addresses are flagged.
 */
function registrationPlan(
  listen: string[],
  announce: string[],
): { register: string[]; ready: boolean; notes: string[] } {
  const notes: string[] = [];
  const source = announce.length ? announce : listen;
  const stripped = source.map((a) => a.replace(/\/p2p\/[^/]+$/, ""));
  const unspecified = stripped.filter((a) => /^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//.test(a));
  const local = stripped.filter((a) => LOCAL.test(a));
  const register = stripped.map((a) => a.replace(/^\/ip4\/0\.0\.0\.0\/|^\/ip6\/::\//, "/dns4/PUBLIC_HOST/"));
  if (unspecified.length) {
    const ifaces = Object.values(networkInterfaces())
      .flat()
      .filter((i) => i && !i.internal && i.family === "IPv4")
      .map((i) => i!.address);
    notes.push(
      `${unspecified.join(", ")} means "every interface of this machine": it cannot be dialled, so it cannot be registered. Register the public address clients reach this machine at: replace PUBLIC_HOST with its DNS name (or use /ip4/PUBLIC_IP/…), forward those ports if it is behind NAT, and pass the same addresses to node start with --announce so that the mailbox announces them too.${ifaces.length ? ` This machine's own addresses: ${ifaces.join(", ")}${ifaces.every((a) => PRIVATE_IP.test(a)) ? " (all private: the public address is your router's or your host's)" : ""}.` : ""}`,
    );
  }
  if (local.length)
    notes.push(
      `${local.join(", ")} ${local.length === 1 ? "is" : "are"} reachable only from this machine or its local network: fine for a local devnet, but clients on the internet cannot dial ${local.length === 1 ? "it" : "them"}. Set --announce to the public addresses for a real mailbox.`,
    );
  return { register, ready: unspecified.length === 0, notes };
}

const PRIVATE_IP = /^(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/;
const LOCAL =
  /^\/ip4\/(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)|^\/ip6\/::1\/|^\/dns[46]?\/localhost\//;

/** Prices and amounts exactly as the chain holds them (trailing zeros dropped). */
const EXACT = { digits: 18 } as const;

function print(io: Output, view: Record<string, unknown>, json: boolean | undefined): void {
  if (json) {
    io.out(JSON.stringify(view, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(view).map((k) => k.length));
  for (const [k, v] of Object.entries(view))
    io.out(`${k.padEnd(width)}  ${Array.isArray(v) ? v.join(", ") : String(v)}`);
}
