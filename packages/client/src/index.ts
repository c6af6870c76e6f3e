/**
 * @packageDocumentation
 * The Postbox client SDK. {@link PostboxClient} is what a chat app embeds: identity, contacts,
 * rooms and groups, sending with store receipts, live receiving, and catching up after being
 * offline from mailboxes chosen by score (paid through {@link ChannelManager}). The wire helpers
 * (`queryStore`, `pushEnvelope`, `fetchInfo`) are the layer beneath. The SDK never logs.
 */

export {
  type ArchivedChannelRecord,
  type ChannelCheck,
  type ChannelEvent,
  ChannelManager,
  type ChannelManagerInit,
  type ChannelRecord,
  type ChannelStatus,
} from "./channels.js";
export {
  type ConversationId,
  type Destination,
  type FeedCatchUp,
  PostboxClient,
  type PostboxClientInit,
  type SendResult,
} from "./chat/client.js";
export {
  blankCandidate,
  type MailboxCandidate,
  MailboxDirectory,
  type MailboxDirectoryInit,
  mailboxName,
  type ProberFigures,
  type StaticMailbox,
} from "./chat/directory.js";
export { type CatchUpProgress, dialable, fetchHistory, type MailboxGap } from "./chat/history.js";
export { type Feed, LocalStore, type StoredMessage, type StoredReceipt } from "./chat/local-store.js";
export { createNativeVerifier } from "./chat/verify.js";
export {
  BaseError,
  type BaseErrorParameters,
  MailboxStatusError,
  MailboxUnreachableError,
  PaymentRefusedError,
  StaleChannelError,
} from "./errors.js";
export { type ClientHost, type CreateClientHostOptions, createClientHost } from "./host.js";
export { createVoucherSigner } from "./voucher-signer.js";
export { fetchInfo, type MailboxAddress, newRequestId, pushEnvelope, queryStore } from "./wire/index.js";
