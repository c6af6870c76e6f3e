import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { webSockets } from "@libp2p/websockets";
import { noise, tcp } from "@postbox/net";
import { postboxGossipsubOptions, skipRepeatedProtocolMerges } from "@postbox/protocol";
import { createLibp2p } from "libp2p";

export type ClientHost = Libp2p<{
  pubsub: GossipSub;
  identify: ReturnType<ReturnType<typeof identify>>;
  ping: ReturnType<ReturnType<typeof ping>>;
}>;

export interface CreateClientHostOptions {
  /** Listen addresses; a client usually listens on none (it dials mailboxes). */
  listen?: string[];
  privateKey?: PrivateKey;
}

/**
 * A libp2p host for a chat client: dials mailboxes over TCP or WebSockets, speaks gossipsub with
 * the same message-id and signature rules as the mailboxes (anonymous messages, id = SHA-256 of
 * the data), so that it can publish and receive envelopes live.
 */
export async function createClientHost(options: CreateClientHostOptions = {}): Promise<ClientHost> {
  const host = (await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen ?? [] },
    transports: [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        ...postboxGossipsubOptions,
        allowPublishToZeroTopicPeers: false,
      }),
    },
  })) as unknown as ClientHost;
  skipRepeatedProtocolMerges(host);
  return host;
}
