import { readFileSync } from "node:fs";
import { ConfigError, type ConfigSources, type NodeConfigInput } from "@postbox/node";

/**
 * The mailbox's settings as flags, for every `postbox node …` command: each command declares the
 * options it takes (a subset of these) and hands what was parsed to {@link settingSources}, so the
 * flags, the POSTBOX_* environment and `--config FILE` combine the same way everywhere
 * (defaults < file < environment < flags).
 */
export const SETTING_OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  listen: { type: "string", multiple: true },
  announce: { type: "string", multiple: true },
  bootstrap: { type: "string", multiple: true },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
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
  "evidence-key-file": { type: "string" },
  "redeem-min": { type: "string" },
  "http-port": { type: "string" },
  "http-host": { type: "string" },
  "log-level": { type: "string" },
} as const;

export type SettingValues = Partial<Record<keyof typeof SETTING_OPTIONS, string | boolean | string[]>>;

/** Picks some of {@link SETTING_OPTIONS} for a command's `parseArgs`. */
export function settingOptions<K extends keyof typeof SETTING_OPTIONS>(
  ...names: K[]
): Pick<typeof SETTING_OPTIONS, K> {
  return Object.fromEntries(names.map((n) => [n, SETTING_OPTIONS[n]])) as Pick<typeof SETTING_OPTIONS, K>;
}

/** The layers of a command's settings: `--config`, the process's environment and its flags. */
export function settingSources(values: SettingValues): ConfigSources {
  const str = (k: keyof SettingValues) => values[k] as string | undefined;
  const list = (k: keyof SettingValues) => values[k] as string[] | undefined;
  const flags: Record<string, unknown> = {};
  const retention: Record<string, unknown> = {};
  const http: Record<string, unknown> = {};
  const chain: Record<string, unknown> = {};
  if (str("data-dir")) flags.dataDir = str("data-dir");
  if (list("listen")) flags.listen = list("listen");
  if (list("announce")) flags.announce = list("announce");
  if (list("bootstrap")) flags.bootstrap = list("bootstrap");
  if (str("tls-cert") || str("tls-key")) flags.tls = { cert: str("tls-cert"), key: str("tls-key") };
  if (str("db")) flags.db = str("db");
  if (values.free) flags.free = true;
  if (str("log-level")) flags.logLevel = str("log-level");
  if (str("retention")) retention.maxAge = str("retention");
  if (str("max-envelopes")) retention.maxEnvelopes = integer("retention.maxEnvelopes", str("max-envelopes")!);
  if (str("max-size")) retention.maxSize = str("max-size");
  if (str("http-port")) http.port = integer("http.port", str("http-port")!);
  if (str("http-host")) http.host = str("http-host");
  if (str("rpc-url")) chain.rpcUrl = str("rpc-url");
  if (str("chain-id")) chain.chainId = integer("chain.chainId", str("chain-id")!);
  if (str("registry")) chain.registry = str("registry");
  if (str("channels")) chain.channels = str("channels");
  if (str("operator-key-file"))
    chain.operatorKey = readSecret("chain.operatorKey", str("operator-key-file")!);
  if (str("evidence-key-file")) flags.evidenceKey = readSecret("evidenceKey", str("evidence-key-file")!);
  if (str("redeem-min")) flags.payments = { redeemMin: str("redeem-min") };
  if (Object.keys(retention).length) flags.retention = retention;
  if (Object.keys(http).length) flags.http = http;
  if (Object.keys(chain).length) flags.chain = chain;
  return { file: str("config"), env: process.env, flags: flags as NodeConfigInput };
}

/** A secret read from a file (never a flag value, which `ps` and shell history would show). */
function readSecret(setting: string, file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new ConfigError(setting, `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function integer(setting: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(setting, `"${v}" is not a whole number`);
  return n;
}
