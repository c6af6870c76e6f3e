import { multiaddr } from "@multiformats/multiaddr";
import { MailboxStatus, mailboxRegistryAbi } from "@postbox/contracts";
import type { Address, PublicClient } from "viem";
import { registryMailboxes } from "../../peering.js";
import type { SyncPeer } from "./service.js";

/**
 * The mailboxes a mailbox syncs with and serves sync to. With a chain: the registry's active
 * mailboxes but its own operator's (their peer ids are what Noise authenticates on a connection;
 * a round syncs with those peering keeps connected), plus the configured ones. Without a chain: the configured ones (bootstrap peers and `sync.peers`,
 * each multiaddr with its `/p2p/` part) — an operator's own trust, since there is no registry.
 */
export function syncPeers(options: {
  chain?: { client: PublicClient; registry: Address; operator: Address } | undefined;
  configured: readonly string[];
}): () => Promise<SyncPeer[]> {
  const configured = new Map<string, SyncPeer>();
  for (const a of options.configured) {
    const ma = multiaddr(a);
    const peerId = ma.getComponents().find((c) => c.name === "p2p")?.value;
    if (!peerId) continue;
    const known = configured.get(peerId);
    if (known) known.addrs.push(ma);
    else configured.set(peerId, { peerId, addrs: [ma], configured: true });
  }
  return async () => {
    const out = new Map(configured);
    if (options.chain) {
      const { client, registry, operator } = options.chain;
      for (const t of await registryMailboxes(client, registry, operator))
        if (!out.has(t.peerId)) out.set(t.peerId, { peerId: t.peerId, addrs: t.addrs });
    }
    return [...out.values()];
  };
}

/**
 * Whether `operator`'s own registry entry is active. Registered mailboxes serve sync only to the
 * peers of active entries, so until it is (a node started before its operator registers, or a
 * jailed or exiting one) syncing with them would only be refused.
 */
export function selfActive(chain: {
  client: PublicClient;
  registry: Address;
  operator: Address;
}): () => Promise<boolean> {
  return async () => {
    const entry = await chain.client.readContract({
      address: chain.registry,
      abi: mailboxRegistryAbi,
      functionName: "getMailbox",
      args: [chain.operator],
    });
    return entry.status === MailboxStatus.Active;
  };
}
