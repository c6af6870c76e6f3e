import { dirname, join } from "node:path";
import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub, TopicValidatorResult } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { RateLimiter } from "@libp2p/utils";
import { createPostboxClients, mailboxRegistryAbi } from "@postbox/contracts";
import { noise, tcp } from "@postbox/net";
import {
  bigintToBytes,
  Envelope,
  type InfoResponse,
  LIMITS,
  postboxGossipsubOptions,
  skipRepeatedProtocolMerges,
} from "@postbox/protocol";
import { createLibp2p } from "libp2p";
import { type Logger, pino } from "pino";
import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  parseEther,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { openArchive } from "./archive/index.js";
import type { PostgresArchive } from "./archive/postgres.js";
import type { SqliteArchive } from "./archive/sqlite.js";
import type { Archive } from "./archive/types.js";
import type { NodeConfig } from "./config.js";
import { DisputeWatcher } from "./disputes.js";
import { ConfigError, serializeError } from "./errors.js";
import { EvidenceSigner } from "./evidence.js";
import { startHttp } from "./http.js";
import { Ingestor } from "./ingest.js";
import { loadOrCreateEvidenceKey, loadOrCreatePeerKey } from "./keys.js";
import { LeaderLock, notifyUrgent } from "./leader.js";
import { FreeMeter, type QueryMeter } from "./meter.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { ChainReader } from "./payments/chain.js";
import { ChannelMeter } from "./payments/channel-meter.js";
import { type Ledger, PostgresLedger, SqliteLedger, type SqliteLedgerOptions } from "./payments/ledger.js";
import { Redeemer } from "./payments/redeemer.js";
import { Peering, registryMailboxes } from "./peering.js";
import { RetentionTask } from "./retention.js";
import { mailboxInfo } from "./services/info/index.js";
import { mailboxPush } from "./services/push/index.js";
import { mailboxStore } from "./services/store/index.js";
import { MailboxSync, type SyncPeer, selfActive, syncPeers } from "./services/sync/index.js";
import { type MailboxWebSockets, mailboxWebSockets, readTlsCertificate, type TlsCertificate } from "./tls.js";

export const NODE_VERSION = "0.1.0";

/** Paid mode's parts. */
export interface Payments {
  chain: ChainReader;
  ledger: Ledger;
  redeemer: Redeemer;
  /** The operator's address: registry entry and payee. */
  operator: Address;
}

export interface MailboxNodeOptions {
  /** A pino logger; default: JSON to stdout at the configured level. */
  logger?: Logger;
  /**
   * Chain clients to use instead of ones built from `chain.rpcUrl` (tests run the node against an
   * in-process chain this way).
   */
  chainClients?: {
    publicClient: PublicClient;
    walletClient: WalletClient<Transport, Chain | undefined, Account>;
  };
  /** A clock for tests. */
  now?: () => number;
}

type Services = {
  pubsub: GossipSub;
  identify: ReturnType<ReturnType<typeof identify>>;
  ping: ReturnType<ReturnType<typeof ping>>;
};

/**
 * A mailbox: a libp2p host (tcp + websockets, noise, yamux, identify, ping, gossipsub) that
 * archives every envelope published on the Postbox topics and serves them over
 * `/postbox/store/1`, takes pushes over `/postbox/push/1`, and describes itself over
 * `/postbox/info/1`; with retention in the background and metrics over HTTP.
 */
