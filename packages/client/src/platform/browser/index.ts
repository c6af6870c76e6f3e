import { browserDialPolicy } from "../../core/addresses.js";
import { openPageHandler } from "../../core/open-page.js";
import { inlinePool, workerPool } from "../../core/pool.js";
import { openIndexedDbChannelStore } from "../../storage/channels-indexeddb.js";
import { openIndexedDbStorage } from "../../storage/indexeddb.js";
import type { Platform } from "../types.js";
import { browserCrypto } from "./crypto.js";
import { browserLibp2p } from "./libp2p.js";
import { defaultWorkers, spawnOpenPageWorker } from "./pool.js";

/**
 * A browser: IndexedDB (database `postbox` by default), WebSockets, WebCrypto and @noble, Web
 * Workers (a worker that cannot load leaves its pages to the page itself: slower, never wrong).
 */
export function browserPlatform(): Platform {
  const crypto = browserCrypto();
  const inline = openPageHandler(crypto);
  return {
    name: "browser",
    openStorage: (name) => openIndexedDbStorage(name),
    openChannelStore: (name) => openIndexedDbChannelStore(name),
    dialPolicy: () => browserDialPolicy(globalThis.location?.protocol),
    libp2p: browserLibp2p,
    crypto,
    openerPool: (size = defaultWorkers()) =>
      size === 0 ? inlinePool(inline) : workerPool({ size, spawn: spawnOpenPageWorker, fallback: inline }),
    cores: () => globalThis.navigator?.hardwareConcurrency ?? 1,
  };
}

export { browserCrypto } from "./crypto.js";
