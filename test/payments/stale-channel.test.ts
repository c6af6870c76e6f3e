// A client's channel records against a chain that is not the one they were made on: Hardhat's
// in-process chain, connected twice, is two chains with the same chain id and the same contract
// addresses (a local chain restarted), so only the channel's on-chain state tells the records apart.
// A record that does not hold is archived (kept, never deleted) and a new channel opened; records
// opened by another wallet or withdrawn elsewhere are set aside the same way.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChannelEvent, createChannelManager, StaleChannelError } from "@postbox/client";
import { paymentChannelsAbi } from "@postbox/contracts";
import { network } from "hardhat";
import { encodeFunctionData, parseEther } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { postboxChain } from "../support/chain.js";

type Chain = Awaited<ReturnType<typeof postboxChain>>;

async function manager(dataDir: string, chain: Chain, wallet = chain.payerWallet) {
  const { publicClient, addresses } = chain;
  const m = await createChannelManager({
    location: dataDir,
    publicClient,
    wallet: wallet!,
    chainId: addresses.chainId,
    snt: addresses.snt,
    registry: addresses.registry,
    channels: addresses.channels,
  });
  const events: ChannelEvent[] = [];
  m.onEvent((e) => events.push(e));
  return { m, events };
}

describe("channel records that do not hold on the chain", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-stale-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a record of a chain that was restarted is archived and a new channel opened", async () => {
    const first = await postboxChain((await network.connect()).viem);
    const clientDir = join(dir, "restart");
    const a = await manager(clientDir, first);
    const old = await a.m.open(first.operator, parseEther("5"));
    expect(old).toMatchObject({
      chainId: first.addresses.chainId,
      channelsContract: first.addresses.channels,
    });
    await a.m.close();

    // A fresh chain: the same chain id, the same addresses, none of the channels.
    const second = await postboxChain((await network.connect()).viem);
    expect(second.addresses).toEqual(first.addresses);
    let b = await manager(clientDir, second);
    expect(b.m.channelTo(second.operator)?.channelId).toBe(old.channelId);
    // Checked before first use: a voucher on it is refused with a typed error, and it is set aside.
    const refused = await b.m.voucherFor(second.operator, 10).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StaleChannelError);
    expect(b.m.channelTo(second.operator)).toBeUndefined();
    expect(b.events).toEqual([
      {
        type: "archived",
        record: expect.objectContaining({
          channelId: old.channelId,
          reason: expect.stringMatching(/^not on this chain \(chain 31337, channels contract 0x/),
        }),
      },
    ]);
    // The next open opens a new channel, announced before it is sent.
    const fresh = await b.m.open(second.operator, parseEther("2"));
    expect(fresh.channelId).not.toBe(old.channelId);
    expect(b.events.slice(1).map((e) => e.type)).toEqual(["opening", "opened"]);
    expect(b.events[1]).toEqual({ type: "opening", payee: second.operator, deposit: parseEther("2") });
    await b.m.voucherFor(second.operator, 10);
    await b.m.close();

    // Across a restart of the client: the archived record is kept and listed apart.
    b = await manager(clientDir, second);
    const { channels, archived, elsewhere } = await b.m.list();
    expect(channels.map((c) => [c.channelId, c.state, c.depositOnChain])).toEqual([
      [fresh.channelId, "open", parseEther("2")],
    ]);
    expect(archived.map((r) => [r.channelId, r.deposit])).toEqual([
      [old.channelId, parseEther("5").toString()],
    ]);
    expect(elsewhere).toEqual([]);
    expect(b.events).toEqual([]); // the new channel holds: nothing more is archived
    await b.m.close();
  });

  it("open() after a restart archives the old record instead of overwriting it", async () => {
    const first = await postboxChain((await network.connect()).viem);
    const clientDir = join(dir, "open");
    const a = await manager(clientDir, first);
    const old = await a.m.open(first.operator, parseEther("5"));
    await a.m.close();
    const second = await postboxChain((await network.connect()).viem);
    const b = await manager(clientDir, second);
    const fresh = await b.m.open(second.operator, parseEther("5"));
    expect(fresh.channelId).not.toBe(old.channelId);
    expect(b.events.map((e) => e.type)).toEqual(["archived", "opening", "opened"]);
    expect((await b.m.list()).archived.map((r) => r.channelId)).toEqual([old.channelId]);
    await b.m.close();
  });

  it("a channel opened by another wallet, or withdrawn elsewhere, is set aside too", async () => {
    const chain = await postboxChain((await network.connect()).viem);
    const clientDir = join(dir, "wallets");
    const a = await manager(clientDir, chain);
    const mine = await a.m.open(chain.operator, parseEther("5"));
    await a.m.close();
    // The same data folder with another paying wallet.
    const other = await manager(clientDir, chain, chain.wallets[3]);
    const theirs = await other.m.open(chain.operator, parseEther("1"));
    expect(theirs.channelId).not.toBe(mine.channelId);
    expect(other.events[0]).toEqual({
      type: "archived",
      record: expect.objectContaining({
        channelId: mine.channelId,
        reason: expect.stringMatching(new RegExp(`^opened by another wallet \\(${chain.payer}\\)$`, "i")),
      }),
    });
    await other.m.close();

    // Closed and withdrawn outside this client (the dashboard): nothing left to pay with.
    const closer = await manager(clientDir, chain, chain.wallets[3]);
    await closer.m.requestClose(chain.operator);
    await chain.publicClient.request({ method: "evm_increaseTime", params: [3600] } as never);
    await chain.send(
      chain.wallets[3]!,
      chain.addresses.channels,
      encodeFunctionData({
        abi: paymentChannelsAbi,
        functionName: "withdraw",
        args: [theirs.channelId],
      }),
    );
    await closer.m.close();
    const after = await manager(clientDir, chain, chain.wallets[3]);
    const status = await after.m.status(chain.operator).catch((e: unknown) => e);
    expect(status).toBeInstanceOf(StaleChannelError);
    expect(after.events).toEqual([
      {
        type: "archived",
        record: expect.objectContaining({
          channelId: theirs.channelId,
          reason: "closed and withdrawn on this chain",
        }),
      },
    ]);
    expect((await after.m.list()).archived.map((r) => r.channelId).sort()).toEqual(
      [mine.channelId, theirs.channelId].sort(),
    );
    await after.m.close();
  });
});
