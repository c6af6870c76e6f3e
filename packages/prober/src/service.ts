import type { Server } from "node:http";
import { join } from "node:path";
import { createPostboxClients, type PostboxAddresses } from "@postbox/contracts";
import { serializeError } from "@postbox/protocol";
import { type Logger, pino } from "pino";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { startProberHttp } from "./http.js";
import { Prober, type ProberOptions } from "./prober.js";
import { SampleStore } from "./samples.js";

export interface ProberServiceConfig
  extends Pick<
    ProberOptions,
    | "probeIntervalMs"
    | "canaryIntervalMs"
    | "canaryDelayMs"
    | "networkCanaries"
    | "registryIntervalMs"
    | "timeoutMs"
    | "channelDeposit"
  > {
  dataDir: string;
  rpcUrl: string;
  chainId: number;
  addresses: Omit<PostboxAddresses, "chainId">;
  /** The prober's key: pays canary queries and signs reports. */
  privateKey: Hex;
  httpHost?: string;
  httpPort: number;
  logLevel?: string;
  logger?: Logger;
}

export interface ProberService {
  prober: Prober;
  store: SampleStore;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts a prober with its HTTP API: what `postbox prober start` runs. */
export async function startProberService(c: ProberServiceConfig): Promise<ProberService> {
  const log =
    c.logger ??
    pino({
      level: c.logLevel ?? "info",
      base: { service: "postbox-prober" },
      serializers: { err: serializeError },
    });
  const clients = createPostboxClients({ rpcUrl: c.rpcUrl, chainId: c.chainId, privateKey: c.privateKey });
  const { publicClient } = clients;
  const wallet = clients.walletClient!;
  /** Signs the reports (the wallet's key, as a local account). */
  const account = privateKeyToAccount(c.privateKey);
  const chainId = await publicClient.getChainId();
  if (chainId !== c.chainId) throw new Error(`the RPC serves chain ${chainId}, not ${c.chainId}`);
  // The database describes one chain and registry: another one's (a local chain restarted with
  // the same data folder) is set aside, never mixed with this one's.
  const [genesis, head] = await Promise.all([
    publicClient.getBlock({ blockNumber: 0n }),
    publicClient.getBlockNumber(),
  ]);
  const { store, setAside } = SampleStore.open(join(c.dataDir, "prober.sqlite"), {
    genesis: genesis.hash,
    registry: c.addresses.registry,
    head,
  });
  if (setAside)
    log.warn(
      { setAside, genesis: genesis.hash, registry: c.addresses.registry },
      "the prober's database described another chain or registry: set aside, starting afresh",
    );
  const prober = new Prober({
    store,
    publicClient,
    wallet,
    chainId,
    addresses: c.addresses,
    dataDir: c.dataDir,
    log,
    channelDeposit: c.channelDeposit,
    ...(c.probeIntervalMs ? { probeIntervalMs: c.probeIntervalMs } : {}),
    ...(c.canaryIntervalMs ? { canaryIntervalMs: c.canaryIntervalMs } : {}),
    ...(c.canaryDelayMs ? { canaryDelayMs: c.canaryDelayMs } : {}),
    networkCanaries: c.networkCanaries ?? 2,
    ...(c.registryIntervalMs ? { registryIntervalMs: c.registryIntervalMs } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
  });
  await prober.readParameters();
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: "postbox_prober_process_" });
  // One computation of the figures per scrape, shared by the gauges.
  let scrape: { at: number; figures: ReturnType<Prober["figures"]> } | undefined;
  const figures = () => {
    if (!scrape || Date.now() - scrape.at > 1_000) scrape = { at: Date.now(), figures: prober.figures() };
    return scrape.figures;
  };
  const gauge = (
    name: string,
    help: string,
    pick: (f: ReturnType<Prober["figures"]>[number]) => number | null,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["mailbox"],
      registers: [metrics],
      collect() {
        this.reset();
        for (const f of figures()) {
          const v = pick(f);
          if (v !== null) this.set({ mailbox: f.address }, v);
        }
      },
    });
  gauge("postbox_prober_uptime_24h", "share of successful probes over 24 h", (f) => f.uptime24h);
  gauge("postbox_prober_latency_p50_ms", "median probe latency over 24 h", (f) => f.latencyP50Ms);
  gauge(
    "postbox_prober_canary_completeness",
    "canaries returned / checked over 7 days",
    (f) => f.completeness,
  );
  gauge("postbox_prober_score", "the published score", (f) => f.score);
  gauge(
    "postbox_prober_disputes_upheld",
    "disputes upheld against the mailbox since the deployment",
    (f) => f.disputes?.upheld ?? null,
  );
  await prober.start();
  const server = await startProberHttp({
    prober,
    store,
    account,
    metrics,
    log,
    port: c.httpPort,
    ...(c.httpHost ? { host: c.httpHost } : {}),
  });
  const address = server.address();
  const url = `http://${c.httpHost ?? "127.0.0.1"}:${typeof address === "object" && address ? address.port : c.httpPort}`;
  log.info({ url, signer: account.address, mailboxes: store.mailboxes().length }, "prober started");
  return {
    prober,
    store,
    server,
    url,
    stop: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await prober.stop();
      store.close();
      log.info("prober stopped");
    },
  };
}
