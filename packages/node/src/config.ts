import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { ConfigError, DEFAULT_PUBSUB_TOPIC, parseDuration } from "@postbox/protocol";
import { z } from "zod";
import { isSecureWebSocket } from "./tls.js";

/** `parseDuration` lives in `@postbox/protocol` (the CLI's client side uses it too); re-exported. */
export { parseDuration };

const UNITS_B: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "10GB", "512MiB", "1e9" bytes. */
export function parseSize(v: string | number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  const unit = UNITS_B[(m?.[2] || "b").toLowerCase()];
  if (!m || unit === undefined) throw new Error(`"${v}" is not a size (e.g. 10GB, 512MiB)`);
  return Math.round(Number(m[1]) * unit);
}

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    const s = parseDuration(v);
    if (s < 0) throw new Error("must not be negative");
    return s;
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  try {
    return parseSize(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
const addr = z.string().refine(
  (s) => {
    try {
      multiaddr(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a multiaddr" },
);

/** The chain settings: all five for paid mode; the operator's commands use some of them. */
export const ChainSchema = z
  .object({
    rpcUrl: z.string().url(),
    chainId: z.number().int().positive(),
    registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "not an address"),
    channels: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "not an address"),
    /** The operator's private key (0x + 64 hex): its registry entry, the payee, the redeemer. */
    operatorKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "not a 32-byte hex private key"),
  })
  .strict();

export const NodeConfigSchema = z
  .object({
    /** Where the peer key and the SQLite archive live. */
    dataDir: z
      .string()
      .min(1)
      .default(join(homedir(), ".postbox", "node")),
    /** libp2p listen addresses. */
    listen: z.array(addr).min(1).default(["/ip4/0.0.0.0/tcp/60001", "/ip4/0.0.0.0/tcp/60002/ws"]),
    /** Addresses to announce instead of the listen ones (public ones behind NAT). */
    announce: z.array(addr).default([]),
    /**
     * The certificate of the `/tls/ws` listen addresses (browsers on the internet dial only those):
     * PEM files, re-read on SIGHUP. Required with a `/tls/ws` listen address, useless without one.
     */
    tls: z
      .object({
        /** The certificate, then any intermediates (Let's Encrypt's fullchain.pem). */
        cert: z.string().min(1),
        /** Its unencrypted private key (Let's Encrypt's privkey.pem). */
        key: z.string().min(1),
      })
      .strict()
      .optional(),
    /** Peers to connect to at start (other mailboxes, relays). */
    bootstrap: z.array(addr).default([]),
    peering: z
      .object({
        /**
         * With a chain: how many other registered mailboxes to keep connected (besides the
         * bootstrap peers), so gossip reaches this mailbox; 0 keeps only the bootstrap peers.
         */
        registryPeers: z.number().int().min(0).max(64).default(8),
      })
      .strict()
      .default({}),
    /**
     * `/postbox/sync/1`: this mailbox fills the gaps in its archive (after downtime) from the other
     * registered mailboxes that archive the same pubsub topics, and serves them the same.
     */
    sync: z
      .object({
        enabled: z.boolean().default(true),
        /** Time between two rounds (each ± 20 %); a round syncs with `peersPerRound` peers. */
        interval: duration.default("5m"),
        /** Time from start to the first round (peers connect meanwhile). */
        startDelay: duration.default("3s"),
        peersPerRound: z.number().int().min(1).max(64).default(2),
        /**
         * More mailboxes to sync with, each a multiaddr with its `/p2p/` part; without a chain, these
         * and the bootstrap peers are the only ones served.
         */
        peers: z.array(addr).default([]),
        /** Sessions one peer may start here per minute. */
        sessionsPerMinute: z.number().int().positive().default(12),
        /** Sessions served at once. */
        maxSessions: z.number().int().positive().default(4),
        /** Envelopes sent to one peer in one session (it starts another for the rest). */
        maxEnvelopesPerSession: z.number().int().positive().default(200_000),
      })
      .strict()
      .default({}),
    /** `sqlite` (a file in the data folder), `sqlite:PATH`, or a postgres:// URL. */
    db: z
      .string()
      .default("sqlite")
      .refine((s) => s === "sqlite" || s.startsWith("sqlite:") || /^postgres(ql)?:\/\//.test(s), {
        message: "must be sqlite, sqlite:PATH or a postgres:// URL",
      }),
    retention: z
      .object({
        /** Keep envelopes this long (default 30 days). */
        maxAge: duration.default("30d"),
        /** Keep at most this many envelopes. */
        maxEnvelopes: z.number().int().positive().optional(),
        /** Keep at most this many payload bytes. */
        maxSize: size.optional(),
        /** How often the retention task runs (seconds). */
        interval: duration.default("60s"),
        /** Envelopes deleted per batch. */
        batch: z.number().int().positive().default(5_000),
      })
      .default({}),
    /** Serve history free of charge (the only mode without a chain). */
    free: z.boolean().default(false),
    http: z
      .object({
        host: z.string().default("127.0.0.1"),
        /** Port of /metrics and /health; 0 picks a free one. */
        port: z.number().int().min(0).max(65_535).default(9464),
      })
      .default({}),
    pubsubTopics: z.array(z.string().min(1)).min(1).default([DEFAULT_PUBSUB_TOPIC]),
    rateLimit: z
      .object({
        queriesPerSecond: z.number().int().positive().default(50),
        pushesPerSecond: z.number().int().positive().default(100),
      })
      .default({}),
    maxInboundStreams: z.number().int().positive().default(32),
    connections: z
      .object({
        /** Most open connections (clients, peers). */
        max: z.number().int().positive().default(1_024),
        /** New inbound connections accepted per second from one IP (clients behind one NAT share it). */
        perIpPerSecond: z.number().int().positive().default(100),
        /** Inbound connections being upgraded at once. */
        maxPending: z.number().int().positive().default(256),
      })
      .default({}),
    /** The chain, for paid mode: where the registry and the channels are, and the operator's key. */
    chain: ChainSchema.optional(),
    /**
     * The secp256k1 key (0x + 64 hex) that signs the mailbox's EIP-712 evidence (receipts, page
     * commitments) when a chain is set. Default: `evidence.key` in the data folder, created on first
     * start. The node names it in the registry as its operator's evidence signer.
     */
    evidenceKey: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "not a 32-byte hex private key")
      .optional(),
    payments: z
      .object({
        /** Refuse channels whose close is due within this (time to redeem first). */
        closeSafetyMargin: duration.default("10m"),
        /** Most credit a channel may hold beyond what it paid on-chain, in SNT. */
        exposureCap: z
          .string()
          .regex(/^\d+(\.\d+)?$/, "not an SNT amount")
          .default("100"),
        /** Redeem a channel once this much SNT is redeemable (plus on close requests and shutdown). */
        redeemMin: z
          .string()
          .regex(/^\d+(\.\d+)?$/, "not an SNT amount")
          .default("1"),
        redeemInterval: duration.default("60s"),
      })
      .default({}),
    /**
     * Several nodes of one mailbox on one PostgreSQL (`db`): each has its own data folder (its own
     * peer key) and the same `db`, operator key and evidence key; the registry entry lists every
     * node's addresses. One of them leads (runs the redeemer, disputes and retention).
     */
    cluster: z
      .object({
        /** How often a node that does not lead tries to take the lead (and the leader checks it still holds it). */
        leaderRetry: duration.default("2s"),
      })
      .strict()
      .default({}),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  })
  .strict();

