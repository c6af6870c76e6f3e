/**
 * Mailbox reputation: the one scoring formula the prober publishes, the client ranks by and the
 * dashboard explains, and the rule the client draws mailboxes by (docs/methodology.md gives the
 * reasoning). Every factor lies in [0.1, 1]; 1 means "nothing to hold against the mailbox".
 *
 *   score = availability^a · latency^b · completeness^c · stake^d · price^e · disputes^f
 */

/** Beta prior on availability and completeness: a new mailbox starts at 9 / 10 = 0.9. */
export const SCORE_PRIOR = { successes: 9, failures: 1 } as const;
/**
 * Fewest samples behind a figure (uptime, latency, canaries returned) for it to be shown as a
 * figure; below it, it reads "new". 10 = the prior's weight (9 + 1): from there on the mailbox's
 * own samples weigh at least as much in its score as the assumption it started on.
 */
export const FIGURE_MIN_SAMPLES = SCORE_PRIOR.successes + SCORE_PRIOR.failures;
/** Up to this median latency (ms, ping + info) the latency factor is 1: nobody notices. */
export const LATENCY_GOOD_MS = 500;
/** Median latency (ms) at which the latency factor is 0.5: above {@link LATENCY_GOOD_MS}, twice as slow counts half. */
export const LATENCY_HALF_MS = 2 * LATENCY_GOOD_MS;
/** The stake factor of a mailbox staking exactly the registry's minimum. */
export const STAKE_FACTOR_AT_MINIMUM = 0.9;
/** Stake, as a multiple of the registry's minimum, at which the stake factor reaches 1. */
export const STAKE_FULL_MULTIPLE = 10;
/** No factor goes below this: one bad figure lowers a mailbox, it does not erase it. */
export const FACTOR_FLOOR = 0.1;
/** What one upheld dispute takes off the score when it is fresh: its disputes factor is 1 − this. */
export const DISPUTE_PENALTY = 0.5;
/** An upheld dispute's penalty halves every this long (ms): 30 days, the default retention. */
export const DISPUTE_HALF_LIFE_MS = 30 * 86_400_000;
/** Upheld disputes older than this (ms) are no longer counted: their penalty is below 0.01 %. */
export const DISPUTE_MEMORY_MS = 365 * 86_400_000;
/**
 * The draw's pool: every mailbox scoring at least this share of the best score (and the best
 * quarter in any case) shares the draw in proportion to its score.
 */
export const SELECTION_RATIO = 0.8;

export interface ScoreWeights {
  availability: number;
  latency: number;
  completeness: number;
  stake: number;
  price: number;
  disputes: number;
}

export const DEFAULT_SCORE_WEIGHTS: ScoreWeights = {
  availability: 2,
  latency: 1,
  completeness: 2,
  stake: 0.5,
  price: 1,
  disputes: 1,
};

export interface ScoreInputs {
  /** Successful and failed liveness probes (ping + info). */
  probesOk: number;
  probesFailed: number;
  /** Median latency of successful probes, ms (undefined: never measured). */
  latencyP50Ms?: number | undefined;
  /** Canaries a query should have returned, and how many it did. */
  canariesExpected: number;
  canariesFound: number;
  stake: bigint;
  minStake: bigint;
  /** Cost of a reference page at this mailbox, and the median among the candidates. */
  pageCost: bigint;
  medianPageCost: bigint;
  /**
   * When each dispute against the mailbox was upheld (ms, the block's time; the prober's report
   * gives them as `disputes.upheldAt`). None or absent: the disputes factor is 1.
   */
  upheldDisputesAt?: readonly number[] | undefined;
  /** The time the disputes' ages are taken at (ms; default `Date.now()`). */
  now?: number | undefined;
}

export interface ScoreFactors {
  availability: number;
  latency: number;
  completeness: number;
  stake: number;
  price: number;
  /**
   * Upheld disputes ({@link disputesFactor}). Optional: a report from a prober that predates it,
   * or a blank candidate, has none, and it then counts as 1.
   */
  disputes?: number;
}

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(FACTOR_FLOOR, x)) : FACTOR_FLOOR);

