import { multiaddr } from "@multiformats/multiaddr";
import { describe, expect, it } from "vitest";
import { MailboxNodes, nodePeerId } from "./nodes.js";

const A = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
const B = "12D3KooWRBhwfeP2Y9CDkFRBAZ1pmxUadH36TKuk3KtKm5XXP8mA";
const addrs = [
  multiaddr(`/ip4/10.0.0.1/tcp/4001/p2p/${A}`),
  multiaddr(`/ip4/10.0.0.1/tcp/4002/ws/p2p/${A}`),
  multiaddr(`/ip4/10.0.0.2/tcp/4001/p2p/${B}`),
];

describe("a mailbox's nodes", () => {
  it("groups the addresses by the node they end in and spreads queries over the nodes", () => {
    expect(MailboxNodes.group(addrs).map((n) => n.map(String))).toEqual([
      [addrs[0]!.toString(), addrs[1]!.toString()],
      [addrs[2]!.toString()],
    ]);
    const nodes = new MailboxNodes();
    const first = [1, 2, 3, 4].map(() => nodePeerId(nodes.order("m", addrs)[0]!));
    expect(first).toEqual([A, B, A, B]);
    // A single node (or an entry of the old form) is used as it is.
    expect(nodes.order("one", addrs.slice(0, 2))).toEqual([addrs.slice(0, 2)]);
  });

  it("tries a node that failed after the others until it answers again", () => {
    const nodes = new MailboxNodes();
    nodes.failed([addrs[2]!]);
    expect([1, 2, 3].map(() => nodePeerId(nodes.pick("m", addrs)))).toEqual([A, A, A]);
    expect(nodes.order("m", addrs).map((n) => nodePeerId(n))).toEqual([A, B]);
    nodes.answered([addrs[2]!]);
    const next = [1, 2].map(() => nodePeerId(nodes.pick("m", addrs)));
    expect(next.sort()).toEqual([A, B].sort());
  });
});
