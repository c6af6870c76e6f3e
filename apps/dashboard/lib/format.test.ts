import { describe, expect, it } from "vitest";
import { countdown, formatMs, formatPct, shortAddress, statusWord } from "./format";

describe("dashboard formatting", () => {
  it("formats shares, latencies and unknowns", () => {
    expect(formatPct(1)).toBe("100.0 %");
    expect(formatPct(0.4567)).toBe("45.7 %");
    expect(formatPct(null)).toBe("—");
    expect(formatPct(Number.NaN)).toBe("—");
    expect(formatMs(33.6)).toBe("34 ms");
    expect(formatMs(null)).toBe("—");
  });

  it("counts down to a time on the chain's clock", () => {
    expect(countdown(1_000, 880)).toBe("in 2 min 0 s");
    expect(countdown(1_000, 1_000)).toBe("now");
  });

  it("shortens addresses and names registry statuses", () => {
    expect(shortAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).toBe("0x7099…79c8");
    expect([0, 1, 2, 3, 9].map(statusWord)).toEqual([
      "not registered",
      "active",
      "exiting",
      "jailed",
      "status 9",
    ]);
  });
});
