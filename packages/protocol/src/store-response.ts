import { type Envelope, StoreResponse } from "./pb/messages.js";

const utf8 = new TextEncoder();
/** The `envelopes` field of `StoreResponse` (4), length-delimited. */
const ENVELOPES_TAG = (4 << 3) | 2;

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

function bigVarintLength(n: bigint): number {
  let length = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    length++;
  }
  return length;
}

function writeBigVarint(out: Uint8Array, at: number, n: bigint): number {
  while (n >= 0x80n) {
    out[at++] = Number(n & 0x7fn) | 0x80;
    n >>= 7n;
  }
  out[at++] = Number(n);
  return at;
}

/**
 * `StoreResponse.encode`, with the envelopes written straight into one buffer. The generated
 * encoder builds a list of write operations per field and copies each payload through it; for a
 * page of 100 envelopes that was about a tenth of the mailbox's CPU per page. The bytes decode to
 * the same message with any protobuf decoder: the other fields come first (as the generated
 * encoder writes them), then the envelopes, in order (a repeated field's elements may appear
 * anywhere in a message).
 */
export function encodeStoreResponse(response: StoreResponse): Uint8Array {
  const { envelopes } = response;
  if (envelopes.length === 0) return StoreResponse.encode(response);
  const rest = StoreResponse.encode({ ...response, envelopes: [] });
  const topics = new Map<string, Uint8Array>();
  const sizes = new Array<number>(envelopes.length);
  let total = rest.byteLength;
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i]!;
    let topic = topics.get(e.contentTopic);
    if (topic === undefined) {
      topic = utf8.encode(e.contentTopic);
      topics.set(e.contentTopic, topic);
    }
    const size = envelopeLength(e, topic);
    sizes[i] = size;
    total += 1 + varintLength(size) + size;
  }
  const out = new Uint8Array(total);
  out.set(rest);
  let at = rest.byteLength;
  for (let i = 0; i < envelopes.length; i++) {
    const e = envelopes[i]!;
    const topic = topics.get(e.contentTopic)!;
    out[at++] = ENVELOPES_TAG;
    at = writeVarint(out, at, sizes[i]!);
    // Fields as the generated encoder writes them: proto3 defaults are left out.
    if (e.version !== 0) {
      out[at++] = (1 << 3) | 0;
      at = writeVarint(out, at, e.version);
    }
    if (topic.byteLength > 0) {
      out[at++] = (2 << 3) | 2;
      at = writeVarint(out, at, topic.byteLength);
      out.set(topic, at);
      at += topic.byteLength;
    }
    if (e.timestamp !== 0n) {
      out[at++] = (3 << 3) | 0;
      at = writeBigVarint(out, at, e.timestamp);
    }
    if (e.payload.byteLength > 0) {
      out[at++] = (4 << 3) | 2;
      at = writeVarint(out, at, e.payload.byteLength);
      out.set(e.payload, at);
      at += e.payload.byteLength;
    }
  }
  return out;
}

function envelopeLength(e: Envelope, topic: Uint8Array): number {
  let n = 0;
  if (e.version !== 0) n += 1 + varintLength(e.version);
  if (topic.byteLength > 0) n += 1 + varintLength(topic.byteLength) + topic.byteLength;
  if (e.timestamp !== 0n) n += 1 + bigVarintLength(e.timestamp);
  if (e.payload.byteLength > 0) n += 1 + varintLength(e.payload.byteLength) + e.payload.byteLength;
  return n;
}

/** The `StoreResponse` codec with {@link encodeStoreResponse} as its encoder (for `pbStream`). */
export const StoreResponseCodec = {
  encode: encodeStoreResponse,
  decode: StoreResponse.decode,
};
