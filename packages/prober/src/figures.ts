import {
  combineScore,
  DEFAULT_SCORE_WEIGHTS,
  effectivePrice,
  type MailboxReport,
  medianAmount,
  PRICE_REFERENCE_PAGE,
  pageCost,
  scoreFactors,
  withPrior,
} from "@postbox/protocol";
import type { SampleStore } from "./samples.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The registry's status of a mailbox that is serving. */
export const ACTIVE = 1;

/** Everything published about one mailbox (docs/methodology.md defines each figure). */
export type MailboxFigures = MailboxReport;

/**
 * The `p` quantile of ascending `sorted` by nearest rank: the smallest value with at least
 * `p · n` values at or below it. Null for none.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/**
 * The figures of every mailbox the registry ever listed, at time `now` (ms), computed from the
 * samples in `store`; scores are relative to the active mailboxes' median price.
 */
export function computeFigures(store: SampleStore, now: number): MailboxFigures[] {
  const all = store.mailboxes();
  const median = medianAmount(
    all
      .filter((m) => m.status === ACTIVE)
      .map((m) => pageCost(effectivePrice(m, now / 1000).price, PRICE_REFERENCE_PAGE)),
  );
  const minStake = BigInt(store.get("registry:minStake") ?? "0");
  // Disputes are reported once the prober follows a Disputes contract.
  const countsDisputes = store.get("disputes:address") !== undefined;
  return all.map((m) => {
    const { price, pending } = effectivePrice(m, now / 1000);
    const probedSince = store.firstAt(m.address, "probe", now);
    const probed = probedSince === null ? 0 : now - probedSince;
    const window = (ms: number) => store.counts(m.address, "probe", now - ms, now);
    const [day, week, month] = [window(DAY), window(7 * DAY), window(30 * DAY)];
    const share = (c: { ok: number; failed: number }) =>
      c.ok + c.failed === 0 ? null : c.ok / (c.ok + c.failed);
    const canaries = store.counts(m.address, "canary", now - 7 * DAY, now);
    const lat = store.latencies(m.address, now - DAY, now);
    const latencyP50Ms = percentile(lat, 0.5);
    const disputes = countsDisputes ? store.disputeFigures(m.address, now) : undefined;
    const factors = scoreFactors({
      probesOk: week.ok,
      probesFailed: week.failed,
      latencyP50Ms: latencyP50Ms ?? undefined,
      canariesExpected: canaries.ok + canaries.failed,
      canariesFound: canaries.ok,
      stake: m.stake,
      minStake,
      pageCost: pageCost(price, PRICE_REFERENCE_PAGE),
      medianPageCost: median,
      upheldDisputesAt: disputes?.upheldAt,
      now,
    });
    const meta = store.metadata(m.address);
    const metadataURI = m.metadataURI ?? "";
    const current = meta !== undefined && meta.uri === metadataURI;
    return {
      address: m.address,
      peerId: m.peerId,
      multiaddrs: m.multiaddrs,
      status: m.status,
      stake: m.stake.toString(),
      pricePerQuery: price.pricePerQuery.toString(),
      pricePerMessage: price.pricePerMessage.toString(),
      pendingPrice: pending
        ? {
            pricePerQuery: pending.pricePerQuery.toString(),
            pricePerMessage: pending.pricePerMessage.toString(),
            effectiveAt: pending.effectiveAt,
          }
        : null,
      registeredAt: m.registeredAt,
      withdrawableAt: m.withdrawableAt,
      metadataURI,
      firstSeen: m.firstSeen,
      probedSince,
      probesOk: week.ok,
      probesFailed: week.failed,
      samples: {
        probes24h: day.ok + day.failed,
        probes7d: week.ok + week.failed,
        probes30d: month.ok + month.failed,
        canaries7d: canaries.ok + canaries.failed,
      },
      uptime24h: share(day),
      // A longer window is shown once it says more than the shorter one (see MailboxReport).
      uptime7d: probed > DAY ? share(week) : null,
      uptime30d: probed > 7 * DAY ? share(month) : null,
      latencyP50Ms,
      latencyP90Ms: percentile(lat, 0.9),
      canariesExpected: canaries.ok + canaries.failed,
      canariesFound: canaries.ok,
      completeness:
        canaries.ok + canaries.failed === 0 ? null : canaries.ok / (canaries.ok + canaries.failed),
      availability: withPrior(week.ok, week.failed),
      factors,
      score: m.status === ACTIVE ? combineScore(factors, DEFAULT_SCORE_WEIGHTS) : 0,
      ...(disputes ? { disputes } : {}),
      sparkline: store
        .uptimeSeries(m.address, now - DAY, HOUR, now)
        .map(({ at, uptime }) => ({ at, uptime })),
      info: store.info(m.address),
      metadata: current ? meta.metadata : null,
      metadataError: current ? meta.error : null,
    };
  });
}