/** `a / b` as a number, exact enough for any two token amounts (six significant decimals). */
const ratio = (a: bigint, b: bigint) => Number((a * 1_000_000n) / b) / 1_000_000;

/** Posterior mean of a Beta(9, 1) prior after `ok` successes and `failed` failures. */
export function withPrior(ok: number, failed: number): number {
  return (ok + SCORE_PRIOR.successes) / (ok + failed + SCORE_PRIOR.successes + SCORE_PRIOR.failures);
}

/**
 * The latency factor: 1 up to {@link LATENCY_GOOD_MS}, then `LATENCY_GOOD_MS / p50` (1 s: 0.5,
 * 2 s: 0.25). 1 when never measured: no evidence against the mailbox (availability's prior carries
 * the doubt about a new one).
 */
export function latencyFactor(p50Ms: number | undefined): number {
  if (p50Ms === undefined) return 1;
  return p50Ms <= LATENCY_GOOD_MS ? 1 : clamp(LATENCY_GOOD_MS / p50Ms);
}

/**
 * The stake factor: {@link STAKE_FACTOR_AT_MINIMUM} at the registry's minimum, rising by the same
 * step for every doubling up to 1 at {@link STAKE_FULL_MULTIPLE} × the minimum; below the minimum
 * (a slashed stake, a raised minimum) it falls in proportion. 1 when there is no minimum.
 */
export function stakeFactor(stake: bigint, minStake: bigint): number {
  if (minStake <= 0n) return 1;
  const multiple = ratio(stake, minStake);
  if (multiple < 1) return clamp(STAKE_FACTOR_AT_MINIMUM * multiple);
  return clamp(
    STAKE_FACTOR_AT_MINIMUM +
      ((1 - STAKE_FACTOR_AT_MINIMUM) * Math.log(multiple)) / Math.log(STAKE_FULL_MULTIPLE),
  );
}

/** The price factor: `median page cost / this page cost`, at most 1; 1 for a free mailbox. */
export function priceFactor(pageCost: bigint, medianPageCost: bigint): number {
  return pageCost <= 0n ? 1 : clamp(ratio(medianPageCost, pageCost));
}

/**
 * The disputes factor: each dispute upheld against the mailbox (a proof on-chain that it lost or
 * withheld a message it had promised to keep) multiplies it by `1 − DISPUTE_PENALTY · 2^(−age /
 * DISPUTE_HALF_LIFE_MS)` — a fresh one halves the score, one 30 days old takes a quarter, one 90
 * days old 6 % — and those older than {@link DISPUTE_MEMORY_MS} are forgotten. Ages are taken at
 * `now` (ms); a time after `now` (a chain clock ahead of ours) counts as fresh. 1 with none.
 * Open and answered disputes do not count: anyone can open one for a bond, and an answered one
 * proved the mailbox kept the message.
 */
export function disputesFactor(upheldAt: readonly number[] | undefined, now: number): number {
  let f = 1;
  for (const at of upheldAt ?? []) {
    if (!Number.isFinite(at)) continue;
    const age = Math.max(0, now - at);
    if (age > DISPUTE_MEMORY_MS) continue;
    f *= 1 - DISPUTE_PENALTY * 2 ** (-age / DISPUTE_HALF_LIFE_MS);
  }
  return clamp(f);
}

/** The six factors of a mailbox's score, each in [0.1, 1]. */
export function scoreFactors(i: ScoreInputs): ScoreFactors {
  const missed = Math.max(0, i.canariesExpected - i.canariesFound);
  return {
    availability: clamp(withPrior(i.probesOk, i.probesFailed)),
    latency: latencyFactor(i.latencyP50Ms),
    completeness: clamp(withPrior(Math.min(i.canariesFound, i.canariesExpected), missed)),
    stake: stakeFactor(i.stake, i.minStake),
    price: priceFactor(i.pageCost, i.medianPageCost),
    disputes: disputesFactor(i.upheldDisputesAt, i.now ?? Date.now()),
  };
}

/**
 * Combines factors with weights (exponents). A factor missing from `f` (a report from a prober
 * that predates it) counts as 1.
 */
