import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import {
  addressKind,
  browserDialPolicy,
  dialableAddresses,
  isLoopback,
  NODE_DIAL_POLICY,
  unreachableReason,
} from "./addresses.js";

const PEER = "12D3KooWGzNzK6QvJ8H6sZyTRL1ssBPQa1mwzBDaGyDcLZPdpEf5";
const mailbox = (...multiaddrs: string[]) => ({ multiaddrs, peerId: PEER });
const dial = (c: ReturnType<typeof mailbox>, p = NODE_DIAL_POLICY) =>
  dialableAddresses(c, p).map((a) => a.toString().replace(`/p2p/${PEER}`, ""));

describe("addressKind", () => {
  it.each([
    ["/ip4/1.2.3.4/tcp/4001", "tcp"],
    [`/ip6/::1/tcp/4001/p2p/${PEER}`, "tcp"],
    ["/dns4/mbx.example.org/tcp/80/ws", "ws"],
    ["/ip4/1.2.3.4/tcp/443/wss", "wss"],
    ["/dns4/mbx.example.org/tcp/443/tls/ws", "wss"],
    ["/dns4/mbx.example.org/tcp/443/tls/sni/mbx.example.org/ws", "wss"],
    ["/ip4/1.2.3.4/udp/4001/quic-v1", undefined],
    ["/ip4/1.2.3.4/udp/4001/quic-v1/webtransport", undefined],
    ["/dnsaddr/example.org", undefined],
    [`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}/p2p-circuit`, undefined],
  ])("%s is %s", (a, kind) => {
    expect(addressKind(multiaddr(a))).toBe(kind);
  });
});

describe("isLoopback", () => {
  it.each([
    ["/ip4/127.0.0.1/tcp/1/ws", true],
    ["/ip4/127.8.9.10/tcp/1/ws", true],
    ["/ip6/::1/tcp/1/ws", true],
    ["/dns4/localhost/tcp/1/ws", true],
    ["/dns/app.localhost/tcp/1/ws", true],
    ["/ip4/192.168.1.2/tcp/1/ws", false],
    ["/ip4/128.0.0.1/tcp/1/ws", false],
    ["/ip6/::2/tcp/1/ws", false],
    ["/dns4/localhost.example.org/tcp/1/ws", false],
  ])("%s: %s", (a, loopback) => {
    expect(isLoopback(multiaddr(a))).toBe(loopback);
  });
});

describe("dialableAddresses", () => {
  const all = mailbox(
    "/ip4/127.0.0.1/tcp/4001",
    "/ip4/127.0.0.1/tcp/4002/ws",
    "/dns4/mbx.example.org/tcp/443/tls/ws",
    "/ip4/203.0.113.7/tcp/4002/ws",
    "/ip4/127.0.0.1/udp/4003/quic-v1",
    "not a multiaddr",
  );

  it("Node dials TCP first, then WebSockets, never QUIC or garbage; each with the mailbox's peer id", () => {
    expect(dial(all)).toEqual([
      "/ip4/127.0.0.1/tcp/4001",
      "/ip4/127.0.0.1/tcp/4002/ws",
      "/ip4/203.0.113.7/tcp/4002/ws",
      "/dns4/mbx.example.org/tcp/443/tls/ws",
    ]);
    expect(dialableAddresses(all, NODE_DIAL_POLICY).every((a) => a.toString().endsWith(`/p2p/${PEER}`))).toBe(
      true,
    );
  });

  it("a page served over http dials wss first, then any ws, never TCP", () => {
    expect(dial(all, browserDialPolicy("http:"))).toEqual([
      "/dns4/mbx.example.org/tcp/443/tls/ws",
      "/ip4/127.0.0.1/tcp/4002/ws",
      "/ip4/203.0.113.7/tcp/4002/ws",
    ]);
  });

  it("a page served over https opens plain ws only to loopback (anything else is mixed content)", () => {
    expect(dial(all, browserDialPolicy("https:"))).toEqual([
      "/dns4/mbx.example.org/tcp/443/tls/ws",
      "/ip4/127.0.0.1/tcp/4002/ws",
    ]);
  });

  it("a mailbox with no browser-reachable address is unreachable from a page, and says what it needs", () => {
    const tcpOnly = mailbox("/ip4/127.0.0.1/tcp/4001");
    expect(dial(tcpOnly, browserDialPolicy("http:"))).toEqual([]);
    expect(unreachableReason(tcpOnly.multiaddrs, browserDialPolicy("http:"))).toBe(
      "no browser-reachable address: needs /tls/ws",
    );
    const publicWs = mailbox("/ip4/203.0.113.7/tcp/4002/ws");
    expect(dial(publicWs, browserDialPolicy("https:"))).toEqual([]);
    expect(unreachableReason(publicWs.multiaddrs, browserDialPolicy("https:"))).toMatch(
      /needs \/tls\/ws \(a page served over https may open plain ws only to this machine\)/,
    );
    expect(unreachableReason([], NODE_DIAL_POLICY)).toBe("it lists no address");
  });
});
