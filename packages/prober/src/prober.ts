import {
  blankCandidate,
  type ChannelManager,
  type ClientHost,
  createChannelManager,
  createClientHost,
  dialableAddresses,
  fetchInfo,
  isOwnFailure,
  type MailboxCandidate,
  MailboxStatusError,
  mailboxNodes,
  NODE_DIAL_POLICY,
  pushEnvelope,
  queryStore,
} from "@postbox/client";
import { disputesAbi, mailboxRegistryAbi } from "@postbox/contracts";
import {
  createEnvelope,
  effectivePrice,
  identify,
  roomTopic,
  StatusCode,
  toBareHex,
} from "@postbox/protocol";
import type { Logger } from "pino";
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import { ACTIVE, computeFigures, DAY, type MailboxFigures } from "./figures.js";
import { type ReadMetadataOptions, refreshMetadata } from "./metadata.js";
import type { Canary, SampleStore, TrackedMailbox } from "./samples.js";

/**
 * A canary the mailbox has not answered for (unreachable, or its store queries failing) this long
 * after it was pushed counts as lost: to a user, a message out of reach for a day is lost.
 */
export const CANARY_GIVE_UP_MS = DAY;

/** Time a mailbox has to hold a network canary: three of its 5-minute sync rounds (± 20 %). */
export const NETWORK_CANARY_GRACE_MS = 15 * 60_000;

/** A network canary's id: the envelope's id, `/`, the mailbox it is expected at (not pushed to). */
export const isNetworkCanary = (c: Canary) => c.id.includes("/");
const envelopeIdOf = (c: Canary) => c.id.split("/")[0]!;

/**
 * A mailbox's addresses the prober dials (TCP first): of one of its nodes when its entry lists
 * several (one node a request, round robin, so every node is probed in turn; they share one
 * archive, so a cursor from one is valid at the next).
 */
const addresses = (c: MailboxCandidate) => mailboxNodes.pick(c.id, dialableAddresses(c, NODE_DIAL_POLICY));

/** Refusals our own channel record may have caused: checked against the chain before blaming anyone. */
const OWN_RECORD = new Set<StatusCode>([StatusCode.INVALID_VOUCHER, StatusCode.CHANNEL_CLOSING]);

/** Refusals of a canary query that may be the prober's own doing (its channel or voucher): it warns. */
const PAYMENT_REFUSALS = new Set<StatusCode>([
  StatusCode.PAYMENT_REQUIRED,
  StatusCode.INVALID_VOUCHER,
  StatusCode.CHANNEL_CLOSING,
  StatusCode.INSUFFICIENT_FUNDS,
]);

export interface ProberOptions {
  store: SampleStore;
  publicClient: PublicClient;
  /** Pays canary queries and signs reports. */
  wallet: WalletClient<Transport, Chain, Account>;
  chainId: number;
  addresses: {
    snt: Address;
    registry: Address;
    channels: Address;
    /**
     * The Disputes contract whose events the prober counts (docs/methodology.md, *Disputes*).
     * Default: the one the registry names (`registry.disputes()`, the authority); a given address
     * must be that one.
     */
    disputes?: Address | undefined;
    fromBlock: bigint;
  };
  dataDir: string;
  log: Logger;
  /** Ping + info every (default 60 s). */
  probeIntervalMs?: number;
  /** Push a canary every (default 5 min). */
  canaryIntervalMs?: number;
  /** Query for a canary this long after pushing it (default 2 min). */
  canaryDelayMs?: number;
  /**
   * Network canaries: each canary is also expected at up to this many other Active mailboxes
   * (chosen at random among those that answered a probe), which get it by gossip, or by sync
   * (`/postbox/sync/1`) after a downtime. Default 0 here; the prober service uses 2.
   */
  networkCanaries?: number;
  /**
   * A network canary not returned is lost only once both its push and the mailbox's last failed
   * probe are this long past (default {@link NETWORK_CANARY_GRACE_MS}): a mailbox back from a
   * downtime has that long to sync what it missed.
   */
  networkCanaryGraceMs?: number;
  /** Follow registry events every (default 15 s). */
  registryIntervalMs?: number;
  /** A probe that takes longer has failed (default 10 s). */
  timeoutMs?: number;
  /** Deposit of the prober's channel to each paid mailbox (token base units). */
  channelDeposit: bigint;
  host?: ClientHost;
  /** How metadata URIs are read (tests: a fetch that trusts their certificate). */
  metadata?: ReadMetadataOptions;
  /**
   * The clock, in ms since the epoch (default `Date.now`): every sample, canary and figure is timed
   * by it, so a test can move it (the intervals above still run on real timers).
   */
  now?: () => number;
  /**
   * Run the tasks on the intervals above from {@link Prober.start} (default true). False: start
   * only opens the channels and the host, and the caller runs each task when it wants (tests).
   */
  schedule?: boolean;
}