export function combineScore(f: ScoreFactors, w: ScoreWeights = DEFAULT_SCORE_WEIGHTS): number {
  return (
    f.availability ** w.availability *
    f.latency ** w.latency *
    f.completeness ** w.completeness *
    f.stake ** w.stake *
    f.price ** w.price *
    (f.disputes ?? 1) ** w.disputes
  );
}

/** The median of a list of amounts (0 for none). */
export function medianAmount(values: readonly bigint[]): bigint {
  if (values.length === 0) return 0n;
  const s = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2n;
}

const weight = (s: number | undefined) => (s !== undefined && Number.isFinite(s) && s > 0 ? s : 0);

/**
 * The indices that share the draw: the best quarter by score (at least `k`, at least one), and
 * every other candidate scoring at least {@link SELECTION_RATIO} of the best. Best first.
 */
export function selectionPool(scores: readonly number[], k = 1): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => weight(scores[b]) - weight(scores[a]) || a - b);
  if (order.length === 0) return [];
  const floor = Math.max(1, k, Math.ceil(scores.length / 4));
  const bar = SELECTION_RATIO * weight(scores[order[0]!]);
  return order.filter((i, rank) => rank < floor || weight(scores[i]) >= bar);
}

/**
 * Inclusion probabilities of `k` places among `pool`, in proportion to score: `k · s / Σs`, with
 * any candidate that would exceed 1 fixed at 1 and the remaining places shared among the others
 * the same way (all equal when every score is 0). They sum to min(k, pool size).
 */
function inclusion(scores: readonly number[], pool: readonly number[], k: number): Map<number, number> {
  const p = new Map<number, number>();
  let open = [...pool];
  let places = Math.min(k, pool.length);
  while (places > 0 && open.length > 0) {
    const total = open.reduce((a, i) => a + weight(scores[i]), 0);
    const share = (i: number) => (total > 0 ? (places * weight(scores[i])) / total : places / open.length);
    const full = open.filter((i) => share(i) >= 1);
    if (full.length === 0) {
      for (const i of open) p.set(i, share(i));
      break;
    }
    for (const i of full) p.set(i, 1);
    places -= full.length;
    open = open.filter((i) => !full.includes(i));
  }
  for (const i of open) if (!p.has(i)) p.set(i, 0);
  return p;
}

/**
 * The chance each candidate has of being one of the `k` picked by {@link pickMailboxes}: inside
 * the pool ({@link selectionPool}) in proportion to its score (capped at 1, the rest shared
 * again), outside it 0. Order follows `scores`; the chances sum to min(k, pool size).
 */
export function selectionChances(scores: readonly number[], k = 1): number[] {
  const chances = new Array<number>(scores.length).fill(0);
  if (k < 1) return chances;
  for (const [i, p] of inclusion(scores, selectionPool(scores, k), k)) chances[i] = p;
  return chances;
}

/**
 * Draws `k` distinct indices so that each is picked with exactly its {@link selectionChances}:
 * systematic sampling over the pool in a random order (`random` in [0, 1), injectable for tests).
 */
export function pickMailboxes(
  scores: readonly number[],
  k = 1,
  random: () => number = Math.random,
): number[] {
  if (k < 1 || scores.length === 0) return [];
  const pool = selectionPool(scores, k);
  const p = inclusion(scores, pool, k);
  // A random order, so that which candidates are drawn together is random too.
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  // Lay the chances end to end on [0, min(k, pool)) and take the points u, u + 1, …: each lands in
  // exactly one candidate's stretch, and no stretch is longer than 1, so no candidate twice.
  const picked: number[] = [];
  const u = random();
  let end = 0;
  let next = 0;
  const places = Math.min(k, pool.length);
  for (let j = 0; j < pool.length && picked.length < places; j++) {
    end += p.get(pool[j]!)!;
    if (u + next < end) {
      picked.push(pool[j]!);
      next++;
    }
  }
  // Rounding can leave the last point just past the end: take the last stretch not yet taken.
  for (let j = pool.length - 1; picked.length < places && j >= 0; j--)
    if (!picked.includes(pool[j]!)) picked.push(pool[j]!);
  return picked;
}
