import type { ScoreFactors } from "./score.js";

/** How many samples each figure of a {@link MailboxReport} rests on. */
export interface FigureSamples {
  /** Probes over the last 24 h (`uptime24h`; latency uses the successful ones among them). */
  probes24h: number;
  /** Probes over the last 7 days (`uptime7d`, `availability`). */
  probes7d: number;
  /** Probes over the last 30 days (`uptime30d`). */
  probes30d: number;
  /** Canaries checked over the last 7 days (`completeness`). */
  canaries7d: number;
}

/** What a mailbox last answered on `/postbox/info/1` (a successful probe). */
export interface MailboxInfo {
  /** The node's software version. */
  version: string;
  /** How long it keeps envelopes. */
  retentionSeconds: number;
  /** Most envelopes per page. */
  maxPageSize: number;
  /** Most content topics per query. */
  maxContentTopics: number;
  /** Largest envelope it accepts. */
  maxEnvelopeBytes: number;
  /** Envelopes it holds. */
  envelopes: number;
  /** Serves without payment. */
  free: boolean;
  /** The chain its prices and channels live on (0: none). */
  chainId: number;
  /** When it answered (ms). */
  at: number;
}

/**
 * What the operator says about the mailbox: the JSON document its registry entry's `metadataURI`
 * names (docs/methodology.md, "The mailbox's card"). Plain text only, never markup: render every
 * field as text. `terms` and `icon` may be `https:` URLs.
 */
export interface MailboxMetadata {
  name?: string;
  description?: string;
  contact?: string;
  terms?: string;
  icon?: string;
}

/**
 * The disputes against a mailbox, from the Disputes contract's events (docs/contracts.md,
 * *Disputes*; docs/methodology.md, *Disputes*). Counts cover every dispute since the deployment.
 */
export interface DisputeFigures {
  /** Custody disputes neither answered nor finalised yet (a passed deadline included). */
  open: number;
  /** Custody disputes the mailbox answered: it proved it kept the envelope. */
  answered: number;
  /** Disputes upheld: custody ones left unanswered, and omissions proved. */
  upheld: number;
  /** SNT slashed by the upheld disputes, in total (token base units, decimal). */
  slashed: string;
  /**
   * When each dispute upheld over the last 365 days was upheld (ms, the block's time), newest
   * first, at most 100: what the score's disputes factor is computed from.
   */
  upheldAt: number[];
  /** The latest upheld dispute's time (ms), or null. */
  lastUpheldAt: number | null;
}

/**
 * What a prober publishes about one mailbox (`GET /mailboxes`, docs/methodology.md): the registry
 * entry as it last read it, and the figures it measured. Amounts are decimal strings (token base
 * units), times are seconds (chain) or milliseconds (samples) as named.
 *
 * Each figure comes with the number of samples it rests on (`samples`); below
 * `FIGURE_MIN_SAMPLES` (score.ts) show it as "new", not as a percentage.
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
  /** The registry entry's metadata URI, as registered ("" for none). */
  metadataURI: string;
  /** When the prober first saw the mailbox (ms). */
  firstSeen: number;
  /** When the prober first probed it (ms; null: not yet): where every uptime window starts at the earliest. */
  probedSince: number | null;
  /** Probes over the last 7 days (what the score's availability uses). */
  probesOk: number;
  probesFailed: number;
  /** Samples behind each figure. */
  samples: FigureSamples;
  /**
   * Successful probes ÷ probes over the last 24 h — or over the time since `probedSince` when the
   * mailbox has been probed for less than that. Null before the first probe.
   */
  uptime24h: number | null;
  /**
   * The same over the last 7 days, or since `probedSince` when that is more recent. **Null until
   * the mailbox has been probed for more than 24 h**: before that it would only repeat `uptime24h`
   * and read as a week's record. Once shown, it covers `now − probedSince` when that is shorter
   * than 7 days: say so ("since 3 d").
   */
  uptime7d: number | null;
  /** The same over 30 days: null until the mailbox has been probed for more than 7 days. */
  uptime30d: number | null;
  /** Median and 90th percentile (nearest rank) latency of successful probes over 24 h (ms). */
  latencyP50Ms: number | null;
  latencyP90Ms: number | null;
  /** Canaries checked over the last 7 days, and how many came back. */
  canariesExpected: number;
  canariesFound: number;
  completeness: number | null;
  availability: number;
  factors: ScoreFactors;
  score: number;
  /**
   * Disputes against it (absent from a prober that predates them, or that does not know the
   * Disputes contract): what the score's `disputes` factor counts.
   */
  disputes?: DisputeFigures;
  /** Uptime per hour over the last 24 h (ms, 0..1). */
  sparkline: { at: number; uptime: number }[];
  /** Its last successful `/postbox/info/1` answer (null: none yet). */
  info: MailboxInfo | null;
  /** Its metadata document (null: no `metadataURI`, or it could not be read: see `metadataError`). */
  metadata: MailboxMetadata | null;
  /** Why `metadataURI` could not be read (one line), or null. */
  metadataError: string | null;
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
