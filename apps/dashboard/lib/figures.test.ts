import { describe, expect, it } from "vitest";
import { FIGURE_MIN_SAMPLES, figuresOf, figureText, scoreLabel, scoreTone } from "./figures";
import { mailboxFixture } from "./fixtures";
import type { MailboxFigures } from "./prober";

/** A mailbox as a young prober report shows it: nothing measured yet, the score on its priors. */
const mailbox = (over: Partial<MailboxFigures>) =>
  mailboxFixture({
    uptime24h: null,
    uptime7d: null,
    uptime30d: null,
    latencyP50Ms: null,
    latencyP90Ms: null,
    factors: { availability: 0.9, latency: 0.5, completeness: 0.9, stake: 0.3, price: 1 },
    score: 0.135,
    ...over,
  });

const samples = (probes: number, canaries: number) => ({
  probes24h: probes,
  probes7d: probes,
  probes30d: probes,
  canaries7d: canaries,
});

describe("figures read as what they mean", () => {
  it("shows each figure with its sample count, or new below the minimum", () => {
    expect(figureText(1, 42, "probes")).toBe("100.0 % · 42 probes");
    expect(figureText(1, FIGURE_MIN_SAMPLES - 1, "probes")).toBe(`new · ${FIGURE_MIN_SAMPLES - 1} probes`);
    expect(figureText(null, 0, "canaries")).toBe("new · 0 canaries");
    expect(figureText(1, 1, "canaries")).toBe("new · 1 canary");
    // A prober that sends no counts: the figure alone.
    expect(figureText(0.995, undefined, "probes")).toBe("99.5 %");
    const f = figuresOf(
      mailbox({ uptime24h: 1, uptime7d: 1, uptime30d: 1, completeness: 1, samples: samples(42, 12) }),
    );
    expect(f).toMatchObject({
      uptime24h: "100.0 % · 42 probes",
      uptime7d: "100.0 % · 42 probes",
      uptime30d: "100.0 % · 42 probes",
      canaries: "100.0 % · 12 canaries",
    });
  });

  it("says when a window is not covered yet, or only partly", () => {
    const now = 1_000 * 86_400_000;
    const young = mailbox({
      uptime24h: 1,
      uptime7d: null,
      uptime30d: null,
      probedSince: now - 3 * 3_600_000,
      samples: samples(42, 0),
    });
    expect(figuresOf(young, now)).toMatchObject({
      uptime24h: "100.0 % · 42 probes · since 3 h 0 min",
      uptime7d: "— · after 1 d of probes",
      uptime30d: "— · after 7 d of probes",
    });
    const older = mailbox({
      uptime24h: 1,
      uptime7d: 0.995,
      uptime30d: null,
      probedSince: now - 2 * 86_400_000,
      samples: samples(600, 20),
    });
    expect(figuresOf(older, now)).toMatchObject({
      uptime24h: "100.0 % · 600 probes",
      uptime7d: "99.5 % · 600 probes · since 2 d 0 h",
      uptime30d: "— · after 7 d of probes",
    });
    // The score's colour uses what was watched when there is no 7-day figure yet.
    expect(scoreTone(young)).toBe("good");
  });

  it("never colours a perfect mailbox as bad, whatever its score; a new one is neutral", () => {
    // Issue #17 point 16: 100 % uptime, every canary back, score 0.135 shown in red.
    const perfect = mailbox({ uptime7d: 1, completeness: 1, score: 0.135, samples: samples(42, 12) });
    expect(scoreTone(perfect)).toBe("good");
    expect(scoreLabel(perfect)).toMatchObject({ text: "0.135", tone: "good" });
    const young = mailbox({ uptime7d: 1, completeness: null, score: 0.135, samples: samples(3, 0) });
    expect(scoreLabel(young)).toMatchObject({ text: "new", tone: "new" });
    // From a prober that sends no counts, the probes the score used decide.
    const uncounted = { samples: undefined as never };
    expect(scoreTone(mailbox({ ...uncounted, uptime7d: 1, probesOk: 3 }))).toBe("new");
    expect(scoreTone(mailbox({ ...uncounted, uptime7d: 1, probesOk: 50 }))).toBe("good");
    // A slow answer is something held against it, a modest stake or price is not.
    expect(scoreTone(mailbox({ uptime7d: 1, latencyP50Ms: 700, samples: samples(42, 0) }))).toBe("fair");
    expect(scoreTone(mailbox({ uptime7d: 1, latencyP50Ms: 2_000, samples: samples(42, 0) }))).toBe("poor");
  });

  it("during the first 24 h of probes (no 7-day uptime yet) the 24-hour uptime and its probes decide", () => {
    // The prober publishes uptime7d only after 24 h of probes: until then a mailbox is new for
    // its first FIGURE_MIN_SAMPLES probes, not for its whole first day.
    const now = 1_000 * 86_400_000;
    const firstDay = (uptime24h: number, probes24h: number, over: Partial<MailboxFigures> = {}) =>
      mailbox({
        uptime24h,
        uptime7d: null,
        probedSince: now - 2 * 3_600_000,
        latencyP50Ms: 90,
        score: 0.76,
        samples: { probes24h, probes7d: probes24h, probes30d: probes24h, canaries7d: 4 },
        ...over,
      });
    expect(scoreLabel(firstDay(1, FIGURE_MIN_SAMPLES))).toMatchObject({ text: "0.760", tone: "good" });
    expect(scoreLabel(firstDay(1, FIGURE_MIN_SAMPLES - 1))).toMatchObject({ text: "new", tone: "new" });
    // What the first hours show is held against it as well.
    expect(scoreTone(firstDay(0.97, 120))).toBe("fair");
    expect(scoreTone(firstDay(0.5, 120))).toBe("poor");
    expect(scoreTone(firstDay(1, 120, { latencyP50Ms: 2_000 }))).toBe("poor");
    // Once the 7-day uptime is published, it and its probes decide.
    const week = mailbox({
      uptime24h: 1,
      uptime7d: 0.9,
      samples: { probes24h: 1_400, probes7d: 9_000, probes30d: 9_000, canaries7d: 300 },
    });
    expect(scoreTone(week)).toBe("poor");
  });

  it("colours by the weaker of uptime and canaries once they rest on enough samples", () => {
    expect(scoreTone(mailbox({ uptime7d: 0.97, completeness: 1, samples: samples(100, 20) }))).toBe("fair");
    expect(scoreTone(mailbox({ uptime7d: 1, completeness: 0.5, samples: samples(100, 20) }))).toBe("poor");
    // Too few canaries to judge: uptime alone.
    expect(scoreTone(mailbox({ uptime7d: 1, completeness: 0, samples: samples(100, 2) }))).toBe("good");
    expect(scoreTone(mailbox({ uptime7d: 0.5, samples: samples(100, 0) }))).toBe("poor");
  });
});
