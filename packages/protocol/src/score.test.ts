import { describe, expect, it } from "vitest";
import { PRICE_REFERENCE_PAGE } from "./amounts.js";
import { pageCost } from "./price.js";
import {
  combineScore,
  DEFAULT_SCORE_WEIGHTS,
  DISPUTE_HALF_LIFE_MS,
  DISPUTE_MEMORY_MS,
  DISPUTE_PENALTY,
  disputesFactor,
  FACTOR_FLOOR,
  FIGURE_MIN_SAMPLES,
  LATENCY_GOOD_MS,
  LATENCY_HALF_MS,
  latencyFactor,
  medianAmount,
  pickMailboxes,
  priceFactor,
  SCORE_PRIOR,
  type ScoreInputs,
  scoreFactors,
  selectionChances,
  selectionPool,
  stakeFactor,
  withPrior,
} from "./score.js";

const base: ScoreInputs = {
  probesOk: 0,
  probesFailed: 0,
  canariesExpected: 0,
  canariesFound: 0,
  stake: 100n,
  minStake: 10n,
  pageCost: 10n,
  medianPageCost: 10n,
};

/** A seeded generator (Park–Miller), so a draw's frequencies are the same on every run. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
}

const ether = (x: string) => BigInt(Math.round(Number(x) * 1e6)) * 10n ** 12n;

describe("mailbox score", () => {
  it("starts a new mailbox at 0.9 on availability and completeness (Beta(9, 1) prior), and at 1 on an unmeasured latency", () => {
    const f = scoreFactors(base);
    expect(f.availability).toBeCloseTo(0.9);
    expect(f.completeness).toBeCloseTo(0.9);
    expect(f.latency).toBe(1);
    expect(f.stake).toBe(1);
    expect(f.price).toBe(1);
    expect(withPrior(90, 10)).toBeCloseTo(99 / 110);
    expect(FIGURE_MIN_SAMPLES).toBe(SCORE_PRIOR.successes + SCORE_PRIOR.failures);
  });

  // Issue #17: on `npm start`'s devnet a mailbox up 100 % with every canary returned scored 0.135
  // (stake 2 × the minimum counted 0.67, an unmeasured or dialled latency 0.5, a 1.5 × median
  // price 0.67, on top of the priors). The devnet's own figures, run through the formula:
  it("does not score the devnet's perfect mailboxes as poor", () => {
    const minStake = 1000n * 10n ** 18n;
    const devnet = [
      { pricePerQuery: ether("0.01"), pricePerMessage: ether("0.0001") },
      { pricePerQuery: ether("0.02"), pricePerMessage: ether("0.00005") },
      { pricePerQuery: ether("0.005"), pricePerMessage: ether("0.0002") },
    ].map((p) => pageCost(p, PRICE_REFERENCE_PAGE));
    const median = medianAmount(devnet);
    const at = (probesOk: number, canaries: number, latencyP50Ms: number | undefined, page: bigint) =>
      combineScore(
        scoreFactors({
          probesOk,
          probesFailed: 0,
          latencyP50Ms,
          canariesExpected: canaries,
          canariesFound: canaries,
          stake: 2n * minStake,
          minStake,
          pageCost: page,
          medianPageCost: median,
        }),
      );
    for (const page of devnet) {
      // Just started: two probes, the first one including the dial, no canary checked yet.
      expect(at(2, 0, 330, page)).toBeGreaterThan(0.6);
      // A few minutes in.
      expect(at(13, 4, 95, page)).toBeGreaterThan(0.75);
      // A week of perfect service.
      expect(at(10_000, 2_000, 95, page)).toBeGreaterThan(0.95);
    }
  });

  it("counts stake from 0.9 at the minimum to 1 at ten times it, each doubling alike", () => {
    expect(stakeFactor(10n, 10n)).toBeCloseTo(0.9);
    expect(stakeFactor(20n, 10n)).toBeCloseTo(0.9 + 0.1 * Math.log10(2));
    expect(stakeFactor(40n, 10n) - stakeFactor(20n, 10n)).toBeCloseTo(
      stakeFactor(20n, 10n) - stakeFactor(10n, 10n),
    );
    expect(stakeFactor(100n, 10n)).toBe(1);
    expect(stakeFactor(10n ** 30n, 10n)).toBe(1);
    // Below the minimum (slashed, or the minimum was raised): in proportion.
    expect(stakeFactor(5n, 10n)).toBeCloseTo(0.45);
    expect(stakeFactor(0n, 10n)).toBe(FACTOR_FLOOR);
    // No minimum (a mailbox configured outside any registry).
    expect(stakeFactor(0n, 0n)).toBe(1);
  });

  it("does not hold latency under half a second against a mailbox; above it, twice as slow counts half", () => {
    expect(latencyFactor(undefined)).toBe(1);
    expect(latencyFactor(0)).toBe(1);
    expect(latencyFactor(330)).toBe(1);
    expect(latencyFactor(LATENCY_GOOD_MS)).toBe(1);
    expect(latencyFactor(LATENCY_HALF_MS)).toBeCloseTo(0.5);
    expect(latencyFactor(2 * LATENCY_HALF_MS)).toBeCloseTo(0.25);
    expect(latencyFactor(1e9)).toBe(FACTOR_FLOOR);
  });

  it("counts price against the median page: at or below it 1, twice it 0.5, free 1", () => {
    expect(priceFactor(10n, 10n)).toBe(1);
    expect(priceFactor(5n, 10n)).toBe(1);
    expect(priceFactor(20n, 10n)).toBe(0.5);
    expect(priceFactor(15n, 10n)).toBeCloseTo(2 / 3);
    expect(priceFactor(0n, 10n)).toBe(1);
  });

  it("falls with failed probes, missed canaries, slow answers, low stake and high prices", () => {
    const well = { ...base, probesOk: 1000, latencyP50Ms: 20, canariesExpected: 50, canariesFound: 50 };
    const good = combineScore(scoreFactors(well));
    const worse = [
      { ...well, probesOk: 500, probesFailed: 500 },
      { ...well, canariesFound: 10 },
      { ...well, latencyP50Ms: 2000 },
      { ...well, pageCost: 40n },
      { ...well, stake: 10n },
    ].map((i) => combineScore(scoreFactors(i)));
    for (const w of worse) expect(w).toBeLessThan(good);
  });

  it("clamps every factor to [0.1, 1]", () => {
    const now = Date.UTC(2026, 0, 1);
    const f = scoreFactors({
      ...base,
      probesFailed: 10_000,
      latencyP50Ms: 1e9,
      canariesExpected: 1e6,
      stake: 0n,
      pageCost: 10n ** 30n,
      upheldDisputesAt: new Array(20).fill(now),
      now,
    });
    expect(Object.keys(f)).toHaveLength(6);
    for (const v of Object.values(f)) expect(v).toBe(FACTOR_FLOOR);
    const g = scoreFactors({
      ...base,
      probesOk: 1e9,
      latencyP50Ms: 0,
      stake: 10n ** 30n,
      pageCost: 1n,
      medianPageCost: 10n ** 20n,
    });
    for (const v of Object.values(g)) expect(v).toBeLessThanOrEqual(1);
  });

  it("halves the score for a fresh upheld dispute, and forgives it by half every 30 days", () => {
    const now = Date.UTC(2026, 6, 1);
    const DAY = 86_400_000;
    expect(DISPUTE_PENALTY).toBe(0.5);
    expect(DISPUTE_HALF_LIFE_MS).toBe(30 * DAY);
    expect(disputesFactor([], now)).toBe(1);
    expect(disputesFactor(undefined, now)).toBe(1);
    expect(disputesFactor([now], now)).toBe(0.5);
    expect(disputesFactor([now - 30 * DAY], now)).toBeCloseTo(0.75);
    expect(disputesFactor([now - 60 * DAY], now)).toBeCloseTo(0.875);
    expect(disputesFactor([now - 90 * DAY], now)).toBeCloseTo(0.9375);
    // Back in the draw's pool (within 80 % of an otherwise equal best) after log2(2.5) half-lives: ~40 days.
    expect(disputesFactor([now - 39 * DAY], now)).toBeLessThan(0.8);
    expect(disputesFactor([now - 40 * DAY], now)).toBeGreaterThan(0.8);
    // Each upheld dispute counts: two fresh ones a quarter, many at most down to the floor.
    expect(disputesFactor([now, now], now)).toBe(0.25);
    expect(disputesFactor([now, now - 30 * DAY], now)).toBeCloseTo(0.5 * 0.75);
    expect(disputesFactor(new Array(10).fill(now), now)).toBe(FACTOR_FLOOR);
    // A year on it is forgotten; a time ahead of the clock (the chain's) counts as fresh.
    expect(disputesFactor([now - DISPUTE_MEMORY_MS - 1], now)).toBe(1);
    expect(disputesFactor([now + 60_000], now)).toBe(0.5);
  });

  it("moves the score by the disputes factor and nothing else, and leaves a mailbox without disputes as it was", () => {
    const now = Date.UTC(2026, 6, 1);
    const well: ScoreInputs = {
      ...base,
      probesOk: 1000,
      latencyP50Ms: 20,
      canariesExpected: 50,
      canariesFound: 50,
      now,
    };
    const clean = scoreFactors(well);
    expect(clean.disputes).toBe(1);
    const disputed = scoreFactors({ ...well, upheldDisputesAt: [now - 10_000] });
    expect({ ...disputed, disputes: 1 }).toEqual(clean);
    expect(combineScore(disputed)).toBeCloseTo(combineScore(clean) * disputed.disputes!);
    expect(combineScore(disputed)).toBeLessThan(combineScore(clean));
    expect(DEFAULT_SCORE_WEIGHTS.disputes).toBe(1);
    // A report from a prober that predates the factor: it counts as 1.
    const { disputes: _, ...old } = clean;
    expect(combineScore(old)).toBe(combineScore(clean));
    // Without `now`, the ages are taken at the current time.
    expect(scoreFactors({ ...base, upheldDisputesAt: [Date.now()] }).disputes).toBeCloseTo(0.5, 3);
  });

  it("takes the median of amounts", () => {
    expect(medianAmount([])).toBe(0n);
    expect(medianAmount([5n, 1n, 3n])).toBe(3n);
    expect(medianAmount([4n, 1n, 3n, 2n])).toBe(2n);
  });
});

describe("choosing mailboxes", () => {
  it("lets mailboxes of nearly equal score share the draw (issue #17: 0.486 and 0.481 were 100 % and 0 %)", () => {
    const [a, b] = selectionChances([0.486, 0.481]);
    expect(a).toBeCloseTo(0.486 / 0.967);
    expect(b).toBeCloseTo(0.481 / 0.967);
  });

  it("draws from the best quarter and from every mailbox within 80 % of the best, in proportion to score", () => {
    const scores = [0.9, 0.1, 0.5, 0.8, 0.2, 0.3, 0.4, 0.75, 0.71];
    // The best quarter (3 of 9) is the floor; 0.75 is also within 80 % of 0.9 (0.72), 0.71 is not.
    expect(selectionPool(scores).sort()).toEqual([0, 3, 7]);
    const chances = selectionChances(scores);
    expect(chances[0]).toBeCloseTo(0.9 / 2.45);
    expect(chances[7]).toBeCloseTo(0.75 / 2.45);
    expect(chances[8]).toBe(0);
    expect(chances.reduce((a, c) => a + c, 0)).toBeCloseTo(1);
    // Far apart: the best quarter alone.
    expect(selectionChances([0.9, 0.3, 0.2, 0.1])).toEqual([1, 0, 0, 0]);
    expect(selectionChances([])).toEqual([]);
    expect(selectionChances([0, 0])).toEqual([0.5, 0.5]);
  });

  it("gives k places: chances sum to k, none above 1, the remainder shared again", () => {
    const scores = [0.95, 0.2, 0.9, 0.85, 0.1];
    const two = selectionChances(scores, 2);
    expect(two.reduce((a, c) => a + c, 0)).toBeCloseTo(2);
    for (const c of two) expect(c).toBeLessThanOrEqual(1);
    // One far ahead takes its place for sure; the rest of the best quarter (3 of 12) share the second.
    const capped = selectionChances([1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 2);
    expect(capped.slice(0, 4)).toEqual([1, 0.5, 0.5, 0]);
    expect(selectionChances([0.5, 0.4], 3)).toEqual([1, 1]);
    expect(selectionChances([0.5, 0.4], 0)).toEqual([0, 0]);
  });

  it("draws each mailbox as often as its chance says, for one place and for several", () => {
    const cases: [number[], number][] = [
      [[0.486, 0.481], 1],
      [[0.9, 0.1, 0.5, 0.8, 0.2, 0.3, 0.4, 0.75, 0.71], 1],
      [[0.95, 0.2, 0.9, 0.85, 0.1, 0.8, 0.92], 2],
      [[1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 2],
      [[0.9, 0.88, 0.86, 0.84, 0.3], 3],
    ];
    const random = seeded(7);
    const draws = 20_000;
    for (const [scores, k] of cases) {
      const counts = new Array<number>(scores.length).fill(0);
      for (let n = 0; n < draws; n++) {
        const picked = pickMailboxes(scores, k, random);
        expect(picked).toHaveLength(Math.min(k, scores.length));
        expect(new Set(picked).size).toBe(picked.length);
        for (const i of picked) counts[i]!++;
      }
      const chances = selectionChances(scores, k);
      // Within 4 standard deviations of a binomial at 20,000 draws (≤ 0.014).
      for (const [i, c] of counts.entries()) expect(Math.abs(c / draws - chances[i]!)).toBeLessThan(0.015);
    }
  });

  it("draws nothing for no place or no candidate", () => {
    expect(pickMailboxes([0.5, 0.4], 0)).toEqual([]);
    expect(pickMailboxes([], 2)).toEqual([]);
    expect(pickMailboxes([0.5, 0.4], 5).sort()).toEqual([0, 1]);
  });
});
