// Credit windows on the real contracts (Hardhat's in-process chain), a real SQLite ledger file and
// real mailbox nodes: a voucher pays up to W pages ahead and the mailbox draws each page's actual
// cost from it. Property runs with random W, page sizes and misbehaving clients: the mailbox never
// serves beyond the voucher it accepted, charges each page once, commits only what it may redeem
// (settled ≤ committed spent), and after settlement the chain pays exactly what was served. Then
// the client side: one voucher per W pages in a catch-up, the spending cap, what a dishonest
// mailbox could take (at most W pages' worth), and 50 catch-ups at once on one channel.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  type ChannelManager,
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
import { paymentChannelsAbi } from "@postbox/contracts";
import { ChainReader, ChannelMeter, loadConfig, MailboxNode, Redeemer, SqliteLedger } from "@postbox/node";
import {
  bigintToBytes,
  bytesToBigint,
  createEnvelope,
  createIdentity,
  encryptRoom,
  fromBareHex,
  identify,
  pageCost,
  roomTopic,
  StatusCode,
  type StoreQuery,
  signVoucher,
} from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import { encodeFunctionData, type Hex, parseEther, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, describe, expect, it } from "vitest";
import { POSTBOX_BIN } from "../../scripts/lib/devnet.ts";
import { PRICE, postboxChain } from "../support/chain.js";

