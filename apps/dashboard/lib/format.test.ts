import { describe, expect, it } from "vitest";
import {
  countdown,
  formatDuration,
  formatMs,
  formatPct,
  formatSnt,
  scoreLabel,
  shortAddress,
} from "./format";

describe("dashboard formatting", () => {
  it("formats SNT amounts without trailing zeros, and tiny ones as an upper bound", () => {
    expect(formatSnt(0n)).toBe("0");
    expect(formatSnt(12n * 10n ** 18n)).toBe("12");
    expect(formatSnt(15n * 10n ** 15n)).toBe("0.015");
    expect(formatSnt(22_500_000_000_000_000n)).toBe("0.0225");
    expect(formatSnt(123_456_789n * 10n ** 10n)).toBe("1.2345");
    expect(formatSnt(1n)).toBe("< 0.0001");
    expect(formatSnt("2000000000000000000000", 0)).toBe("2000");
  });

  it("formats shares, latencies and unknowns", () => {
    expect(formatPct(1)).toBe("100.0%");
    expect(formatPct(0.4567)).toBe("45.7%");
    expect(formatPct(null)).toBe("—");
    expect(formatPct(Number.NaN)).toBe("—");
    expect(formatMs(33.6)).toBe("34 ms");
    expect(formatMs(null)).toBe("—");
  });

  it("counts down to a time on the chain's clock", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(3 * 3600 + 60 * 5)).toBe("3 h 5 min");
    expect(formatDuration(2 * 86_400 + 3 * 3600)).toBe("2 d 3 h");
    expect(formatDuration(-5)).toBe("0 s");
    expect(countdown(1_000, 880)).toBe("in 2 min 0 s");
    expect(countdown(1_000, 1_000)).toBe("now");
  });

  it("labels scores and shortens addresses", () => {
    expect(scoreLabel(0.535)).toEqual({ text: "0.535", tone: "good" });
    expect(scoreLabel(0.3).tone).toBe("fair");
    expect(scoreLabel(0.05).tone).toBe("poor");
    expect(shortAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).toBe("0x7099…79c8");
  });
});
