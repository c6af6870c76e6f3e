import { sha256 } from "@noble/hashes/sha2.js";
import { canonical } from "./canonical.js";
import { BaseError } from "./errors.js";

/**
 * Message format v2 (docs/protocol.md, "Message format v2"): the fields a device key signs, the
 * message id, and the bodies a message can carry.
 */

export const CHAT_V2_DOMAIN = "postbox/chat/2";
/** `ChatMessage.version` of this format (absent, i.e. 0, is version 1). */
export const CHAT_MESSAGE_VERSION = 2;

/** `ChatMessage.type` on the wire. */
export const MessageType = { Text: 1, Ack: 2, Join: 3 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Message ids in one ack. */
export const MAX_ACKS = 100;
/** A message id: SHA-256 of the signed bytes (v2) or of the v1 preimage. */
export const MESSAGE_ID_BYTES = 32;

/**
 * What a message says. `text`: a chat message. `ack`: "I saved these messages" (1–100 message ids;
 * never acked, never shown). `join`: "I am a member of this group" (groups count members by it).
 */
export type MessageBody =
  | { type: "text"; text: string }
  | { type: "ack"; acks: readonly Uint8Array[] }
  | { type: "join" };

/** Everything a v2 signature covers, besides the content topic. */
export interface ChatFieldsV2 {
  kind: number;
  type: number;
  sender: Uint8Array;
  certDigest: Uint8Array;
  recipient: Uint8Array;
  conversation: string;
  timestamp: bigint;
  text: string;
  acks: readonly Uint8Array[];
}

/**
 * `canonical("postbox/chat/2", kind, type, sender, certDigest, recipient, conversation,
 * content_topic, timestamp, text, ackCount, ack_1 … ack_n)`: the bytes a device key signs, raw
 * (no pre-hash).
 */
export function chatSigningBytesV2(m: ChatFieldsV2, contentTopic: string): Uint8Array {
  return canonical(
    CHAT_V2_DOMAIN,
    m.kind,
    m.type,
    m.sender,
    m.certDigest,
    m.recipient,
    m.conversation,
    contentTopic,
    m.timestamp,
    m.text,
    m.acks.length,
    ...m.acks,
  );
}

/** The id of a message: SHA-256 of the bytes its signature covers (v2) or of its preimage (v1). */
export function messageIdOf(signed: Uint8Array): Uint8Array {
  return sha256(signed);
}

/** A message a sender asked for breaks the format (a bad ack list, a device key its certificate does not name). */
export class InvalidMessageError extends BaseError {
  override name = "InvalidMessageError" as const;
  constructor(details: string) {
    super("Invalid message.", { details });
  }
}

/** The wire fields of a body. Throws {@link InvalidMessageError}. */
export function bodyFields(body: MessageBody): { type: MessageType; text: string; acks: Uint8Array[] } {
  switch (body.type) {
    case "text":
      if (typeof body.text !== "string") throw new InvalidMessageError("a text message needs a text");
      return { type: MessageType.Text, text: body.text, acks: [] };
    case "ack": {
      const problem = ackProblem(body.acks);
      if (problem) throw new InvalidMessageError(problem);
      return { type: MessageType.Ack, text: "", acks: body.acks.map((a) => a.slice()) };
    }
    case "join":
      return { type: MessageType.Join, text: "", acks: [] };
    default:
      throw new InvalidMessageError(`unknown message type ${(body as { type: unknown }).type}`);
  }
}

/**
 * The body of received wire fields, or why they break the rules: type 1 has no acks; type 2 has an
 * empty text and 1–100 ids of 32 bytes; type 3 has neither; any other type is refused.
 */
export function bodyOf(type: number, text: string, acks: Uint8Array[]): MessageBody | string {
  switch (type) {
    case MessageType.Text:
      return acks.length ? "a text message carries acks" : { type: "text", text };
    case MessageType.Ack:
      if (text !== "") return "an ack carries a text";
      return ackProblem(acks) ?? { type: "ack", acks };
    case MessageType.Join:
      return text !== "" || acks.length ? "a join carries a text or acks" : { type: "join" };
    default:
      return `unknown message type ${type}`;
  }
}

function ackProblem(acks: readonly Uint8Array[]): string | undefined {
  if (acks.length < 1 || acks.length > MAX_ACKS) return `an ack carries 1–${MAX_ACKS} message ids`;
  if (acks.some((a) => a.length !== MESSAGE_ID_BYTES)) return `a message id is ${MESSAGE_ID_BYTES} bytes`;
  return undefined;
}
