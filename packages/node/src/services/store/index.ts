/**
 * @packageDocumentation
 * `/postbox/store/1`: history queries over the archive. The client writes a length-prefixed
 * `StoreQuery`, the mailbox answers one `StoreResponse`; the client may then send its next query on
 * the same stream, until it closes its side or falls silent. Every outcome is a status code with a
 * short description; nothing else (no stack, no internal detail) reaches the peer.
 */
import type { ComponentLogger } from "@libp2p/interface";
import type { Registrar } from "@libp2p/interface-internal";
import { MailboxStore, type MailboxStoreInit } from "./store.js";

export type { MailboxStoreInit } from "./store.js";

export interface MailboxStoreComponents {
  registrar: Registrar;
  logger: ComponentLogger;
}

export function mailboxStore(init: MailboxStoreInit): (components: MailboxStoreComponents) => MailboxStore {
  return (components) => new MailboxStore(components, init);
}