export class MailboxNode {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly archive: Archive;
  readonly ingestor: Ingestor;
  readonly libp2p: Libp2p<Services>;
  readonly peerKey: PrivateKey;
  readonly meter: QueryMeter;
  /** Paid mode's chain reader, ledger and redeemer (absent without a chain). */
  readonly payments: Payments | undefined;
  /** Signs the EIP-712 evidence of receipts and pages (with a chain). */
  readonly evidence: EvidenceSigner | undefined;
  /** Answers custody disputes and names the evidence signer (with a chain). */
  readonly disputes: DisputeWatcher | undefined;
  readonly #retention: RetentionTask;
  #sync: MailboxSync | undefined;
  /** With PostgreSQL: which node of the mailbox runs the redeemer, disputes and retention. */
  readonly #leader: LeaderLock | undefined;
  readonly #websockets: MailboxWebSockets;
  #certificate: TlsCertificate | undefined;
  #peering: Peering | undefined;
  #http: Awaited<ReturnType<typeof startHttp>> | undefined;
  #startedAt = 0;
  #unwatchPrice: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(
    config: NodeConfig,
    parts: {
      log: Logger;
      metrics: Metrics;
      archive: Archive;
      ingestor: Ingestor;
      libp2p: Libp2p<Services>;
      peerKey: PrivateKey;
      meter: QueryMeter;
      retention: RetentionTask;
      leader?: LeaderLock;
      payments?: Payments;
      evidence?: EvidenceSigner;
      disputes?: DisputeWatcher;
      websockets: MailboxWebSockets;
      certificate?: TlsCertificate;
    },
  ) {
    this.payments = parts.payments;
    this.evidence = parts.evidence;
    this.disputes = parts.disputes;
    this.config = config;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.archive = parts.archive;
    this.ingestor = parts.ingestor;
    this.libp2p = parts.libp2p;
    this.peerKey = parts.peerKey;
    this.meter = parts.meter;
    this.#retention = parts.retention;
    this.#leader = parts.leader;
    this.#websockets = parts.websockets;
    this.#certificate = parts.certificate;
  }

  /** Builds a node (opening its archive and peer key) without starting the network. */
  static async create(config: NodeConfig, options: MailboxNodeOptions = {}): Promise<MailboxNode> {
    const log =
      options.logger ??
      pino({
        level: config.logLevel,
        base: { service: "postbox-node" },
        serializers: { err: serializeError },
      });
    // The certificate of the `/tls/ws` listen addresses (what browsers on the internet dial), checked
    // before anything is opened.
    const certificate = config.tls ? readTlsCertificate(config.tls) : undefined;
    let node: MailboxNode | undefined;
    const metrics = createMetrics({
      meshPeers: () => (node?.libp2p.status === "started" ? node.meshPeers() : 0),
    });
    const { key: peerKey, created } = await loadOrCreatePeerKey(config.dataDir);
    const archive = await openArchive(config.db, join(config.dataDir, "archive.sqlite"), (step, ms) =>
      log.info({ component: "archive", ms: Math.round(ms) }, step),
    );
    // Mailbox-to-mailbox sync (services/sync): ingest and retention write through its index.
    let peersForSync: () => Promise<SyncPeer[]> = async () => [];
    let selfActiveForSync: (() => Promise<boolean>) | undefined;
    const sync = config.sync.enabled
      ? new MailboxSync({
          archive,
          pubsubTopics: config.pubsubTopics,
          registry: metrics.registry,
          log: log.child({ component: "sync" }),
          settings: config.sync,
          retentionMs: config.retention.maxAge * 1000,
          limitedBySize:
            config.retention.maxEnvelopes !== undefined || config.retention.maxSize !== undefined,
          // Other nodes of the mailbox write to the same PostgreSQL.
          reloadBeforeRound: archive.kind === "postgres",
          peers: () => peersForSync(),
          selfActive: () => selfActiveForSync?.() ?? Promise.resolve(true),
        })
      : undefined;
    const tracked = sync?.track(archive) ?? archive;
    const ingestor = new Ingestor({
      archive: tracked,
      metrics,
      log: log.child({ component: "ingest" }),
      ...(options.now ? { now: options.now } : {}),
    });
    // Paid mode: a chain is configured and the operator did not choose free mode.
    let payments: Payments | undefined;
    let evidence: EvidenceSigner | undefined;
    let disputes: DisputeWatcher | undefined;
    if (config.chain) {
      const operator = privateKeyToAccount(config.chain.operatorKey as Hex);
      const made = options.chainClients
        ? undefined
        : createPostboxClients({
            rpcUrl: config.chain.rpcUrl,
            chainId: config.chain.chainId,
            privateKey: config.chain.operatorKey as Hex,
          });
      const publicClient = options.chainClients?.publicClient ?? made!.publicClient;
      const walletClient = oneSendAtATime(options.chainClients?.walletClient ?? made!.walletClient!);
      const actualChainId = await publicClient.getChainId().catch((cause) => {
        throw new ConfigError(
          "chain.rpcUrl",
          `cannot reach ${config.chain!.rpcUrl} (${(cause as Error).message.split("\n")[0]})`,
        );
      });
      if (actualChainId !== config.chain.chainId) {
        throw new ConfigError(
          "chain.chainId",
          `the RPC serves chain ${actualChainId}, not ${config.chain.chainId}`,
        );
      }
      const chain = new ChainReader(publicClient, {
        chainId: config.chain.chainId,
        registry: config.chain.registry as Address,
        channels: config.chain.channels as Address,
        operator: operator.address,
      });
      const ledger =
        archive.kind === "sqlite"
          ? new SqliteLedger(sqliteLedgerOptions(archive as SqliteArchive))
          : new PostgresLedger((archive as PostgresArchive).pool);
      const redeemer = new Redeemer({
        chain,
        ledger,
        wallet: walletClient,
        log: log.child({ component: "redeemer" }),
        minAmount: parseEther(config.payments.redeemMin),
        intervalMs: config.payments.redeemInterval * 1000,
      });
      payments = { chain, ledger, redeemer, operator: operator.address };
      // Evidence for the disputes contract the registry names (docs/protocol.md, "Evidence").
      const disputesAddress = await publicClient.readContract({
        address: config.chain.registry as Address,
        abi: mailboxRegistryAbi,
        functionName: "disputes",
      });
      const evidenceKey = loadOrCreateEvidenceKey(config.dataDir, config.evidenceKey);
      evidence = new EvidenceSigner({
        privateKey: evidenceKey.key,
        operator: operator.address,
        domain: { chainId: config.chain.chainId, verifyingContract: disputesAddress },
      });
      if (evidenceKey.created) log.info({ path: evidenceKey.path }, "created a new evidence key");
      disputes = new DisputeWatcher({
        client: publicClient,
        wallet: walletClient,
        registry: config.chain.registry as Address,
        disputes: disputesAddress,
        operator: operator.address,
        evidenceSigner: evidence.address,
        archive,
        dataDir: config.dataDir,
        log: log.child({ component: "disputes" }),
      });
    }
    // Several nodes may share a PostgreSQL archive: the jobs there must be one of (the redeemer and
    // the dispute watcher send from the operator's one account; retention) run on the node that
    // holds the mailbox's leader lock, and move to another when it dies.
    const leader =
      archive.kind === "postgres"
        ? new LeaderLock({
            url: (archive as PostgresArchive).url,
            name: "postbox:leader",
            log: log.child({ component: "leader" }),
            retryMs: config.cluster.leaderRetry * 1000,
            onAcquire: () => node?.startSingleJobs(),
            onLose: (stopping) => node?.stopSingleJobs(stopping),
            onUrgent: (id) => payments?.redeemer.urgent(id as Hex),
          })
        : undefined;
    const meter: QueryMeter =
      payments && !config.free
        ? new ChannelMeter({
            chain: payments.chain,
            ledger: payments.ledger,
            closeSafetyMarginSeconds: config.payments.closeSafetyMargin,
            exposureCap: parseEther(config.payments.exposureCap),
            // With several nodes, the leader redeems: a follower tells it through PostgreSQL.
            onExposure: (id) => {
              if (!leader || leader.held) payments?.redeemer.urgent(id);
              else
                notifyUrgent((archive as PostgresArchive).pool, id).catch((err) =>
                  log.warn({ err }, "cannot ask the leader to redeem"),
                );
            },
          })
        : new FreeMeter();
    const retentionSeconds = config.retention.maxAge;
    // One limiter per protocol, each counting per peer in fixed one-second windows (so a peer can
    // burst to twice its rate across a window's edge: docs/protocol.md says so).
    const queryLimiter = new RateLimiter({ points: config.rateLimit.queriesPerSecond, duration: 1 });
    const pushLimiter = new RateLimiter({ points: config.rateLimit.pushesPerSecond, duration: 1 });
    const websockets = mailboxWebSockets(certificate);
    const libp2p = await createLibp2p({
      privateKey: peerKey,
      addresses: {
        listen: config.listen,
        ...(config.announce.length ? { announce: config.announce } : {}),
      },
      connectionManager: {
        maxConnections: config.connections.max,
        inboundConnectionThreshold: config.connections.perIpPerSecond,
        maxIncomingPendingConnections: config.connections.maxPending,
      },
      transports: [tcp(), ...websockets.transports],
      connectionEncrypters: [noise()],
      // A client that opens its requests as soon as its side of a new connection is up can send
      // them before this side has finished the upgrade; yamux holds those "early" streams and, past
      // its default of 10, aborts the whole connection. Allow every request a client may have in
      // flight: each of info, store and push up to its stream limit, and libp2p's own.
      streamMuxers: [yamux({ maxEarlyStreams: 3 * config.maxInboundStreams + 16 })],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          ...postboxGossipsubOptions,
          allowPublishToZeroTopicPeers: true,
          emitSelf: false,
        }),
        store: mailboxStore({
          archive,
          meter,
          privateKey: peerKey,
          evidence,
          retentionSeconds,
          metrics,
          log: log.child({ component: "store" }),
          rateLimiter: queryLimiter,
          maxInboundStreams: config.maxInboundStreams,
        }),
        push: mailboxPush({
          ingestor,
          relay: async (e) => node?.publish(e),
          privateKey: peerKey,
          evidence,
          retentionSeconds,
          metrics,
          log: log.child({ component: "push" }),
          rateLimiter: pushLimiter,
          maxInboundStreams: config.maxInboundStreams,
        }),
        info: mailboxInfo({
          describe: () => node!.describe(),
          metrics,
          log: log.child({ component: "info" }),
          maxInboundStreams: config.maxInboundStreams,
        }),
      },
      start: false,
    });
    skipRepeatedProtocolMerges(libp2p);
    const syncChain = payments && {
      client: payments.chain.client,
      registry: payments.chain.settings.registry,
      operator: payments.chain.settings.operator,
    };
    peersForSync = syncPeers({ chain: syncChain, configured: [...config.bootstrap, ...config.sync.peers] });
    if (syncChain) selfActiveForSync = selfActive(syncChain);
    const retention = new RetentionTask({
      archive: tracked,
      policy: {
        maxAgeMs: config.retention.maxAge * 1000,
        ...(config.retention.maxEnvelopes !== undefined ? { maxCount: config.retention.maxEnvelopes } : {}),
        ...(config.retention.maxSize !== undefined ? { maxBytes: config.retention.maxSize } : {}),
      },
      intervalMs: config.retention.interval * 1000,
      batch: config.retention.batch,
      log: log.child({ component: "retention" }),
      metrics,
      // Disputes opened since the last pass are found, and their envelopes copied aside, before
      // anything is deleted.
      ...(disputes ? { beforePass: () => disputes.runOnce() } : {}),
    });
    node = new MailboxNode(config, {
      log,
      metrics,
      archive,
      ingestor,
      libp2p: libp2p as unknown as Libp2p<Services>,
      peerKey,
      meter,
      retention,
      ...(payments ? { payments } : {}),
      ...(evidence ? { evidence } : {}),
      ...(disputes ? { disputes } : {}),
      ...(leader ? { leader } : {}),
      websockets,
      ...(certificate ? { certificate } : {}),
    });
    node.#sync = sync;
    if (created) log.info({ dataDir: config.dataDir }, "created a new peer key");
    return node;
  }

  /** Mailbox-to-mailbox sync (absent when `sync.enabled` is false). */
  get sync(): MailboxSync | undefined {
    return this.#sync;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  /** Starts the network, the gossip ingest, retention and the HTTP endpoints. */
  async start(): Promise<void> {
    const pubsub = this.libp2p.services.pubsub;
    for (const topic of this.config.pubsubTopics) {
      pubsub.topicValidators.set(topic, (_peer, msg) => {
        try {
          this.ingestor.validate(Envelope.decode(msg.data));
          return TopicValidatorResult.Accept;
        } catch {
          this.metrics.ingested.inc({ source: "gossip", result: "invalid" });
          return TopicValidatorResult.Reject;
        }
      });
    }
    pubsub.addEventListener("message", (evt) => {
      const msg = evt.detail;
      if (!this.config.pubsubTopics.includes(msg.topic)) return;
      let envelope: Envelope;
      try {
        envelope = Envelope.decode(msg.data);
      } catch {
        return;
      }
      this.ingestor
        .submit(envelope, "gossip")
        .catch((err) => this.log.debug({ err }, "gossip envelope not stored"));
    });
    await this.libp2p.start();
    for (const topic of this.config.pubsubTopics) pubsub.subscribe(topic);
    this.#startedAt = Date.now();
    if (this.#leader) await this.#leader.start();
    else this.startSingleJobs();
    this.#unwatchPrice = this.payments?.chain.watchPrice((err) =>
      this.log.warn({ err }, "watching price announcements failed; prices refresh every 5 s"),
    );
    const peers = () => this.metrics.peers.set(this.libp2p.getConnections().length);
    this.libp2p.addEventListener("connection:open", peers);
    this.libp2p.addEventListener("connection:close", peers);
    if (this.config.http.port !== undefined) {
      this.#http = await startHttp({
        host: this.config.http.host,
        port: this.config.http.port,
        registry: this.metrics.registry,
        health: () => this.health(),
      });
    }
    await this.#refreshArchiveGauges();
    // Bootstrap peers and, with a chain, other registered mailboxes are kept connected: a peer
    // that restarts is dialled again, so the archive network never stays partitioned (gossip would
    // otherwise stop reaching this mailbox).
    const chain = this.payments?.chain;
    this.#peering = new Peering({
      libp2p: this.libp2p,
      log: this.log.child({ component: "peering" }),
      bootstrap: this.config.bootstrap,
      maxRegistryPeers: this.config.peering.registryPeers,
      ...(chain && this.config.peering.registryPeers > 0
        ? {
            registry: () => registryMailboxes(chain.client, chain.settings.registry, chain.settings.operator),
          }
        : {}),
    });
    this.#peering.start();
    await this.#sync?.start(this.libp2p);
    this.log.info(
      {
        peerId: this.peerId,
        listen: this.libp2p.getMultiaddrs().map(String),
        db: this.archive.kind,
        mode: this.meter.mode,
        http: this.#http?.url,
        ...(this.evidence
          ? {
              evidenceSigner: this.evidence.address,
              disputes: this.evidence.domain.verifyingContract,
              secp256k1: this.evidence.backend,
            }
          : {}),
      },
      "mailbox started",
    );
    if (this.#certificate) this.#logCertificate(this.#certificate, "tls certificate");
  }

  /** Whether this node runs the mailbox's single jobs (always, with SQLite: it is the only node). */
  get leading(): boolean {
    return this.#leader ? this.#leader.held : this.#startedAt > 0;
  }

  /** Starts retention, the redeemer and the dispute watcher (on the leader). */
  startSingleJobs(): void {
    this.#retention.start();
    this.payments?.redeemer.start();
    this.disputes?.start();
  }

  /**
   * Stops them: `final` on the node's own stop (the redeemer claims what is left), not when the
   * lead moved to another node (which claims it).
   */
  async stopSingleJobs(final: boolean): Promise<void> {
    await this.payments?.redeemer.stop(final);
    await this.disputes?.stop();
    await this.#retention.stop();
  }

  /** The certificate the `/tls/ws` listen addresses serve to new connections (none without `tls`). */
  get certificate(): TlsCertificate | undefined {
    return this.#certificate;
  }

  /**
   * Reads the certificate files again (after a renewal; `postbox node start` does it on SIGHUP):
   * new TLS connections get the new certificate, open ones keep theirs. Throws {@link ConfigError}
   * (and keeps serving the previous certificate) when the files are unreadable or do not match.
   */
  reloadCertificate(): TlsCertificate {
    if (!this.config.tls)
      throw new ConfigError("tls", "no certificate is configured, so none can be reloaded");
    const certificate = readTlsCertificate(this.config.tls);
    this.#websockets.renew(certificate);
    this.#certificate = certificate;
    this.#logCertificate(certificate, "tls certificate reloaded");
    return certificate;
  }

  #logCertificate(c: TlsCertificate, message: string): void {
    const fields = { subjectAltName: c.subjectAltName, validTo: c.validTo, spki: c.spki };
    const left = Date.parse(c.validTo) - Date.now();
    if (left <= 0) this.log.error(fields, `${message}: it has expired, browsers will refuse it`);
    else if (left < 14 * 86_400_000)
      this.log.warn(fields, `${message}: it expires in less than 14 days; renew it, then send SIGHUP`);
    else this.log.info(fields, message);
  }

  /**
   * Peers in this mailbox's gossipsub mesh, summed over its topics (distinct peers). Zero while
   * other mailboxes exist means gossip does not reach this one: it archives only what is pushed.
   */
  meshPeers(): number {
    // The implementation has it; the exported GossipSub interface does not declare it.
    const pubsub = this.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] };
    const peers = new Set<string>();
    for (const topic of this.config.pubsubTopics) for (const p of pubsub.getMeshPeers(topic)) peers.add(p);
    return peers.size;
  }

  /** The HTTP base URL of /metrics and /health, once started. */
  get httpUrl(): string | undefined {
    return this.#http?.url;
  }

  /**
   * Stops cleanly: no new streams, queued envelopes committed, retention finished, the network
   * and the archive closed. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.log.info("stopping");
      this.#peering?.stop();
      await this.#sync?.stop();
      await this.libp2p.stop();
      await this.ingestor.close();
      this.#unwatchPrice?.();
      if (this.#leader) await this.#leader.stop();
      else await this.stopSingleJobs(true);
      await new Promise<void>((resolve) =>
        this.#http ? this.#http.server.close(() => resolve()) : resolve(),
      );
      this.#http?.server.closeAllConnections();
      await this.meter.close?.();
      await this.payments?.ledger.close();
      await this.archive.close();
      this.log.info("stopped");
    })();
    return this.#stopping;
  }

  /** Publishes an envelope on the first pubsub topic (relay for pushed envelopes). */
  async publish(envelope: Envelope): Promise<void> {
    await this.libp2p.services.pubsub.publish(this.config.pubsubTopics[0]!, Envelope.encode(envelope));
  }

  /** What `/postbox/info/1` answers. */
  async describe(): Promise<InfoResponse> {
    const stats = await this.archive.stats();
    let chain: Partial<InfoResponse> = {};
    if (this.payments) {
      const p = this.payments;
      const price = await p.chain.price();
      const pending = price.priceEffectiveAt !== 0n;
      chain = {
        operator: p.operator,
        chainId: BigInt(p.chain.settings.chainId),
        registry: p.chain.settings.registry,
        channels: p.chain.settings.channels,
        pricePerQuery: bigintToBytes(this.meter.mode === "free" ? 0n : price.pricePerQuery),
        pricePerMessage: bigintToBytes(this.meter.mode === "free" ? 0n : price.pricePerMessage),
        ...(pending && this.meter.mode === "paid"
          ? {
              pendingPricePerQuery: bigintToBytes(price.pendingPricePerQuery),
              pendingPricePerMessage: bigintToBytes(price.pendingPricePerMessage),
              priceEffectiveAt: price.priceEffectiveAt,
            }
          : {}),
      };
    }
    return {
      version: NODE_VERSION,
      peerId: this.peerId,
      operator: "",
      chainId: 0n,
      registry: "",
      channels: "",
      pricePerQuery: bigintToBytes(0n),
      pricePerMessage: bigintToBytes(0n),
      free: this.meter.mode === "free",
      retentionSeconds: BigInt(this.config.retention.maxAge),
      maxPageSize: LIMITS.maxPageSize,
      maxContentTopics: LIMITS.maxContentTopics,
      maxEnvelopeBytes: LIMITS.maxPayloadBytes,
      maxClockSkewMs: BigInt(LIMITS.maxClockSkewMs),
      envelopeCount: BigInt(stats.envelopes),
      pubsubTopics: this.config.pubsubTopics,
      ...chain,
    };
  }

  async health(): Promise<{ ok: boolean } & Record<string, unknown>> {
    const stats = await this.archive.stats();
    await this.#refreshArchiveGauges(stats);
    return {
      ok: this.libp2p.status === "started",
      peerId: this.peerId,
      status: this.libp2p.status,
      uptimeSeconds: this.#startedAt ? Math.round((Date.now() - this.#startedAt) / 1000) : 0,
      envelopes: stats.envelopes,
      payloadBytes: stats.payloadBytes,
      peers: this.libp2p.getConnections().length,
      meshPeers: this.meshPeers(),
      db: this.archive.kind,
      mode: this.meter.mode,
      leading: this.leading,
      ...(this.#sync ? { sync: this.#sync.status } : {}),
    };
  }

  async #refreshArchiveGauges(stats?: { envelopes: number; payloadBytes: number }): Promise<void> {
    const s = stats ?? (await this.archive.stats());
    this.metrics.archiveEnvelopes.set(s.envelopes);
    this.metrics.archiveBytes.set(s.payloadBytes);
  }
}

/** The SQLite ledger's file sits next to the archive's (an in-memory archive, an in-memory ledger). */
function sqliteLedgerOptions(archive: SqliteArchive): SqliteLedgerOptions {
  return archive.path === ":memory:"
    ? { path: ":memory:" }
    : {
        path: join(dirname(archive.path), "ledger.sqlite"),
        synchronous: archive.synchronous,
        importFrom: archive.database,
      };
}

/**
 * The operator's wallet with its `writeContract` calls queued one after another: the redeemer and
 * the dispute watcher send from the same account, and two sends in flight at once would both take
 * the account's next nonce (one then fails). Each send waits for the previous one to be handed to
 * the node (the next then counts it as pending), not for its block.
 */
function oneSendAtATime<W extends WalletClient<Transport, Chain | undefined, Account>>(wallet: W): W {
  let last: Promise<unknown> = Promise.resolve();
  const send = wallet.writeContract.bind(wallet) as (...args: unknown[]) => Promise<unknown>;
  const writeContract = (...args: unknown[]) => {
    const sent = last.then(() => send(...args));
    last = sent.catch(() => undefined);
    return sent;
  };
  return { ...wallet, writeContract } as W;
}
