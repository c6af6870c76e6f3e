import { describe, expect, it } from "vitest";
import { checkAddress, checkAmount, checkDays, checkMultiaddrs, checkPeerId, checkPercent } from "./amount";

const SNT = 10n ** 18n;
const ME = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

describe("what people type into amount fields", () => {
  it("refuses the inputs that crashed the dashboard, with a sentence to show", () => {
    // Issue #17 point 9: stake "1,500", top-up "abc", deposit "1,5".
    expect(checkAmount("1,500")).toEqual({
      ok: false,
      reason: "separator",
      message: "Use a dot for decimals and no thousands separator (for example 1500).",
    });
    expect(checkAmount("abc")).toMatchObject({
      ok: false,
      reason: "format",
      message: expect.stringMatching(/^"abc" is not an amount/),
    });
    expect(checkAmount("1,5")).toMatchObject({
      ok: false,
      reason: "separator",
      message: expect.stringContaining("1.5"),
    });
    expect(checkAmount("0.0000000000000000001")).toMatchObject({ ok: false, reason: "decimals" });
    expect(checkAmount("")).toMatchObject({ ok: false, reason: "empty" });
  });

  it("checks the registry's minimum and the wallet's balance", () => {
    const min = { amount: 1000n * SNT, name: "the minimum stake" };
    const max = { amount: 1500n * SNT, name: "your balance" };
    expect(checkAmount("999.9", { min, max })).toMatchObject({
      ok: false,
      message: "The minimum stake is 1,000 SNT.",
    });
    expect(checkAmount("1500.01", { min, max })).toMatchObject({
      ok: false,
      message: "That is more than your balance (1,500 SNT).",
    });
    expect(checkAmount("1500", { min, max })).toEqual({ ok: true, value: 1500n * SNT });
    expect(checkAmount("0", { positive: true })).toMatchObject({ ok: false, reason: "zero" });
  });

  it("checks days, percentages, addresses, multiaddrs and peer ids", () => {
    expect(checkDays("30")).toEqual({ ok: true, value: 30n * 86_400n });
    expect(checkDays("0.5")).toEqual({ ok: true, value: 43_200n });
    expect(checkDays("thirty")).toMatchObject({ ok: false });
    expect(checkDays("0")).toMatchObject({ ok: false, message: "Retention must be more than 0 days." });
    expect(checkDays("60000")).toMatchObject({ ok: false, message: "Retention can be at most 49,710 days." });
    expect(checkPercent("")).toEqual({ ok: true, value: undefined });
    expect(checkPercent("99.5")).toEqual({ ok: true, value: 0.995 });
    expect(checkPercent("101")).toMatchObject({ ok: false });
    expect(checkPercent("9o")).toMatchObject({ ok: false });
    expect(checkAddress("", ME)).toEqual({ ok: true, value: ME });
    expect(checkAddress("0x1234", ME)).toMatchObject({ ok: false });
    expect(checkMultiaddrs("/ip4/127.0.0.1/tcp/9 /dns4/a.example/tcp/443/wss")).toEqual({
      ok: true,
      value: ["/ip4/127.0.0.1/tcp/9", "/dns4/a.example/tcp/443/wss"],
    });
    expect(checkMultiaddrs("")).toMatchObject({ ok: false });
    expect(checkMultiaddrs("127.0.0.1:9")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^"127.0.0.1:9" is not a multiaddr/),
    });
    expect(checkMultiaddrs(Array(9).fill("/ip4/1.2.3.4/tcp/1").join(" "))).toMatchObject({ ok: false });
    expect(checkPeerId("12D3KooWDashboardTestPeer")).toEqual({
      ok: true,
      value: "12D3KooWDashboardTestPeer",
    });
    expect(checkPeerId("not a peer id")).toMatchObject({ ok: false });
    expect(checkPeerId("")).toMatchObject({ ok: false });
  });
});
