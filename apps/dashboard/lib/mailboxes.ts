import { formatSnt, PRICE_REFERENCE_LABEL, PRICE_REFERENCE_PAGE, pageCost } from "@postbox/protocol";
import type { MailboxFigures } from "./prober";

export type SortKey = "score" | "price" | "uptime24h" | "latency" | "completeness" | "stake" | "age";

export interface Filters {
  /** Largest price of the reference page (PRICE_REFERENCE_PAGE messages), in SNT base units (undefined: any). */
  maxPagePrice?: bigint | undefined;
  /** Smallest 24 h uptime (0..1). */
  minUptime?: number | undefined;
}

type Prices = { pricePerQuery: bigint | string; pricePerMessage: bigint | string };

/** The price of the reference page (PRICE_REFERENCE_PAGE messages) at a mailbox's prices. */
export function referencePagePrice(m: Prices): bigint {
  return pageCost(
    { pricePerQuery: BigInt(m.pricePerQuery), pricePerMessage: BigInt(m.pricePerMessage) },
    PRICE_REFERENCE_PAGE,
  );
}

/** Prices are shown exactly (a per-message price is often below 0.0001 SNT). */
export const exact = { digits: 18 } as const;

/** "0.01 SNT per query + 0.0001 SNT per message (0.02 SNT per 100-message page)". */
export function priceText(m: Prices): string {
  return `${formatSnt(m.pricePerQuery, exact)} per query + ${formatSnt(m.pricePerMessage, exact)} per message (${formatSnt(referencePagePrice(m), exact)} ${PRICE_REFERENCE_LABEL})`;
}

const num = (x: number | null) => (x === null ? -1 : x);

/** Filters and sorts mailboxes for the table (best first for every key but price and latency). */
export function arrange(list: MailboxFigures[], sort: SortKey, filters: Filters): MailboxFigures[] {
  const kept = list.filter(
    (m) =>
      m.status === 1 &&
      (filters.maxPagePrice === undefined || referencePagePrice(m) <= filters.maxPagePrice) &&
      (filters.minUptime === undefined || (m.uptime24h ?? 0) >= filters.minUptime),
  );
  const by: Record<SortKey, (a: MailboxFigures, b: MailboxFigures) => number> = {
    score: (a, b) => b.score - a.score,
    price: (a, b) => {
      const d = referencePagePrice(a) - referencePagePrice(b);
      return d < 0n ? -1 : d > 0n ? 1 : 0;
    },
    uptime24h: (a, b) => num(b.uptime24h) - num(a.uptime24h),
    latency: (a, b) =>
      (a.latencyP50Ms ?? Number.POSITIVE_INFINITY) - (b.latencyP50Ms ?? Number.POSITIVE_INFINITY),
    completeness: (a, b) => num(b.completeness) - num(a.completeness),
    stake: (a, b) => (BigInt(b.stake) > BigInt(a.stake) ? 1 : BigInt(b.stake) < BigInt(a.stake) ? -1 : 0),
    age: (a, b) => a.registeredAt - b.registeredAt,
  };
  return [...kept].sort((a, b) => by[sort](a, b) || a.address.localeCompare(b.address));
}
