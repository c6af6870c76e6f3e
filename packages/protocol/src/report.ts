import type { ScoreFactors } from "./score.js";

/**
 * What a prober publishes about one mailbox (`GET /mailboxes`, docs/methodology.md): the registry
 * entry as it last read it, and the figures it measured. Amounts are decimal strings (token base
 * units), times are seconds (chain) or milliseconds (samples) as named.
 */
export interface MailboxReport {
  address: string;
  peerId: string;
  multiaddrs: string[];
  status: number;
  stake: string;
  /** The effective price now. */
  pricePerQuery: string;
  pricePerMessage: string;
  /** An announced price and when it applies (chain seconds). */
  pendingPrice: { pricePerQuery: string; pricePerMessage: string; effectiveAt: number } | null;
  registeredAt: number;
  withdrawableAt: number;
  /** When the prober first saw the mailbox (ms). */
  firstSeen: number;
  /** Probes over the last 7 days (what the score's availability uses). */
  probesOk: number;
  probesFailed: number;
  uptime24h: number | null;
  uptime7d: number | null;
  uptime30d: number | null;
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  /** Canaries checked over the last 7 days, and how many came back. */
  canariesExpected: number;
  canariesFound: number;
  completeness: number | null;
  availability: number;
  factors: ScoreFactors;
  score: number;
  /** Uptime per hour over the last 24 h (ms, 0..1). */
  sparkline: { at: number; uptime: number }[];
}

/** One raw measurement (`GET /mailboxes/:address/samples`). */
export interface SampleReport {
  mailbox: string;
  /** When it was taken (ms). */
  at: number;
  kind: "probe" | "canary";
  ok: boolean;
  latencyMs: number | null;
  detail: string;
}

/** Every answer of a prober: the report and its EIP-191 signature over the report's JSON text. */
export interface SignedReport<T> {
  signer: string;
  signature: `0x${string}`;
  report: T;
}
