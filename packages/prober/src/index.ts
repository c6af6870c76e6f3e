/**
 * @packageDocumentation
 * The Postbox prober: measures every registered mailbox (libp2p ping and info every minute,
 * canaries pushed and bought back) and publishes signed uptime, latency, canary completeness and
 * scores over HTTP. docs/methodology.md gives every formula and constant.
 */

export { type ProberHttpOptions, type SignedReport, startProberHttp } from "./http.js";
export { DAY, HOUR, type MailboxFigures, Prober, type ProberOptions } from "./prober.js";
export { type Canary, type Sample, type SampleKind, SampleStore, type TrackedMailbox } from "./samples.js";
export { type ProberService, type ProberServiceConfig, startProberService } from "./service.js";
