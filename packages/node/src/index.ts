/**
 * @packageDocumentation
 * The Postbox mailbox daemon. `MailboxNode.create(loadConfig(...))` builds a node; `start()` joins
 * the network. The archive backends, the protocol services and the metering hook are exported for
 * embedding and testing.
 */

export { tuneGarbageCollection } from "@postbox/net";
export * from "./archive/index.js";
export {
  CHAIN_SETTINGS,
  type ChainConfig,
  ChainSchema,
  type ChainSettingName,
  type ConfigSources,
  ENVIRONMENT,
  loadConfig,
  loadSettings,
  type NodeConfig,
  type NodeConfigInput,
  NodeConfigSchema,
  parseDuration,
  parseSize,
  type SettingName,
} from "./config.js";
export { DISPUTES_FILE, DisputeWatcher, type DisputeWatcherInit } from "./disputes.js";
export { ArchiveError, BaseError, ConfigError, serializeError } from "./errors.js";
export { EvidenceSigner } from "./evidence.js";
export { Ingestor, type IngestResult } from "./ingest.js";
export {
  createSigner,
  EVIDENCE_KEY_FILE,
  loadOrCreateEvidenceKey,
  loadOrCreatePeerKey,
  PEER_KEY_FILE,
} from "./keys.js";
export { type Charge, ChargeRefused, FreeMeter, type MeterDecision, type QueryMeter } from "./meter.js";
export { createMetrics, type Metrics } from "./metrics.js";
export { MailboxNode, type MailboxNodeOptions, NODE_VERSION, type Payments } from "./node.js";
export { ChainReader, type ChainSettings, type ChannelState, type PriceState } from "./payments/chain.js";
export { ChannelMeter, type ChannelMeterInit } from "./payments/channel-meter.js";
export {
  type ChannelAccount,
  type Ledger,
  PostgresLedger,
  SqliteLedger,
  type SqliteLedgerOptions,
} from "./payments/ledger.js";
export { Redeemer, type RedeemerInit } from "./payments/redeemer.js";
export { VoucherVerifier } from "./payments/voucher-verifier.js";
export { SyncBound, SyncRange, SyncRequest, SyncResponse } from "./pb/sync.js";
export { Peering, type PeeringOptions, type PeeringTarget, registryMailboxes } from "./peering.js";
export { RetentionTask } from "./retention.js";
export { MailboxInfo, mailboxInfo } from "./services/info/index.js";
export { mailboxPush } from "./services/push/index.js";
export { MailboxPush } from "./services/push/push.js";
export { mailboxStore } from "./services/store/index.js";
export { MailboxStore } from "./services/store/store.js";
export {
  BLOCK,
  type Bound,
  compareBounds,
  DEFAULT_PARAMS,
  END,
  FINGERPRINT_BYTES,
  type Fingerprint,
  firstRanges,
  fromWireBound,
  ID_BYTES,
  KEY_BYTES,
  MAX_FRAME_BYTES,
  MAX_REQUEST_IDS,
  MAX_REQUEST_RANGES,
  MAX_RESPONSE_ENVELOPE_BYTES,
  MAX_ROUNDS,
  MailboxSync,
  type MailboxSyncInit,
  nextRanges,
  type ReconcileParams,
  respond,
  type SessionStats,
  SKETCH_MAX_VALUES,
  SKETCH_PRIME,
  SKETCH_VALUE_BYTES,
  SKETCH_WORK_PER_MESSAGE,
  SKETCH_WORK_PER_SESSION,
  SYNC_PROTOCOL,
  SyncIndex,
  type SyncPeer,
  SyncProtocolError,
  SyncRefused,
  type SyncSettings,
  selfActive,
  sketchable,
  syncPeers,
  toWireBound,
} from "./services/sync/index.js";
export {
  isSecureWebSocket,
  type MailboxWebSockets,
  mailboxWebSockets,
  readTlsCertificate,
  spkiPin,
  type TlsCertificate,
  type TlsFiles,
} from "./tls.js";
