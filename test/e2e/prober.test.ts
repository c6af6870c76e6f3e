// The prober against three real mailboxes on a local chain (each its own process): alpha behaves,
// beta is stopped halfway, gamma keeps only its newest envelope (it acknowledges canaries, then
// loses them). The prober runs as `postbox prober start`, like an operator would run it; its
// figures must reflect what happened, rank the three accordingly, say how many samples each rests
// on, show each mailbox's card (its info answer, the metadata its registry entry names), and
// survive its restart. Last, a custody dispute over an envelope gamma acknowledged and then lost,
// left unanswered and finalised after the chain's time moved on, is upheld: the prober counts it
// and lowers gamma's score by the disputes factor.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { multiaddr } from "@multiformats/multiaddr";
import { createClientHost, defaultPlatform, MailboxDirectory, pushEnvelope } from "@postbox/client";
import {
  disputesAbi,
  MailboxStatus,
  mailboxRegistryAbi,
  networkParameters,
  sntAbi,
} from "@postbox/contracts";
import {
  combineScore,
  createEnvelope,
  FIGURE_MIN_SAMPLES,
  type MailboxReport,
  receiptFromWire,
} from "@postbox/protocol";
import { Agent, fetch } from "undici";
import { bytesToHex, verifyMessage } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DEV_KEYS, type Devnet, POSTBOX_BIN, startDevnet } from "../../scripts/lib/devnet.ts";
import { freePortBlock } from "../../scripts/lib/ports.ts";

// The devnet from PORT, the prober on PORT + 200.
const PORT = await freePortBlock(18_000);

type Figures = MailboxReport;