export type NodeConfig = z.output<typeof NodeConfigSchema>;
export type NodeConfigInput = z.input<typeof NodeConfigSchema>;
export type ChainConfig = z.output<typeof ChainSchema>;
export type ChainSettingName = keyof ChainConfig;
/** A top-level setting other than the chain. */
export type SettingName = Exclude<keyof NodeConfig, "chain">;

/** Environment variables the node reads (all optional), and the setting each sets. */
export const ENVIRONMENT = {
  POSTBOX_DATA_DIR: "dataDir",
  POSTBOX_LISTEN: "listen",
  POSTBOX_ANNOUNCE: "announce",
  POSTBOX_TLS_CERT: "tls.cert",
  POSTBOX_TLS_KEY: "tls.key",
  POSTBOX_BOOTSTRAP: "bootstrap",
  POSTBOX_DB: "db",
  POSTBOX_RETENTION: "retention.maxAge",
  POSTBOX_FREE: "free",
  POSTBOX_HTTP_PORT: "http.port",
  POSTBOX_LOG_LEVEL: "logLevel",
  POSTBOX_RPC_URL: "chain.rpcUrl",
  POSTBOX_CHAIN_ID: "chain.chainId",
  POSTBOX_REGISTRY: "chain.registry",
  POSTBOX_CHANNELS: "chain.channels",
  POSTBOX_OPERATOR_KEY: "chain.operatorKey",
  POSTBOX_EVIDENCE_KEY: "evidenceKey",
} as const;

