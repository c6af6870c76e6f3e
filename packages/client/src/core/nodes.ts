import type { Multiaddr } from "@multiformats/multiaddr";

/** How long a node that failed is tried only after the others (ms). */
export const NODE_DOWN_MS = 30_000;

/** The peer id an address ends in (`/p2p/…`), or "" without one. */
function peerOf(a: Multiaddr): string {
  return a.getComponents().findLast((c) => c.name === "p2p")?.value ?? "";
}

/** The peer id of the node these addresses reach, if they name one. */
export function nodePeerId(node: readonly Multiaddr[]): string | undefined {
  return (node[0] && peerOf(node[0])) || undefined;
}

/**
 * A mailbox's nodes. One registry entry may list several nodes of one mailbox (several processes
 * on one PostgreSQL, each its own peer id): each address ends in the `/p2p/` id of the node it
 * reaches. This spreads a client's queries over them, round robin, and moves a node that failed
 * behind the others for {@link NODE_DOWN_MS}, so a client fails over among a mailbox's nodes
 * before it fails over to another operator. One instance serves the whole process
 * ({@link mailboxNodes}): what one query learns about a node, the next one uses.
 */
export class MailboxNodes {
  readonly #next = new Map<string, number>();
  /** Peer id → until when it is tried last. */
  readonly #down = new Map<string, number>();

  /** The addresses grouped by node (the peer id they end in), in the order first seen. */
  static group(addresses: readonly Multiaddr[]): Multiaddr[][] {
    const nodes = new Map<string, Multiaddr[]>();
    for (const a of addresses) {
      const peer = peerOf(a);
      const list = nodes.get(peer);
      if (list) list.push(a);
      else nodes.set(peer, [a]);
    }
    return [...nodes.values()];
  }

  /**
   * The mailbox's nodes in the order to try them for one query: the node after the one the last
   * query started with (round robin), nodes that failed lately last.
   */
  order(mailbox: string, addresses: readonly Multiaddr[]): Multiaddr[][] {
    const nodes = MailboxNodes.group(addresses);
    if (nodes.length <= 1) return nodes;
    const start = (this.#next.get(mailbox) ?? 0) % nodes.length;
    this.#next.set(mailbox, start + 1);
    const rotated = [...nodes.slice(start), ...nodes.slice(0, start)];
    const now = Date.now();
    const isDown = (n: Multiaddr[]) => (this.#down.get(peerOf(n[0]!)) ?? 0) > now;
    return [...rotated.filter((n) => !isDown(n)), ...rotated.filter(isDown)];
  }

  /** The addresses of the one node to use for a request that does not fail over (a push, say). */
  pick(mailbox: string, addresses: readonly Multiaddr[]): Multiaddr[] {
    return this.order(mailbox, addresses)[0] ?? [];
  }

  /** A node did not answer: tried last for a while. */
  failed(node: readonly Multiaddr[]): void {
    const peer = node[0] && peerOf(node[0]);
    if (!peer) return;
    this.#down.set(peer, Date.now() + NODE_DOWN_MS);
    if (this.#down.size > 10_000) this.#down.delete(this.#down.keys().next().value!);
  }

  /** A node answered. */
  answered(node: readonly Multiaddr[]): void {
    const peer = node[0] && peerOf(node[0]);
    if (peer) this.#down.delete(peer);
  }
}

/** The process's view of mailbox nodes. */
export const mailboxNodes = new MailboxNodes();
