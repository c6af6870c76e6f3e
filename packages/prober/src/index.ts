/**
 * @packageDocumentation
 * The Postbox prober: measures every registered mailbox (libp2p ping and info every minute,
 * canaries pushed and bought back) and publishes signed uptime, latency, canary completeness,
 * scores and each mailbox's card (its info answer and metadata document) over HTTP.
 * docs/methodology.md gives every formula and constant.
 */

export { computeFigures, DAY, HOUR, type MailboxFigures, percentile } from "./figures.js";
export { type ProberHttpOptions, type SignedReport, startProberHttp } from "./http.js";
export {
  isPrivateAddress,
  METADATA_MAX_BYTES,
  METADATA_REFRESH_MS,
  METADATA_RETRY_MS,
  METADATA_TIMEOUT_MS,
  MetadataError,
  mailboxMetadataSchema,
  parseMetadata,
  type ReadMetadataOptions,
  readMetadata,
} from "./metadata.js";
export {
  CANARY_GIVE_UP_MS,
  type CanaryQueryOutcome,
  Prober,
  type ProberOptions,
  settleCanaries,
} from "./prober.js";
export {
  type Canary,
  type Deployment,
  type MetadataRecord,
  type Sample,
  type SampleKind,
  SampleStore,
  type TrackedMailbox,
} from "./samples.js";
export { type ProberService, type ProberServiceConfig, startProberService } from "./service.js";
