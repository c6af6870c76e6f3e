// The redeemer on the real contracts: it claims at once when the payer asks to close (before the
// deadline), and whatever is left on shutdown; the chain pays exactly the settled amounts.

import { paymentChannelsAbi } from "@postbox/contracts";
import { ChainReader, ChannelMeter, Redeemer, SqliteLedger } from "@postbox/node";
import { bigintToBytes, fromHex, pageCost, type StoreQuery, signVoucher } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { encodeFunctionData, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { PRICE, postboxChain } from "../support/chain.js";

const PQ = PRICE.pricePerQuery;
const PM = PRICE.pricePerMessage;

describe("Redeemer", () => {
  it("redeems a closing channel before its deadline, and the rest on shutdown", async () => {
    const { viem } = await network.connect();
    const {
      publicClient,
      operatorWallet,
      payerWallet,
      operator,
      addresses: a,
      send,
      openChannel,
    } = await postboxChain(viem);
    const session = privateKeyToAccount(generatePrivateKey());
    const ids: Hex[] = [
      await openChannel(operator, session.address, parseEther("1")),
      await openChannel(operator, session.address, parseEther("1")),
    ];
    const ledger = new SqliteLedger({ path: ":memory:" });
    const chain = new ChainReader(
      publicClient,
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
    const full = pageCost({ pricePerQuery: PQ, pricePerMessage: PM }, 10);
    for (const id of ids) {
      const q: StoreQuery = {
        requestId: "r",
        contentTopics: ["/t"],
        ids: [],
        includeData: true,
        forward: true,
        pageSize: 10,
        voucher: {
          channelId: fromHex(id),
          cumulativeAmount: bigintToBytes(full),
          signature: fromHex(
            await signVoucher(
              session,
              { chainId: a.chainId, verifyingContract: a.channels },
              { channelId: id, cumulativeAmount: full },
            ),
          ),
        },
      };
      const d = await meter.authorize({ query: q, maxMessages: 10 });
      if (!d.ok) throw new Error(d.desc);
      await d.charge(10);
    }
    const redeemer = new Redeemer({
      chain,
      ledger,
      wallet: operatorWallet!,
      log: pino({ level: "silent" }),
      minAmount: parseEther("1000"),
      intervalMs: 60_000,
    });
    redeemer.start();
    const paid = async (id: Hex) =>
      (
        await publicClient.readContract({
          address: a.channels,
          abi: paymentChannelsAbi,
          functionName: "getChannel",
          args: [id],
        })
      ).paid;
    // The payer asks to close channel 0: the redeemer claims it at once, below its threshold.
    await send(
      payerWallet,
      a.channels,
      encodeFunctionData({ abi: paymentChannelsAbi, functionName: "requestClose", args: [ids[0]!] }),
    );
    const deadline = Date.now() + 20_000;
    while ((await paid(ids[0]!)) !== full) {
      if (Date.now() > deadline) throw new Error("the close request was not redeemed");
      await new Promise((r) => setTimeout(r, 100));
    }
    const closing = await publicClient.readContract({
      address: a.channels,
      abi: paymentChannelsAbi,
      functionName: "getChannel",
      args: [ids[0]!],
    });
    const now = (await publicClient.getBlock()).timestamp;
    expect(BigInt(closing.closesAt)).toBeGreaterThan(now); // before the deadline
    expect(await paid(ids[1]!)).toBe(0n); // below the threshold: not yet
    await redeemer.stop(); // shutdown claims the rest
    expect(await paid(ids[1]!)).toBe(full);
    expect((await ledger.redeemable()).length).toBe(0);
    await ledger.close();
  }, 60_000);
});
