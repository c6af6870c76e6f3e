// Paid access against the real contracts on Hardhat's simulated chain and a real SQLite ledger:
// every refusal case from the metering rules, the accepted path, concurrency on one channel, and
// that accepted vouchers are redeemable on-chain for exactly what the ledger says.

import { type deployPostbox, paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import { ChainReader, ChannelMeter, SqliteLedger } from "@postbox/node";
import {
  bigintToBytes,
  bytesToBigint,
  fromBareHex,
  pageCost,
  StatusCode,
  type StoreQuery,
  signVoucher,
} from "@postbox/protocol";
import { network } from "hardhat";
import { type Address, encodeFunctionData, type Hex, parseEther, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import { PRICE, postboxChain } from "../support/chain.js";

const PQ = PRICE.pricePerQuery;
const PM = PRICE.pricePerMessage;

describe("ChannelMeter on a real chain", () => {
  let viem: Awaited<ReturnType<typeof network.connect>>["viem"];
  let helpers: Awaited<ReturnType<typeof network.connect>>["networkHelpers"];
  let addresses: Awaited<ReturnType<typeof deployPostbox>>;
  let operator: Address;
  let otherOperator: Address;
  let _payer: Address;
  let chain: ChainReader;
  let ledger: SqliteLedger;
  let meter: ChannelMeter;
  const session = privateKeyToAccount(generatePrivateKey());

  let fixture: Awaited<ReturnType<typeof postboxChain>>;

  const send = (walletIndex: number, to: Address, data: Hex) =>
    fixture.send(fixture.wallets[walletIndex]!, to, data);
  const open = (payee: Address, deposit: bigint) => fixture.openChannel(payee, session.address, deposit);

  const domain = () => ({ chainId: addresses.chainId, verifyingContract: addresses.channels });

  async function query(channelId: Hex, amount: bigint, signer = session, pageSize = 10): Promise<StoreQuery> {
    const signature = await signer.signTypedData({
      domain: { name: "Postbox PaymentChannels", version: "1", ...domain() },
      types: {
        Voucher: [
          { name: "channelId", type: "bytes32" },
          { name: "cumulativeAmount", type: "uint256" },
        ],
      },
      primaryType: "Voucher",
      message: { channelId, cumulativeAmount: amount },
    });
    return {
      requestId: "q",
      contentTopics: ["/t"],
      ids: [],
      includeData: true,
      forward: true,
      pageSize,
      voucher: {
        channelId: fromBareHex(channelId),
        cumulativeAmount: bigintToBytes(amount),
        signature: fromBareHex(signature),
      },
    };
  }

  beforeAll(async () => {
    ({ viem, networkHelpers: helpers } = await network.connect());
    fixture = await postboxChain(viem);
    const publicClient = fixture.publicClient;
    addresses = fixture.addresses;
    operator = fixture.operator;
    otherOperator = fixture.wallets[3]!.account.address;
    _payer = fixture.payer;
    chain = new ChainReader(
      publicClient,
      { chainId: addresses.chainId, registry: addresses.registry, channels: addresses.channels, operator },
      { channelTtlMs: 0 },
    );
    ledger = new SqliteLedger({ path: ":memory:" });
    meter = new ChannelMeter({ chain, ledger, closeSafetyMarginSeconds: 30, exposureCap: parseEther("50") });
  });

  const max = (n = 10) => pageCost({ pricePerQuery: PQ, pricePerMessage: PM }, n);

  it("asks for payment, with a quote, when there is no voucher", async () => {
    const q = { ...(await query(await open(operator, parseEther("1")), max())) };
    delete (q as Partial<StoreQuery>).voucher;
    const d = await meter.authorize({ query: q, maxMessages: 10 });
    expect(d.ok).toBe(false);
    if (d.ok) return;
    expect(d.status).toBe(StatusCode.PAYMENT_REQUIRED);
    expect(bytesToBigint(d.quote!.pricePerQuery)).toBe(PQ);
    expect(bytesToBigint(d.quote!.maxPageCost)).toBe(max());
    expect(d.quote!.payee.toLowerCase()).toBe(operator.toLowerCase());
  });

  it("accepts a covering voucher, charges the actual cost and keeps the credit", async () => {
    const id = await open(operator, parseEther("1"));
    const d = await meter.authorize({ query: await query(id, max()), maxMessages: 10 });
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    const charge = await d.charge(4);
    expect(charge.cost).toBe(PQ + 4n * PM);
    const account = await ledger.get(fromBareHex(id));
    expect(account?.spent).toBe(PQ + 4n * PM);
    expect(account?.authorizedAmount).toBe(max());
  });

  it("reports a known channel's spent in the quote of a malformed voucher's refusal", async () => {
    const id = await open(operator, parseEther("1"));
    const d = await meter.authorize({ query: await query(id, max()), maxMessages: 10 });
    if (!d.ok) throw new Error(d.desc);
    await d.charge(3);
    const q = await query(id, 2n * max());
    q.voucher!.signature = q.voucher!.signature.slice(0, 64); // a 64-byte (compact) signature
    const refused = await meter.authorize({ query: q, maxMessages: 10 });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.status).toBe(StatusCode.INVALID_VOUCHER);
    expect(bytesToBigint(refused.quote!.spent)).toBe(PQ + 3n * PM);
  });

  it.each([
    ["an underpaid voucher", StatusCode.INSUFFICIENT_FUNDS, async (id: Hex) => query(id, max() - 1n)],
    [
      "a voucher above the deposit",
      StatusCode.INSUFFICIENT_FUNDS,
      async (id: Hex) => query(id, parseEther("2")),
    ],
    [
      "a forged signature",
      StatusCode.INVALID_VOUCHER,
      async (id: Hex) => query(id, max(), privateKeyToAccount(generatePrivateKey())),
    ],
  ])("refuses %s: nothing charged", async (_name, status, build) => {
    const id = await open(operator, parseEther("1"));
    const d = await meter.authorize({ query: await build(id), maxMessages: 10 });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.status).toBe(status);
    expect(await ledger.get(fromBareHex(id))).toBeUndefined();
  });

  it("refuses another mailbox's channel", async () => {
    const id = await open(otherOperator, parseEther("1"));
    const d = await meter.authorize({ query: await query(id, max()), maxMessages: 10 });
    expect(d.ok ? 0 : d.status).toBe(StatusCode.INVALID_VOUCHER);
  });

  it("refuses a replayed voucher", async () => {
    const id = await open(operator, parseEther("1"));
    const q = await query(id, max());
    const first = await meter.authorize({ query: q, maxMessages: 10 });
    if (!first.ok) throw new Error("first refused");
    await first.charge(10);
    const again = await meter.authorize({ query: q, maxMessages: 10 });
    expect(again.ok ? 0 : again.status).toBe(StatusCode.INVALID_VOUCHER);
    expect((await ledger.get(fromBareHex(id)))?.spent).toBe(max());
  });

  it("refuses a channel whose close is due inside the safety margin", async () => {
    const id = await open(operator, parseEther("1"));
    await send(
      2,
      addresses.channels,
      encodeFunctionData({ abi: paymentChannelsAbi, functionName: "requestClose", args: [id] }),
    );
    // closeGrace is 120 s on the devnet: outside the 30 s margin at first...
    const ok = await meter.authorize({ query: await query(id, max()), maxMessages: 10 });
    expect(ok.ok).toBe(true);
    if (ok.ok) await ok.charge(0);
    // ...then inside it, by the chain's clock.
    await helpers.time.increase(100);
    const fresh = new ChainReader(await viem.getPublicClient(), chain.settings, { channelTtlMs: 0 });
    const late = await new ChannelMeter({
      chain: fresh,
      ledger,
      closeSafetyMarginSeconds: 30,
      exposureCap: parseEther("50"),
    }).authorize({
      query: await query(id, 2n * max()),
      maxMessages: 10,
    });
    expect(late.ok ? 0 : late.status).toBe(StatusCode.CHANNEL_CLOSING);
  });

  it("serialises 50 concurrent queries on one channel: spent is exact, nothing charged twice", async () => {
    const id = await open(operator, parseEther("100"));
    // Each query carries the next voucher, as a client pipelining 50 pages would.
    const queries = await Promise.all(Array.from({ length: 50 }, (_, i) => query(id, BigInt(i + 1) * max())));
    const results = await Promise.all(
      queries.map(async (q, i) => {
        const d = await meter.authorize({ query: q, maxMessages: 10 });
        if (!d.ok) return { i, status: d.status };
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        const c = await d.charge(10);
        return { i, cost: c.cost };
      }),
    );
    const served = results.filter((r) => "cost" in r);
    expect(served.length).toBe(50);
    const account = await ledger.get(fromBareHex(id));
    expect(account?.spent).toBe(50n * max());
    // Full pages: the last voucher equals what was served, and the chain pays exactly that.
    expect(account?.settledAmount).toBe(50n * max());
    const wallets = await viem.getWalletClients();
    const before = await (await viem.getPublicClient()).readContract({
      address: addresses.snt,
      abi: sntAbi,
      functionName: "balanceOf",
      args: [operator],
    });
    await send(
      1,
      addresses.channels,
      encodeFunctionData({
        abi: paymentChannelsAbi,
        functionName: "redeem",
        args: [id, account!.settledAmount, toHex(account!.settledSignature)],
      }),
    );
    const after = await (await viem.getPublicClient()).readContract({
      address: addresses.snt,
      abi: sntAbi,
      functionName: "balanceOf",
      args: [operator],
    });
    expect(after - before).toBe(50n * max());
    void wallets;
  });

  it("signs vouchers with the protocol helper the same way", async () => {
    const id = await open(operator, parseEther("1"));
    const signature = await signVoucher(session, domain(), { channelId: id, cumulativeAmount: max() });
    const q = await query(id, max());
    expect(toHex(q.voucher!.signature)).toBe(signature);
  });
});
