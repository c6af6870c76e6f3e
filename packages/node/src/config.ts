import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import { DEFAULT_PUBSUB_TOPIC } from "@postbox/protocol";
import { z } from "zod";
import { ConfigError } from "./errors.js";

const UNITS_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
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

/** "30d", "12h", "90m", "45s" or a number of seconds. */
export function parseDuration(v: string | number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/i.exec(v.trim());
  if (!m) throw new Error(`"${v}" is not a duration (e.g. 30d, 12h, 90m, 45s)`);
  return Math.round(Number(m[1]) * (UNITS_S[(m[2] || "s").toLowerCase()] ?? 1));
}

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
    chain: z
      .object({
        rpcUrl: z.string().url(),
        chainId: z.number().int().positive(),
        registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "not an address"),
        channels: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "not an address"),
        /** The operator's private key (0x + 64 hex): its registry entry, the payee, the redeemer. */
        operatorKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "not a 32-byte hex private key"),
      })
      .strict()
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
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  })
  .strict();

export type NodeConfig = z.output<typeof NodeConfigSchema>;
export type NodeConfigInput = z.input<typeof NodeConfigSchema>;

/** Environment variables the node reads (all optional), and the setting each sets. */
export const ENVIRONMENT = {
  POSTBOX_DATA_DIR: "dataDir",
  POSTBOX_LISTEN: "listen",
  POSTBOX_ANNOUNCE: "announce",
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
} as const;

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

/**
 * Resolves the node's configuration: defaults, then the JSON file, then the environment, then
 * flags (each overriding the previous). Throws {@link ConfigError} naming the first bad setting.
 */
export function loadConfig(
  args: { file?: string; env?: Record<string, string | undefined>; flags?: NodeConfigInput } = {},
): NodeConfig {
  let file: Json = {};
  if (args.file) {
    let text: string;
    try {
      text = readFileSync(args.file, "utf8");
    } catch (e) {
      throw new ConfigError(
        "config",
        `cannot read ${args.file} (${(e as NodeJS.ErrnoException).code ?? "error"})`,
      );
    }
    try {
      file = JSON.parse(text) as Json;
    } catch (e) {
      throw new ConfigError("config", `${args.file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const merged = deepMerge(deepMerge(file, fromEnv(args.env ?? {})), (args.flags ?? {}) as Json);
  const parsed = NodeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = issue.path.join(".") || "config";
    const message =
      issue.code === "unrecognized_keys" ? `unknown setting(s) ${issue.keys.join(", ")}` : issue.message;
    throw new ConfigError(setting, message);
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
}