/** How a person sets each chain setting, for the message when one is missing. */
export const CHAIN_SETTINGS: Record<ChainSettingName, { flag: string; env: string }> = {
  rpcUrl: { flag: "--rpc-url", env: "POSTBOX_RPC_URL" },
  chainId: { flag: "--chain-id", env: "POSTBOX_CHAIN_ID" },
  registry: { flag: "--registry", env: "POSTBOX_REGISTRY" },
  channels: { flag: "--channels", env: "POSTBOX_CHANNELS" },
  operatorKey: { flag: "--operator-key-file", env: "POSTBOX_OPERATOR_KEY" },
};
const CHAIN_KEYS = Object.keys(CHAIN_SETTINGS) as ChainSettingName[];

/** Where settings come from, lowest precedence first: defaults, `file`, `env`, `flags`. */
export interface ConfigSources {
  /** A JSON file (camelCase keys, as the schema). */
  file?: string | undefined;
  env?: Record<string, string | undefined> | undefined;
  flags?: NodeConfigInput | undefined;
}

type Json = Record<string, unknown>;

function setPath(obj: Json, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== "object" || at[k] === null) at[k] = {};
    at = at[k] as Json;
  }
  at[keys.at(-1)!] = value;
}

function deepMerge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] =
      typeof v === "object" &&
      v !== null &&
      !Array.isArray(v) &&
      typeof out[k] === "object" &&
      out[k] !== null
        ? deepMerge(out[k] as Json, v as Json)
        : v;
  }
  return out;
}

function fromEnv(env: Record<string, string | undefined>): Json {
  const out: Json = {};
  for (const [name, path] of Object.entries(ENVIRONMENT)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    if (path === "listen" || path === "announce" || path === "bootstrap")
      setPath(
        out,
        path,
        v.split(",").map((s) => s.trim()),
      );
    else if (path === "free") setPath(out, path, v === "1" || v.toLowerCase() === "true");
    else if (path === "http.port" || path === "chain.chainId") setPath(out, path, Number(v));
    else setPath(out, path, v);
  }
  return out;
}

function readFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError("config", `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("config", `${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new ConfigError("config", `${file} must hold a JSON object of settings`);
  return parsed as Json;
}

/**
 * The one path every command's settings take: the file, the environment and the flags merged
 * (each overriding the previous; the schema supplies the defaults), and which layer set each chain
 * setting, for messages.
 */
function layers(sources: ConfigSources): {
  merged: Json;
  chain: Json;
  from: (key: ChainSettingName) => string;
} {
  const file = sources.file ? readFile(sources.file) : {};
  const env = fromEnv(sources.env ?? {});
  const flags = (sources.flags ?? {}) as Json;
  const merged = deepMerge(deepMerge(file, env), flags);
  const chainOf = (layer: Json) =>
    typeof layer.chain === "object" && layer.chain !== null ? (layer.chain as Json) : {};
  const from = (key: ChainSettingName) =>
    chainOf(flags)[key] !== undefined
      ? CHAIN_SETTINGS[key].flag
      : chainOf(env)[key] !== undefined
        ? CHAIN_SETTINGS[key].env
        : "the config file";
  return { merged, chain: chainOf(merged), from };
}

/** A misspelt setting name is an error, never silently ignored. */
function refuseUnknown(merged: Json, chain: Json): void {
  if (
    merged.chain !== undefined &&
    (typeof merged.chain !== "object" || merged.chain === null || Array.isArray(merged.chain))
  )
    throw new ConfigError("chain", "must be an object of chain settings");
  const known = new Set(Object.keys(NodeConfigSchema.shape));
  const unknown = Object.keys(merged).filter((k) => !known.has(k));
  if (unknown.length) throw new ConfigError("config", `unknown setting(s) ${unknown.join(", ")}`);
  const unknownChain = Object.keys(chain).filter((k) => !(k in CHAIN_SETTINGS));
  if (unknownChain.length) throw new ConfigError("chain", `unknown setting(s) ${unknownChain.join(", ")}`);
}

function howToSet(key: ChainSettingName): string {
  return `${CHAIN_SETTINGS[key].flag} or ${CHAIN_SETTINGS[key].env}`;
}

function parse<T extends z.ZodTypeAny>(schema: T, input: Json, prefix = ""): z.output<T> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = `${prefix}${issue.path.join(".")}` || "config";
    const message =
      issue.code === "unrecognized_keys" ? `unknown setting(s) ${issue.keys.join(", ")}` : issue.message;
    throw new ConfigError(setting, message);
  }
  return parsed.data;
}

/**
 * Resolves the mailbox's whole configuration (`postbox node start`): defaults, then the JSON file,
 * then the environment, then flags (each overriding the previous). The chain is all five chain
 * settings (paid mode) or none (free); a partial chain names what is missing. Throws
 * {@link ConfigError} naming the first bad setting.
 */
