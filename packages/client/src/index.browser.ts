/**
 * @packageDocumentation
 * The Postbox client SDK, browser entry (the package's `browser` export condition): the same API as
 * the Node entry, on a browser's platform — IndexedDB (database `postbox` unless `init.location`
 * names another), WebSockets (wss, and ws where the page may open it), WebCrypto and @noble, Web
 * Workers. The page must be a secure context (https, or http on localhost). The SDK never logs.
 */

import { bindPlatform } from "./core/entry.js";
import { browserPlatform } from "./platform/browser/index.js";
import type { Platform } from "./platform/types.js";

export * from "./exports.js";

export const { defaultPlatform, createPostboxClient, createChannelManager, createClientHost } =
  bindPlatform(browserPlatform);

/** A browser platform (the Node entry's takes Node's crypto options). */
export function createPlatform(_options: Record<string, never> = {}): Platform {
  return browserPlatform();
}
