import { describe, expect, it } from "vitest";
import { bucket } from "./history";
import { arrange, referencePagePrice } from "./mailboxes";
import type { MailboxFigures } from "./prober";

const m = (address: string, over: Partial<MailboxFigures>): MailboxFigures => ({
  address,
  peerId: "p",
  multiaddrs: [],
  status: 1,
  stake: "1000",
  pricePerQuery: "10",
  pricePerMessage: "1",
  pendingPrice: null,
  registeredAt: 0,
  withdrawableAt: 0,
  firstSeen: 0,
  probesOk: 0,
  probesFailed: 0,
  uptime24h: 1,
  uptime7d: 1,
  uptime30d: 1,
  latencyP50Ms: 10,
  latencyP90Ms: 20,
  canariesExpected: 0,
  canariesFound: 0,
  completeness: null,
  availability: 0.9,
  factors: { availability: 0.9, latency: 0.9, completeness: 0.9, stake: 1, price: 1 },
  score: 0.5,
  sparkline: [],
  ...over,
});

describe("the mailbox table", () => {
  const list = [
    m("0xa", { score: 0.3, pricePerQuery: "100", uptime24h: 0.99 }),
    m("0xb", { score: 0.9, uptime24h: 0.5, latencyP50Ms: 300 }),
    m("0xc", { score: 0.6, status: 2 }),
    m("0xd", { score: 0.6, latencyP50Ms: null, uptime24h: null }),
  ];

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
