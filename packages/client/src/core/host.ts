import { yamux } from "@chainsafe/libp2p-yamux";
import { type GossipSub, gossipsub } from "@libp2p/gossipsub";
import { identify } from "@libp2p/identify";
import type { Libp2p, PrivateKey } from "@libp2p/interface";
import { ping } from "@libp2p/ping";
import { postboxGossipsubOptions, skipRepeatedProtocolMerges } from "@postbox/protocol";
import { createLibp2p } from "libp2p";
import type { Platform } from "../platform/types.js";
import type { DialPolicy } from "./addresses.js";

export type ClientHost = Libp2p<{
  pubsub: GossipSub;
  identify: ReturnType<ReturnType<typeof identify>>;
  ping: ReturnType<ReturnType<typeof ping>>;
}>;

export interface CreateClientHostOptions {
  /** Listen addresses; a client usually listens on none (it dials mailboxes). Node only. */
  listen?: string[];
  privateKey?: PrivateKey;
  /** What the host may dial (default: the platform's). */
  dialPolicy?: DialPolicy;
}

/**
 * A libp2p host for a chat client: dials mailboxes with the platform's transports (Node: TCP and
 * WebSockets; a browser: WebSockets, and only what its dial policy allows), speaks gossipsub with the
 * same message-id and signature rules as the mailboxes (anonymous messages, id = SHA-256 of the
 * data), so that it can publish and receive envelopes live.
 */
export async function createHost(
  platform: Pick<Platform, "libp2p" | "dialPolicy">,
  options: CreateClientHostOptions = {},
): Promise<ClientHost> {
  const host = (await createLibp2p({
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    addresses: { listen: options.listen ?? [] },
    ...platform.libp2p(options.dialPolicy ?? platform.dialPolicy()),
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
