/**
 * @packageDocumentation
 * The Postbox client SDK. This first layer speaks the wire protocols (`queryStore`,
 * `pushEnvelope`, `fetchInfo`); catch-up, payments and mailbox choice build on it.
 */

export {
  ChannelManager,
  type ChannelManagerInit,
  type ChannelRecord,
  PaymentRefusedError,
} from "./channels.js";
export {
  BaseError,
  type BaseErrorParameters,
  MailboxStatusError,
  MailboxUnreachableError,
} from "./errors.js";
export { type ClientHost, type CreateClientHostOptions, createClientHost } from "./host.js";
export { fetchInfo, type MailboxAddress, newRequestId, pushEnvelope, queryStore } from "./wire/index.js";
