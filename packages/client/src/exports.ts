// What both entries export from the isomorphic core (index.ts binds Node, index.browser.ts a
// browser): the same names, so that a bundler's server and browser builds agree.

export {
  addressKind,
  allowedByPolicy,
  browserDialPolicy,
  type DialPolicy,
  dialableAddresses,
  isLoopback,
  NODE_DIAL_POLICY,
  unreachableReason,
} from "./core/addresses.js";
export {
  type ArchivedChannelRecord,
  type ChannelCheck,
  type ChannelEvent,
  ChannelManager,
  type ChannelManagerInit,
  type ChannelRecord,
  type ChannelStatus,
} from "./core/channels.js";
export {
  type ConversationId,
  type Destination,
  type FeedCatchUp,
  PostboxClient,
  type PostboxClientInit,
  type SendResult,
} from "./core/client.js";
export {
  ACK_DELAY_MS,
  DeliveryTracker,
  type DeliveryTrackerInit,
  failureText,
  type MailboxFailure,
  NotStoredError,
  type OutgoingStatus,
  type PendingCopy,
  RESEND_WINDOW_MS,
  type ReceivedMessage,
  SEND_TIMEOUT_MS,
} from "./core/delivery.js";
export {
  blankCandidate,
  type MailboxCandidate,
  MailboxDirectory,
  type MailboxDirectoryInit,
  mailboxName,
  type ProberFigures,
  type StaticMailbox,
} from "./core/directory.js";
export type { CatchUpProgress, ClientEvent } from "./core/events.js";
export {
  contractCommitment,
  contractEnvelope,
  contractPresence,
  contractReceipt,
  type KeptOmissionProof,
  keptOmissionProofs,
  type OmissionProofArgs,
  omissionProofArgs,
} from "./core/evidence-args.js";
export { fetchHistory, isOwnFailure, type MailboxGap } from "./core/history.js";
export type { ClientHost, CreateClientHostOptions } from "./core/host.js";
export { MailboxNodes, mailboxNodes, NODE_DOWN_MS, nodePeerId } from "./core/nodes.js";
export type { OpenPageJob, OpenPageResult } from "./core/open-page.js";
export type { WorkerPool } from "./core/pool.js";
export { createVoucherSigner } from "./core/voucher-signer.js";
export { fetchInfo, type MailboxAddress, newRequestId, pushEnvelope, queryStore } from "./core/wire/index.js";
export {
  BaseError,
  type BaseErrorParameters,
  MailboxStatusError,
  MailboxUnreachableError,
  PaymentRefusedError,
  StaleChannelError,
} from "./errors.js";
export type { Platform, PlatformCrypto } from "./platform/types.js";
export { StorageBusyError, StorageError } from "./storage/errors.js";
export type {
  ChannelStore,
  ClientStorage,
  Contact,
  ConversationSummary,
  DeliveryState,
  Feed,
  MailboxHealth,
  MessageQuery,
  OutgoingQuery,
  OutgoingRecord,
  ReceiptEvidence,
  StoredAck,
  StoredCommitment,
  StoredMessage,
  StoredReceipt,
} from "./storage/types.js";