/** How a canary query went: what came back, or why no answer did. */
export interface CanaryQueryOutcome {
  /** The mailbox answered the query in full (status OK on every page). */
  answered: boolean;
  /** Ids (hex) of the envelopes it returned. */
  found: ReadonlySet<string>;
  /** Why there was no full answer: unreachable, timed out, or a refusal (status). */
  unanswered: string;
  /**
   * No answer because of the prober itself (its channel record did not hold, its cap, a channel it
   * is closing): the canaries stay due, however long, and never count against the mailbox.
   */
  ownFault?: boolean;
  latencyMs: number | null;
}

/**
 * Which due canaries a query settles, and how: found when returned (on any page); lost when the
 * mailbox answered in full without them; otherwise left due — an unreachable mailbox is the
 * probes' business, and a refusal may be the prober's own channel at fault — until pushed
 * {@link CANARY_GIVE_UP_MS} or more before `now`: then lost, unless the prober itself was at fault.
 */
export function settleCanaries(
  due: readonly Canary[],
  o: CanaryQueryOutcome,
  now: number,
  network: { lastDownAt?: number | null; graceMs?: number } = {},
): { canary: Canary; found: boolean; latencyMs: number | null; detail: string }[] {
  const settled: { canary: Canary; found: boolean; latencyMs: number | null; detail: string }[] = [];
  const grace = network.graceMs ?? NETWORK_CANARY_GRACE_MS;
  for (const canary of due) {
    if (o.found.has(envelopeIdOf(canary)))
      settled.push({ canary, found: true, latencyMs: o.latencyMs, detail: "returned" });
    else if (
      o.answered &&
      isNetworkCanary(canary) &&
      now - Math.max(canary.pushedAt, network.lastDownAt ?? 0) < grace
    ) {
      // Pushed to another mailbox: this one may still get it by sync (it may just be back).
    } else if (o.answered)
      settled.push({ canary, found: false, latencyMs: o.latencyMs, detail: "not returned" });
    else if (!o.ownFault && now - canary.pushedAt >= CANARY_GIVE_UP_MS)
      settled.push({ canary, found: false, latencyMs: null, detail: `given up: ${o.unanswered}` });
  }
  return settled;
}

/**
 * Measures every registered mailbox: follows the registry's events, pings and asks each for its
 * info every minute, and every few minutes pushes a canary (a fresh envelope on a topic that looks
 * like any room's) and later buys it back with a paid query. A mailbox that answers pings but does
 * not return its canaries is caught. Samples live in SQLite; figures and scores are computed from
 * them on request.
 */
export class Prober {
  readonly #o: ProberOptions;
  readonly #now: () => number;
  readonly #timers: NodeJS.Timeout[] = [];
  #channelManager: ChannelManager | undefined;
  #host: ClientHost | undefined;
  #running = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: ProberOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The prober's payment channels (`channels.db` in its data folder), opened by {@link start}. */
  get #channels(): ChannelManager {
    if (!this.#channelManager) throw new Error("the prober is not started");
    return this.#channelManager;
  }

  get signer(): Address {
    return this.#o.wallet.account.address;
  }

