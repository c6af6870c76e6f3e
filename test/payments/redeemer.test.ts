// The redeemer on the real contracts: it claims at once when the payer asks to close (before the
// deadline), and whatever is left on shutdown; the chain pays exactly the settled amounts. A close
// requested while the redeemer was not running, or while its event watch fails, is found by the
// state reads of its passes and redeemed before the deadline too.

import { paymentChannelsAbi } from "@postbox/contracts";
import { ChainReader, ChannelMeter, Redeemer, SqliteLedger } from "@postbox/node";
import { bigintToBytes, fromBareHex, pageCost, type StoreQuery, signVoucher } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { encodeFunctionData, type Hex, type PublicClient, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it, vi } from "vitest";
import { PRICE, postboxChain } from "../support/chain.js";

const FULL = pageCost(PRICE, 10);

/** A chain with `channels` channels to the operator, each with one full page served and settled. */
async function served(channels: number, options: { client?: (c: PublicClient) => PublicClient } = {}) {
  const { viem } = await network.connect();
  const fixture = await postboxChain(viem);
  const { publicClient, operator, addresses: a, openChannel } = fixture;
  const session = privateKeyToAccount(generatePrivateKey());
  const ids: Hex[] = [];
  for (let i = 0; i < channels; i++) ids.push(await openChannel(operator, session.address, parseEther("1")));
  const ledger = new SqliteLedger({ path: ":memory:" });
  const client = options.client ? options.client(publicClient) : publicClient;
  const chain = new ChainReader(
    client,
    { chainId: a.chainId, registry: a.registry, channels: a.channels, operator },
    { channelTtlMs: 0 },
  );
  const meter = new ChannelMeter({
    chain,
    ledger,
    closeSafetyMarginSeconds: 10,
    exposureCap: parseEther("10"),
  });
  // Serve one full page on each channel: its voucher is exactly what was spent.
  for (const id of ids) {
    const q: StoreQuery = {
      requestId: "r",
      contentTopics: ["/t"],
      ids: [],
      includeData: true,
      forward: true,
      pageSize: 10,
      voucher: {
        channelId: fromBareHex(id),
        cumulativeAmount: bigintToBytes(FULL),
        signature: fromBareHex(
          await signVoucher(
            session,
            { chainId: a.chainId, verifyingContract: a.channels },
            { channelId: id, cumulativeAmount: FULL },
          ),
        ),
      },
    };
    const d = await meter.authorize({ query: q, maxMessages: 10 });
    if (!d.ok) throw new Error(d.desc);
    await d.charge(10);
  }
  const redeemer = (intervalMs = 60_000) =>
    new Redeemer({
      chain,
      ledger,
      wallet: fixture.operatorWallet!,
      log: pino({ level: "silent" }),
      minAmount: parseEther("1000"), // far above what was served: only closes and shutdown redeem
      intervalMs,
    });
  const state = (id: Hex) =>
    publicClient.readContract({
      address: a.channels,
      abi: paymentChannelsAbi,
      functionName: "getChannel",
      args: [id],
    });
  const requestClose = (id: Hex) =>
    fixture.send(
      fixture.payerWallet,
      a.channels,
      encodeFunctionData({ abi: paymentChannelsAbi, functionName: "requestClose", args: [id] }),
    );
  /** Waits until `id` has paid FULL, and checks that its close deadline is still ahead. */
  const redeemedBeforeDeadline = async (id: Hex) => {
    await vi.waitFor(async () => expect((await state(id)).paid).toBe(FULL), {
      timeout: 20_000,
      interval: 100,
    });
    const now = (await publicClient.getBlock()).timestamp;
    expect(BigInt((await state(id)).closesAt)).toBeGreaterThan(now);
  };
  return { ...fixture, viem, ids, ledger, redeemer, state, requestClose, redeemedBeforeDeadline };
}

describe("Redeemer", () => {
  it("redeems a closing channel before its deadline, and the rest on shutdown", async () => {
    const { ids, ledger, redeemer, state, requestClose, redeemedBeforeDeadline } = await served(2);
    const r = redeemer();
    r.start();
    // The payer asks to close channel 0: the redeemer claims it at once, below its threshold.
    await requestClose(ids[0]!);
    await redeemedBeforeDeadline(ids[0]!);
    expect((await state(ids[1]!)).paid).toBe(0n); // below the threshold: not yet
    await r.stop(); // shutdown claims the rest
    expect((await state(ids[1]!)).paid).toBe(FULL);
    expect((await ledger.redeemable()).length).toBe(0);
    await ledger.close();
  }, 60_000);

  it("redeems at start a close requested while it was not running", async () => {
    const { viem, ids, ledger, redeemer, state, requestClose, redeemedBeforeDeadline } = await served(2);
    await requestClose(ids[1]!); // the mailbox is down: no watch sees this
    const testClient = await viem.getTestClient();
    await testClient.mine({ blocks: 5 }); // and the chain moves on before it is back
    const r = redeemer();
    r.start();
    await redeemedBeforeDeadline(ids[1]!);
    expect((await state(ids[0]!)).paid).toBe(0n); // no close pending, below the threshold
    await r.stop();
    await ledger.close();
  }, 60_000);

  it("never sends vouchers of a channel this chain does not have, pass after pass", async () => {
    const { ids, ledger, redeemer, state, publicClient, operator } = await served(1);
    // The ledger also holds a settled voucher of a channel from another chain (a restarted devnet).
    const real = (await ledger.get(fromBareHex(ids[0]!)))!;
    // It is far above the threshold, so every pass would try it.
    const foreign = parseEther("2000");
    await ledger.put({
      ...real,
      channelId: new Uint8Array(32).fill(7),
      spent: foreign,
      authorizedAmount: foreign,
      settledAmount: foreign,
    });
    const r = redeemer(200);
    r.start();
    const nonce = await publicClient.getTransactionCount({ address: operator });
    await r.run("test");
    await r.run("test");
    expect(await publicClient.getTransactionCount({ address: operator })).toBe(nonce); // nothing sent
    await r.stop(); // shutdown redeems the real channel only
    expect((await state(ids[0]!)).paid).toBe(FULL);
    expect(await publicClient.getTransactionCount({ address: operator })).toBe(nonce + 1);
    await ledger.close();
  }, 60_000);

  it("finds a close request on its interval pass while the event watch fails", async () => {
    let watchFailures = 0;
    const { ids, ledger, redeemer, state, requestClose, redeemedBeforeDeadline } = await served(2, {
      // The RPC refuses event filters: every watch reports an error and delivers nothing.
      client: (c) =>
        new Proxy(c, {
          get(target, prop, receiver) {
            if (prop !== "watchContractEvent") return Reflect.get(target, prop, receiver);
            return (args: { onError?: (e: Error) => void }) => {
              watchFailures++;
              queueMicrotask(() => args.onError?.(new Error("eth_newFilter: method not supported")));
              return () => undefined;
            };
          },
        }),
    });
    const r = redeemer(500);
    r.start();
    await vi.waitFor(() => expect(watchFailures).toBeGreaterThan(0));
    await requestClose(ids[0]!);
    await redeemedBeforeDeadline(ids[0]!);
    expect((await state(ids[1]!)).paid).toBe(0n);
    await r.stop();
    await ledger.close();
  }, 60_000);
});
