/**
 * The client's storage, behind one asynchronous interface with two implementations: SQLite in Node
 * (`client.db` and `channels.db` in the data folder, see `sqlite.ts`) and IndexedDB in a browser
 * (database `postbox`, see `indexeddb.ts`). One shared suite (`contract.ts`) runs on both.
 *
 * This file imports nothing at run time: it is the interface both platforms build on.
 */
import type { Address, Hex } from "viem";

/** `dm:<peer public key hex>`, `room:<name>` or `group:<id>`. */
export type ConversationId = string;

/** A message as the client keeps and shows it (text messages only: acks and joins are not kept as messages). */
export interface StoredMessage {
  /** Envelope id (hex). */
  id: string;
  /**
   * Message id (hex): SHA-256 of the signed bytes, the same for every re-encryption of one signed
   * message. `""` for a message saved before v2, whose id is unknown (it never deduplicates by it).
   */
  messageId: string;
  /** The message format it arrived in. */
  version: 1 | 2;
  conversation: ConversationId;
  timestamp: number;
  /** Sender's public key (hex). */
  sender: string;
  text: string;
  outgoing: boolean;
}

/** Where a conversation's messages stop for {@link ClientStorage.messages}: strictly before this (timestamp, id). */
export interface MessageCursor {
  timestamp: number;
  id: string;
}

export interface MessageQuery {
  /** The last `limit` messages (before `before`), still returned oldest first. */
  limit?: number;
  before?: MessageCursor;
}

/** What a client follows: its inbox, the rooms it joined, the groups it is in. */
export interface Feed {
  /** `inbox`, `room:<name>` or `group:<id>`. */
  feed: string;
  topic: string;
  /** Group key (hex) for groups. */
  key: string | null;
  /** Catch-up starts here when nothing was seen yet (ms). */
  since: number;
  /** The last message seen, by (timestamp, id). */
  lastTimestamp: number | null;
  lastId: string | null;
}

/** A feed to follow. Following a feed again changes only its key (its `since` and mark stay). */
export interface FeedInit {
  feed: string;
  topic: string;
  since: number;
  key?: string | null;
}

/** A feed's last-seen mark: it moves forward by (timestamp, id), never back. */
export interface FeedMark {
  feed: string;
  timestamp: number;
  id: string;
}

export interface Contact {
  /** Unique; a public key belongs to one name (adding it under another name replaces the old one). */
  name: string;
  /** Public key (hex). */
  publicKey: string;
}

export interface ConversationSummary {
  conversation: ConversationId;
  count: number;
  lastTimestamp: number;
  /** The newest message, by (timestamp, id). */
  last: StoredMessage;
}

/** `sending → stored (receipts) → delivered (acks)`; `not-stored` when no mailbox took it in time. */
export type DeliveryState = "sending" | "stored" | "not-stored" | "delivered";

/** A message this client sent, and how far it got. */
export interface OutgoingRecord {
  /** Key. */
  messageId: string;
  envelopeId: string;
  conversation: ConversationId;
  timestamp: number;
  state: DeliveryState;
  /** The mailboxes whose verified receipts say they store it. */
  storedBy: string[];
  /** The identities (hex) whose acks say they have it. */
  deliveredTo: string[];
  error?: string;
  attempts: number;
}

/** Outgoing records matching every field given, oldest first. */
export interface OutgoingQuery {
  conversation?: ConversationId;
  state?: DeliveryState;
  messageIds?: readonly string[];
}

/**
 * A mailbox's signed store receipt for an envelope we sent, or its signed presence answer for an
 * envelope another mailbox returned (`evidence.presence`): both say "held from `storedAt`, kept
 * until `retainUntil`", which is what an omission proof needs.
 */
export interface StoredReceipt {
  envelopeId: string;
  mailbox: string;
  storedAt: number;
  retainUntil: number;
  /** Its EIP-712 evidence, when the mailbox has a chain and the client knows its operator. */
  evidence?: ReceiptEvidence;
}

/**
 * What a receipt's EIP-712 `Receipt` (docs/protocol.md, "Evidence") adds to {@link StoredReceipt}:
 * with the receipt's envelope id, `storedAt` and `retainUntil`, everything `Disputes.disputeCustody`
 * takes, and the envelope itself, which `proveOmission` takes.
 */
export interface ReceiptEvidence {
  /** The operator the receipt binds (its registry entry), lowercase hex. */
  operator: Address;
  /** The envelope's content topic and timestamp (ms), as signed. */
  contentTopic: string;
  timestamp: number;
  /** The evidence signer's 65-byte signature. */
  signature: Hex;
  /** The envelope's protobuf bytes. */
  envelope: Uint8Array;
  /**
   * Set when this is a presence answer's EIP-712 `Presence`, not a push receipt: the ids it lists
   * (bare hex, in its order); its `servedAt` is the receipt's `storedAt`. It proves an omission
   * (`Disputes.proveOmissionByPresence`) but opens no custody dispute.
   */
  presence?: { ids: string[] };
}

