import type { AbortOptions, Libp2p, Peer, PeerData, PeerId } from "@libp2p/interface";

/** How long a peer's protocols, once merged, are trusted without merging again (ms). */
const TRUST_MS = 60_000;

interface Known {
  protocols: Set<string>;
  peer: Peer;
  at: number;
}

const fresh = (e: Known | undefined): e is Known => e !== undefined && Date.now() - e.at < TRUST_MS;

/**
 * Makes the peer store skip the merge libp2p runs on every stream it opens or accepts.
 *
 * libp2p 3 records a stream's protocol on its peer with `peerStore.merge(peer, { protocols:
 * [protocol] })` each time a stream is negotiated, on both sides (`connection.js`). Each call
 * takes the store's write lock, decodes the peer's record, merges, re-encodes and compares it,
 * even when the protocol is already there. For one 100-envelope page (one stream) that was about a
 * fifth of the mailbox's stream handling in a V8 profile. This wrapper remembers, per peer, the
 * protocols such a merge has recorded, and answers a repeat of exactly that call with the peer as
 * the last real merge returned it. The memory is dropped when the peer's record changes
 * (`peer:update`), when it disconnects, and after a minute; every other call goes to the store.
 */
export function skipRepeatedProtocolMerges(libp2p: Pick<Libp2p, "peerStore" | "addEventListener">): void {
  const store = libp2p.peerStore;
  const merge = store.merge.bind(store);
  const known = new Map<string, Known>();
  const forget = (evt: CustomEvent<{ peer: { id: PeerId } } | PeerId>) => {
    const d = evt.detail;
    known.delete(("peer" in d ? d.peer.id : d).toString());
  };
  libp2p.addEventListener("peer:update", forget as never);
  libp2p.addEventListener("peer:disconnect", forget as never);
  store.merge = async (id: PeerId, data: PeerData, options?: AbortOptions): Promise<Peer> => {
    const protocol = data.protocols?.length === 1 ? data.protocols[0]! : undefined;
    const onlyProtocol = protocol !== undefined && Object.keys(data).length === 1;
    const key = id.toString();
    const entry = known.get(key);
    if (onlyProtocol && fresh(entry) && entry.protocols.has(protocol)) return entry.peer;
    const peer = await merge(id, data, options);
    if (onlyProtocol) {
      // The record as it stands now (a change made by this merge already fired peer:update and
      // was forgotten); a later change fires it again.
      const now = known.get(key);
      if (fresh(now)) {
        now.protocols.add(protocol);
        now.peer = peer;
      } else {
        known.set(key, { protocols: new Set([protocol]), peer, at: Date.now() });
        if (known.size > 10_000) known.delete(known.keys().next().value!);
      }
    }
    return peer;
  };
}
