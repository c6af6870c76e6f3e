/**
 * @packageDocumentation
 * `/postbox/push/1`: a client that cannot stay in the gossip mesh hands an envelope to a mailbox,
 * which archives it, relays it on gossipsub, and answers with a store receipt signed by its peer
 * key — only after the envelope is durably committed.
 */
import type { Registrar } from "@libp2p/interface-internal";
import { MailboxPush, type MailboxPushInit } from "./push.js";

export type { MailboxPushInit } from "./push.js";

export function mailboxPush(init: MailboxPushInit): (components: { registrar: Registrar }) => MailboxPush {
  return (components) => new MailboxPush(components, init);
}
