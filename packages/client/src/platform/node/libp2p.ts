import { webSockets } from "@libp2p/websockets";
import { noise, tcp } from "@postbox/net";
import type { Platform } from "../types.js";

/**
 * Node dials TCP and WebSockets (plain and TLS) with Postbox's tuned TCP and Noise (`@postbox/net`:
 * coalesced writes, OpenSSL ciphers; it interoperates with stock Noise both ways).
 */
export const nodeLibp2p: Platform["libp2p"] = () => ({
  transports: [tcp(), webSockets()],
  connectionEncrypters: [noise()],
});
