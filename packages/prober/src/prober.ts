import {
  blankCandidate,
  ChannelManager,
  type ClientHost,
  createClientHost,
  dialable,
  fetchInfo,
  type MailboxCandidate,
  pushEnvelope,
  queryStore,
} from "@postbox/client";
import { mailboxRegistryAbi } from "@postbox/contracts";
import {
  combineScore,
  createEnvelope,
  DEFAULT_SCORE_WEIGHTS,
  effectivePrice,
  identify,
  type MailboxReport,
  medianAmount,
  PRICE_REFERENCE_PAGE,
  pageCost,
  roomTopic,
  StatusCode,
  scoreFactors,
  toHex,
  withPrior,
} from "@postbox/protocol";
import type { Logger } from "pino";
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from "viem";
import type { SampleStore, TrackedMailbox } from "./samples.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface ProberOptions {
  store: SampleStore;
  publicClient: PublicClient;
  /** Pays canary queries and signs reports. */
  wallet: WalletClient<Transport, Chain, Account>;
  chainId: number;
  addresses: { snt: Address; registry: Address; channels: Address; fromBlock: bigint };
  dataDir: string;
  log: Logger;
  /** Ping + info every (default 60 s). */
  probeIntervalMs?: number;
  /** Push a canary every (default 5 min). */
  canaryIntervalMs?: number;
  /** Query for a canary this long after pushing it (default 2 min). */
  canaryDelayMs?: number;
  /** Follow registry events every (default 15 s). */
  registryIntervalMs?: number;
  /** A probe that takes longer has failed (default 10 s). */
  timeoutMs?: number;
  /** Deposit of the prober's channel to each paid mailbox (token base units). */
  channelDeposit: bigint;
  host?: ClientHost;
}

/** Everything published about one mailbox (docs/methodology.md defines each figure). */
export type MailboxFigures = MailboxReport;

