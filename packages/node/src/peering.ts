import { createHash } from "node:crypto";
import type { Connection, Libp2p } from "@libp2p/interface";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { MailboxStatus, readMailboxes } from "@postbox/contracts";
import type { Logger } from "pino";
import type { Address, PublicClient } from "viem";

/** A peer to keep connected: its id and where to dial it. */
export interface PeeringTarget {
  peerId: string;
  addrs: Multiaddr[];
  /** `bootstrap` (configured) or `registry` (another registered mailbox). */
  source: "bootstrap" | "registry";
}

export interface PeeringOptions {
  libp2p: Libp2p;
  log: Logger;
  /** Configured bootstrap multiaddrs (each with a `/p2p/` component to be kept connected). */
  bootstrap: readonly string[];
  /** Lists the other registered mailboxes (absent without a chain). */
  registry?: () => Promise<PeeringTarget[]>;
  /** Most registry mailboxes kept connected (bootstrap peers are always kept). */
  maxRegistryPeers?: number;
  /** How often unconnected targets are checked (ms). */
  tickMs?: number;
  /** How often the registry is read again (ms). */
  registryIntervalMs?: number;
  /** Longest wait between two dials of an unreachable target (ms). */
  maxBackoffMs?: number;
}

interface State {
  target: PeeringTarget;
  failures: number;
  nextAt: number;
  dialing: boolean;
}

/**
 * Keeps this mailbox connected to the archive network: its bootstrap peers and, with a chain, up
 * to `maxRegistryPeers` other registered mailboxes. Gossip only reaches a mailbox through its
 * connections, so a peer that restarts, or this mailbox restarting, must not leave the network
 * partitioned. A dropped target is dialled again after a second, an unreachable one with
 * exponential backoff (up to `maxBackoffMs`).
 */
