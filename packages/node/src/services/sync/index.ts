/**
 * @packageDocumentation
 * `/postbox/sync/1`: mailboxes repair the gaps in their archives from each other by range-based
 * set reconciliation over (timestamp, id) (docs/protocol.md). Free between registered mailboxes.
 */
export { selfActive, syncPeers } from "./peers.js";
export {
  DEFAULT_PARAMS,
  FINGERPRINT_BYTES,
  firstRanges,
  KEY_BYTES,
  nextRanges,
  type ReconcileParams,
  respond,
  SyncProtocolError,
} from "./reconcile.js";
export {
  MailboxSync,
  type MailboxSyncInit,
  type SessionStats,
  SYNC_PROTOCOL,
  type SyncPeer,
  SyncRefused,
  type SyncSettings,
} from "./service.js";
export { BLOCK, type Bound, END, SyncIndex } from "./sync-index.js";
