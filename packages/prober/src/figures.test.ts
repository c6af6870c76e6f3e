// The prober's figures from its samples, on a clock the test sets: the SQLite database is the real
// one (in a temporary folder), the samples are what probes and canaries would have recorded.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postboxChain } from "@postbox/contracts";
import { combineScore, FIGURE_MIN_SAMPLES, scoreFactors } from "@postbox/protocol";
import { pino } from "pino";
import { createPublicClient, createWalletClient, http } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeFigures, DAY, HOUR, percentile } from "./figures.js";
import { Prober } from "./prober.js";
import { type DisputeRecord, SampleStore, type TrackedMailbox, UPHELD_LISTED } from "./samples.js";

const MIN_STAKE = 1000n * 10n ** 18n;
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const entry = (address: string, over: Partial<TrackedMailbox> = {}): TrackedMailbox => ({
  address,
  peerId: `peer-${address}`,
  multiaddrs: ["/ip4/127.0.0.1/tcp/1"],
  status: 1,
  stake: 2n * MIN_STAKE,
  pricePerQuery: 10n ** 16n,
  pricePerMessage: 10n ** 14n,
  pendingPricePerQuery: 0n,
  pendingPricePerMessage: 0n,
  priceEffectiveAt: 0,
  registeredAt: T0 / 1000,
  withdrawableAt: 0,
  metadataURI: "",
  ...over,
});

