import { noise } from "@chainsafe/libp2p-noise";
import { webSockets } from "@libp2p/websockets";
import { allowedByPolicy } from "../../core/addresses.js";
import type { Platform } from "../types.js";

/**
 * A browser dials WebSockets only, with stock Noise (pure JS). libp2p's own browser gater refuses
 * every plain `ws` and every private address; this one follows the dial policy instead (wss
 * anywhere, ws where the page may open it), so a local network works over ws and nothing is dialled
 * that the page would block.
 */
export const browserLibp2p: Platform["libp2p"] = (policy) => ({
  transports: [webSockets()],
  connectionEncrypters: [noise()],
  connectionGater: { denyDialMultiaddr: async (ma) => !allowedByPolicy(ma, policy) },
});
