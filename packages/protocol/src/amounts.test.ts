import { parseEther } from "viem";
import { describe, expect, it } from "vitest";
import { AmountError, formatDuration, formatSnt, parseDuration, parseSnt } from "./amounts.js";

describe("formatSnt", () => {
  it("names the unit, groups thousands and drops trailing zeros", () => {
    expect(formatSnt(parseEther("0.01"))).toBe("0.01 SNT");
    expect(formatSnt(parseEther("1000"))).toBe("1,000 SNT");
    expect(formatSnt(parseEther("1234567.5"))).toBe("1,234,567.5 SNT");
    expect(formatSnt(0n)).toBe("0 SNT");
    expect(formatSnt("20000000000000000")).toBe("0.02 SNT");
    expect(formatSnt(parseEther("0.0002"), { unit: false })).toBe("0.0002");
    expect(formatSnt(parseEther("1000"), { group: false, unit: false })).toBe("1000");
  });

  it("never shows a positive amount as zero, and cuts rather than rounds", () => {
    expect(formatSnt(1n)).toBe("< 0.0001 SNT");
    expect(formatSnt(parseEther("0.00019999"))).toBe("0.0001 SNT");
    expect(formatSnt(parseEther("0.123456789"), { digits: 6 })).toBe("0.123456 SNT");
    expect(formatSnt(-parseEther("1.5"))).toBe("-1.5 SNT");
  });
});

describe("parseSnt", () => {
  const reason = (input: string, options?: Parameters<typeof parseSnt>[1]) => {
    try {
      parseSnt(input, options);
    } catch (e) {
      expect(e).toBeInstanceOf(AmountError);
      return { reason: (e as AmountError).reason, message: (e as AmountError).shortMessage };
    }
    throw new Error(`accepted ${input}`);
  };

  it("reads whole and decimal amounts exactly", () => {
    expect(parseSnt("1500")).toBe(parseEther("1500"));
    expect(parseSnt(" 1.5 ")).toBe(parseEther("1.5"));
    expect(parseSnt(".5")).toBe(parseEther("0.5"));
    expect(parseSnt("2.")).toBe(parseEther("2"));
    expect(parseSnt("0.000000000000000001")).toBe(1n);
  });

  it("refuses what a person mistypes, with words that say how to fix it", () => {
    expect(reason("")).toEqual({ reason: "empty", message: "Enter an amount." });
    expect(reason("1,500").message).toContain("for example 1500");
    expect(reason("1,5").message).toContain("for example 1.5");
    expect(reason("abc").reason).toBe("format");
    expect(reason("1.2.3").reason).toBe("format");
    expect(reason("-1").reason).toBe("format");
    expect(reason(".").reason).toBe("format");
    expect(reason("1e3").reason).toBe("format");
    expect(reason("0.0000000000000000001").reason).toBe("decimals");
    expect(reason("0", { positive: true }).reason).toBe("zero");
  });

  it("checks bounds and names them", () => {
    const min = { amount: parseEther("1000"), name: "the minimum stake" };
    expect(reason("999.9", { min })).toEqual({
      reason: "too small",
      message: "The minimum stake is 1,000 SNT.",
    });
    const max = { amount: parseEther("5"), name: "your balance" };
    expect(reason("5.01", { max })).toEqual({
      reason: "too large",
      message: "That is more than your balance (5 SNT).",
    });
    expect(parseSnt("5", { max, min: { amount: 1n, name: "x" } })).toBe(parseEther("5"));
  });
});

describe("formatDuration", () => {
  it("uses the two largest units", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(200)).toBe("3 min 20 s");
    expect(formatDuration(4 * 3600 + 300)).toBe("4 h 5 min");
    expect(formatDuration(2 * 86_400 + 3 * 3600 + 59)).toBe("2 d 3 h");
    expect(formatDuration(-5)).toBe("0 s");
  });
});

describe("parseDuration", () => {
  it("reads seconds, units and numbers; refuses anything else", () => {
    expect(parseDuration("30d")).toBe(2_592_000);
    expect(parseDuration("2w")).toBe(1_209_600);
    expect(parseDuration(" 90m ")).toBe(5_400);
    expect(parseDuration("1.5h")).toBe(5_400);
    expect(parseDuration("45")).toBe(45);
    expect(parseDuration(15)).toBe(15);
    expect(() => parseDuration("1y")).toThrow(/not a duration/);
    expect(() => parseDuration("-5s")).toThrow(/not a duration/);
  });
});
