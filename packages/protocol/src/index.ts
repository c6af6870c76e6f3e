/**
 * @packageDocumentation
 * The isomorphic core of Postbox, shared by the mailbox node, the client SDK, the prober and the
 * dashboard (browser and Node alike: no `node:` imports): envelopes and their ids, content
 * topics, end-to-end encryption, the wire formats of `/postbox/store/1`, `/postbox/push/1` and
 * `/postbox/info/1`, store receipts and page commitments, EIP-712 vouchers and price math. The
 * vouchers and price math match the contracts exactly.
 */

export {
  AmountError,
  type AmountErrorReason,
  type FormatSntOptions,
  formatDuration,
  formatSnt,
  type ParseSntOptions,
  PRICE_REFERENCE_LABEL,
  PRICE_REFERENCE_PAGE,
  parseSnt,
  SNT_DECIMALS,
} from "./amounts.js";
export {
  bigintToBytes,
  bytesEqual,
  bytesToBigint,
  type CanonicalField,
  canonical,
  compareBytes,
  fromHex,
  toHex,
} from "./canonical.js";
export {
  DEFAULT_PUBSUB_TOPIC,
  ENVELOPE_VERSION,
  INFO_PROTOCOL,
  LIMITS,
  PUSH_PROTOCOL,
  STORE_PROTOCOL,
} from "./constants.js";
export {
  createGroupKey,
  createIdentity,
  decryptDirect,
  decryptGroup,
  decryptRoom,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  type Identity,
  MessageKind,
  nobleVerifier,
  type OpenedMessage,
  type OpenOptions,
  roomKey,
  type SignatureVerifier,
} from "./crypto.js";
export {
  checkEnvelopeTime,
  compareEnvelopes,
  createEnvelope,
  envelopeId,
  type IdentifiedEnvelope,
  identify,
  validateContentTopic,
  validateEnvelope,
} from "./envelope.js";
export {
  BaseError,
  type BaseErrorParameters,
  DecryptionError,
  InvalidEnvelopeError,
  InvalidSignatureError,
  InvalidVoucherError,
  type InvalidVoucherReason,
} from "./errors.js";
export { decodeLengthPrefix, framing } from "./framing.js";
export { postboxGossipsubOptions } from "./gossip.js";
export {
  ChatMessage,
  Envelope,
  InfoRequest,
  InfoResponse,
  PushRequest,
  PushResponse,
  Quote,
  StatusCode,
  StoreQuery,
  StoreReceipt,
  StoreResponse,
  Voucher as WireVoucher,
} from "./pb/messages.js";
export { skipRepeatedProtocolMerges } from "./peer-store.js";
export { effectivePrice, maxPageCost, type Price, type PricedEntry, pageCost } from "./price.js";
export type {
  FigureSamples,
  MailboxInfo,
  MailboxMetadata,
  MailboxReport,
  SampleReport,
  SignedReport,
} from "./report.js";
export {
  combineScore,
  DEFAULT_SCORE_WEIGHTS,
  FACTOR_FLOOR,
  FIGURE_MIN_SAMPLES,
  LATENCY_GOOD_MS,
  LATENCY_HALF_MS,
  latencyFactor,
  medianAmount,
  pickMailboxes,
  priceFactor,
  SCORE_PRIOR,
  type ScoreFactors,
  type ScoreInputs,
  type ScoreWeights,
  SELECTION_RATIO,
  STAKE_FACTOR_AT_MINIMUM,
  STAKE_FULL_MULTIPLE,
  scoreFactors,
  selectionChances,
  selectionPool,
  stakeFactor,
  withPrior,
} from "./score.js";
export {
  commitmentSigningBytes,
  queryDigest,
  receiptSigningBytes,
  signWithPeerKey,
  verifyPeerSignature,
} from "./signing.js";
export { decodeStoreResponse, encodeStoreResponse, StoreResponseCodec } from "./store-response.js";
export {
  groupTopic,
  INBOX_PARTITIONS,
  inboxPartition,
  inboxTopic,
  normaliseRoomName,
  roomTopic,
} from "./topics.js";
export {
  computeChannelId,
  hashVoucher,
  MAX_AMOUNT,
  signVoucher,
  VOUCHER_DOMAIN_NAME,
  VOUCHER_DOMAIN_VERSION,
  type Voucher,
  type VoucherDomain,
  verifyVoucher,
  voucherDigester,
  voucherDomain,
  voucherTypes,
} from "./vouchers.js";