describe("prober: uptime, latency, canaries and scores of real mailboxes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-prober-"));
  const port = PORT;
  const proberPort = port + 200;
  const proberKey = DEV_KEYS[7];
  let net: Devnet;
  let prober: ChildProcess | undefined;

  const startProber = async () => {
    const child = spawn(
      process.execPath,
      [
        POSTBOX_BIN,
        "prober",
        "start",
        "--data-dir",
        join(dir, "prober"),
        "--rpc-url",
        net.rpc,
        "--http-port",
        String(proberPort),
        "--probe-interval",
        "0.5s",
        "--canary-interval",
        "1s",
        "--canary-delay",
        "2s",
        "--registry-interval",
        "1s",
        "--log-level",
        "warn",
      ],
      { env: { ...process.env, POSTBOX_PROBER_KEY: proberKey }, stdio: ["ignore", "ignore", "inherit"] },
    );
    await vi.waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the prober exited (${child.exitCode})`);
        expect((await get("/health")).status).toBe(200);
      },
      { timeout: 30_000, interval: 100 },
    );
    return child;
  };
  const stopProber = async () => {
    if (!prober || prober.exitCode !== null) return;
    const exited = new Promise((r) => prober!.once("exit", r));
    prober.kill("SIGTERM");
    await exited;
  };
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${proberPort}${path}`, {
      dispatcher: new Agent({ pipelining: 0 }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const report = async () => {
    const { body } = await get("/mailboxes");
    const r = body as { signer: string; signature: `0x${string}`; report: { mailboxes: Figures[] } };
    return { ...r, byName: (name: string) => r.report.mailboxes.find((m) => m.address === operator(name))! };
  };
  const operator = (name: string) => net.mailboxes.find((m) => m.spec.name === name)!.operator.toLowerCase();

  beforeAll(async () => {
    const gammaConfig = join(dir, "gamma.json");
    writeFileSync(gammaConfig, JSON.stringify({ retention: { maxEnvelopes: 1, interval: "1s" } }));
    net = await startDevnet({
      dataDir: join(dir, "net"),
      basePort: port,
      mailboxes: [
        { name: "alpha", operator: 1, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        { name: "beta", operator: 2, pricePerQuery: "0.01", pricePerMessage: "0.0001" },
        {
          name: "gamma",
          operator: 3,
          pricePerQuery: "0.01",
          pricePerMessage: "0.0001",
          flags: ["--config", gammaConfig],
        },
      ],
      stdio: "ignore",
    });
    prober = await startProber();
  }, 240_000);

  afterAll(async () => {
    await stopProber();
    await net?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("follows the registry, measures, and ranks the mailboxes by what happened", async () => {
    // Let all three be measured, then stop beta for the second half.
    const half = await vi.waitFor(
      async () => {
        const h = await report();
        expect(h.report.mailboxes).toHaveLength(3);
        for (const name of ["alpha", "beta", "gamma"])
          expect(h.byName(name).samples.probes24h).toBeGreaterThanOrEqual(FIGURE_MIN_SAMPLES);
        for (const name of ["alpha", "gamma"])
          expect(h.byName(name).canariesExpected).toBeGreaterThanOrEqual(5);
        return h;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(half.byName("beta").uptime24h).toBe(1);
    const upWhenStopped = half.byName("beta").probesOk;
    await net.mailboxes.find((m) => m.spec.name === "beta")!.stop();
    // As many probes failed as succeeded before: beta was down for about half of its life.
    await vi.waitFor(
      async () => expect((await report()).byName("beta").probesFailed).toBeGreaterThanOrEqual(upWhenStopped),
      { timeout: 60_000, interval: 250 },
    );

    const { signer, signature, report: r, byName } = await report();
    // Signed by the prober's key, over the report's JSON text.
    expect(signer).toBe(privateKeyToAccount(proberKey).address);
    expect(
      await verifyMessage({ address: signer as `0x${string}`, message: JSON.stringify(r), signature }),
    ).toBe(true);

    const alpha = byName("alpha");
    const beta = byName("beta");
    const gamma = byName("gamma");
    // Alpha: always up, every canary returned, latency measured.
    expect(alpha.uptime24h).toBe(1);
    expect(alpha.canariesExpected).toBeGreaterThanOrEqual(5);
    expect(alpha.completeness).toBe(1);
    expect(alpha.latencyP50Ms).toBeGreaterThan(0);
    // Issue #17: a mailbox that does everything right is not scored as poor (it was 0.135).
    expect(alpha.score).toBeGreaterThan(0.7);
    expect(alpha.factors.latency).toBe(1);
    // Each figure with the samples it rests on; no week or month claimed after a minute.
    for (const m of [alpha, beta, gamma]) {
      expect(m.samples.probes24h).toBe(m.probesOk + m.probesFailed);
      expect(m.samples.probes7d).toBe(m.samples.probes24h);
      expect(m.samples.probes30d).toBe(m.samples.probes24h);
      expect(m.samples.canaries7d).toBe(m.canariesExpected);
      expect(m.probedSince).toBeGreaterThanOrEqual(m.firstSeen);
      expect(m.uptime7d).toBeNull();
      expect(m.uptime30d).toBeNull();
    }
    // Beta: up for the first half only.
    expect(beta.uptime24h).toBeGreaterThan(0.2);
    expect(beta.uptime24h).toBeLessThan(0.8);
    expect(beta.probesFailed).toBeGreaterThan(3);
    // Its downtime is counted once, by the probes: no canary was lost for being unreachable.
    expect(beta.canariesFound).toBe(beta.canariesExpected);
    // Gamma: answers every ping, returns (almost) none of its canaries.
    expect(gamma.uptime24h).toBe(1);
    expect(gamma.canariesExpected).toBeGreaterThanOrEqual(5);
    expect(gamma.completeness!).toBeLessThan(0.3);
    // The scores rank them accordingly.
    expect(alpha.score).toBeGreaterThan(beta.score);
    expect(alpha.score).toBeGreaterThan(gamma.score);

    // One mailbox, and its raw samples in a time window.
    const one = await get(`/mailboxes/${operator("beta")}`);
    expect((one.body.report as { mailbox: Figures }).mailbox.address).toBe(operator("beta"));
    const from = Date.now() - 60_000;
    const samples = await get(`/mailboxes/${operator("beta")}/samples?from=${from}&to=${Date.now()}`);
    const list = (samples.body.report as { samples: { kind: string; ok: boolean; at: number }[] }).samples;
    expect(list.some((s) => s.kind === "probe" && s.ok)).toBe(true);
    expect(list.some((s) => s.kind === "probe" && !s.ok)).toBe(true);
    expect(list.every((s) => s.at >= from)).toBe(true);
    expect((await get("/mailboxes/0x0000000000000000000000000000000000000001")).status).toBe(404);
    expect((await get(`/mailboxes/${operator("beta")}/samples?from=x`)).status).toBe(400);
  }, 60_000);

  it("shows each mailbox's card: its info answer, and the metadata its registry entry names", async () => {
    const alpha = (await report()).byName("alpha");
    expect(alpha.info).toMatchObject({ free: false, chainId: 31337, maxPageSize: 100 });
    expect(alpha.info!.version).not.toBe("");
    expect(alpha.info!.retentionSeconds).toBeGreaterThan(0);
    expect(alpha.info!.envelopes).toBeGreaterThan(0);
    // The operator names a data: URI: the prober reads it from the registry's event.
    const card = {
      name: "Alpha",
      description: "Keeps your messages for 30 days.",
      contact: "ops@alpha.example",
    };
    const operatorIndex = net.mailboxes.find((m) => m.spec.name === "alpha")!.spec.operator;
    const wallet = net.wallet(operatorIndex);
    const entry = await net.publicClient.readContract({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [wallet.account.address],
    });
    const uri = `data:application/json,${encodeURIComponent(JSON.stringify({ ...card, extra: [1] }))}`;
    const hash = await wallet.writeContract({
      address: net.addresses.registry,
      abi: mailboxRegistryAbi,
      functionName: "updateEndpoint",
      args: [entry.peerId, [...entry.multiaddrs], uri],
    });
    await net.publicClient.waitForTransactionReceipt({ hash });
    await vi.waitFor(
      async () => {
        const a = (await report()).byName("alpha");
        expect(a.metadataURI).toBe(uri);
        expect(a.metadata).toEqual(card);
        expect(a.metadataError).toBeNull();
      },
      { timeout: 30_000, interval: 250 },
    );
  });

  it("feeds the client's choice: the best-measured mailbox ranks first and is the one picked", async () => {
    const storage = await defaultPlatform().openStorage(join(dir, "client"));
    try {
      const directory = new MailboxDirectory({
        storage,
        chain: { publicClient: net.publicClient, registry: net.addresses.registry },
        proberUrl: `http://127.0.0.1:${proberPort}`,
      });
      const list = await directory.list();
      // Beta exited nothing on-chain, so it is still listed; the prober's figures rank it.
      expect(list[0]!.id).toBe(operator("alpha"));
      expect(list[0]!.figures?.probesOk).toBeGreaterThan(0);
      expect(list[0]!.chance).toBe(1);
      expect(list.find((c) => c.id === operator("gamma"))!.factors.completeness).toBeLessThan(0.9);
      expect((await directory.choose(1))[0]!.id).toBe(operator("alpha"));
      // A pin overrides the score.
      await directory.pin(operator("gamma"));
      expect((await directory.choose(1))[0]!.id).toBe(operator("gamma"));
    } finally {
      await storage.close();
    }
  });

  it("keeps its history across a restart", async () => {
    const before = (await report()).byName("alpha");
    await stopProber();
    prober = await startProber();
    const after = (await report()).byName("alpha");
    expect(after.probesOk).toBeGreaterThanOrEqual(before.probesOk);
    expect(after.canariesExpected).toBeGreaterThanOrEqual(before.canariesExpected);
  }, 60_000);

  it("replaces a channel record that no longer holds on the chain, and loses no canary to it", async () => {
    // What a reset chain leaves: the prober's record of its channel to alpha names a channel the
    // chain does not know.
    const before = (await report()).byName("alpha");
    await stopProber();
    const db = new DatabaseSync(join(dir, "prober", "channels.db"));
    const rows = db.prepare("SELECT key, value FROM records WHERE key LIKE 'channel:%'").all() as {
      key: string;
      value: string;
    }[];
    const row = rows.find((r) => r.key.endsWith(operator("alpha")))!;
    const stale = { ...JSON.parse(row.value), channelId: `0x${"5a".repeat(32)}` };
    db.prepare("UPDATE records SET value = ? WHERE key = ?").run(JSON.stringify(stale), row.key);
    db.close();
    prober = await startProber();
    // Checked before its first canary query: archived, a new channel opened, the canaries bought back.
    await vi.waitFor(
      async () => {
        const a = (await report()).byName("alpha");
        expect(a.canariesExpected).toBeGreaterThanOrEqual(before.canariesExpected + 3);
        expect(a.canariesFound).toBe(a.canariesExpected);
      },
      { timeout: 60_000, interval: 250 },
    );
    // Records are written behind the canaries (a record's write is queued, not awaited by them).
    await vi.waitFor(
      () => {
        const check = new DatabaseSync(join(dir, "prober", "channels.db"), { readOnly: true });
        const archived = check
          .prepare("SELECT value FROM records WHERE key = ?")
          .get(`archived:${stale.channelId}`) as { value: string } | undefined;
        check.close();
        expect(archived, "the stale record, archived").toBeDefined();
        expect(JSON.parse(archived!.value).reason).toMatch(/not on this chain/);
      },
      { timeout: 10_000, interval: 100 },
    );
  }, 90_000);

  it("counts a custody dispute gamma could not answer, upheld on the chain, in its figures and score", async () => {
    const gamma = net.mailboxes.find((m) => m.spec.name === "gamma")!;
    const disputes = net.addresses.disputes!;
    const challenger = net.wallet(5);
    const send = async (hash: Promise<`0x${string}`>) => {
      const r = await net.publicClient.waitForTransactionReceipt({ hash: await hash });
      expect(r.status).toBe("success");
    };
    const moveChainTime = async (seconds: bigint) => {
      await net.publicClient.request({ method: "evm_increaseTime", params: [Number(seconds)] } as never);
      await net.publicClient.request({ method: "evm_mine", params: [] } as never);
    };
    // Gamma acknowledges an envelope with a receipt signed by its evidence key…
    const host = await createClientHost();
    await host.start();
    const envelope = createEnvelope({
      contentTopic: "/postbox/1/room-00112233445566778899aabbccddeeff/proto",
      payload: new TextEncoder().encode("receipted, then dropped"),
    });
    let pushed: Awaited<ReturnType<typeof pushEnvelope>>;
    try {
      pushed = await pushEnvelope(host, multiaddr(gamma.addr), envelope);
    } finally {
      await host.stop();
    }
    expect(pushed.evidence).toHaveLength(65);
    const receipt = receiptFromWire(gamma.operator, envelope, pushed);
    // …and, keeping only its newest envelope (the prober's canaries keep coming), drops it.
    await vi.waitFor(
      () => {
        const db = new DatabaseSync(join(gamma.dir, "archive.sqlite"), { readOnly: true });
        try {
          expect(db.prepare("SELECT 1 FROM envelopes WHERE id = ?").get(envelope.id)).toBeUndefined();
        } finally {
          db.close();
        }
      },
      { timeout: 20_000, interval: 250 },
    );
    const before = (await report()).byName("gamma");
    expect(before.disputes).toEqual({
      open: 0,
      answered: 0,
      upheld: 0,
      slashed: "0",
      upheldAt: [],
      lastUpheldAt: null,
    });
    expect(before.factors.disputes).toBe(1);
    // A reader disputes custody with the receipt (bond approved first).
    await send(
      challenger.writeContract({
        address: net.addresses.snt,
        abi: sntAbi,
        functionName: "approve",
        args: [disputes, networkParameters.local.disputeBond],
      }),
    );
    await send(
      challenger.writeContract({
        address: disputes,
        abi: disputesAbi,
        functionName: "disputeCustody",
        args: [receipt, bytesToHex(pushed.evidence!)],
      }),
    );
    const id = await net.publicClient.readContract({
      address: disputes,
      abi: disputesAbi,
      functionName: "receiptDigest",
      args: [receipt],
    });
    await vi.waitFor(async () => expect((await report()).byName("gamma").disputes?.open).toBe(1), {
      timeout: 20_000,
      interval: 250,
    });
    // Gamma cannot answer; once the response window has passed on the chain, the dispute is upheld.
    await moveChainTime(networkParameters.local.responseWindow + 1n);
    const stake = async () =>
      (
        await net.publicClient.readContract({
          address: net.addresses.registry,
          abi: mailboxRegistryAbi,
          functionName: "getMailbox",
          args: [gamma.operator],
        })
      ).stake;
    const stakeBefore = await stake();
    await send(
      challenger.writeContract({
        address: disputes,
        abi: disputesAbi,
        functionName: "finaliseCustody",
        args: [id],
      }),
    );
    const slashed = stakeBefore - (await stake());
    expect(slashed).toBe((stakeBefore * networkParameters.local.disputeSlashBps) / 10_000n);
    const jailed = await vi.waitFor(
      async () => {
        const g = (await report()).byName("gamma");
        expect(g.disputes).toMatchObject({ open: 0, answered: 0, upheld: 1, slashed: slashed.toString() });
        expect(g.status).toBe(MailboxStatus.Jailed);
        return g;
      },
      { timeout: 20_000, interval: 250 },
    );
    // Jailed: no score at all. Its upheld time is the block's, ahead of the prober's clock here
    // (the chain's time was moved): a fresh dispute.
    expect(jailed.score).toBe(0);
    expect(jailed.disputes!.upheldAt).toHaveLength(1);
    expect(jailed.disputes!.lastUpheldAt).toBe(jailed.disputes!.upheldAt[0]);
    expect(jailed.factors.disputes).toBe(0.5);
    // Its term over, the operator unjails; back in the draw, the upheld dispute halves its score.
    await moveChainTime(networkParameters.local.jailTerm + 1n);
    await send(
      net.wallet(gamma.spec.operator).writeContract({
        address: net.addresses.registry,
        abi: mailboxRegistryAbi,
        functionName: "unjail",
      }),
    );
    const back = await vi.waitFor(
      async () => {
        const g = (await report()).byName("gamma");
        expect(g.status).toBe(MailboxStatus.Active);
        return g;
      },
      { timeout: 20_000, interval: 250 },
    );
    expect(back.factors.disputes).toBe(0.5);
    expect(back.score).toBeGreaterThan(0);
    expect(back.score).toBeCloseTo(combineScore(back.factors), 12);
    expect(back.score).toBeCloseTo(combineScore({ ...back.factors, disputes: 1 }) / 2, 12);
    // The others have none.
    const r = await report();
    for (const name of ["alpha", "beta"]) {
      expect(r.byName(name).disputes?.upheld).toBe(0);
      expect(r.byName(name).factors.disputes).toBe(1);
    }
    // The client's choice reads the same figures: its directory halves gamma's score too.
    const storage = await defaultPlatform().openStorage(join(dir, "client-disputes"));
    try {
      const list = await new MailboxDirectory({
        storage,
        chain: { publicClient: net.publicClient, registry: net.addresses.registry },
        proberUrl: `http://127.0.0.1:${proberPort}`,
      }).list();
      const seen = list.find((c) => c.id === operator("gamma"))!;
      expect(seen.factors.disputes).toBe(0.5);
      expect(seen.score).toBeCloseTo(combineScore({ ...seen.factors, disputes: 1 }) / 2, 12);
      for (const name of ["alpha", "beta"])
        expect(list.find((c) => c.id === operator(name))!.factors.disputes).toBe(1);
    } finally {
      await storage.close();
    }
  }, 120_000);
});
