/**
 * @packageDocumentation
 * The Postbox client SDK, Node entry. {@link PostboxClient} is what a chat app embeds: identity,
 * contacts, rooms and groups, sending with store receipts, live receiving, and catching up after
 * being offline from mailboxes chosen by score (paid through {@link ChannelManager}). The wire
 * helpers (`queryStore`, `pushEnvelope`, `fetchInfo`) are the layer beneath. The SDK never logs.
 *
 * The core is the same in a browser (`index.browser.ts`, chosen by the package's `browser` export
 * condition, with the same names): only the platform differs. Here: SQLite in a data folder, TCP
 * and WebSockets, libsecp256k1 and OpenSSL, worker threads.
 */

import { bindPlatform } from "./core/entry.js";
import { type NodeCryptoOptions, nodePlatform } from "./platform/node/index.js";
import type { Platform } from "./platform/types.js";

export * from "./exports.js";

export const { defaultPlatform, createPostboxClient, createChannelManager, createClientHost } =
  bindPlatform(nodePlatform);

/** A Node platform with other crypto backends (`{ secp256k1: "wasm" }`: libsecp256k1 in WebAssembly). */
export function createPlatform(options: NodeCryptoOptions = {}): Platform {
  return nodePlatform(options);
}
