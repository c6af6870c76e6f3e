import { sha256 } from "@noble/hashes/sha2.js";

/**
 * The gossipsub settings every Postbox peer (mailbox or client) uses, so that they agree on
 * message ids and scoring. Envelopes are anonymous (no libp2p signature: `StrictNoSign`), the
 * message id is the SHA-256 of the message data, and the IP-colocation penalty is off: many
 * clients share one IP (NAT, loopback), and the default penalty graylists every peer past the
 * tenth from one IP, silently dropping its envelopes.
 */
export const postboxGossipsubOptions = {
  globalSignaturePolicy: "StrictNoSign",
  ignoreDuplicatePublishError: true,
  msgIdFn: (msg: { data: Uint8Array }): Uint8Array => sha256(msg.data),
  scoreParams: { IPColocationFactorWeight: 0 },
} as const;