export function loadConfig(sources: ConfigSources = {}): NodeConfig {
  const { merged, chain, from } = layers(sources);
  refuseUnknown(merged, chain);
  const given = CHAIN_KEYS.filter((k) => chain[k] !== undefined);
  const missing = CHAIN_KEYS.filter((k) => chain[k] === undefined);
  if (given.length > 0 && missing.length > 0)
    throw new ConfigError(
      `chain.${missing[0]}`,
      `paid mode needs all five chain settings; missing ${missing.map((k) => `chain.${k} (${howToSet(k)})`).join(", ")}; given ${given.map((k) => `chain.${k} (${from(k)})`).join(", ")}. Without any of them the mailbox runs free`,
    );
  checkTlsPair(merged);
  const config = parse(NodeConfigSchema, given.length === 0 ? { ...merged, chain: undefined } : merged);
  const tls = config.tls && { cert: resolve(config.tls.cert), key: resolve(config.tls.key) };
  checkTlsListen(config.listen, tls);
  return { ...config, dataDir: resolve(config.dataDir), tls };
}

/** How a person sets the certificate, for messages. */
const TLS_HOW = {
  cert: "--tls-cert FILE or POSTBOX_TLS_CERT",
  key: "--tls-key FILE or POSTBOX_TLS_KEY",
} as const;

/** The certificate and its key come together. */
function checkTlsPair(merged: Json): void {
  const tls = merged.tls;
  if (typeof tls !== "object" || tls === null || Array.isArray(tls)) return;
  const { cert, key } = tls as Json;
  if (cert !== undefined && key === undefined)
    throw new ConfigError(
      "tls.key",
      `required with tls.cert: the certificate's private key (${TLS_HOW.key})`,
    );
  if (key !== undefined && cert === undefined)
    throw new ConfigError("tls.cert", `required with tls.key: the key's certificate (${TLS_HOW.cert})`);
}

/** A `/tls/ws` listen address needs a certificate, and a certificate a listen address to serve. */
function checkTlsListen(listen: readonly string[], tls: NodeConfig["tls"]): void {
  const secure = listen.filter((a) => isSecureWebSocket(multiaddr(a)));
  if (secure.length > 0 && !tls)
    throw new ConfigError(
      "listen",
      `${secure[0]} is WebSockets over TLS and needs a certificate: ${TLS_HOW.cert}, and ${TLS_HOW.key} (tls.cert, tls.key in --config FILE)`,
    );
  if (tls && secure.length === 0)
    throw new ConfigError(
      "tls",
      `a certificate is set (${tls.cert}) but no listen address serves it: add one such as --listen /ip4/0.0.0.0/tcp/4443/tls/ws`,
    );
}

/**
 * The settings one command uses (`node info`, `node init`, the operator's commands), from the same
 * layers as {@link loadConfig}. Only the settings in `uses` are checked, and of the chain only
 * `uses.chain`, each of which is required: a read-only command needs no key, and an operator's
 * command does not care about a setting only the running mailbox reads. Unknown setting names are
 * refused all the same (a typo in the file is never silently ignored).
 */
export function loadSettings<K extends SettingName, C extends ChainSettingName = never>(
  sources: ConfigSources,
  uses: { settings?: readonly K[]; chain?: readonly C[] },
): Pick<NodeConfig, K> & { chain: Pick<ChainConfig, C> } {
  const { merged, chain } = layers(sources);
  refuseUnknown(merged, chain);
  for (const key of uses.chain ?? [])
    if (chain[key] === undefined)
      throw new ConfigError(`chain.${key}`, `required (${howToSet(key)}, or chain.${key} in --config FILE)`);
  const keys = uses.settings ?? [];
  const mask: { [k in SettingName]?: true } = Object.fromEntries(keys.map((k) => [k, true]));
  const chainMask: { [k in ChainSettingName]?: true } = Object.fromEntries(
    (uses.chain ?? []).map((k) => [k, true]),
  );
  const picked = Object.fromEntries(keys.filter((k) => merged[k] !== undefined).map((k) => [k, merged[k]]));
  const pickedChain = Object.fromEntries((uses.chain ?? []).map((k) => [k, chain[k]]));
  const settings: Json = parse(NodeConfigSchema.pick(mask), picked);
  if (typeof settings.dataDir === "string") settings.dataDir = resolve(settings.dataDir);
  const tls = settings.tls as NodeConfig["tls"];
  if (tls) settings.tls = { cert: resolve(tls.cert), key: resolve(tls.key) };
  const chainSettings = parse(ChainSchema.pick(chainMask), pickedChain, "chain.");
  return { ...settings, chain: chainSettings } as unknown as Pick<NodeConfig, K> & {
    chain: Pick<ChainConfig, C>;
  };
}