const ACTIVE = 1;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
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
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #channels: ChannelManager;
  #host: ClientHost | undefined;
  #running = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: ProberOptions) {
    this.#o = options;
    this.#channels = new ChannelManager({
      dataDir: options.dataDir,
      publicClient: options.publicClient,
      wallet: options.wallet,
      chainId: options.chainId,
      snt: options.addresses.snt,
      registry: options.addresses.registry,
      channels: options.addresses.channels,
      autoTopUp: { below: options.channelDeposit / 10n, amount: options.channelDeposit },
    });
  }

  get signer(): Address {
    return this.#o.wallet.account.address;
  }

  async start(): Promise<void> {
    this.#host = this.#o.host ?? (await createClientHost());
    await this.followRegistry();
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
    every(this.#o.probeIntervalMs ?? 60_000, () => this.probeAll());
    every(this.#o.canaryIntervalMs ?? 300_000, () => this.canaryRound());
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await Promise.allSettled([...this.#running]);
    if (this.#host && !this.#o.host) await this.#host.stop();
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
        },
        Date.now(),
      );
      this.#o.log.info({ operator: op, status: m.status }, "registry entry updated");
    }
    store.set("registry:block", latest.toString());
  }

  #active(): TrackedMailbox[] {
    return this.#o.store.mailboxes().filter((m) => m.status === ACTIVE);
  }

  #candidate(m: TrackedMailbox): MailboxCandidate {
    const { price } = effectivePrice(m, Date.now() / 1000);
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
          await host.services.ping.ping(dialable(c), { signal });
          const info = await fetchInfo(host, dialable(c), { signal });
          if (info.operator.toLowerCase() !== m.address) detail = `info names operator ${info.operator}`;
          else ok = true;
        } catch (err) {
          detail = (err as Error).message.slice(0, 200);
          // A dead connection would make the next probe fail too: start afresh.
          await host.hangUp(dialable(c)[0]!).catch(() => undefined);
        }
        const latencyMs = ok ? performance.now() - started : null;
        this.#o.store.addSample({ mailbox: m.address, at: Date.now(), kind: "probe", ok, latencyMs, detail });
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
        const topic = roomTopic(`canary-${toHex(crypto.getRandomValues(new Uint8Array(16)))}`);
        const envelope = createEnvelope({
          contentTopic: topic,
          payload: crypto.getRandomValues(new Uint8Array(256)),
        });
        const canary = {
          id: toHex(envelope.id),
          mailbox: m.address,
          topic,
          timestamp: Number(envelope.timestamp),
          pushedAt: Date.now(),
        };
        try {
          await pushEnvelope(host, dialable(c), envelope, { timeoutMs: this.#o.timeoutMs ?? 10_000 });
          store.addCanary(canary);
        } catch (err) {
          // Not even accepted: a canary lost at once.
          store.checkCanaries(
            [
              {
                canary,
                found: false,
                latencyMs: null,
                detail: `push: ${(err as Error).message.slice(0, 160)}`,
              },
            ],
            Date.now(),
          );
        }
        await this.#checkDue(c);
      }),
    );
  }

  async #checkDue(c: MailboxCandidate): Promise<void> {
    const due = this.#o.store.dueCanaries(c.id, Date.now() - (this.#o.canaryDelayMs ?? 120_000), 10);
    if (due.length === 0) return;
    const started = performance.now();
    const found = new Set<string>();
    let detail = "ok";
    let answered = false;
    try {
      if (c.paid && !this.#channels.channelTo(c.operator!))
        await this.#channels.open(c.operator!, this.#o.channelDeposit);
      const timeStart = BigInt(Math.min(...due.map((d) => d.timestamp)));
      const timeEnd = BigInt(Math.max(...due.map((d) => d.timestamp)));
      let cursor: Uint8Array | undefined;
      for (let page = 0; page < 10; page++) {
        const res = await queryStore(
          this.#host!,
          dialable(c),
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
          detail = `query: ${StatusCode[res.status]} ${res.statusDesc}`;
          break;
        }
        answered = true;
        for (const e of res.envelopes) found.add(toHex(identify(e).id));
        if (!res.nextCursor) break;
        cursor = res.nextCursor;
      }
    } catch (err) {
      detail = `query: ${(err as Error).message.slice(0, 160)}`;
    }
    const latencyMs = answered ? performance.now() - started : null;
    this.#o.store.checkCanaries(
      due.map((canary) => ({
        canary,
        found: found.has(canary.id),
        latencyMs,
        detail: found.has(canary.id) ? "returned" : answered ? "not returned" : detail,
      })),
      Date.now(),
    );
  }

  /** The figures of every mailbox the registry ever listed (scores against the active ones). */
  figures(now = Date.now()): MailboxFigures[] {
    const { store } = this.#o;
    const all = store.mailboxes();
    const median = medianAmount(
      all
        .filter((m) => m.status === ACTIVE)
        .map((m) => pageCost(effectivePrice(m, now / 1000).price, PRICE_REFERENCE_PAGE)),
    );
    const minStake = BigInt(store.get("registry:minStake") ?? "0");
    return all.map((m) => {
      const { price, pending } = effectivePrice(m, now / 1000);
      const uptime = (ms: number) => {
        const { ok, failed } = store.counts(m.address, "probe", now - ms);
        return ok + failed === 0 ? null : ok / (ok + failed);
      };
      const probes = store.counts(m.address, "probe", now - 7 * DAY);
      const canaries = store.counts(m.address, "canary", now - 7 * DAY);
      const lat = store.latencies(m.address, now - DAY);
      const latencyP50Ms = percentile(lat, 0.5);
      const factors = scoreFactors({
        probesOk: probes.ok,
        probesFailed: probes.failed,
        latencyP50Ms: latencyP50Ms ?? undefined,
        canariesExpected: canaries.ok + canaries.failed,
        canariesFound: canaries.ok,
        stake: m.stake,
        minStake,
        pageCost: pageCost(price, PRICE_REFERENCE_PAGE),
        medianPageCost: median,
      });
      const pendingPrice = pending
        ? {
            pricePerQuery: pending.pricePerQuery.toString(),
            pricePerMessage: pending.pricePerMessage.toString(),
            effectiveAt: pending.effectiveAt,
          }
        : null;
      return {
        address: m.address,
        peerId: m.peerId,
        multiaddrs: m.multiaddrs,
        status: m.status,
        stake: m.stake.toString(),
        pricePerQuery: price.pricePerQuery.toString(),
        pricePerMessage: price.pricePerMessage.toString(),
        pendingPrice,
        registeredAt: m.registeredAt,
        withdrawableAt: m.withdrawableAt,
        firstSeen: m.firstSeen,
        probesOk: probes.ok,
        probesFailed: probes.failed,
        uptime24h: uptime(DAY),
        uptime7d: uptime(7 * DAY),
        uptime30d: uptime(30 * DAY),
        latencyP50Ms,
        latencyP90Ms: percentile(lat, 0.9),
        canariesExpected: canaries.ok + canaries.failed,
        canariesFound: canaries.ok,
        completeness:
          canaries.ok + canaries.failed === 0 ? null : canaries.ok / (canaries.ok + canaries.failed),
        availability: withPrior(probes.ok, probes.failed),
        factors,
        score: m.status === ACTIVE ? combineScore(factors, DEFAULT_SCORE_WEIGHTS) : 0,
        sparkline: store.uptimeSeries(m.address, now - DAY, HOUR).map(({ at, uptime }) => ({ at, uptime })),
      };
    });
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
