import { sha256 } from "@noble/hashes/sha2.js";
import { canonical, compareBytes } from "./canonical.js";
import { ENVELOPE_VERSION, LIMITS } from "./constants.js";
import { InvalidEnvelopeError } from "./errors.js";
import type { Envelope } from "./pb/messages.js";

export type { Envelope } from "./pb/messages.js";

/** An envelope with its id, as archives and clients keep it. */
export interface IdentifiedEnvelope extends Envelope {
  id: Uint8Array;
}

const ENCODER = new TextEncoder();

/**
 * The envelope id: SHA-256 of the canonical encoding of (version, content topic, timestamp,
 * payload), domain-separated. Two envelopes with the same fields have the same id everywhere.
 */
export function envelopeId(e: Envelope): Uint8Array {
  return sha256(canonical("postbox/envelope/1", e.version, e.contentTopic, e.timestamp, e.payload));
}

/** Creates an envelope for a payload (timestamp: now, in ms). */
export function createEnvelope(args: {
  contentTopic: string;
  payload: Uint8Array;
  timestamp?: bigint;
}): IdentifiedEnvelope {
  const e: Envelope = {
    version: ENVELOPE_VERSION,
    contentTopic: args.contentTopic,
    timestamp: args.timestamp ?? BigInt(Date.now()),
    payload: args.payload,
  };
  return { ...e, id: envelopeId(e) };
}

/** Adds the id to an envelope received from the wire. */
export function identify(e: Envelope): IdentifiedEnvelope {
  return { ...e, id: envelopeId(e) };
}

/** The order everywhere: by timestamp, then by id bytes. */
export function compareEnvelopes(
  a: { timestamp: bigint; id: Uint8Array },
  b: { timestamp: bigint; id: Uint8Array },
): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compareBytes(a.id, b.id);
}

/**
 * The rule for a content topic, in envelopes and in store queries alike: 1–256 bytes of UTF-8,
 * starting with `/`, with no U+FFFD (what a decoder makes of invalid UTF-8: a topic that arrived
 * as invalid UTF-8 can never match one that was sent as valid text). Throws
 * {@link InvalidEnvelopeError}.
 */
export function validateContentTopic(topic: string): void {
  const topicBytes = ENCODER.encode(topic).length;
  if (topicBytes === 0 || topicBytes > LIMITS.maxContentTopicBytes) {
    throw new InvalidEnvelopeError(`content topic must be 1..${LIMITS.maxContentTopicBytes} bytes`);
  }
  if (!topic.startsWith("/")) throw new InvalidEnvelopeError("content topic must start with /");
  if (topic.includes("\uFFFD")) throw new InvalidEnvelopeError("content topic is not valid UTF-8");
}

/**
 * Checks an envelope's format and size (not its timestamp against a clock: see
 * {@link checkEnvelopeTime}). Throws {@link InvalidEnvelopeError}.
 */
export function validateEnvelope(e: Envelope): void {
  if (e.version !== ENVELOPE_VERSION)
    throw new InvalidEnvelopeError(`unsupported envelope version ${e.version}`);
  validateContentTopic(e.contentTopic);
  if (e.payload.length === 0) throw new InvalidEnvelopeError("empty payload");
  if (e.payload.length > LIMITS.maxPayloadBytes) {
    throw new InvalidEnvelopeError(`payload of ${e.payload.length} bytes exceeds ${LIMITS.maxPayloadBytes}`);
  }
  if (e.timestamp <= 0n) throw new InvalidEnvelopeError("missing timestamp");
}

/** Checks that an envelope's timestamp is within `maxSkewMs` of `nowMs`. */
export function checkEnvelopeTime(
  e: Envelope,
  nowMs: number,
  maxSkewMs: number = LIMITS.maxClockSkewMs,
): void {
  const skew = Number(e.timestamp) - nowMs;
  if (skew > maxSkewMs) throw new InvalidEnvelopeError(`timestamp ${skew} ms in the future`);
  if (skew < -maxSkewMs) throw new InvalidEnvelopeError(`timestamp ${-skew} ms in the past`);
}
