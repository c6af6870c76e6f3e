// The prober follows the Disputes contract on Hardhat's in-process chain: custody disputes over
// receipts the operator signed are opened, one answered with the envelope, one finalised unanswered
// after the window (upheld: slashed, jailed), one left open. The prober reads the contract's events
// incrementally — each round asks only for the blocks after the last one it read, a restarted
// prober goes on from its database's cursor, a round with no new block asks for no logs — and its
// figures count each state and the SNT slashed; the disputes factor follows the prober's clock.
// Nothing of the chain or the database is mocked: the client only records the requests it forwards.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  disputesAbi,
  MailboxStatus,
  mailboxRegistryAbi,
  networkParameters,
  sntAbi,
} from "@postbox/contracts";
import { type MailboxFigures, Prober, SampleStore } from "@postbox/prober";
import { createEnvelope, envelopeArgs, receiptFor, signReceipt } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { createPublicClient, custom, encodeFunctionData, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { hardhatKey } from "../../scripts/lib/chain.ts";
import { postboxChain } from "../support/chain.js";

const DAY = 86_400_000;

describe("the prober follows disputes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-prober-disputes-"));
  const stores: SampleStore[] = [];
  afterAll(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts open, answered and upheld disputes from the contract's events, reading each block once", async () => {
    const { viem } = await network.connect();
    const chain = await postboxChain(viem);
    const test = await viem.getTestClient();
    const { addresses, operator, operatorWallet, publicClient } = chain;
    const disputes = addresses.disputes!;
    const challenger = chain.wallets[3]!;
    // The operator names its own key as its evidence key and receipts three envelopes.
    await chain.send(
      operatorWallet,
      addresses.registry,
      encodeFunctionData({ abi: mailboxRegistryAbi, functionName: "setEvidenceSigner", args: [operator] }),
    );
    const storedAt = (await publicClient.getBlock()).timestamp * 1000n;
    const receipted = await Promise.all(
      ["answered", "upheld", "open"].map(async (text) => {
        const envelope = createEnvelope({
          contentTopic: "/postbox/1/room-0123456789abcdef0123456789abcdef/proto",
          payload: new TextEncoder().encode(text),
        });
        const receipt = receiptFor(operator, envelope, { storedAt, retainUntil: storedAt + BigInt(DAY) });
        const signature = await signReceipt(
          privateKeyToAccount(hardhatKey(1)),
          { chainId: addresses.chainId, verifyingContract: disputes },
          receipt,
        );
        const id = await publicClient.readContract({
          address: disputes,
          abi: disputesAbi,
          functionName: "receiptDigest",
          args: [receipt],
        });
        return { envelope, receipt, signature, id };
      }),
    );
    const [answered, upheld, open] = receipted as [
      (typeof receipted)[0],
      (typeof receipted)[0],
      (typeof receipted)[0],
    ];

    // A prober on a client that records the Disputes logs it asks the chain for, and a clock the
    // test moves.
    const logRequests: { fromBlock: bigint; toBlock: bigint }[] = [];
    const observed = createPublicClient({
      chain: publicClient.chain,
      // The head as it is now (viem caches it for 4 s by default: a round would miss a new block).
      cacheTime: 0,
      transport: custom({
        request: (args: { method: string; params?: unknown }) => {
          const [filter] = (args.params ?? []) as [{ address?: string; fromBlock: Hex; toBlock: Hex }];
          if (args.method === "eth_getLogs" && filter.address?.toLowerCase() === disputes.toLowerCase()) {
            logRequests.push({ fromBlock: BigInt(filter.fromBlock), toBlock: BigInt(filter.toBlock) });
          }
          return publicClient.request(args as never);
        },
      }),
    }) as PublicClient;
    let clock = Date.UTC(2026, 0, 1);
    const store = new SampleStore(join(dir, "prober.sqlite"));
    stores.push(store);
    const prober = (s: SampleStore) =>
      new Prober({
        store: s,
        publicClient: observed,
        wallet: challenger,
        chainId: addresses.chainId,
        addresses,
        dataDir: dir,
        log: pino({ level: "silent" }),
        channelDeposit: 0n,
        now: () => clock,
        schedule: false,
      });
    const first = prober(store);
    await first.readParameters();
    await first.followRegistry();
    await first.followDisputes();
    const mine = (p: Prober): MailboxFigures =>
      p.figures().find((f) => f.address === operator.toLowerCase())!;
    expect(mine(first).disputes).toEqual({
      open: 0,
      answered: 0,
      upheld: 0,
      slashed: "0",
      upheldAt: [],
      lastUpheldAt: null,
    });
    // The first round read from the deployment block (0 here) to the head.
    const head0 = await publicClient.getBlockNumber();
    expect(logRequests.length).toBeGreaterThan(0);
    for (const r of logRequests) expect(r).toEqual({ fromBlock: addresses.fromBlock, toBlock: head0 });

    // A reader disputes all three (a bond each); the operator answers the first with the envelope.
    const bond = networkParameters.local.disputeBond;
    await chain.send(
      challenger,
      addresses.snt,
      encodeFunctionData({ abi: sntAbi, functionName: "approve", args: [disputes, 3n * bond] }),
    );
    for (const d of receipted)
      await chain.send(
        challenger,
        disputes,
        encodeFunctionData({
          abi: disputesAbi,
          functionName: "disputeCustody",
          args: [d.receipt, d.signature],
        }),
      );
    await chain.send(
      operatorWallet,
      disputes,
      encodeFunctionData({
        abi: disputesAbi,
        functionName: "answerCustody",
        args: [answered.id, envelopeArgs(answered.envelope)],
      }),
    );
    logRequests.length = 0;
    await first.followDisputes();
    const head1 = await publicClient.getBlockNumber();
    expect(logRequests.length).toBeGreaterThan(0);
    for (const r of logRequests) expect(r).toEqual({ fromBlock: head0 + 1n, toBlock: head1 });
    expect(mine(first).disputes).toMatchObject({ open: 2, answered: 1, upheld: 0, slashed: "0" });
    expect(mine(first).factors.disputes).toBe(1);
    // No new block: nothing asked.
    logRequests.length = 0;
    await first.followDisputes();
    expect(logRequests).toEqual([]);

    // The window passes on the chain; the second dispute is finalised unanswered: upheld.
    await test.increaseTime({ seconds: Number(networkParameters.local.responseWindow) + 1 });
    await test.mine({ blocks: 1 });
    const stake = async () =>
      (
        await publicClient.readContract({
          address: addresses.registry,
          abi: mailboxRegistryAbi,
          functionName: "getMailbox",
          args: [operator],
        })
      ).stake;
    const before = await stake();
    const finalised = await chain.send(
      challenger,
      disputes,
      encodeFunctionData({ abi: disputesAbi, functionName: "finaliseCustody", args: [upheld.id] }),
    );
    const slashed = before - (await stake());
    expect(slashed).toBe((before * networkParameters.local.disputeSlashBps) / 10_000n);
    const upheldAt =
      Number((await publicClient.getBlock({ blockNumber: finalised.blockNumber })).timestamp) * 1000;

    // A restarted prober on the same database goes on from its cursor.
    const second = prober(store);
    logRequests.length = 0;
    await second.followRegistry();
    await second.followDisputes();
    const head2 = await publicClient.getBlockNumber();
    expect(logRequests.length).toBeGreaterThan(0);
    for (const r of logRequests) expect(r).toEqual({ fromBlock: head1 + 1n, toBlock: head2 });
    clock = upheldAt;
    const f = mine(second);
    expect(f.disputes).toEqual({
      open: 1,
      answered: 1,
      upheld: 1,
      slashed: slashed.toString(),
      upheldAt: [upheldAt],
      lastUpheldAt: upheldAt,
    });
    // Slashed below the minimum and jailed: no score; the factor is there for when it returns.
    expect(f.status).toBe(MailboxStatus.Jailed);
    expect(f.score).toBe(0);
    expect(f.factors.disputes).toBe(0.5);
    // On the prober's clock the penalty fades: a quarter off after 30 days, gone after a year.
    clock = upheldAt + 30 * DAY;
    expect(mine(second).factors.disputes).toBeCloseTo(0.75);
    clock = upheldAt + 366 * DAY;
    expect(mine(second).factors.disputes).toBe(1);
    expect(mine(second).disputes).toMatchObject({ upheld: 1, upheldAt: [], lastUpheldAt: upheldAt });
    // The one still open stays open, however late, until someone finalises it.
    expect(
      (
        await publicClient.readContract({
          address: disputes,
          abi: disputesAbi,
          functionName: "getDispute",
          args: [open.id],
        })
      ).state,
    ).toBe(1);
  }, 60_000);
});