export class Peering {
  readonly #o: Required<Omit<PeeringOptions, "registry">> & Pick<PeeringOptions, "registry">;
  readonly #targets = new Map<string, State>();
  #tick: NodeJS.Timeout | undefined;
  #registryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Bootstrap addresses without a peer id: nothing to recognise their connection by, dialled once. */
  readonly #dialOnce: string[] = [];
  readonly #onClose = (evt: CustomEvent<Connection>) => {
    const s = this.#targets.get(evt.detail.remotePeer.toString());
    if (s) s.nextAt = Math.min(s.nextAt, Date.now() + 1_000);
  };

  constructor(options: PeeringOptions) {
    this.#o = {
      maxRegistryPeers: 8,
      tickMs: 1_000,
      registryIntervalMs: 60_000,
      maxBackoffMs: 30_000,
      ...options,
    };
    for (const a of options.bootstrap) {
      const ma = multiaddr(a);
      const peerId = ma.getComponents().find((c) => c.name === "p2p")?.value;
      if (!peerId) {
        this.#dialOnce.push(a);
        continue;
      }
      const known = this.#targets.get(peerId);
      if (known) known.target.addrs.push(ma);
      else this.#add({ peerId, addrs: [ma], source: "bootstrap" });
    }
  }

  /** The peers being kept connected. */
  get targets(): PeeringTarget[] {
    return [...this.#targets.values()].map((s) => s.target);
  }

  start(): void {
    for (const a of this.#dialOnce)
      this.#o.libp2p
        .dial(multiaddr(a))
        .catch((err) => this.#o.log.warn({ err, addr: a }, "bootstrap dial failed"));
    this.#o.libp2p.addEventListener("connection:close", this.#onClose);
    this.#dialDue();
    this.#tick = setInterval(() => this.#dialDue(), this.#o.tickMs);
    this.#tick.unref();
    if (this.#o.registry) {
      void this.refreshRegistry();
      this.#registryTimer = setInterval(() => void this.refreshRegistry(), this.#o.registryIntervalMs);
      this.#registryTimer.unref();
    }
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#tick);
    clearInterval(this.#registryTimer);
    this.#o.libp2p.removeEventListener("connection:close", this.#onClose);
  }

  /** Reads the registry again: new mailboxes are dialled, ones gone from it are let go. */
  async refreshRegistry(): Promise<void> {
    if (!this.#o.registry) return;
    let listed: PeeringTarget[];
    try {
      listed = await this.#o.registry();
    } catch (err) {
      this.#o.log.warn({ err }, "reading the registry's mailboxes failed; peering keeps its last list");
      return;
    }
    if (this.#stopped) return;
    const self = this.#o.libp2p.peerId.toString();
    // Each mailbox keeps its own stable choice of peers (ranked by a hash of both ids), so a large
    // registry is not a full mesh and every mailbox is chosen by some.
    const rank = (t: PeeringTarget) => createHash("sha256").update(`${self}/${t.peerId}`).digest("hex");
    const ranked = listed.map((t) => ({ t, r: rank(t) })).sort((a, b) => (a.r < b.r ? -1 : 1));
    const keep = new Set<string>();
    for (const { t } of ranked) {
      if (t.peerId === self || this.#targets.get(t.peerId)?.target.source === "bootstrap") continue;
      if (keep.size >= this.#o.maxRegistryPeers) break;
      keep.add(t.peerId);
      const known = this.#targets.get(t.peerId);
      if (known) known.target.addrs = t.addrs;
      else this.#add(t);
    }
    for (const [peerId, s] of this.#targets)
      if (s.target.source === "registry" && !keep.has(peerId)) this.#targets.delete(peerId);
    this.#dialDue();
  }

  #add(target: PeeringTarget): void {
    this.#targets.set(target.peerId, { target, failures: 0, nextAt: 0, dialing: false });
  }

  #dialDue(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const connected = new Set(this.#o.libp2p.getConnections().map((c) => c.remotePeer.toString()));
    for (const [peerId, s] of this.#targets) {
      if (connected.has(peerId)) {
        s.failures = 0;
        continue;
      }
      if (s.dialing || now < s.nextAt) continue;
      s.dialing = true;
      this.#o.libp2p
        .dial(s.target.addrs, { signal: AbortSignal.timeout(10_000) })
        .then(
          () => {
            s.failures = 0;
            this.#o.log.debug({ peer: peerId, source: s.target.source }, "peer connected");
          },
          (err) => {
            s.failures++;
            s.nextAt = Date.now() + Math.min(this.#o.maxBackoffMs, 1_000 * 2 ** s.failures);
            // The first failure is worth a warning; a peer that stays down would flood the log.
            const level = s.failures === 1 ? "warn" : "debug";
            this.#o.log[level](
              { err, peer: peerId, source: s.target.source, failures: s.failures },
              "dialling a peer failed",
            );
          },
        )
        .finally(() => {
          s.dialing = false;
        });
    }
  }
}

/**
 * The active mailboxes of a registry but `self` (this mailbox's operator), as peering targets. Each
 * multiaddr gets the mailbox's `/p2p/` component when it lacks one; addresses that do not parse are
 * skipped, and so are entries left with none.
 */
export async function registryMailboxes(
  client: PublicClient,
  registry: Address,
  self: Address,
): Promise<PeeringTarget[]> {
  const out: PeeringTarget[] = [];
  for (const m of await readMailboxes(client, registry)) {
    if (m.status !== MailboxStatus.Active || m.operator.toLowerCase() === self.toLowerCase()) continue;
    const addrs: Multiaddr[] = [];
    for (const a of m.multiaddrs) {
      try {
        const ma = multiaddr(a);
        addrs.push(
          ma.getComponents().some((c) => c.name === "p2p") ? ma : ma.encapsulate(`/p2p/${m.peerId}`),
        );
      } catch {
        // An operator's typo in one address does not hide the others.
      }
    }
    if (addrs.length > 0) out.push({ peerId: m.peerId, addrs, source: "registry" });
  }
  return out;
}
