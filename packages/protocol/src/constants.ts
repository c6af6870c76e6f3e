/** Protocol ids: the only place they are spelled. */
export const STORE_PROTOCOL = "/postbox/store/1";
export const PUSH_PROTOCOL = "/postbox/push/1";
export const INFO_PROTOCOL = "/postbox/info/1";

/** The gossipsub topic every Postbox envelope is published on. */
export const DEFAULT_PUBSUB_TOPIC = "/postbox/1/envelopes";

/** The current envelope format version. */
export const ENVELOPE_VERSION = 1;

/** Limits every implementation applies. */
export const LIMITS = {
  /** Content topics in one store query. */
  maxContentTopics: 10,
  /** Ids in one presence query. */
  maxPresenceIds: 100,
  /** Default and largest page sizes. */
  defaultPageSize: 50,
  maxPageSize: 100,
  /** Largest envelope payload accepted (bytes). */
  maxPayloadBytes: 64 * 1024,
  /** Largest content topic (bytes). */
  maxContentTopicBytes: 256,
  /** Largest frame on any Postbox stream: a full page of the largest envelopes plus framing. */
  maxFrameBytes: 100 * (64 * 1024 + 512) + 64 * 1024,
  /** How far an envelope's timestamp may be from the mailbox clock on ingest (ms). */
  maxClockSkewMs: 20_000,
  /** Largest request id (bytes). */
  maxRequestIdBytes: 64,
} as const;
