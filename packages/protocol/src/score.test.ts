import { describe, expect, it } from "vitest";
import {
  combineScore,
  FACTOR_FLOOR,
  medianAmount,
  pickMailboxes,
  type ScoreInputs,
  scoreFactors,
  selectionChances,
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

describe("mailbox score", () => {
  it("starts a new mailbox near 0.9 availability and completeness (Beta(9, 1) prior)", () => {
    const f = scoreFactors(base);
    expect(f.availability).toBeCloseTo(0.9);
    expect(f.completeness).toBeCloseTo(0.9);
    expect(f.stake).toBe(1);
    expect(f.price).toBe(1);
    expect(withPrior(90, 10)).toBeCloseTo(99 / 110);
  });

  it("falls with failed probes, missed canaries, slow answers, low stake and high prices", () => {
    const good = combineScore(
      scoreFactors({ ...base, probesOk: 1000, latencyP50Ms: 20, canariesExpected: 50, canariesFound: 50 }),
    );
    const down = combineScore(
      scoreFactors({
        ...base,
        probesOk: 500,
        probesFailed: 500,
        latencyP50Ms: 20,
        canariesExpected: 50,
        canariesFound: 50,
      }),
    );
    const dropping = combineScore(
      scoreFactors({ ...base, probesOk: 1000, latencyP50Ms: 20, canariesExpected: 50, canariesFound: 10 }),
    );
    const slow = combineScore(
      scoreFactors({ ...base, probesOk: 1000, latencyP50Ms: 2000, canariesExpected: 50, canariesFound: 50 }),
    );
    const dear = combineScore(
      scoreFactors({
        ...base,
        probesOk: 1000,
        latencyP50Ms: 20,
        canariesExpected: 50,
        canariesFound: 50,
        pageCost: 40n,
      }),
    );
    const thin = combineScore(
      scoreFactors({
        ...base,
        probesOk: 1000,
        latencyP50Ms: 20,
        canariesExpected: 50,
        canariesFound: 50,
        stake: 10n,
      }),
    );
    for (const worse of [down, dropping, slow, dear, thin]) expect(worse).toBeLessThan(good);
  });

  it("clamps every factor to [0.1, 1]", () => {
    const f = scoreFactors({
      ...base,
      probesFailed: 10_000,
      latencyP50Ms: 1e9,
      canariesExpected: 1e6,
      stake: 0n,
      pageCost: 10n ** 30n,
    });
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

  it("gives the best quarter all the chance, in proportion to score", () => {
    const scores = [0.9, 0.1, 0.5, 0.8, 0.2, 0.3, 0.4, 0.7];
    const chances = selectionChances(scores);
    expect(chances.filter((c) => c > 0)).toHaveLength(2);
    expect(chances[0]! + chances[3]!).toBeCloseTo(1);
    expect(chances[0]!).toBeCloseTo(0.9 / 1.7);
    // k = 3 widens the pool to three and each is used with certainty.
    expect(selectionChances(scores, 3).filter((c) => c > 0)).toHaveLength(3);
    expect(selectionChances([])).toEqual([]);
  });

  it("draws k distinct mailboxes from the best quarter, weighted by score", () => {
    const scores = [0.9, 0.1, 0.5, 0.8, 0.2, 0.3, 0.4, 0.7];
    const counts = new Map<number, number>();
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed - 1) / 2147483646;
    };
    for (let i = 0; i < 2000; i++) {
      const [p] = pickMailboxes(scores, 1, random);
      counts.set(p!, (counts.get(p!) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual([0, 3]);
    expect(counts.get(0)! / 2000).toBeCloseTo(0.9 / 1.7, 1);
    const two = pickMailboxes(scores, 2, random);
    expect(new Set(two).size).toBe(2);
  });

  it("takes the median of amounts", () => {
    expect(medianAmount([])).toBe(0n);
    expect(medianAmount([5n, 1n, 3n])).toBe(3n);
    expect(medianAmount([4n, 1n, 3n, 2n])).toBe(2n);
  });
});
