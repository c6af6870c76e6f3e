import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";

/**
 * Which registry multiaddrs this client can dial. Node dials anything; a browser only WebSockets,
 * and a page served over https may open plain `ws://` only to loopback (anything else is blocked as
 * mixed content).
 */
export interface DialPolicy {
  /** Plain TCP (Node only). */
  tcp: boolean;
  /** Plain WebSockets: to any host, to loopback only, or never. */
  ws: "any" | "loopback" | "never";
  /** WebSockets over TLS: `/tls/ws`, `/tls/sni/HOST/ws`, `/wss`. */
  wss: boolean;
  /** What is dialled first: Node `tcp` (then ws, wss), a browser `wss` (then ws). */
  prefer: "tcp" | "wss";
}

/** What a Node client dials: everything, TCP first. */
export const NODE_DIAL_POLICY: DialPolicy = { tcp: true, ws: "any", wss: true, prefer: "tcp" };

/** What a page may dial: wss always, ws to loopback only from an https page, any ws from an http one. */
export function browserDialPolicy(pageProtocol: string | undefined): DialPolicy {
  return { tcp: false, ws: pageProtocol === "https:" ? "loopback" : "any", wss: true, prefer: "wss" };
}

export type AddressKind = "tcp" | "ws" | "wss";

const HOSTS = new Set(["ip4", "ip6", "dns", "dns4", "dns6"]);

/**
 * The transport of a multiaddr: `tcp`, `ws` or `wss`; undefined for anything else (QUIC,
 * WebTransport, WebRTC, circuits, `/dnsaddr`), which no Postbox client dials.
 */
export function addressKind(ma: Multiaddr): AddressKind | undefined {
  const names = ma.getComponents().map((c) => c.name);
  if (names.at(-1) === "p2p") names.pop();
  if (!HOSTS.has(names[0] ?? "") || names[1] !== "tcp") return undefined;
  const rest = names.slice(2).join("/");
  if (rest === "") return "tcp";
  if (rest === "ws") return "ws";
  if (rest === "wss" || rest === "tls/ws" || rest === "tls/sni/ws") return "wss";
  return undefined;
}

/** Whether a multiaddr names this machine: 127.0.0.0/8, ::1, or `localhost`. */
export function isLoopback(ma: Multiaddr): boolean {
  const [host] = ma.getComponents();
  if (!host?.value) return false;
  if (host.name === "ip4") return host.value.startsWith("127.");
  if (host.name === "ip6") return /^(0{0,4}:){2,7}0{0,3}1$/.test(host.value) || host.value === "::1";
  if (host.name === "dns" || host.name === "dns4" || host.name === "dns6")
    return host.value === "localhost" || host.value.endsWith(".localhost");
  return false;
}

/** Whether `policy` lets this client dial `ma`. */
export function allowedByPolicy(ma: Multiaddr, policy: DialPolicy): boolean {
  const kind = addressKind(ma);
  if (kind === "tcp") return policy.tcp;
  if (kind === "wss") return policy.wss;
  if (kind === "ws") return policy.ws === "any" || (policy.ws === "loopback" && isLoopback(ma));
  return false;
}

const ORDER: Record<DialPolicy["prefer"], AddressKind[]> = {
  tcp: ["tcp", "ws", "wss"],
  wss: ["wss", "ws", "tcp"],
};

/**
 * The addresses of a mailbox this client can dial, in the order it tries them, each ending in the
 * mailbox's `/p2p/` peer id. Unparsable addresses and those the policy excludes are dropped; `[]`
 * means the mailbox cannot be reached from here ({@link unreachableReason} says why).
 */
export function dialableAddresses(
  c: { multiaddrs: readonly string[]; peerId: string },
  policy: DialPolicy,
): Multiaddr[] {
  const out: { ma: Multiaddr; rank: number }[] = [];
  for (const a of c.multiaddrs) {
    let ma: Multiaddr;
    try {
      ma = multiaddr(a.includes("/p2p/") ? a : `${a}/p2p/${c.peerId}`);
    } catch {
      continue;
    }
    const kind = addressKind(ma);
    if (kind && allowedByPolicy(ma, policy)) out.push({ ma, rank: ORDER[policy.prefer].indexOf(kind) });
  }
  return out.sort((a, b) => a.rank - b.rank).map((x) => x.ma);
}

/** Why none of a mailbox's addresses can be dialled under `policy`, in words. */
export function unreachableReason(multiaddrs: readonly string[], policy: DialPolicy): string {
  if (multiaddrs.length === 0) return "it lists no address";
  if (policy.tcp) return "none of its addresses is TCP or WebSockets";
  const plainWs = multiaddrs.some((a) => {
    try {
      return addressKind(multiaddr(a)) === "ws";
    } catch {
      return false;
    }
  });
  return plainWs && policy.ws === "loopback"
    ? "no browser-reachable address: needs /tls/ws (a page served over https may open plain ws only to this machine)"
    : "no browser-reachable address: needs /tls/ws";
}
