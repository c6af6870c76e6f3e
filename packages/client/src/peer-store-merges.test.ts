// skipRepeatedProtocolMerges (from @postbox/protocol) on real libp2p hosts over TCP on loopback.

import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import type { Libp2p } from "@libp2p/interface";
import { noise, tcp } from "@postbox/net";
import { skipRepeatedProtocolMerges } from "@postbox/protocol";
import { createLibp2p } from "libp2p";
import { afterAll, describe, expect, it, vi } from "vitest";

const PROTOCOL = "/postbox-test/echo/1";

/**
 * A host whose peer store counts the merges that reach it, with the skip installed above; how many
 * streams its handler was given, and whether it has identified a peer (identify's own merges done).
 */
async function host(): Promise<{
  node: Libp2p;
  merges: string[];
  handled: () => number;
  identified: Promise<void>;
}> {
  const node = await createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
  const merges: string[] = [];
  const store = node.peerStore;
  const merge = store.merge.bind(store);
  store.merge = (id, data, options) => {
    merges.push(`${id.toString()} ${JSON.stringify(data.protocols ?? Object.keys(data))}`);
    return merge(id, data, options);
  };
  skipRepeatedProtocolMerges(node);
  let handled = 0;
  // libp2p merges the stream's protocol into the peer store before it calls the handler.
  await node.handle(PROTOCOL, async (stream) => {
    handled++;
    await stream.close();
  });
  // Dispatched once identify's patch and merges of the remote peer's record are done.
  const identified = new Promise<void>((resolve) =>
    node.addEventListener("peer:identify", () => resolve(), { once: true }),
  );
  return { node, merges, handled: () => handled, identified };
}

describe("skipRepeatedProtocolMerges", () => {
  const nodes: Libp2p[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
  });

  it("lets one merge per peer and protocol through, until the peer's record changes", async () => {
    const a = await host();
    const b = await host();
    nodes.push(a.node, b.node);
    const aId = a.node.peerId.toString();
    const bId = b.node.peerId.toString();
    const streams = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = await b.node.dialProtocol(a.node.getMultiaddrs(), PROTOCOL);
        await s.close();
      }
    };
    await streams(1);
    // Identify's own merges (protocols, addresses, metadata) come first: each side has identified
    // the other, and the listener has been given the stream.
    await Promise.all([a.identified, b.identified]);
    await vi.waitFor(() => expect(a.handled()).toBe(1));
    const count = (m: string[], peer: string) => m.filter((x) => x === `${peer} ["${PROTOCOL}"]`).length;
    // Identify's changes made each side forget the first stream's merge: one stream merges again.
    await streams(1);
    await vi.waitFor(() => expect(a.handled()).toBe(2));
    const before = { a: count(a.merges, bId), b: count(b.merges, aId) };
    await streams(10);
    expect(count(b.merges, aId) - before.b).toBe(0); // the dialler's side
    // The listener's side: its merges are done once its handler has been given all 12 streams so far.
    await vi.waitFor(() => expect(a.handled()).toBe(12));
    expect(count(a.merges, bId) - before.a).toBe(0);
    // The protocol is recorded in the store on both sides.
    expect((await b.node.peerStore.get(a.node.peerId)).protocols).toContain(PROTOCOL);
    expect((await a.node.peerStore.get(b.node.peerId)).protocols).toContain(PROTOCOL);

    // A change to A's record (here a tag) fires peer:update on B: the next stream merges again.
    await b.node.peerStore.merge(a.node.peerId, { tags: { friend: { value: 1 } } });
    await streams(3);
    expect(count(b.merges, aId) - before.b).toBe(1);

    // So does a protocol removed from the record: the next stream puts it back.
    await b.node.peerStore.patch(a.node.peerId, { protocols: [] });
    await streams(1);
    expect(count(b.merges, aId) - before.b).toBe(2);
    expect((await b.node.peerStore.get(a.node.peerId)).protocols).toContain(PROTOCOL);
  }, 30_000);
});
