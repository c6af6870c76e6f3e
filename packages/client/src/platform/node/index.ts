import { availableParallelism } from "node:os";
import { NODE_DIAL_POLICY } from "../../core/addresses.js";
import { openPageHandler } from "../../core/open-page.js";
import { inlinePool, workerPool } from "../../core/pool.js";
import { openSqliteChannelStore } from "../../storage/channels-sqlite.js";
import { openSqliteStorage } from "../../storage/sqlite.js";
import type { Platform } from "../types.js";
import { type NodeCryptoOptions, nodeCrypto } from "./crypto.js";
import { nodeLibp2p } from "./libp2p.js";
import { defaultWorkers, spawnOpenPageWorker } from "./pool.js";

/**
 * Node: `client.db` and `channels.db` (SQLite) in a data folder, TCP and WebSockets, libsecp256k1
 * and OpenSSL, worker threads (one per core, at most 8).
 */
export function nodePlatform(options: NodeCryptoOptions = {}): Platform {
  const crypto = nodeCrypto(options);
  return {
    name: "node",
    openStorage: (dataDir) => openSqliteStorage(dataDir),
    openChannelStore: (dataDir) => openSqliteChannelStore(dataDir),
    dialPolicy: () => NODE_DIAL_POLICY,
    libp2p: nodeLibp2p,
    crypto,
    openerPool: (size = defaultWorkers()) =>
      size === 0
        ? inlinePool(openPageHandler(crypto))
        : workerPool({ size, spawn: () => spawnOpenPageWorker(options) }),
    cores: () => availableParallelism(),
  };
}

export { type NodeCryptoOptions, nodeCrypto } from "./crypto.js";