/**
 * A history page's EIP-712 `PageCommitment` ("on these topics, in this span, I hold exactly these
 * ids"). Kept only while it proves an omission: it leaves out an envelope this client holds a
 * receipt with evidence for, from the same operator, stored before the page was served and still
 * promised then, on one of its topics and within its span, and no later page proves the same
 * ({@link ClientStorage.saveCommitment}).
 */
export interface StoredCommitment {
  /** The mailbox (as {@link StoredReceipt.mailbox}) that served it. */
  mailbox: string;
  /** The operator it binds, lowercase hex. */
  operator: Address;
  contentTopics: string[];
  /** The span it is complete for (ms, inclusive; up to 2^64 − 1). */
  timeStart: bigint;
  timeEnd: bigint;
  /** The ids it lists (bare hex, as envelope ids are kept), in page order. */
  ids: string[];
  /** 32 zero bytes when the query was complete. */
  nextCursor: Hex;
  servedAt: number;
  /** The evidence signer's 65-byte signature: also the commitment's key. */
  signature: Hex;
}

/** An acknowledgement received for one of our messages: `from` has saved `messageId`. */
export interface StoredAck {
  messageId: string;
  /** The acking identity's public key (hex). */
  from: string;
  /** The ack's timestamp (ms). */
  at: number;
}

/** A device certificate that passed its checks once, so that it is not checked again. */
export interface CachedCertificate {
  /** SHA-256 of the certificate body (hex): the key. */
  digest: string;
  /** The certifying identity's public key (hex). */
  sender: string;
  /** The Ed25519 device key (hex). */
  deviceKey: string;
  /** Validity, ms since the epoch. */
  notBefore: number;
  notAfter: number;
}

export interface MailboxHealth {
  mailbox: string;
  /** Failures in a row (0 after a success). */
  failures: number;
  /** Skipped by the automatic choice until then (ms; 0 when not graylisted). */
  graylistedUntil: number;
  /** The last success (ms), or null. */
  lastOkAt: number | null;
}

/**
 * Everything a chat client keeps. Writes are atomic one call at a time; {@link saveMessages} also
 * moves a feed's mark in the same commit, so a crash mid-catch-up never skips a message.
 *
 * One open storage per database: the IndexedDB one takes a Web Lock (a second tab waits, then gets
 * a `StorageBusyError`); SQLite may be shared by processes (WAL, busy timeout).
 */
export interface ClientStorage {
  /** A string setting (`identity`, `createdAt`, `pin`, …). */
  get(key: string): Promise<string | undefined>;
  /** Sets a string setting; `undefined` deletes it. */
  set(key: string, value: string | undefined): Promise<void>;
  /**
   * A structured value (its own namespace, apart from the strings). IndexedDB keeps anything
   * structured-cloneable (a non-extractable CryptoKey included); SQLite what `node:v8` serialises
   * (objects, arrays, Uint8Array, bigint, Map, Set, Date).
   */
  getObject<T>(key: string): Promise<T | undefined>;
  /** Sets a structured value; `undefined` deletes it. */
  setObject(key: string, value: unknown): Promise<void>;

  /** Contacts by name. */
  contacts(): Promise<Contact[]>;
  addContact(contact: Contact): Promise<void>;
  removeContact(name: string): Promise<void>;

  /** Followed feeds by name. */
  feeds(): Promise<Feed[]>;
  follow(feed: FeedInit): Promise<void>;
  /** Stops following a feed (its messages stay). */
  unfollow(feed: string): Promise<void>;

  /**
   * Saves messages — deduplicated by envelope id and by message id (within the conversation),
   * within the batch too — and moves `mark` forward (never back; ignored for a feed not followed),
   * in one atomic commit: if anything fails, neither messages nor mark are saved. Returns the
   * messages that were new, oldest first.
   */
  saveMessages(batch: readonly StoredMessage[], mark?: FeedMark): Promise<StoredMessage[]>;
  /** A conversation's messages in (timestamp, id) order. */
  messages(conversation: ConversationId, query?: MessageQuery): Promise<StoredMessage[]>;
  /** Conversations with messages, the most recent first (ties by conversation id). */
  conversations(): Promise<ConversationSummary[]>;
  /**
   * Deletes a conversation: its messages, its outgoing records, and the mark of the feed of that
   * name (a later catch-up starts from the feed's `since` again).
   */
  forget(conversation: ConversationId): Promise<void>;
  /** Deletes one message by envelope id (a message sealed again under a new id). */
  deleteMessage(id: string): Promise<void>;

  /** Saves an outgoing record (replacing the one of the same message id, and `replaces` if given). */
  putOutgoing(record: OutgoingRecord, replaces?: string): Promise<void>;
  outgoing(query?: OutgoingQuery): Promise<OutgoingRecord[]>;

