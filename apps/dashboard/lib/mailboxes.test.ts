import { describe, expect, it } from "vitest";
import { sumEarnings } from "./chain";
import { mailboxFixture } from "./fixtures";
import { bucket } from "./history";
import { arrange, priceText, referencePagePrice } from "./mailboxes";
import type { MailboxFigures } from "./prober";

const m = (address: string, over: Partial<MailboxFigures>) => mailboxFixture({ address, ...over });

describe("the mailbox table", () => {
  const list = [
    m("0xa", { score: 0.3, pricePerQuery: "100", uptime24h: 0.99 }),
    m("0xb", { score: 0.9, uptime24h: 0.5, latencyP50Ms: 300 }),
    m("0xc", { score: 0.6, status: 2 }),
    m("0xd", { score: 0.6, latencyP50Ms: null, uptime24h: null }),
  ];

  it("writes a price in SNT with its reference page", () => {
    expect(priceText({ pricePerQuery: 10n ** 16n, pricePerMessage: 5n * 10n ** 13n })).toBe(
      "0.01 SNT per query + 0.00005 SNT per message (0.015 SNT per 100-message page)",
    );
  });

  it("sums a mailbox's earnings and counts the channels that paid", () => {
    const a = `0x${"aa".repeat(32)}` as const;
    const b = `0x${"bb".repeat(32)}` as const;
    const c = `0x${"cc".repeat(32)}` as const;
    expect(
      sumEarnings(
        [
          { channelId: a, amount: 3n },
          { channelId: a, amount: 4n },
          { channelId: b, amount: 5n },
        ],
        [{ channelId: a }, { channelId: b }, { channelId: c }],
      ),
    ).toEqual({ redeemed: 12n, payingChannels: 2, channels: 3 });
  });

  it("prices a reference page of 100 messages", () => {
    expect(referencePagePrice(list[0]!)).toBe(200n);
  });

  it("hides exiting mailboxes and sorts best first", () => {
    expect(arrange(list, "score", {}).map((x) => x.address)).toEqual(["0xb", "0xd", "0xa"]);
    expect(arrange(list, "price", {}).map((x) => x.address)).toEqual(["0xb", "0xd", "0xa"]);
    expect(arrange(list, "uptime24h", {}).map((x) => x.address)).toEqual(["0xa", "0xb", "0xd"]);
    expect(arrange(list, "latency", {}).map((x) => x.address)).toEqual(["0xa", "0xb", "0xd"]);
  });

  it("filters by maximum price and minimum uptime", () => {
    expect(arrange(list, "score", { maxPagePrice: 110n }).map((x) => x.address)).toEqual(["0xb", "0xd"]);
    expect(arrange(list, "score", { minUptime: 0.9 }).map((x) => x.address)).toEqual(["0xa"]);
  });

  it("buckets probe samples into uptime and median latency per window", () => {
    const b = bucket(
      [
        { at: 0, ok: true, latencyMs: 10 },
        { at: 100, ok: false, latencyMs: null },
        { at: 200, ok: true, latencyMs: 30 },
        { at: 1_000, ok: true, latencyMs: 5 },
      ],
      600,
    );
    expect(b).toEqual([
      { at: 0, uptime: 2 / 3, latencyMs: 30 },
      { at: 600, uptime: 1, latencyMs: 5 },
    ]);
  });
});
