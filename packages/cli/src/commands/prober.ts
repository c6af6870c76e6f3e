import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { addressesFor } from "@postbox/contracts";
import { ConfigError, parseDuration } from "@postbox/node";
import { startProberService } from "@postbox/prober";
import { type Address, type Hex, parseEther } from "viem";
import type { Output } from "../output.js";

export const PROBER_START_HELP = `Usage: postbox prober start [options]

Measures every mailbox in the registry: libp2p ping and /postbox/info/1 every probe interval, and
every canary interval a fresh envelope pushed to each mailbox and later bought back with a paid
query (through the prober's own channel). Serves signed JSON on HTTP: /mailboxes,
/mailboxes/ADDRESS, /mailboxes/ADDRESS/samples?from=&to= (ms), and /metrics, /health.
docs/methodology.md gives every formula.

Options (or environment variables):
  --data-dir DIR            samples, channels (default ~/.postbox/prober; POSTBOX_PROBER_DIR)
  --rpc-url URL             (POSTBOX_RPC_URL; default http://127.0.0.1:8545)
  --chain-id ID             (POSTBOX_CHAIN_ID; default 31337)
  --registry, --channels, --snt ADDRESS
                            (POSTBOX_REGISTRY, POSTBOX_CHANNELS, POSTBOX_SNT; default: the chain's
                            known deployment)
  --from-block N            first block of registry events (default: the deployment's)
  --key-file F              the prober's 0x private key: pays canaries, signs reports
                            (or POSTBOX_PROBER_KEY)
  --http-host HOST          (default 127.0.0.1)
  --http-port PORT          (default 8787; POSTBOX_PROBER_PORT)
  --probe-interval D        ping + info every D (default 60s)
  --canary-interval D       a canary every D (default 5m)
  --canary-delay D          buy a canary back D after pushing it (default 2m)
  --registry-interval D     follow registry events every D (default 15s)
  --deposit SNT             deposit of the prober's channel to each paid mailbox (default 10)
  --log-level LEVEL         (default info)
  -h, --help                this help`;

export async function proberStart(argv: string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      "data-dir": { type: "string" },
      "rpc-url": { type: "string" },
      "chain-id": { type: "string" },
      registry: { type: "string" },
      channels: { type: "string" },
      snt: { type: "string" },
      "from-block": { type: "string" },
      "key-file": { type: "string" },
      "http-host": { type: "string" },
      "http-port": { type: "string" },
      "probe-interval": { type: "string" },
      "canary-interval": { type: "string" },
      "canary-delay": { type: "string" },
      "registry-interval": { type: "string" },
      deposit: { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(PROBER_START_HELP);
    return 0;
  }
  const env = process.env;
  const chainId = Number(values["chain-id"] ?? env.POSTBOX_CHAIN_ID ?? 31337);
  if (!Number.isInteger(chainId) || chainId <= 0)
    throw new ConfigError("chain-id", "must be a positive integer");
  const known = addressesFor(chainId);
  const addr = (flag: "registry" | "channels" | "snt", name: string): Address => {
    const v = values[flag] ?? env[name] ?? known?.[flag];
    if (!v || !/^0x[0-9a-fA-F]{40}$/.test(v))
      throw new ConfigError(flag, `required: an address (--${flag} or ${name})`);
    return v as Address;
  };
  let key = env.POSTBOX_PROBER_KEY;
  if (values["key-file"]) {
    try {
      key = readFileSync(values["key-file"], "utf8").trim();
    } catch (e) {
      throw new ConfigError(
        "key-file",
        `cannot read ${values["key-file"]} (${(e as NodeJS.ErrnoException).code})`,
      );
    }
  }
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new ConfigError(
      "key-file",
      "required: the prober's 0x private key (--key-file or POSTBOX_PROBER_KEY)",
    );
  const ms = (flag: string, fallback: string) => {
    try {
      return parseDuration((values as Record<string, string | undefined>)[flag] ?? fallback) * 1000;
    } catch (e) {
      throw new ConfigError(flag, (e as Error).message);
    }
  };
  const port = Number(values["http-port"] ?? env.POSTBOX_PROBER_PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError("http-port", "must be a port");
  const deposit = values.deposit ?? "10";
  if (!/^\d+(\.\d+)?$/.test(deposit)) throw new ConfigError("deposit", "must be an SNT amount");
  const fromBlock = values["from-block"] ?? known?.fromBlock?.toString() ?? "0";
  if (!/^\d+$/.test(fromBlock)) throw new ConfigError("from-block", "must be a block number");
  const service = await startProberService({
    dataDir: values["data-dir"] ?? env.POSTBOX_PROBER_DIR ?? join(homedir(), ".postbox", "prober"),
    rpcUrl: values["rpc-url"] ?? env.POSTBOX_RPC_URL ?? "http://127.0.0.1:8545",
    chainId,
    addresses: {
      registry: addr("registry", "POSTBOX_REGISTRY"),
      channels: addr("channels", "POSTBOX_CHANNELS"),
      snt: addr("snt", "POSTBOX_SNT"),
      fromBlock: BigInt(fromBlock),
    },
    privateKey: key as Hex,
    httpPort: port,
    ...(values["http-host"] ? { httpHost: values["http-host"] } : {}),
    probeIntervalMs: ms("probe-interval", "60s"),
    canaryIntervalMs: ms("canary-interval", "5m"),
    canaryDelayMs: ms("canary-delay", "2m"),
    registryIntervalMs: ms("registry-interval", "15s"),
    channelDeposit: parseEther(deposit),
    logLevel: values["log-level"] ?? "info",
  });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await service.stop();
  return 0;
}
