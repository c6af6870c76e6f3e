/**
 * Mailbox reputation: the one scoring formula the prober publishes, the client ranks by and the
 * dashboard explains (docs/methodology.md gives the reasoning). Every factor lies in [0.1, 1].
 *
 *   score = availability^a · latency^b · completeness^c · stake^d · price^e
 */

/** Beta prior on availability and completeness: a new mailbox starts at 9 / 10 = 0.9. */
export const SCORE_PRIOR = { successes: 9, failures: 1 } as const;
/** Latency at which the latency factor is 0.5 (ms, p50 of successful probes). */
export const LATENCY_HALF_MS = 250;
/** Stake, as a multiple of the registry's minimum, at which the stake factor reaches 1. */
export const STAKE_FULL_MULTIPLE = 10;
/** No factor goes below this: one bad figure lowers a mailbox, it does not erase it. */
export const FACTOR_FLOOR = 0.1;

export interface ScoreWeights {
  availability: number;
  latency: number;
  completeness: number;
  stake: number;
  price: number;
}

export const DEFAULT_SCORE_WEIGHTS: ScoreWeights = {
  availability: 2,
  latency: 1,
  completeness: 2,
  stake: 0.5,
  price: 1,
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
}

export interface ScoreFactors {
  availability: number;
  latency: number;
  completeness: number;
  stake: number;
  price: number;
}

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(FACTOR_FLOOR, x)) : FACTOR_FLOOR);

/** Posterior mean of a Beta(9, 1) prior after `ok` successes and `failed` failures. */
export function withPrior(ok: number, failed: number): number {
  return (ok + SCORE_PRIOR.successes) / (ok + failed + SCORE_PRIOR.successes + SCORE_PRIOR.failures);
}

/** The five factors of a mailbox's score, each in [0.1, 1]. */
export function scoreFactors(i: ScoreInputs): ScoreFactors {
  const missed = Math.max(0, i.canariesExpected - i.canariesFound);
  const stakeRatio =
    i.minStake > 0n ? Number((i.stake * 1000n) / i.minStake) / 1000 / STAKE_FULL_MULTIPLE : 1;
  return {
    availability: clamp(withPrior(i.probesOk, i.probesFailed)),
    latency: i.latencyP50Ms === undefined ? 0.5 : clamp(LATENCY_HALF_MS / (LATENCY_HALF_MS + i.latencyP50Ms)),
    completeness: clamp(withPrior(Math.min(i.canariesFound, i.canariesExpected), missed)),
    stake: clamp(Math.sqrt(stakeRatio)),
    price: i.pageCost === 0n ? 1 : clamp(Number((i.medianPageCost * 1_000_000n) / i.pageCost) / 1_000_000),
  };
}

/** Combines factors with weights (exponents). */
export function combineScore(f: ScoreFactors, w: ScoreWeights = DEFAULT_SCORE_WEIGHTS): number {
  return (
    f.availability ** w.availability *
    f.latency ** w.latency *
    f.completeness ** w.completeness *
    f.stake ** w.stake *
    f.price ** w.price
  );
}

/** The median of a list of amounts (0 for none). */
export function medianAmount(values: readonly bigint[]): bigint {
  if (values.length === 0) return 0n;
  const s = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2n;
}

/**
 * The chance each candidate has of being picked: the best quarter (at least `k`, at least one) by
 * score share the draw in proportion to their scores; the rest get 0. Order follows `scores`.
 */
export function selectionChances(scores: readonly number[], k = 1): number[] {
  if (scores.length === 0) return [];
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const pool = Math.min(scores.length, Math.max(k, Math.ceil(scores.length / 4)));
  const best = order.slice(0, pool);
  const total = best.reduce((a, [s]) => a + s, 0);
  const chances = new Array<number>(scores.length).fill(0);
  for (const [s, i] of best) chances[i] = total > 0 ? Math.min(1, (s / total) * Math.min(k, pool)) : 1 / pool;
  return chances;
}

/**
 * Draws `k` distinct indices from the best quarter, each draw weighted by score (`random` in
 * [0, 1), injectable for tests).
 */
export function pickMailboxes(
  scores: readonly number[],
  k = 1,
  random: () => number = Math.random,
): number[] {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
  const pool = order.slice(0, Math.min(scores.length, Math.max(k, Math.ceil(scores.length / 4))));
  const picked: number[] = [];
  while (picked.length < k && pool.length > 0) {
    const total = pool.reduce((a, [s]) => a + s, 0);
    let r = random() * total;
    let j = 0;
    while (j < pool.length - 1 && r >= pool[j]![0]) {
      r -= pool[j]![0];
      j++;
    }
    picked.push(pool[j]![1]);
    pool.splice(j, 1);
  }
  return picked;
}
