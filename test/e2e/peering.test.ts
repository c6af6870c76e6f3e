// Mailboxes stay connected to each other, so gossip keeps reaching every archive: a restarted
// bootstrap peer is dialled again, and with a chain a mailbox finds the other registered mailboxes
// in the registry (real libp2p on loopback, the real contracts on Hardhat's in-process chain).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClientHost, pushEnvelope } from "@postbox/client";
import { loadConfig, MailboxNode, type NodeConfigInput, registryMailboxes } from "@postbox/node";
import { createEnvelope, createIdentity, encryptRoom, type IdentifiedEnvelope } from "@postbox/protocol";
import { network } from "hardhat";
import { pino } from "pino";
import type { Hex } from "viem";
import { afterAll, describe, expect, it } from "vitest";
import { freePortBlock } from "../../scripts/lib/ports.ts";
import { postboxChain } from "../support/chain.js";

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function roomEnvelope(text: string): IdentifiedEnvelope {
  const ts = BigInt(Date.now());
  return createEnvelope({ ...encryptRoom(createIdentity(), "#peering", text, ts), timestamp: ts });
}

describe("peering between mailboxes", () => {
  const dir = mkdtempSync(join(tmpdir(), "postbox-peering-"));
  const nodes: MailboxNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function mailbox(name: string, flags: NodeConfigInput, options = {}): Promise<MailboxNode> {
    const node = await MailboxNode.create(
      loadConfig({
        flags: {
          dataDir: join(dir, name),
          listen: ["/ip4/127.0.0.1/tcp/0"],
          http: { port: 0 },
          free: true,
          logLevel: "silent",
          ...flags,
        },
      }),
      { logger: pino({ level: "silent" }), ...options },
    );
    await node.start();
    nodes.push(node);
    return node;
  }

  const connected = (a: MailboxNode, b: MailboxNode) =>
    a.libp2p.getConnections().some((c) => c.remotePeer.equals(b.libp2p.peerId));

  it("a bootstrap peer that restarts is dialled again and gossip reaches both archives", async () => {
    const port = await freePortBlock(26_000, 1);
    let a = await mailbox("a", { listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    const b = await mailbox("b", { bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${a.peerId}`] });
    await until("the mesh", () => a.meshPeers() > 0 && b.meshPeers() > 0);
    expect((await b.health()).meshPeers).toBe(1);

    await a.stop();
    nodes.splice(nodes.indexOf(a), 1);
    await until("b to see a gone", () => !connected(b, a) && b.meshPeers() === 0);
    const restartedAt = Date.now();
    a = await mailbox("a", { listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    await until("the mesh again", () => a.meshPeers() > 0 && b.meshPeers() > 0);
    // A dropped peer is dialled again after about a second, not on a slow timer.
    expect(Date.now() - restartedAt).toBeLessThan(10_000);

    // An envelope pushed to the restarted mailbox reaches the other one over gossip.
    const e = roomEnvelope("after the restart");
    const client = await createClientHost();
    await client.start();
    try {
      const receipt = await pushEnvelope(client, a.libp2p.getMultiaddrs(), e);
      expect(Buffer.from(receipt.envelopeId).equals(Buffer.from(e.id))).toBe(true);
      await until("b to archive it", async () => (await b.archive.presence([e.id])).length === 1);
    } finally {
      await client.stop();
    }
    const metrics = await (await fetch(`${b.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^postbox_gossip_mesh_peers 1$/m);
  }, 60_000);

  it("with a chain, a mailbox connects to the other registered mailboxes (and not to itself)", async () => {
    const { viem } = await network.connect();
    const { publicClient, wallets, operatorWallet, operator, addresses, register } = await postboxChain(viem);
    // A second operator registers a real mailbox, with its address but no /p2p/ part.
    const listed = await mailbox("listed", {});
    await register(wallets[3]!, {
      peerId: listed.peerId,
      multiaddrs: listed.libp2p.getMultiaddrs().map((m) => m.decapsulate("/p2p").toString()),
    });
    const chain = (registryPeers: number) => ({
      chain: {
        rpcUrl: "http://127.0.0.1:1",
        chainId: addresses.chainId,
        registry: addresses.registry,
        channels: addresses.channels,
        // Hardhat's account #1 (a public test key): the operator postboxChain registered.
        operatorKey: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as Hex,
      },
      peering: { registryPeers },
    });
    const clients = { chainClients: { publicClient, walletClient: operatorWallet } };

    // The operator's own entry (a made-up peer id) is not a target; the other mailbox is, dialable.
    const targets = await registryMailboxes(publicClient, addresses.registry, operator);
    expect(targets.map((t) => [t.peerId, t.addrs.map(String)])).toEqual([
      [listed.peerId, listed.libp2p.getMultiaddrs().map(String)],
    ]);

    // Started first: a registry read and dial of its own would be under way before joined's.
    const isolated = await mailbox("isolated", chain(0), clients);
    const joined = await mailbox("joined", chain(8), clients);
    await until(
      "the registry's mailbox in the mesh",
      () => connected(joined, listed) && joined.meshPeers() > 0,
    );
    // Joined has read the registry on this chain (which answers in order) and dialled over
    // loopback since it started: isolated, started before it, would have done so by now. It has
    // no connection to the listed mailbox and no dial pending.
    expect(connected(isolated, listed)).toBe(false);
    expect(isolated.libp2p.getDialQueue()).toEqual([]);
    expect(isolated.libp2p.getConnections()).toEqual([]);
  }, 60_000);
});
