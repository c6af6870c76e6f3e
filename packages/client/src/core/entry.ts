import type { Platform } from "../platform/types.js";
import { ChannelManager, type ChannelManagerInit } from "./channels.js";
import { PostboxClient, type PostboxClientInit } from "./client.js";
import { type ClientHost, type CreateClientHostOptions, createHost } from "./host.js";

/** The factories an entry exports, bound to its platform (made once, on first use). */
export function bindPlatform(make: () => Platform) {
  let platform: Platform | undefined;
  const defaultPlatform = (): Platform => {
    platform ??= make();
    return platform;
  };
  return {
    /** The platform this entry runs on, made once. */
    defaultPlatform,
    /**
     * Opens a client: its storage (`init.location`: a data folder in Node, an IndexedDB database
     * in a browser, `postbox` by default) and the identity in it (made on first use).
     */
    createPostboxClient: (
      init: PostboxClientInit,
      on: Platform = defaultPlatform(),
    ): Promise<PostboxClient> => PostboxClient.create(on, init),
    /** Opens the payment channels' records (`init.location`: `channels.db` in Node, IndexedDB in a browser). */
    createChannelManager: (
      init: ChannelManagerInit,
      on: Platform = defaultPlatform(),
    ): Promise<ChannelManager> => ChannelManager.open(on, init),
    /** A libp2p host for a client: the platform's transports and dial policy, the mailboxes' gossipsub rules. */
    createClientHost: (
      options: CreateClientHostOptions = {},
      on: Platform = defaultPlatform(),
    ): Promise<ClientHost> => createHost(on, options),
  };
}
