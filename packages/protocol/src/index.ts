/**
 * @packageDocumentation
 * The isomorphic core of Postbox, shared by the mailbox node, the client SDK, the prober and the
 * dashboard (browser and Node alike: no `node:` imports): envelopes and their ids, content
 * topics, end-to-end encryption, the wire formats of `/postbox/store/1`, `/postbox/push/1` and
 * `/postbox/info/1`, store receipts and page commitments, EIP-712 vouchers and price math, and
 * the typed worker pool (`./pool`) the platforms give their workers to. The vouchers and price
 * math match the contracts exactly.
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
  parseDuration,
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
  fromBareHex,
  toBareHex,
} from "./canonical.js";
export {
  type CachedCertificate,
  CertificateCache,
  type CertificateCacheOptions,
  type CheckedCertificate,
  certificateBody,
  certificateCacheKey,
  certificateDigest,
  certificateNeedsRenewal,
  checkDeviceKey,
  DEVICE_CERTIFICATE_DOMAIN,
  DEVICE_CERTIFICATE_LIFETIME_MS,
  DEVICE_CERTIFICATE_RENEW_MS,
  deviceCertificateValidity,
  InvalidCertificateError,
  type InvalidCertificateReason,
  MAX_CERTIFICATE_VALIDITY_MS,
  signDeviceCertificate,
  verifyDeviceCertificate,
  type WireCertificate,
} from "./certificate.js";
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
  type DeviceSender,
  decryptDirect,
  decryptGroup,
  decryptRoom,
  type EnvelopeToOpen,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  type FeedKeys,
  type Identity,
  MessageKind,
  nobleVerifier,
  type OpenContext,
  type OpenedMessage,
  type OpenOptions,
  openEnvelope,
  roomKey,
  type SealedMessage,
  type SealOptions,
  type SignatureVerifier,
  sealDirectV2,
  sealGroupV2,
  sealRoomV2,
  type XChaCha20Poly1305Open,
} from "./crypto.js";
export {
  type DeviceKey,
  type DeviceKeyOptions,
  type DeviceSigner,
  deviceKeyFromSeed,
  type Ed25519Verifier,
  type Ed25519VerifierFactory,
  generateDeviceKey,
  loadDeviceKey,
  type NodeEd25519Crypto,
  nobleEd25519,
  nodeCryptoEd25519,
  type StoredDeviceKey,
  type SubtleEd25519,
  type WebCryptoKey,
  type WebCryptoKeyPair,
  webCryptoEd25519,
} from "./ed25519.js";
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
  ConfigError,
  DecryptionError,
  InvalidEnvelopeError,
  InvalidSignatureError,
  InvalidVoucherError,
  type InvalidVoucherReason,
  serializeError,
} from "./errors.js";
export { decodeLengthPrefix, framing } from "./framing.js";
export { postboxGossipsubOptions } from "./gossip.js";
export {
  bodyFields,
  bodyOf,
  CHAT_MESSAGE_VERSION,
  CHAT_V2_DOMAIN,
  type ChatFieldsV2,
  chatSigningBytesV2,
  InvalidMessageError,
  MAX_ACKS,
  MESSAGE_ID_BYTES,
  type MessageBody,
  MessageType,
  messageIdOf,
} from "./message.js";
export {
  ChatMessage,
  DeviceCertificate,
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
export {
  inlinePool,
  type JobHandler,
  type JobOutput,
  type PoolPort,
  type PoolWorker,
  serveJobs,
  WorkerError,
  type WorkerErrorReason,
  type WorkerPool,
  type WorkerPoolOptions,
  workerPool,
} from "./pool.js";
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
  checkVoucherSignature,
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