const PQ = PRICE.pricePerQuery;
const PM = PRICE.pricePerMessage;
// Hardhat's account #1 (a public test key): the mailbox operator of the fixture.
const OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const dir = mkdtempSync(join(tmpdir(), "postbox-credit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small seeded generator (mulberry32): a failing run is repeated from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

describe("the mailbox's side of credit windows (property runs)", () => {
  const SEEDS = [1, 2, 3, 4, 5, 6];

  it.each(SEEDS)(
    "seed %i: never serves beyond the accepted voucher, charges each page once, settles exactly",
    async (seed) => {
      const rnd = random(seed);
      const W = BigInt(rnd.int(1, 12));
      const { viem } = await network.connect();
      const fixture = await postboxChain(viem);
      const { publicClient, operator, addresses: a } = fixture;
      const session = privateKeyToAccount(generatePrivateKey());
      const stranger = privateKeyToAccount(generatePrivateKey());
      const channelId = await fixture.openChannel(operator, session.address, parseEther("50"));
      const path = join(dir, `ledger-${seed}.sqlite`);
      const ledger = new SqliteLedger({ path });
      const chain = new ChainReader(
        publicClient,
        { chainId: a.chainId, registry: a.registry, channels: a.channels, operator },
        { channelTtlMs: 0 },
      );
      // Draws stay in memory until a voucher, a settlement or close commits them (no timer here).
      const meter = new ChannelMeter({
        chain,
        ledger,
        closeSafetyMarginSeconds: 10,
        exposureCap: parseEther("100"),
        commitDelayMs: 3_600_000,
      });
      const committed = new DatabaseSync(path, { readOnly: true });
      const onDisk = () =>
        committed
          .prepare(
            "SELECT spent, authorized_amount, settled_amount FROM channel_accounts WHERE channel_id = ?",
          )
          .get(fromBareHex(channelId)) as
          | { spent: string; authorized_amount: string; settled_amount: string }
          | undefined;
      const domain = { chainId: a.chainId, verifyingContract: a.channels };
      const voucher = async (amount: bigint, signer = session) => ({
        channelId: fromBareHex(channelId),
        cumulativeAmount: bigintToBytes(amount),
        signature: fromBareHex(await signVoucher(signer, domain, { channelId, cumulativeAmount: amount })),
      });
      const query = (v: StoreQuery["voucher"], pageSize: number): StoreQuery => ({
        requestId: "q",
        contentTopics: ["/t"],
        ids: [],
        includeData: true,
        forward: true,
        pageSize,
        ...(v ? { voucher: v } : {}),
      });
      /** The mailbox's spent amount now, page by page (what any refusal's quote carries). */
      const mailboxSpent = async () => {
        const probe = await voucher(1n);
        probe.signature = probe.signature.slice(0, 64);
        const d = await meter.authorize({ query: query(probe, 1), maxMessages: 1 });
        if (d.ok) throw new Error("a malformed voucher was accepted");
        return bytesToBigint(d.quote!.spent);
      };

      // What the client knows: the mailbox reports spent with every page.
      let served = 0n; // the sum of the costs of the pages served
      let accepted = 0n; // the highest voucher the mailbox accepted
      const vouchers: Awaited<ReturnType<typeof voucher>>[] = []; // those accepted, in order
      // Accepted vouchers a newer one replaced while they were still above what was served: they
      // may still draw on the newer one's credit (queries in flight arrive out of order).
      let replaced: (typeof vouchers)[number][] = [];
      let settledExpected = 0n; // the highest accepted voucher or settlement within what was served
      const passed = () => {
        replaced = replaced.filter((r) => bytesToBigint(r.cumulativeAmount) > served).slice(-4);
        for (const v of vouchers) {
          const amount = bytesToBigint(v.cumulativeAmount);
          if (amount <= served && amount > settledExpected) settledExpected = amount;
        }
      };
      let pages = 0;
      let refusals = 0;

      /**
       * One query; checks the answer against the model (`expected`: served, or the refusal's
       * status). Returns "served", "refused" or "released".
       */
      const ask = async (
        v: Awaited<ReturnType<typeof voucher>>,
        pageSize: number,
        expected: true | StatusCode,
      ) => {
        const max = pageCost(PRICE, pageSize);
        const amount = bytesToBigint(v.cumulativeAmount);
        const d = await meter.authorize({ query: query(v, pageSize), maxMessages: pageSize });
        const expectOk = expected === true;
        if (!d.ok) {
          refusals++;
          expect(expectOk, `refused: ${d.desc}`).toBe(false);
          expect(StatusCode[d.status], d.desc).toBe(StatusCode[expected as StatusCode]);
          expect(bytesToBigint(d.quote!.spent)).toBe(served); // nothing charged, the figure reported
          return "refused";
        }
        expect(expectOk, "served a query it should have refused").toBe(true);
        // Never beyond what was accepted: the page at its largest fits under the voucher it draws on.
        expect(served + max).toBeLessThanOrEqual(amount > accepted ? amount : accepted);
        const messages = rnd.int(0, pageSize);
        if (rnd.next() < 0.05) {
          d.release(); // the archive failed after authorisation: nothing served, nothing charged
          return "released";
        }
        const charge = await d.charge(messages);
        expect(charge.cost).toBe(pageCost(PRICE, messages));
        served += charge.cost;
        expect(charge.spent).toBe(served);
        if (amount > accepted) {
          const previous = vouchers.at(-1);
          if (previous) replaced.push(previous);
          accepted = amount;
          vouchers.push(v);
        }
        passed();
        pages++;
        return "served";
      };

      for (let step = 0; step < 50; step++) {
        const pageSize = rnd.int(1, 10);
        const max = pageCost(PRICE, pageSize);
        const action = rnd.next();
        const last = vouchers.at(-1);
        const credit = accepted - served;
        if (action < 0.55) {
          // An honest client: the last voucher while its credit covers the page, else a new one W
          // pages ahead (above the last one).
          if (last && W > 1n && credit >= max) await ask(last, pageSize, true);
          else {
            let amount = served + W * max;
            if (amount <= accepted) amount = accepted + 1n;
            if ((await ask(await voucher(amount), pageSize, true)) === "served") {
              // An accepted voucher is on disk, with the spent amount after its page.
              expect(BigInt(onDisk()!.authorized_amount)).toBe(amount);
              expect(BigInt(onDisk()!.spent)).toBe(served);
            }
          }
        } else if (action < 0.65 && last) {
          // The last voucher again: served while its credit covers the page, else refused.
          await ask(last, pageSize, credit >= max || StatusCode.INVALID_VOUCHER);
        } else if (action < 0.72 && vouchers.length > 1) {
          // An older voucher: stale, unless one the last replaced while still above what was
          // served (overtaken in flight), which draws on the last one's credit.
          const old = vouchers[rnd.int(0, vouchers.length - 2)]!;
          await ask(old, pageSize, (replaced.includes(old) && credit >= max) || StatusCode.INVALID_VOUCHER);
        } else if (action < 0.74 && last && W > 1n) {
          // Out of order: a newer voucher arrives (and is accepted) before a query still carrying
          // the last one, which then draws on the newer one's credit while it is above what was
          // served (never redeemable yet), else is stale.
          const newer = await voucher(accepted + W * max);
          if ((await ask(newer, pageSize, true)) === "served") {
            const ok = replaced.includes(last) && accepted - served >= max;
            await ask(last, pageSize, ok || StatusCode.INVALID_VOUCHER);
          }
        } else if (action < 0.77) {
          // A new voucher that does not cover spent + this page: too little.
          const amount = served + max - 1n;
          if (amount > accepted) await ask(await voucher(amount), pageSize, StatusCode.INSUFFICIENT_FUNDS);
        } else if (action < 0.8) {
          // Signed by someone else, for more or for the last voucher's amount (a forged draw): invalid.
          const amount = accepted > 0n && rnd.next() < 0.5 ? accepted : accepted + W * max;
          await ask(await voucher(amount, stranger), pageSize, StatusCode.INVALID_VOUCHER);
        } else if (action < 0.9 && last) {
          // Several queries at once on the last voucher: the mailbox serves them one at a time
          // while the credit covers each, and refuses the rest; each served page charged once.
          const burst = rnd.int(2, 6);
          const before = served;
          const results = await Promise.all(
            Array.from({ length: burst }, async () => {
              const d = await meter.authorize({ query: query(last, pageSize), maxMessages: pageSize });
              if (!d.ok) return 0n;
              const charge = await d.charge(rnd.int(0, pageSize));
              expect(charge.spent).toBeLessThanOrEqual(accepted);
              return charge.cost;
            }),
          );
          served = before + results.reduce((x, y) => x + y, 0n);
          pages += results.filter((c) => c > 0n).length;
          passed();
        } else if (served > 0n) {
          // A settlement for exactly what was spent: committed before the answer.
          const settled = await meter.settle({ voucher: await voucher(served) });
          expect(settled.ok).toBe(true);
          settledExpected = served;
          passed();
          expect(BigInt(onDisk()!.settled_amount)).toBe(served);
          expect(BigInt(onDisk()!.spent)).toBe(served);
        }
        // The invariants, after every step: the mailbox's figure is the sum of the pages it served
        // and lies within the voucher it accepted; what is on disk never claims more than it served
        // and never redeems more than it committed as spent.
        expect(await mailboxSpent()).toBe(served);
        expect(served).toBeLessThanOrEqual(accepted);
        const row = onDisk();
        if (row) {
          expect(BigInt(row.settled_amount)).toBeLessThanOrEqual(BigInt(row.spent));
          expect(BigInt(row.spent)).toBeLessThanOrEqual(served);
          expect(BigInt(row.authorized_amount)).toBe(accepted);
        }
      }
      expect(pages).toBeGreaterThan(5);
      expect(refusals).toBeGreaterThan(0);

      // Before any settlement, the ledger (once what was drawn is committed) holds the highest
      // voucher within what was served — what a mailbox whose reader vanished can still redeem —
      // and never more.
      await meter.flush();
      expect(BigInt(onDisk()!.settled_amount)).toBe(settledExpected);
      expect(BigInt(onDisk()!.spent)).toBe(served);
      const redeemer = new Redeemer({
        chain,
        ledger,
        wallet: fixture.operatorWallet!,
        log: pino({ level: "silent" }),
        minAmount: 1n,
        intervalMs: 3_600_000,
      });
      await redeemer.run("test", true);
      const paid = async () =>
        (
          await publicClient.readContract({
            address: a.channels,
            abi: paymentChannelsAbi,
            functionName: "getChannel",
            args: [channelId],
          })
        ).paid;
      expect(await paid()).toBe(settledExpected);
      // After the settlement, the chain pays exactly what was served.
      if (served > 0n) expect((await meter.settle({ voucher: await voucher(served) })).ok).toBe(true);
      await meter.close();
      await redeemer.run("test", true);
      expect(await paid()).toBe(served);
      committed.close();
      await ledger.close();
    },
    120_000,
  );

  it("50 queries at once on one voucher: the draws are exact to the wei, the rest refused", async () => {
    const { viem } = await network.connect();
    const fixture = await postboxChain(viem);
    const { publicClient, operator, addresses: a } = fixture;
    const session = privateKeyToAccount(generatePrivateKey());
    const channelId = await fixture.openChannel(operator, session.address, parseEther("50"));
    const ledger = new SqliteLedger({ path: ":memory:" });
    const meter = new ChannelMeter({
      chain: new ChainReader(
        publicClient,
        { chainId: a.chainId, registry: a.registry, channels: a.channels, operator },
        { channelTtlMs: 0 },
      ),
      ledger,
      closeSafetyMarginSeconds: 10,
      exposureCap: parseEther("100"),
    });
    const max = pageCost(PRICE, 10);
    // One voucher for 40 full pages; 50 queries carry it at once, each serving 0–10 messages.
    const amount = 40n * max;
    const v = {
      channelId: fromBareHex(channelId),
      cumulativeAmount: bigintToBytes(amount),
      signature: fromBareHex(
        await signVoucher(
          session,
          { chainId: a.chainId, verifyingContract: a.channels },
          { channelId, cumulativeAmount: amount },
        ),
      ),
    };
    const rnd = random(50);
    const sizes = Array.from({ length: 50 }, () => rnd.int(0, 10));
    const results = await Promise.all(
      sizes.map(async (n) => {
        const d = await meter.authorize({
          query: {
            requestId: "q",
            contentTopics: ["/t"],
            ids: [],
            includeData: true,
            forward: true,
            pageSize: 10,
            voucher: v,
          },
          maxMessages: 10,
        });
        if (!d.ok) return { refused: d.status };
        await new Promise((r) => setTimeout(r, rnd.int(0, 3)));
        return { charge: await d.charge(n) };
      }),
    );
    const charges = results.flatMap((r) => ("charge" in r && r.charge ? [r.charge] : []));
    const costs = charges.reduce((s, c) => s + c.cost, 0n);
    // Every page served was covered at its largest when it was drawn, and charged once.
    expect(
      charges
        .map((c) => c.spent)
        .sort((x, y) => (x < y ? -1 : 1))
        .at(-1),
    ).toBe(costs);
    for (const c of charges) expect(c.spent - c.cost + max).toBeLessThanOrEqual(amount);
    expect(results.filter((r) => "refused" in r).every((r) => r.refused === StatusCode.INVALID_VOUCHER)).toBe(
      true,
    );
    // The first refusal came when the credit no longer covered a full page.
    expect(amount - costs).toBeLessThan(max);
    await meter.close();
    expect((await ledger.get(fromBareHex(channelId)))?.spent).toBe(costs);
    await ledger.close();
  }, 60_000);
});

describe("the client's side of credit windows", () => {
  /** A paid mailbox node and a reader on a fresh chain, with `count` messages in room `room`. */
  async function setUp(name: string, rooms: Record<string, number>) {
    const { viem } = await network.connect();
    const chain = await postboxChain(viem);
    const node = await MailboxNode.create(
      loadConfig({
        flags: {
          dataDir: join(dir, `mailbox-${name}`),
          listen: ["/ip4/127.0.0.1/tcp/0"],
          http: { port: 0 },
          logLevel: "silent",
          chain: {
            rpcUrl: "http://127.0.0.1:1",
            chainId: chain.addresses.chainId,
            registry: chain.addresses.registry,
            channels: chain.addresses.channels,
            operatorKey: OPERATOR_KEY,
          },
          payments: { redeemMin: "1000000" }, // only on shutdown here
          // 50 catch-ups at once from a few hosts: more queries per peer than a person makes.
          rateLimit: { queriesPerSecond: 100_000 },
          maxInboundStreams: 128,
        },
      }),
      {
        logger: pino({ level: "silent" }),
        chainClients: { publicClient: chain.publicClient, walletClient: chain.operatorWallet! },
      },
    );
    await node.start();
    const reader = await createClientHost();
    await reader.start();
    const base = Date.now() - 60_000;
    const sender = createIdentity();
    const history: Record<string, Uint8Array[]> = {};
    for (const [room, count] of Object.entries(rooms)) {
      const envelopes = Array.from({ length: count }, (_, i) => {
        const ts = BigInt(base + i);
        return {
          ...createEnvelope({ ...encryptRoom(sender, room, `m${i}`, ts), timestamp: ts }),
          receivedAt: base,
        };
      });
      await node.archive.insert(envelopes);
      history[room] = envelopes.map((e) => identify(e).id);
    }
    const candidate = {
      id: chain.operator,
      operator: chain.operator,
      peerId: node.libp2p.peerId.toString(),
      multiaddrs: node.libp2p.getMultiaddrs().map(String),
      paid: true,
      price: PRICE,
    } as unknown as MailboxCandidate;
    const manager = (folder: string, extra: Partial<ChannelManagerInit> = {}) =>
      createChannelManager({
        location: join(dir, folder),
        publicClient: chain.publicClient,
        wallet: chain.payerWallet!,
        chainId: chain.addresses.chainId,
        snt: chain.addresses.snt,
        registry: chain.addresses.registry,
        channels: chain.addresses.channels,
        ...extra,
      });
    const catchUp = (channels: ChannelManager, room: string, failures: string[] = [], host = reader) =>
      fetchHistory({
        host,
        addresses: (c) => dialableAddresses(c, NODE_DIAL_POLICY),
        candidates: [candidate],
        k: 1,
        topics: [roomTopic(room)],
        from: base - 1,
        pageSize: 10,
        channels,
        deposit: parseEther("5"),
        feed: room,
        onFailure: (_, err) => failures.push(err.message),
      });
    const paid = async (channelId: Hex) =>
      (
        await chain.publicClient.readContract({
          address: chain.addresses.channels,
          abi: paymentChannelsAbi,
          functionName: "getChannel",
          args: [channelId],
        })
      ).paid;
    const stop = async () => {
      await reader.stop();
      await node.stop();
    };
    return { chain, node, reader, history, manager, catchUp, paid, stop, candidate };
  }

  /** Records the amount of every voucher `channels` hands out (the real manager, observed). */
  function watchVouchers(channels: ChannelManager): bigint[] {
    const amounts: bigint[] = [];
    const voucherFor = channels.voucherFor.bind(channels);
    channels.voucherFor = async (...args) => {
      const v = await voucherFor(...args);
      amounts.push(bytesToBigint(v.cumulativeAmount));
      return v;
    };
    return amounts;
  }

  it("a catch-up signs one voucher per W pages (W = 8 by default, every page with W = 1) and pays exactly its pages", async () => {
    const t = await setUp("catch-up", { "#a": 120, "#b": 120 });
    try {
      const max = pageCost(PRICE, 10);
      const wide = await t.manager("client-wide");
      const amounts = watchVouchers(wide);
      const failures: string[] = [];
      const got = await t.catchUp(wide, "#a", failures);
      expect(failures).toEqual([]);
      expect(got.envelopes.map((e) => e.id)).toEqual(t.history["#a"]);
      const spent = BigInt(wide.channelTo(t.chain.operator)!.spent);
      expect(spent).toBe(PQ * BigInt(got.pages) + PM * 120n);
      // Full pages of 10 cost `max` each: 8 pages per voucher, so two vouchers for 12–13 pages.
      expect(new Set(amounts)).toEqual(new Set([8n * max, 16n * max]));
      expect(amounts.length).toBe(got.pages);

      // The same catch-up with W = 1: a new voucher for every page, as before credit windows.
      const narrow = await t.manager("client-narrow", { creditPages: 1 });
      const each = watchVouchers(narrow);
      const again = await t.catchUp(narrow, "#b", failures);
      expect(again.envelopes.map((e) => e.id)).toEqual(t.history["#b"]);
      expect(new Set(each).size).toBe(again.pages);
      for (let i = 1; i < each.length; i++) expect(each[i]! - each[i - 1]!).toBe(max); // spent + one page

      // Both settled at the end of the catch-up; the mailbox redeems on shutdown: to the wei.
      const ids = [wide, narrow].map((m) => m.channelTo(t.chain.operator)!.channelId);
      const spentNarrow = BigInt(narrow.channelTo(t.chain.operator)!.spent);
      await wide.close();
      await narrow.close();
      await t.stop();
      expect(await t.paid(ids[0]!)).toBe(spent);
      expect(await t.paid(ids[1]!)).toBe(spentNarrow);
    } finally {
      await t.stop();
    }
  }, 120_000);

  it("a dishonest mailbox could take at most W pages' worth beyond what it served; the spending cap bounds W", async () => {
    const t = await setUp("dishonest", { "#c": 35 });
    try {
      const max = pageCost(PRICE, 10);
      const channels = await t.manager("client-dishonest", { creditPages: 5 });
      const record = await channels.open(t.chain.operator, parseEther("5"));
      // Three pages read page by page, no settlement (the reader vanished).
      let cursor: Uint8Array | undefined;
      let served = 0n;
      for (let page = 0; page < 3; page++) {
        const voucher = await channels.voucherFor(t.chain.operator, 10);
        const res = await queryStore(t.reader, t.node.libp2p.getMultiaddrs(), {
          contentTopics: [roomTopic("#c")],
          pageSize: 10,
          voucher,
          ...(cursor ? { cursor } : {}),
        });
        expect(res.status, res.statusDesc).toBe(StatusCode.OK);
        channels.record(t.chain.operator, res, voucher);
        served += bytesToBigint(res.cost);
        cursor = res.nextCursor;
      }
      // The mailbox holds the voucher it accepted; redeeming it outright (not the settled amount)
      // takes what it authorised: at most W pages at their largest beyond what was served.
      const held = (await t.node.payments!.ledger.get(fromBareHex(record.channelId)))!;
      expect(held.authorizedAmount).toBe(5n * max);
      await t.chain.send(
        t.chain.operatorWallet!,
        t.chain.addresses.channels,
        encodeFunctionData({
          abi: paymentChannelsAbi,
          functionName: "redeem",
          args: [record.channelId, held.authorizedAmount, toHex(held.authorizedSignature)],
        }),
      );
      const taken = await t.paid(record.channelId);
      expect(taken - served).toBeLessThanOrEqual(5n * max);
      expect(taken - served).toBe(5n * max - served); // here: the two pages not yet drawn

      // With a spending cap below W pages, the first voucher stops at the cap, and so does reading.
      const capped = await t.manager("client-capped", { creditPages: 8, spendingCap: 2n * max + max / 2n });
      const amounts = watchVouchers(capped);
      const failures: string[] = [];
      const refusal = await t.catchUp(capped, "#c", failures).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(PaymentRefusedError);
      expect((refusal as PaymentRefusedError).shortMessage).toBe("spending cap reached");
      expect(failures).toEqual([]);
      expect(Math.max(...amounts.map(Number))).toBe(Number(2n * max + max / 2n));
      expect(BigInt(capped.channelTo(t.chain.operator)!.spent)).toBe(2n * max);
      await capped.close();
      await channels.close();
    } finally {
      await t.stop();
    }
  }, 120_000);

  it("50 catch-ups at once on one channel: every message once, paid exactly to the wei", async () => {
    const rnd = random(7);
    const rooms = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`#r${i}`, rnd.int(1, 35)]));
    const t = await setUp("fifty", rooms);
    try {
      const channels = await t.manager("client-fifty");
      await channels.open(t.chain.operator, parseEther("5"));
      // One channel, five libp2p hosts, each connected before its ten catch-ups start.
      const hosts = [t.reader];
      for (let i = 1; i < 5; i++) {
        const host = await createClientHost();
        await host.start();
        hosts.push(host);
      }
      for (const host of hosts) await host.dial(t.node.libp2p.getMultiaddrs()[0]!);
      const failures: string[] = [];
      const results = await Promise.all(
        Object.keys(rooms).map((room, i) => t.catchUp(channels, room, failures, hosts[i % hosts.length])),
      );
      for (const host of hosts.slice(1)) await host.stop();
      expect(failures).toEqual([]);
      Object.keys(rooms).forEach((room, i) => {
        expect(results[i]!.envelopes.map((e) => e.id)).toEqual(t.history[room]);
      });
      const pages = results.reduce((s, r) => s + r.pages, 0);
      const messages = Object.values(rooms).reduce((s, n) => s + n, 0);
      const cost = PQ * BigInt(pages) + PM * BigInt(messages);
      const record = channels.channelTo(t.chain.operator)!;
      expect(BigInt(record.spent)).toBe(cost);
      // The catch-ups' own settlements met queries in flight; one now settles what was spent.
      const settled = await queryStore(t.reader, t.node.libp2p.getMultiaddrs(), {
        contentTopics: [],
        includeData: false,
        voucher: await channels.settlementFor(t.chain.operator),
      });
      expect(settled.status, settled.statusDesc).toBe(StatusCode.OK);
      await channels.close();
      await t.stop();
      expect(await t.paid(record.channelId)).toBe(cost);
    } finally {
      await t.stop();
    }
  }, 180_000);
});

describe("the CLI's credit window", () => {
  it("refuses a window that is not a whole number from 1 to 1000 in one line, before anything is paid", () => {
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("POSTBOX_"))),
      POSTBOX_CLIENT_DIR: join(dir, "cli"),
    };
    const read = (args: string[], extra: Record<string, string> = {}) =>
      spawnSync(process.execPath, [POSTBOX_BIN, "chat", "read", "#x", ...args], {
        encoding: "utf8",
        env: { ...env, ...extra },
      });
    for (const bad of ["0", "1001", "2.5"]) {
      const r = read([`--credit-pages=${bad}`]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `postbox: invalid setting credit-pages: "${bad}": must be a whole number from 1 to 1000\n`,
      );
    }
    const env1 = read([], { POSTBOX_CREDIT_PAGES: "none" });
    expect(env1.status).toBe(2);
    expect(env1.stderr).toBe(
      'postbox: invalid setting credit-pages: "none": must be a whole number from 1 to 1000\n',
    );
    expect(read(["--help"]).stdout).toMatch(/--credit-pages N +let a voucher pay up to N pages ahead/);
  });
});