  async start(): Promise<void> {
    const o = this.#o;
    this.#channelManager = await createChannelManager({
      location: o.dataDir,
      publicClient: o.publicClient,
      wallet: o.wallet,
      chainId: o.chainId,
      snt: o.addresses.snt,
      registry: o.addresses.registry,
      channels: o.addresses.channels,
      autoTopUp: { below: o.channelDeposit / 10n, amount: o.channelDeposit },
    });
    this.#host = this.#o.host ?? (await createClientHost());
    await this.followRegistry();
    await this.followDisputes();
    if (this.#o.schedule === false) return;
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const run = () => {
        if (this.#stopped) return;
        const p = fn()
          .catch((err: unknown) => this.#o.log.warn({ err }, "prober task failed"))
          .finally(() => this.#running.delete(p));
        this.#running.add(p);
      };
      run();
      this.#timers.push(setInterval(run, ms));
    };
    every(this.#o.registryIntervalMs ?? 15_000, () => this.followRegistry());
    every(this.#o.registryIntervalMs ?? 15_000, () => this.followDisputes());
    every(this.#o.registryIntervalMs ?? 15_000, () => this.refreshMetadata());
    every(this.#o.probeIntervalMs ?? 60_000, () => this.probeAll());
    every(this.#o.canaryIntervalMs ?? 300_000, () => this.canaryRound());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled([...this.#running]);
    if (this.#host && !this.#o.host) await this.#host.stop();
    await this.#channelManager?.close();
  }

  /** Reads registry events since the last block seen and refreshes the operators they name. */
  async followRegistry(): Promise<void> {
    const { publicClient, addresses, store } = this.#o;
    const latest = await publicClient.getBlockNumber();
    const last = store.get("registry:block");
    const from = last === undefined ? addresses.fromBlock : BigInt(last) + 1n;
    if (from > latest) return;
    const logs = await publicClient.getContractEvents({
      address: addresses.registry,
      abi: mailboxRegistryAbi,
      fromBlock: from,
      toBlock: latest,
    });
    const operators = new Set<Address>();
    for (const l of logs) {
      const op = (l.args as { operator?: Address }).operator;
      if (op) operators.add(op);
    }
    for (const op of operators) {
      const m = await publicClient.readContract({
        address: addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [op],
      });
      store.upsertMailbox(
        {
          address: op.toLowerCase(),
          peerId: m.peerId,
          multiaddrs: [...m.multiaddrs],
          status: m.status,
          stake: m.stake,
          pricePerQuery: m.pricePerQuery,
          pricePerMessage: m.pricePerMessage,
          pendingPricePerQuery: m.pendingPricePerQuery,
          pendingPricePerMessage: m.pendingPricePerMessage,
          priceEffectiveAt: Number(m.priceEffectiveAt),
          registeredAt: Number(m.registeredAt),
          withdrawableAt: Number(m.withdrawableAt),
          metadataURI: m.metadataURI,
        },
        this.#now(),
      );
      this.#o.log.info({ operator: op, status: m.status }, "registry entry updated");
    }
    store.set("registry:block", latest.toString());
  }

  #disputes: Address | null | undefined;

  /**
   * The Disputes contract: the one the registry names (checked against a configured one), or null
   * when the registry names an account without code (a test that slashes by hand).
   */
  async #disputesContract(): Promise<Address | null> {
    if (this.#disputes !== undefined) return this.#disputes;
    const { publicClient, addresses, log, store } = this.#o;
    const named = await publicClient.readContract({
      address: addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "disputes",
    });
    if (addresses.disputes && addresses.disputes.toLowerCase() !== named.toLowerCase())
      throw new Error(
        `the registry's disputes contract is ${named}, not ${addresses.disputes} as configured`,
      );
    const code = await publicClient.getCode({ address: named });
    if (!code || code === "0x") {
      log.warn(
        { disputes: named },
        "the registry's disputes address is no contract: disputes are not counted",
      );
      this.#disputes = null;
    } else {
      this.#disputes = named;
      store.set("disputes:address", named.toLowerCase());
    }
    return this.#disputes;
  }

  #readingDisputes = false;

  /**
   * Reads the Disputes contract's events since the last block it read (from the deployment block
   * on first start) and records each dispute's state: opened, answered, upheld (with the SNT
   * slashed and the block's time). Incremental: each round reads only the new blocks.
   */
  async followDisputes(): Promise<void> {
    if (this.#readingDisputes) return;
    this.#readingDisputes = true;
    try {
      const disputes = await this.#disputesContract();
      if (!disputes) return;
      const { publicClient, addresses, store, log } = this.#o;
      const latest = await publicClient.getBlockNumber();
      const last = store.get("disputes:block");
      const from = last === undefined ? addresses.fromBlock : BigInt(last) + 1n;
      if (from > latest) return;
      const range = { address: disputes, abi: disputesAbi, fromBlock: from, toBlock: latest } as const;
      const [opened, answered, upheld] = await Promise.all([
        publicClient.getContractEvents({ ...range, eventName: "CustodyDisputed" }),
        publicClient.getContractEvents({ ...range, eventName: "CustodyAnswered" }),
        publicClient.getContractEvents({ ...range, eventName: "DisputeUpheld" }),
      ]);
      const times = new Map<bigint, number>();
      const timeOf = async (block: bigint) => {
        let t = times.get(block);
        if (t === undefined) {
          t = Number((await publicClient.getBlock({ blockNumber: block })).timestamp) * 1000;
          times.set(block, t);
        }
        return t;
      };
      // In chain order: a dispute opened and answered in the same range ends answered.
      const events = [...opened, ...answered, ...upheld].sort((a, b) =>
        a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
      );
      for (const e of events) {
        const at = await timeOf(e.blockNumber);
        const id = e.args.disputeId!;
        const mailbox = e.args.operator!.toLowerCase();
        const known = store.dispute(id);
        if (e.eventName === "CustodyDisputed")
          store.recordDispute({
            id,
            mailbox,
            kind: "custody",
            state: "open",
            slashed: 0n,
            openedAt: at,
            resolvedAt: null,
          });
        else if (e.eventName === "CustodyAnswered")
          store.recordDispute({
            id,
            mailbox,
            kind: "custody",
            state: "answered",
            slashed: 0n,
            openedAt: known?.openedAt ?? at,
            resolvedAt: at,
          });
        else {
          const omission = (e.args as { omission?: boolean }).omission === true;
          store.recordDispute({
            id,
            mailbox,
            kind: omission ? "omission" : "custody",
            state: "upheld",
            slashed: (e.args as { slashed?: bigint }).slashed ?? 0n,
            openedAt: known?.openedAt ?? at,
            resolvedAt: at,
          });
          log.info(
            { mailbox, disputeId: id, omission, tx: e.transactionHash },
            "a dispute against a mailbox was upheld",
          );
        }
      }
      store.set("disputes:block", latest.toString());
    } finally {
      this.#readingDisputes = false;
    }
  }

  #active(): TrackedMailbox[] {
    return this.#o.store.mailboxes().filter((m) => m.status === ACTIVE);
  }

  /** Up to `networkCanaries` other Active mailboxes that have answered a probe, at random. */
  #networkPeers(m: TrackedMailbox): TrackedMailbox[] {
    const n = this.#o.networkCanaries ?? 0;
    if (n === 0) return [];
    const others = this.#active().filter((o) => o.address !== m.address && this.#o.store.info(o.address));
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return others.slice(0, n);
  }

  #candidate(m: TrackedMailbox): MailboxCandidate {
    const { price } = effectivePrice(m, this.#now() / 1000);
    const c = blankCandidate(m.address, m.address as Address, m.peerId, m.multiaddrs);
    c.stake = m.stake;
    c.price = price;
    c.registeredAt = BigInt(m.registeredAt);
    c.paid = price.pricePerQuery > 0n || price.pricePerMessage > 0n;
    return c;
  }

  /** One liveness sample per active mailbox: libp2p ping, then `/postbox/info/1`. */
  async probeAll(): Promise<void> {
    const host = this.#host!;
    const timeout = this.#o.timeoutMs ?? 10_000;
    await Promise.all(
      this.#active().map(async (m) => {
        const c = this.#candidate(m);
        const started = performance.now();
        let ok = false;
        let detail = "ok";
        try {
          const signal = AbortSignal.timeout(timeout);
          await host.services.ping.ping(addresses(c), { signal });
          const info = await fetchInfo(host, addresses(c), { signal });
          if (info.operator.toLowerCase() !== m.address) detail = `info names operator ${info.operator}`;
          else {
            ok = true;
            this.#o.store.setInfo(m.address, {
              version: info.version,
              retentionSeconds: Number(info.retentionSeconds),
              maxPageSize: info.maxPageSize,
              maxContentTopics: info.maxContentTopics,
              maxEnvelopeBytes: info.maxEnvelopeBytes,
              envelopes: Number(info.envelopeCount),
              free: info.free,
              chainId: Number(info.chainId),
              at: this.#now(),
            });
          }
        } catch (err) {
          detail = (err as Error).message.slice(0, 200);
          // A dead connection would make the next probe fail too: start afresh.
          await host.hangUp(addresses(c)[0]!).catch(() => undefined);
        }
        const latencyMs = ok ? performance.now() - started : null;
        this.#o.store.addSample({
          mailbox: m.address,
          at: this.#now(),
          kind: "probe",
          ok,
          latencyMs,
          detail,
        });
      }),
    );
  }

  /** Pushes one fresh canary to each active mailbox, then checks the canaries that are due. */
  async canaryRound(): Promise<void> {
    const host = this.#host!;
    const { store } = this.#o;
    await Promise.all(
      this.#active().map(async (m) => {
        const c = this.#candidate(m);
        const topic = roomTopic(`canary-${toBareHex(crypto.getRandomValues(new Uint8Array(16)))}`);
        const envelope = createEnvelope({
          contentTopic: topic,
          payload: crypto.getRandomValues(new Uint8Array(256)),
        });
        const canary = {
          id: toBareHex(envelope.id),
          mailbox: m.address,
          topic,
          timestamp: Number(envelope.timestamp),
          pushedAt: this.#now(),
        };
        try {
          await pushEnvelope(host, addresses(c), envelope, { timeoutMs: this.#o.timeoutMs ?? 10_000 });
          store.addCanary(canary);
          for (const other of this.#networkPeers(m))
            store.addCanary({ ...canary, id: `${canary.id}/${other.address}`, mailbox: other.address });
        } catch (err) {
          // Refused: a canary lost at once. Not reached: nothing was handed over, and the probes
          // already record that the mailbox is unreachable.
          if (err instanceof MailboxStatusError)
            store.checkCanaries(
              [
                {
                  canary,
                  found: false,
                  latencyMs: null,
                  detail: `push: ${err.shortMessage} ${err.statusDesc}`.slice(0, 200),
                },
              ],
              this.#now(),
            );
          else this.#o.log.debug({ err, mailbox: m.address }, "canary not pushed: mailbox unreachable");
        }
        await this.#checkDue(c);
      }),
    );
  }

  /**
   * Buys back the canaries that are due with one paid history query. Each canary is settled when
   * the mailbox answers: found or lost. No answer (unreachable, timed out) or a payment refusal
   * (which may be the prober's own channel at fault) leaves them due for the next round; one
   * unanswered for {@link CANARY_GIVE_UP_MS} is lost.
   */
  async #checkDue(c: MailboxCandidate): Promise<void> {
    const { store, log } = this.#o;
    const now = this.#now();
    const due = store.dueCanaries(c.id, now - (this.#o.canaryDelayMs ?? 120_000), 10);
    if (due.length === 0) return;
    const started = performance.now();
    const found = new Set<string>();
    let answered = false;
    let ownFault = false;
    let unanswered = "no answer";
    try {
      const timeStart = BigInt(Math.min(...due.map((d) => d.timestamp)));
      const timeEnd = BigInt(Math.max(...due.map((d) => d.timestamp)));
      let cursor: Uint8Array | undefined;
      let reopened = false;
      for (let page = 0; page < 10; page++) {
        // The recorded channel once the chain confirms it (checked once per process: cheap after
        // that), or a new one when the record does not hold (a chain reset, a channel closed
        // elsewhere).
        if (c.paid) await this.#channels.open(c.operator!, this.#o.channelDeposit);
        const res = await queryStore(
          this.#host!,
          addresses(c),
          {
            contentTopics: due.map((d) => d.topic),
            timeStart,
            timeEnd,
            pageSize: 100,
            ...(cursor ? { cursor } : {}),
            ...(c.paid ? { voucher: await this.#channels.voucherFor(c.operator!, 100) } : {}),
          },
          { timeoutMs: this.#o.timeoutMs ?? 10_000 },
        );
        if (c.paid) this.#channels.record(c.operator!, res);
        if (res.status !== StatusCode.OK) {
          unanswered = `query refused: ${StatusCode[res.status] ?? res.status} ${res.statusDesc}`.slice(
            0,
            200,
          );
          if (c.paid && OWN_RECORD.has(res.status)) {
            // Our record? The chain says: one that does not hold is archived and the query made
            // again on a new channel (once); a channel we are closing is ours to withdraw.
            const check = await this.#channels.reconcile(c.operator!);
            if (check.state === "archived" && !reopened) {
              reopened = true;
              page--;
              continue;
            }
            if (check.state !== "open") ownFault = true;
          }
          if (PAYMENT_REFUSALS.has(res.status))
            log.warn(
              { mailbox: c.id, status: unanswered },
              "a canary query was refused for payment: check the prober's channel",
            );
          break;
        }
        for (const e of res.envelopes) found.add(toBareHex(identify(e).id));
        if (!res.nextCursor) {
          answered = true;
          break;
        }
        cursor = res.nextCursor;
      }
    } catch (err) {
      // A stale channel record, a cap or a closing channel of the prober's own is not the mailbox's fault.
      ownFault = isOwnFailure(err);
      unanswered = `query: ${(err as Error).message.slice(0, 160)}`;
    }
    const latencyMs = answered ? performance.now() - started : null;
    const settled = settleCanaries(due, { answered, found, unanswered, ownFault, latencyMs }, now, {
      lastDownAt: store.lastFailedProbe(c.id),
      ...(this.#o.networkCanaryGraceMs !== undefined ? { graceMs: this.#o.networkCanaryGraceMs } : {}),
    });
    if (settled.length > 0) store.checkCanaries(settled, this.#now());
    if (settled.length < due.length)
      (ownFault ? log.warn.bind(log) : log.debug.bind(log))(
        { mailbox: c.id, due: due.length - settled.length, why: unanswered },
        ownFault ? "canaries left due: the prober's own channel refused" : "canaries left due",
      );
  }

  #readingMetadata = false;

  /** Reads the metadata documents that changed or are due again ({@link refreshMetadata}). */
  async refreshMetadata(now = this.#now()): Promise<void> {
    if (this.#readingMetadata) return;
    this.#readingMetadata = true;
    try {
      for (const r of await refreshMetadata(this.#o.store, now, this.#o.metadata))
        if (r.error)
          this.#o.log.info(
            { mailbox: r.mailbox, uri: r.uri.slice(0, 200), error: r.error },
            "metadata not read",
          );
    } finally {
      this.#readingMetadata = false;
    }
  }

  /** The figures of every mailbox the registry ever listed (scores against the active ones). */
  figures(now = this.#now()): MailboxFigures[] {
    return computeFigures(this.#o.store, now);
  }

  /** Remembers the registry's minimum stake (for the stake factor). */
  async readParameters(): Promise<void> {
    const minStake = await this.#o.publicClient.readContract({
      address: this.#o.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "minStake",
    });
    this.#o.store.set("registry:minStake", minStake.toString());
  }
}