describe("prober figures", () => {
  let dir: string;
  let store: SampleStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "postbox-figures-"));
    store = new SampleStore(join(dir, "prober.sqlite"));
    store.set("registry:minStake", MIN_STAKE.toString());
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Probes every `every` ms over [from, to), ok unless `down(at)`, `latency` ms each. */
  const probe = (
    mailbox: string,
    from: number,
    to: number,
    every: number,
    o: { down?: (at: number) => boolean; latency?: (i: number) => number } = {},
  ) => {
    let i = 0;
    for (let at = from; at < to; at += every, i++) {
      const ok = !o.down?.(at);
      store.addSample({
        mailbox,
        at,
        kind: "probe",
        ok,
        latencyMs: ok ? (o.latency?.(i) ?? 20) : null,
        detail: "",
      });
    }
  };
  const canaries = (mailbox: string, at: number, found: number, lost: number) => {
    for (let i = 0; i < found + lost; i++)
      store.addSample({ mailbox, at, kind: "canary", ok: i < found, latencyMs: 30, detail: "" });
  };
  const figures = (now: number, address = "0xa") =>
    computeFigures(store, now).find((f) => f.address === address)!;

  it("after 30 s: uptime over what was probed, no 7-day or 30-day figure, and the counts that say 'new'", () => {
    store.upsertMailbox(entry("0xa"), T0);
    probe("0xa", T0, T0 + 30_000, 10_000);
    const f = figures(T0 + 30_000);
    expect(f.probedSince).toBe(T0);
    expect(f.uptime24h).toBe(1);
    expect(f.uptime7d).toBeNull();
    expect(f.uptime30d).toBeNull();
    expect(f.samples).toEqual({ probes24h: 3, probes7d: 3, probes30d: 3, canaries7d: 0 });
    expect(f.samples.probes24h).toBeLessThan(FIGURE_MIN_SAMPLES);
    expect(f.completeness).toBeNull();
  });

  it("before the first probe: nothing measured, nothing claimed", () => {
    store.upsertMailbox(entry("0xa"), T0);
    const f = figures(T0 + 1_000);
    expect(f.probedSince).toBeNull();
    expect([f.uptime24h, f.uptime7d, f.uptime30d, f.latencyP50Ms, f.latencyP90Ms]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(f.samples).toEqual({ probes24h: 0, probes7d: 0, probes30d: 0, canaries7d: 0 });
    expect(f.info).toBeNull();
    expect(f.metadata).toBeNull();
  });

  it("shows the 7-day window after a day and the 30-day one after a week, each over its own samples", () => {
    store.upsertMailbox(entry("0xa"), T0);
    // One probe every 10 minutes for 40 days; down for the whole of day 2 and for the last hour.
    const every = 10 * MINUTE;
    const end = T0 + 40 * DAY;
    const down = (at: number) => (at >= T0 + DAY && at < T0 + 2 * DAY) || at >= end - HOUR;
    probe("0xa", T0, end, every, { down });
    const early = figures(T0 + DAY - 1);
    expect(early.uptime7d).toBeNull();
    // An hour into day 2: the 7-day figure covers the 25 hours probed, not a week.
    const day2 = figures(T0 + DAY + HOUR - 1);
    expect(day2.uptime7d).toBeCloseTo(144 / 150);
    expect(day2.uptime30d).toBeNull();
    const f = figures(end - 1);
    expect(f.samples).toEqual({ probes24h: 144, probes7d: 7 * 144, probes30d: 30 * 144, canaries7d: 0 });
    expect(f.uptime24h).toBeCloseTo(23 / 24);
    expect(f.uptime7d).toBeCloseTo(1 - 1 / (7 * 24));
    // Day 2 is more than 30 days back: only the last hour is missing.
    expect(f.uptime30d).toBeCloseTo(1 - 1 / (30 * 24));
    expect(f.probesOk + f.probesFailed).toBe(7 * 144);
    // The sparkline: hourly buckets over 24 h, the last one down, the others up.
    expect(f.sparkline).toHaveLength(24);
    expect(f.sparkline.every((b) => b.at % HOUR === 0)).toBe(true);
    expect(f.sparkline.at(-1)!.uptime).toBe(0);
    expect(f.sparkline.slice(0, -1).every((b) => b.uptime === 1)).toBe(true);
  });

  it("takes latency percentiles by nearest rank over the successful probes of the last 24 h", () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([1, 2], 0.5)).toBe(1);
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(ten, 0.5)).toBe(5);
    expect(percentile(ten, 0.9)).toBe(9);
    expect(percentile([...ten, 11], 0.9)).toBe(10);
    store.upsertMailbox(entry("0xa"), T0);
    // 2 days back: slow, outside the window.
    probe("0xa", T0, T0 + HOUR, MINUTE, { latency: () => 5_000 });
    const now = T0 + 3 * DAY;
    probe("0xa", now - 100 * MINUTE, now, MINUTE, {
      latency: (i) => i + 1,
      down: (at) => at % (10 * MINUTE) === 0,
    });
    const f = figures(now);
    // 90 successful probes with latencies 1…100 less the failed ones (every tenth).
    expect(f.latencyP50Ms).toBeLessThanOrEqual(55);
    expect(f.latencyP50Ms).toBeGreaterThanOrEqual(45);
    expect(f.latencyP90Ms).toBeLessThan(100);
    expect(f.latencyP90Ms).toBeGreaterThan(80);
  });

  it("starts availability and completeness on the Beta(9, 1) prior and moves them with the samples", () => {
    store.upsertMailbox(entry("0xa"), T0);
    expect(figures(T0).availability).toBeCloseTo(0.9);
    expect(figures(T0).factors.completeness).toBeCloseTo(0.9);
    probe("0xa", T0, T0 + 10 * MINUTE, MINUTE);
    canaries("0xa", T0 + 5 * MINUTE, 3, 1);
    const f = figures(T0 + 10 * MINUTE);
    expect(f.availability).toBeCloseTo(19 / 20);
    expect(f.factors.completeness).toBeCloseTo(12 / 14);
    expect(f.completeness).toBe(0.75);
    expect(f.samples.canaries7d).toBe(4);
    expect([f.canariesExpected, f.canariesFound]).toEqual([4, 3]);
    // Canaries older than 7 days no longer count.
    const later = figures(T0 + 8 * DAY);
    expect(later.samples.canaries7d).toBe(0);
    expect(later.factors.completeness).toBeCloseTo(0.9);
  });

  it("scores a mailbox that does everything right as good, and one that is down as poor", () => {
    store.upsertMailbox(entry("0xa"), T0);
    store.upsertMailbox(entry("0xb"), T0);
    store.upsertMailbox(entry("0xc", { status: 2 }), T0);
    // Issue #17: a devnet mailbox at 2 × the minimum stake, up for two minutes with every canary
    // back, scored 0.135. With the prober's figures after 2 minutes at npm start's pace:
    probe("0xa", T0, T0 + 2 * MINUTE, 10_000, { latency: (i) => (i === 0 ? 330 : 95) });
    canaries("0xa", T0 + MINUTE, 4, 0);
    const start = figures(T0 + 2 * MINUTE);
    expect(start.score).toBeGreaterThan(0.7);
    expect(start.factors.latency).toBe(1);
    expect(start.factors.stake).toBeCloseTo(0.93, 2);
    expect(start.factors.price).toBe(1);
    // The score is the shared formula over the published counts.
    expect(start.score).toBeCloseTo(
      combineScore(
        scoreFactors({
          probesOk: start.probesOk,
          probesFailed: start.probesFailed,
          latencyP50Ms: start.latencyP50Ms!,
          canariesExpected: start.canariesExpected,
          canariesFound: start.canariesFound,
          stake: 2n * MIN_STAKE,
          minStake: MIN_STAKE,
          pageCost: 1n,
          medianPageCost: 1n,
        }),
      ),
    );
    // A week of it.
    probe("0xa", T0 + 2 * MINUTE, T0 + 7 * DAY, MINUTE);
    canaries("0xa", T0 + 6 * DAY, 2000, 0);
    probe("0xb", T0, T0 + 7 * DAY, MINUTE, { down: (at) => at % (2 * MINUTE) === 0 });
    const week = computeFigures(store, T0 + 7 * DAY);
    const [a, b, c] = ["0xa", "0xb", "0xc"].map((x) => week.find((f) => f.address === x)!);
    expect(a!.score).toBeGreaterThan(0.95);
    expect(b!.score).toBeLessThan(0.3);
    // Not active: no score.
    expect(c!.score).toBe(0);
  });

  describe("disputes, on the prober's clock", () => {
    let clock = T0;
    /** A prober on this store whose clock the test moves (its chain is never asked: no task runs). */
    const prober = () => {
      const chain = postboxChain({ chainId: 31337, rpcUrl: "http://127.0.0.1:9" });
      return new Prober({
        store,
        publicClient: createPublicClient({ chain, transport: http() }),
        wallet: createWalletClient({
          chain,
          transport: http(),
          account: privateKeyToAccount(generatePrivateKey()),
        }),
        chainId: 31337,
        addresses: {
          snt: "0x0000000000000000000000000000000000000001",
          registry: "0x0000000000000000000000000000000000000002",
          channels: "0x0000000000000000000000000000000000000003",
          fromBlock: 0n,
        },
        dataDir: dir,
        log: pino({ level: "silent" }),
        channelDeposit: 0n,
        now: () => clock,
        schedule: false,
      });
    };
    const dispute = (id: string, over: Partial<DisputeRecord>): DisputeRecord => ({
      id,
      mailbox: "0xa",
      kind: "custody",
      state: "open",
      slashed: 0n,
      openedAt: T0,
      resolvedAt: null,
      ...over,
    });
    const served = () => {
      store.upsertMailbox(entry("0xa"), T0);
      store.upsertMailbox(entry("0xb"), T0);
      for (const m of ["0xa", "0xb"]) {
        probe(m, T0, T0 + DAY, MINUTE);
        canaries(m, T0 + HOUR, 100, 0);
      }
    };

    it("reports no disputes figure until the prober follows a Disputes contract", () => {
      served();
      store.recordDispute(dispute("0x01", { state: "upheld", resolvedAt: T0 }));
      const f = figures(T0 + DAY);
      expect(f.disputes).toBeUndefined();
      expect(f.factors.disputes).toBe(1);
    });

    it("counts open, answered and upheld disputes and the SNT slashed; only upheld ones lower the score, less as they age", () => {
      served();
      store.set("disputes:address", "0x00000000000000000000000000000000000000d1");
      const p = prober();
      clock = T0 + DAY;
      const clean = p.figures().find((f) => f.address === "0xa")!;
      expect(clean.disputes).toEqual({
        open: 0,
        answered: 0,
        upheld: 0,
        slashed: "0",
        upheldAt: [],
        lastUpheldAt: null,
      });
      expect(clean.factors.disputes).toBe(1);
      // Opened and answered disputes cost nothing: anyone can open one, and the answer proved custody.
      store.recordDispute(dispute("0x01", {}));
      store.recordDispute(dispute("0x02", {}));
      store.recordDispute(dispute("0x02", { state: "answered", resolvedAt: T0 + 1_000 }));
      // An answer read again after a later event does not reopen it.
      store.recordDispute(dispute("0x02", {}));
      let a = p.figures().find((f) => f.address === "0xa")!;
      expect(a.disputes).toMatchObject({ open: 1, answered: 1, upheld: 0 });
      expect(a.score).toBe(clean.score);
      // The open one is left unanswered and finalised at T0 + 1 day: upheld, 100 SNT slashed.
      const upheldAt = T0 + DAY;
      store.recordDispute(
        dispute("0x01", { state: "upheld", slashed: 100n * 10n ** 18n, resolvedAt: upheldAt }),
      );
      a = p.figures().find((f) => f.address === "0xa")!;
      expect(a.disputes).toEqual({
        open: 0,
        answered: 1,
        upheld: 1,
        slashed: (100n * 10n ** 18n).toString(),
        upheldAt: [upheldAt],
        lastUpheldAt: upheldAt,
      });
      expect(a.factors.disputes).toBe(0.5);
      expect(a.score).toBeCloseTo(clean.score * 0.5);
      // The other mailbox is untouched.
      expect(p.figures().find((f) => f.address === "0xb")!.score).toBe(clean.score);
      // The prober's clock moves on (its samples age too: compare with a mailbox with none).
      const at = (ms: number) => {
        clock = ms;
        const all = p.figures();
        const [x, y] = ["0xa", "0xb"].map((m) => all.find((f) => f.address === m)!);
        return { factor: x!.factors.disputes!, ratio: x!.score / y!.score };
      };
      expect(at(upheldAt + 30 * DAY).factor).toBeCloseTo(0.75);
      expect(at(upheldAt + 30 * DAY).ratio).toBeCloseTo(0.75);
      expect(at(upheldAt + 90 * DAY).factor).toBeCloseTo(0.9375);
      expect(at(upheldAt + 366 * DAY)).toEqual({ factor: 1, ratio: 1 });
      // Counted still, no longer in the score.
      expect(p.figures().find((f) => f.address === "0xa")!.disputes).toMatchObject({
        upheld: 1,
        upheldAt: [],
        lastUpheldAt: upheldAt,
      });
    });

    it("compounds upheld disputes, omissions too, and lists at most the newest hundred", () => {
      served();
      store.set("disputes:address", "0x00000000000000000000000000000000000000d1");
      store.recordDispute(dispute("0x01", { state: "upheld", resolvedAt: T0 + HOUR }));
      store.recordDispute(dispute("0x02", { kind: "omission", state: "upheld", resolvedAt: T0 + 2 * HOUR }));
      let a = figures(T0 + 2 * HOUR);
      expect(a.disputes!.upheldAt).toEqual([T0 + 2 * HOUR, T0 + HOUR]);
      expect(a.factors.disputes).toBeCloseTo(0.25, 3);
      for (let i = 0; i < 150; i++)
        store.recordDispute(dispute(`0x1${i}`, { kind: "omission", state: "upheld", resolvedAt: T0 + i }));
      a = figures(T0 + 2 * HOUR);
      expect(a.disputes!.upheld).toBe(152);
      expect(a.disputes!.upheldAt).toHaveLength(UPHELD_LISTED);
      expect(a.factors.disputes).toBe(0.1);
    });
  });

  it("publishes the last info answer, and the metadata of the current metadataURI only", () => {
    const uri = "data:application/json,%7B%22name%22%3A%22A%22%7D";
    store.upsertMailbox(entry("0xa", { metadataURI: uri }), T0);
    const info = {
      version: "0.1.0",
      retentionSeconds: 2_592_000,
      maxPageSize: 100,
      maxContentTopics: 10,
      maxEnvelopeBytes: 65_536,
      envelopes: 12,
      free: false,
      chainId: 31337,
      at: T0,
    };
    store.setInfo("0xa", info);
    store.setMetadata("0xa", { uri, at: T0, metadata: { name: "A" }, error: null });
    let f = figures(T0);
    expect(f.info).toEqual(info);
    expect(f.metadataURI).toBe(uri);
    expect(f.metadata).toEqual({ name: "A" });
    expect(f.metadataError).toBeNull();
    // The operator changes the URI: what was read from the old one is not shown as the new one's.
    store.upsertMailbox(entry("0xa", { metadataURI: "https://example.org/m.json" }), T0);
    f = figures(T0);
    expect(f.metadata).toBeNull();
    expect(f.metadataError).toBeNull();
    // An entry stored by an earlier version, with no metadataURI at all.
    const { metadataURI: _, ...old } = entry("0xb");
    store.upsertMailbox(old, T0);
    expect(figures(T0, "0xb").metadataURI).toBe("");
  });
});
