// Story B, paid, end to end: a real mailbox node (libp2p on loopback) in paid mode against the
// real contracts on Hardhat's in-process chain. A reader's channel manager opens a channel with one
// approveAndCall, buys every page of a room's history with session-key vouchers (restarting
// half-way), settles, and the node redeems on shutdown: on-chain, payer spent == payee received == the sum of the page costs, to the wei.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ChannelEvent,
  type ChannelManagerInit,
  createChannelManager,
  createClientHost,
  dialableAddresses,
  fetchHistory,
  type MailboxCandidate,
  NODE_DIAL_POLICY,
  PaymentRefusedError,
  queryStore,
} from "@postbox/client";
import { paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import { loadConfig, MailboxNode } from "@postbox/node";
import {
  bytesToBigint,
  computeChannelId,
  createEnvelope,
  createIdentity,
  encryptRoom,
  identify,
  roomTopic,
  StatusCode,
} from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { type Address, encodeFunctionData, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { PRICE, postboxChain } from "../support/chain.js";

const PQ = PRICE.pricePerQuery;
const PM = PRICE.pricePerMessage;
// Hardhat's account #1 (a public test key): the mailbox operator.
const OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

describe("paid history end to end", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-paid-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("story B paid: pages bought and served, redeemed, balances exact", async () => {
    const { viem } = await network.connect();
    const { publicClient, operatorWallet, payerWallet, operator, payer, addresses } =
      await postboxChain(viem);
    expect(operator.toLowerCase()).toBe(privateKeyToAccount(OPERATOR_KEY).address.toLowerCase());
    const balance = (who: Address) =>
      publicClient.readContract({
        address: addresses.snt,
        abi: sntAbi,
        functionName: "balanceOf",
        args: [who],
      });

    const node = await paidNode(join(dir, "mailbox"), addresses, publicClient, operatorWallet!);
    await node.start();
    const reader = await createClientHost();
    await reader.start();
    try {
      expect(node.meter.mode).toBe("paid");
      // 120 messages in #x, archived while the reader was away.
      const base = Date.now();
      const sender = createIdentity();
      const envelopes = roomHistory(sender, "#x", base, 120);
      await node.archive.insert(envelopes);
      const to = node.libp2p.getMultiaddrs();
      const topics = [roomTopic("#x")];

      // Unpaid: PAYMENT_REQUIRED with the on-chain price.
      const unpaid = await queryStore(reader, to, { contentTopics: topics, pageSize: 50 });
      expect(unpaid.status).toBe(StatusCode.PAYMENT_REQUIRED);
      expect(bytesToBigint(unpaid.quote!.pricePerQuery)).toBe(PQ);
      expect(unpaid.envelopes).toEqual([]);

      // The client's channel manager opens a channel in one transaction (approveAndCall) and
      // signs vouchers with its session key; it is restarted half-way and loses no credit.
      const clientDir = join(dir, "client");
      const manager = () =>
        readerChannels(clientDir, { publicClient, payerWallet, addresses }, { maxPageCost: parseEther("1") });
      let channels = await manager();
      const record = await channels.open(operator, parseEther("5"));
      expect(record.channelId).toBe(
        computeChannelId({ payer, payee: operator, signer: channels.session.address, salt: record.salt }),
      );

      let cursor: Uint8Array | undefined;
      const got: string[] = [];
      const costs: bigint[] = [];
      for (let page = 0; page < 10; page++) {
        if (page === 1) {
          // The client restarts mid-session.
          await channels.close();
          channels = await manager();
        }
        const res = await queryStore(reader, to, {
          contentTopics: topics,
          pageSize: 50,
          voucher: await channels.voucherFor(operator, 50),
          ...(cursor ? { cursor } : {}),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        channels.record(operator, res);
        costs.push(bytesToBigint(res.cost));
        expect(bytesToBigint(res.cost)).toBe(PQ + PM * BigInt(res.envelopes.length));
        got.push(...res.envelopes.map((e) => String(e.timestamp - BigInt(base))));
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      expect(got).toEqual(Array.from({ length: 120 }, (_, i) => String(i)));
      const sum = costs.reduce((a, b) => a + b, 0n);
      expect(channels.channelTo(operator)?.spent).toBe(sum.toString());
      // A voucher above the user's cap is never signed.
      const capped = await readerChannels(
        clientDir,
        { publicClient, payerWallet, addresses },
        { maxPageCost: 1n },
      );
      await expect(capped.voucherFor(operator, 50)).rejects.toThrow(/above your cap/);
      await capped.close();
      // Nor one that takes the channel above the user's spending cap (what it may authorise in all).
      const page = PQ + PM * 50n;
      const spending = (spendingCap: bigint) =>
        readerChannels(clientDir, { publicClient, payerWallet, addresses }, { spendingCap });
      const atCap = await spending(sum + page - 1n);
      const refusal = await atCap.voucherFor(operator, 50).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(PaymentRefusedError);
      expect((refusal as PaymentRefusedError).shortMessage).toBe("spending cap reached");
      expect((refusal as PaymentRefusedError).details).toMatch(/raise it to continue/);
      expect(atCap.channelTo(operator)?.authorized).toBe(channels.channelTo(operator)?.authorized);
      await atCap.close();
      const underCap = await spending(sum + page);
      expect((await underCap.voucherFor(operator, 50)).cumulativeAmount).toBeDefined();
      await underCap.close();
      // Settle: a voucher for exactly what was spent.
      const settled = await queryStore(reader, to, {
        contentTopics: [],
        includeData: false,
        voucher: await channels.settlementFor(operator),
      });
      expect(settled.status, settled.statusDesc).toBe(StatusCode.OK);
      const channelId = record.channelId;
      // A channel running low is topped up before the next voucher when the user asked for it.
      const topping = await readerChannels(
        clientDir,
        { publicClient, payerWallet, addresses },
        { autoTopUp: { below: parseEther("4.99"), amount: parseEther("1") } },
      );
      await topping.voucherFor(operator, 50);
      expect(topping.channelTo(operator)?.deposit).toBe(parseEther("6").toString());
      await topping.close();

      const payeeBefore = await balance(operator);
      await node.stop(); // the redeemer claims everything on shutdown
      const payeeReceived = (await balance(operator)) - payeeBefore;
      const channel = await publicClient.readContract({
        address: addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [channelId],
      });
      expect(payeeReceived).toBe(sum);
      expect(channel.paid).toBe(sum);
    } finally {
      await reader.stop();
      await node.stop();
    }
  });

  it("a lost answer: the repeat is refused as a replay, the reader reconciles and pays on the mailbox's figure", async () => {
    const { viem } = await network.connect();
    const { publicClient, operatorWallet, payerWallet, operator, addresses } = await postboxChain(viem);
    const node = await paidNode(join(dir, "mailbox-lost"), addresses, publicClient, operatorWallet!);
    await node.start();
    const reader = await createClientHost();
    await reader.start();
    try {
      const base = Date.now() - 60_000;
      const envelopes = roomHistory(createIdentity(), "#y", base, 30);
      await node.archive.insert(envelopes);
      const to = node.libp2p.getMultiaddrs();
      const topics = [roomTopic("#y")];
      const channels = await readerChannels(join(dir, "client-lost"), {
        publicClient,
        payerWallet,
        addresses,
      });
      const { channelId } = await channels.open(operator, parseEther("5"));
      const page = { contentTopics: topics, pageSize: 10 };

      // The mailbox takes a voucher and serves; the answer never reaches the reader's records.
      const lost = { ...page, voucher: await channels.voucherFor(operator, 10) };
      const served = await queryStore(reader, to, lost);
      expect(served.status, served.statusDesc).toBe(StatusCode.OK);
      const cost = bytesToBigint(served.cost);
      expect(channels.channelTo(operator)?.spent).toBe("0");
      // The client's resend of the same query is a replay: nothing served, nothing charged, and
      // the quote's spent amount reconciles the reader's record upwards (never downwards).
      const repeat = await queryStore(reader, to, lost);
      expect(repeat.status).toBe(StatusCode.INVALID_VOUCHER);
      expect(repeat.statusDesc).toMatch(/replayed/);
      expect(repeat.envelopes).toEqual([]);
      expect(bytesToBigint(repeat.quote!.spent)).toBe(cost);
      expect(channels.record(operator, repeat)).toBe(true);
      expect(channels.channelTo(operator)?.spent).toBe(cost.toString());
      expect(
        channels.record(operator, { ...repeat, quote: { ...repeat.quote!, spent: new Uint8Array() } }),
      ).toBe(false);
      expect(channels.channelTo(operator)?.spent).toBe(cost.toString());

      // Another answer lost; then a catch-up signs on its stale record, is refused as short, takes
      // the mailbox's figure from the refusal and pays again: every message arrives.
      const lostAgain = await queryStore(reader, to, {
        ...page,
        voucher: await channels.voucherFor(operator, 10),
      });
      expect(lostAgain.status).toBe(StatusCode.OK);
      const refused: string[] = [];
      const history = await fetchHistory({
        host: reader,
        addresses: (c) => dialableAddresses(c, NODE_DIAL_POLICY),
        candidates: [
          {
            id: operator,
            operator,
            peerId: node.libp2p.peerId.toString(),
            multiaddrs: to.map(String),
            paid: true,
            price: PRICE,
          } as unknown as MailboxCandidate,
        ],
        k: 1,
        topics,
        from: base - 1,
        pageSize: 10,
        channels,
        feed: "#y",
        onFailure: (_, err) => refused.push(err.message),
      });
      expect(refused).toEqual([]);
      expect(history.envelopes.map((e) => e.id)).toEqual(envelopes.map((e) => identify(e).id));
      expect(history.served).toEqual([operator]);

      // The settlement at the end of the catch-up is accepted only for exactly the mailbox's
      // spent amount; the redeemer claims it on shutdown, to the wei.
      const spent = BigInt(channels.channelTo(operator)!.spent);
      expect(spent).toBe(cost + bytesToBigint(lostAgain.cost) + PQ * BigInt(history.pages) + PM * 30n);

      // A catch-up that meets the user's spending cap stops there, says so, and never counts it
      // against the mailbox (the client's own refusal).
      const capped = await readerChannels(
        join(dir, "client-lost"),
        { publicClient, payerWallet, addresses },
        { spendingCap: spent },
      );
      const failures: string[] = [];
      const stopped = await fetchHistory({
        host: reader,
        addresses: (c) => dialableAddresses(c, NODE_DIAL_POLICY),
        candidates: [
          {
            id: operator,
            operator,
            peerId: node.libp2p.peerId.toString(),
            multiaddrs: to.map(String),
            paid: true,
            price: PRICE,
          } as unknown as MailboxCandidate,
        ],
        k: 1,
        topics,
        from: base - 1,
        pageSize: 10,
        channels: capped,
        feed: "#y",
        onFailure: (_, err) => failures.push(err.message),
      }).catch((e: unknown) => e);
      expect(stopped).toBeInstanceOf(PaymentRefusedError);
      expect(stopped).toMatchObject({ shortMessage: "spending cap reached" });
      expect(failures).toEqual([]);
      expect(capped.channelTo(operator)?.spent).toBe(spent.toString());
      await capped.close();
      await channels.close();
      await node.stop();
      const channel = await publicClient.readContract({
        address: addresses.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [channelId],
      });
      expect(channel.paid).toBe(spent);
    } finally {
      await reader.stop();
      await node.stop();
    }
  });

  it("a channel withdrawn elsewhere mid-session: the refusal makes the reader check the chain and reopen, not blame the mailbox", async () => {
    const { viem } = await network.connect();
    const chain = await postboxChain(viem);
    const { publicClient, operatorWallet, payerWallet, operator, addresses } = chain;
    const node = await paidNode(join(dir, "mailbox-withdrawn"), addresses, publicClient, operatorWallet!);
    await node.start();
    const reader = await createClientHost();
    await reader.start();
    try {
      const base = Date.now() - 60_000;
      const envelopes = roomHistory(createIdentity(), "#z", base, 30);
      await node.archive.insert(envelopes);
      const channels = await readerChannels(join(dir, "client-withdrawn"), {
        publicClient,
        payerWallet,
        addresses,
      });
      const events: ChannelEvent[] = [];
      channels.onEvent((e) => events.push(e));
      // Opened (and so checked) in this session; then closed and withdrawn from the same wallet
      // elsewhere (the dashboard), behind the reader's back.
      const { channelId } = await channels.open(operator, parseEther("5"));
      const call = (functionName: "requestClose" | "withdraw") =>
        chain.send(
          payerWallet!,
          addresses.channels,
          encodeFunctionData({ abi: paymentChannelsAbi, functionName, args: [channelId] }),
        );
      await call("requestClose");
      await publicClient.request({ method: "evm_increaseTime", params: [3_600] } as never);
      await call("withdraw");

      const failures: string[] = [];
      const history = await fetchHistory({
        host: reader,
        addresses: (c) => dialableAddresses(c, NODE_DIAL_POLICY),
        candidates: [
          {
            id: operator,
            operator,
            peerId: node.libp2p.peerId.toString(),
            multiaddrs: node.libp2p.getMultiaddrs().map(String),
            paid: true,
            price: PRICE,
          } as unknown as MailboxCandidate,
        ],
        k: 1,
        topics: [roomTopic("#z")],
        from: base - 1,
        pageSize: 10,
        channels,
        deposit: parseEther("2"),
        feed: "#z",
        onFailure: (_, err) => failures.push(err.message),
      });
      expect(failures).toEqual([]);
      expect(history.envelopes.map((e) => e.id)).toEqual(envelopes.map((e) => identify(e).id));
      expect(events.map((e) => e.type)).toEqual(["opening", "opened", "archived", "opening", "opened"]);
      expect(events[2]).toMatchObject({
        record: { channelId, reason: "closed and withdrawn on this chain" },
      });
      expect(channels.channelTo(operator)?.channelId).not.toBe(channelId);
      await channels.close();
    } finally {
      await reader.stop();
      await node.stop();
    }
  });
});

type Chain = Awaited<ReturnType<typeof postboxChain>>;

/**
 * The reader's channel manager on the test chain, paying from the payer's wallet: a voucher per page
 * (`creditPages` 1, as before credit windows) unless `extra` says otherwise.
 */
function readerChannels(
  dataDir: string,
  chain: Pick<Chain, "publicClient" | "payerWallet" | "addresses">,
  extra: Partial<ChannelManagerInit> = {},
) {
  const { publicClient, payerWallet, addresses } = chain;
  return createChannelManager({
    location: dataDir,
    publicClient,
    wallet: payerWallet!,
    chainId: addresses.chainId,
    snt: addresses.snt,
    registry: addresses.registry,
    channels: addresses.channels,
    creditPages: 1,
    ...extra,
  });
}

/** A mailbox node in paid mode on the test chain; its redeemer claims only on shutdown. */
function paidNode(
  dataDir: string,
  addresses: Chain["addresses"],
  publicClient: Chain["publicClient"],
  walletClient: NonNullable<Chain["operatorWallet"]>,
) {
  return MailboxNode.create(
    loadConfig({
      flags: {
        dataDir,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        http: { port: 0 },
        logLevel: "silent",
        chain: {
          rpcUrl: "http://127.0.0.1:1",
          chainId: addresses.chainId,
          registry: addresses.registry,
          channels: addresses.channels,
          operatorKey: OPERATOR_KEY,
        },
        payments: { redeemMin: "1000000" }, // only on shutdown here
      },
    }),
    { logger: pino({ level: "silent" }), chainClients: { publicClient, walletClient } },
  );
}

/** `count` room messages one millisecond apart from `base`, as archived. */
function roomHistory(sender: ReturnType<typeof createIdentity>, room: string, base: number, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const ts = BigInt(base + i);
    return {
      ...createEnvelope({ ...encryptRoom(sender, room, `m${i}`, ts), timestamp: ts }),
      receivedAt: base,
    };
  });
}
