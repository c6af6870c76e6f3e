import type { MailboxFigures } from "./prober";

/** A prober report of one mailbox for unit tests: a measured, active mailbox, with `over` applied. */
export function mailboxFixture(over: Partial<MailboxFigures> = {}): MailboxFigures {
  return {
    address: "0xa",
    peerId: "p",
    multiaddrs: [],
    status: 1,
    stake: "1000",
    pricePerQuery: "10",
    pricePerMessage: "1",
    pendingPrice: null,
    registeredAt: 0,
    withdrawableAt: 0,
    metadataURI: "",
    firstSeen: 0,
    probedSince: null,
    probesOk: 0,
    probesFailed: 0,
    samples: { probes24h: 0, probes7d: 0, probes30d: 0, canaries7d: 0 },
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
    info: null,
    metadata: null,
    metadataError: null,
    ...over,
  };
}