  /**
   * Saves a receipt (one per envelope and mailbox: a newer one replaces it, except that a presence
   * answer never replaces a push receipt that carries evidence).
   */
  saveReceipt(receipt: StoredReceipt): Promise<void>;
  /** An envelope's receipts, by mailbox. */
  receipts(envelopeId: string): Promise<StoredReceipt[]>;
  /** Every receipt that carries evidence, by `storedAt` (then envelope id and mailbox). */
  evidenceReceipts(): Promise<StoredReceipt[]>;
  /**
   * Keeps a page commitment if it proves an omission ({@link StoredCommitment}) of an envelope
   * whose kept proof for that operator, if any, was served before it (a commitment slashes once
   * on-chain: the newest is the one most likely unused), and returns the envelope ids it is kept
   * for (oldest receipt first); otherwise keeps nothing and returns `[]`. A commitment it replaces
   * for every envelope it proved is deleted. So at most one commitment is kept per receipt with
   * evidence and operator.
   */
  saveCommitment(commitment: StoredCommitment): Promise<string[]>;
  /** The kept commitments that prove `envelopeId` omitted (at most one per operator). */
  omissionProofs(envelopeId: string): Promise<StoredCommitment[]>;
  /**
   * Every kept omission proof: an envelope id and the commitment that proves it omitted, by
   * envelope id then operator. One read however many receipts are kept.
   */
  omissions(): Promise<{ envelopeId: string; commitment: StoredCommitment }[]>;

  /** Saves received acks (one per message id and identity); returns how many were new. */
  saveAcks(acks: readonly StoredAck[]): Promise<number>;
  /** A message's acks, by identity. */
  acks(messageId: string): Promise<StoredAck[]>;

  /**
   * The message ids this client still owes an ack in a conversation, oldest first: the v2 messages
   * from others in `dm:` and `group:` conversations (rooms are never acked) that {@link markAcked}
   * has not covered. Messages saved before v2 owe none.
   */
  unacked(conversation: ConversationId, limit: number): Promise<string[]>;
  /** Records that acks for these message ids were sent. */
  markAcked(messageIds: readonly string[]): Promise<void>;

  /** Every cached device certificate. */
  certificates(): Promise<CachedCertificate[]>;
  /** Adds certificates (by digest; a known one is replaced). */
  saveCertificates(certificates: readonly CachedCertificate[]): Promise<void>;

  /** Records a failure; the second in a row graylists the mailbox until `now + graylistMs`. Returns whether it is graylisted. */
  mailboxFailed(mailbox: string, now: number, graylistMs: number): Promise<boolean>;
  /** Records a success: failures and graylisting reset, `lastOkAt = now`. */
  mailboxSucceeded(mailbox: string, now: number): Promise<void>;
  /** Every mailbox with a recorded failure or success, by id. */
  mailboxHealth(): Promise<MailboxHealth[]>;

  /** Finishes pending writes and closes. */
  close(): Promise<void>;
}

/** What the client remembers about one payment channel. */
export interface ChannelRecord {
  channelId: Hex;
  payee: Address;
  salt: Hex;
  deposit: string;
  /** What the mailbox says it has charged (cumulative). */
  spent: string;
  /** The highest voucher signed (cumulative): never sign below it again. */
  authorized: string;
  /** The chain and the PaymentChannels contract the channel was opened on. */
  chainId: number;
  channelsContract: Address;
}

/**
 * A record set aside because it does not hold on the chain the client talks to. Never deleted: on
 * the chain it was opened on it may still hold a deposit.
 */
export interface ArchivedChannelRecord extends ChannelRecord {
  /** Why, in words. */
  reason: string;
  /** When (ms). */
  archivedAt: number;
}

/** A chain and its PaymentChannels contract. */
export interface ChannelDeployment {
  chainId: number;
  channelsContract: Address;
}

/** What identifies a live channel record: one per deployment and payee (payee case-insensitive). */
export type ChannelKey = Pick<ChannelRecord, "chainId" | "channelsContract" | "payee">;

export interface ChannelRecords {
  sessionKey?: Hex;
  /** Every deployment's live records (the caller keeps its own deployment's), by key. */
  records: ChannelRecord[];
  /** Archived records, oldest first. */
  archived: ArchivedChannelRecord[];
}

/** The payment channels' records: the session key, the live records and the archived ones. */
export interface ChannelStore {
  /**
   * Reads everything. Records kept by a version that did not name their chain (a `channels.json`,
   * or `channel:<payee>` rows) are taken as `deployment`'s, once; one that meets a record of the
   * same payee is archived. Can be called again to re-read.
   */
  load(deployment: ChannelDeployment): Promise<ChannelRecords>;
  /** Keeps `key` unless a session key is already stored; returns the stored one. */
  saveSessionKey(key: Hex): Promise<Hex>;
  /** Writes a live record (replacing the one of the same deployment and payee). */
  put(record: ChannelRecord): Promise<void>;
  remove(key: ChannelKey): Promise<void>;
  /** Keeps an archived record and, in the same commit, removes the live record of that channel. */
  archive(record: ArchivedChannelRecord): Promise<void>;
  close(): Promise<void>;
}
