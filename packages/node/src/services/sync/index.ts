/**
 * @packageDocumentation
 * `/postbox/sync/1`: mailboxes repair the gaps in their archives from each other by range-based
 * set reconciliation over (timestamp, id) (docs/protocol.md). Free between registered mailboxes.
 */
export { selfActive, syncPeers } from "./peers.js";
export {
  compareBounds,
  DEFAULT_PARAMS,
  FINGERPRINT_BYTES,
  firstRanges,
  fromWireBound,
  KEY_BYTES,
  nextRanges,
  type ReconcileParams,
  respond,
  SKETCH_MAX_VALUES,
  SKETCH_PRIME,
  SKETCH_VALUE_BYTES,
  SKETCH_WORK_PER_MESSAGE,
  SKETCH_WORK_PER_SESSION,
  SyncProtocolError,
  sketchable,
  toWireBound,
} from "./reconcile.js";
export {
  MAX_FRAME_BYTES,
  MAX_REQUEST_IDS,
  MAX_REQUEST_RANGES,
  MAX_RESPONSE_ENVELOPE_BYTES,
  MAX_ROUNDS,
  MailboxSync,
  type MailboxSyncInit,
  type SessionStats,
  SYNC_PROTOCOL,
  type SyncPeer,
  SyncRefused,
  type SyncSettings,
} from "./service.js";
export { BLOCK, type Bound, END, type Fingerprint, ID_BYTES, SyncIndex } from "./sync-index.js";
