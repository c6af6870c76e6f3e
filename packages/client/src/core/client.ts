import type { Message } from "@libp2p/gossipsub";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  CertificateCache,
  certificateNeedsRenewal,
  createEnvelope,
  createGroupKey,
  createIdentity,
  DEFAULT_PUBSUB_TOPIC,
  DecryptionError,
  type DeviceKey,
  type DeviceSender,
  deviceCertificateValidity,
  Envelope,
  type FeedKeys,
  fromBareHex,
  groupTopic,
  type IdentifiedEnvelope,
  type Identity,
  identify,
  inboxTopic,
  type MessageBody,
  normaliseRoomName,
  type OpenedMessage,
  openEnvelope,
  presenceFromWire,
  receiptSigningBytes,
  roomTopic,
  type ScoreWeights,
  type SealedMessage,
  StatusCode,
  type StoredDeviceKey,
  type StoreResponse,
  sealDirectV2,
  sealGroupV2,
  sealRoomV2,
  signDeviceCertificate,
  toBareHex,
  validateEnvelope,
  verifyPeerSignature,
  type WireCertificate,
} from "@postbox/protocol";
import { type Address, bytesToHex, type PublicClient } from "viem";
import { BaseError, MailboxStatusError, MailboxUnreachableError } from "../errors.js";
import type { Platform } from "../platform/types.js";
import type {
  CachedCertificate,
  ClientStorage,
  Contact,
  ConversationSummary,
  DeliveryState,
  Feed,
  MessageQuery,
  OutgoingQuery,
  OutgoingRecord,
  StoredMessage,
  StoredReceipt,
} from "../storage/types.js";
import { type DialPolicy, dialableAddresses } from "./addresses.js";
import type { ChannelManager } from "./channels.js";
import {
  DeliveryTracker,
  type MailboxFailure,
  NotStoredError,
  type OutgoingStatus,
  RESEND_WINDOW_MS,
  type ReceivedMessage,
} from "./delivery.js";
import { type MailboxCandidate, MailboxDirectory, type StaticMailbox } from "./directory.js";
import { type CatchUpProgress, type ClientEvent, Listeners } from "./events.js";
import { fetchHistory, type MailboxGap, withBackoff } from "./history.js";
import { type ClientHost, createHost } from "./host.js";
import { mailboxNodes, nodePeerId } from "./nodes.js";
import type { OpenPageJob, OpenPageResult } from "./open-page.js";
import { openContext, packPage } from "./open-page.js";
import type { WorkerPool } from "./pool.js";
import { pushEnvelope, queryStore } from "./wire/index.js";

export interface PostboxClientInit {
  /**
   * Where the client keeps its identity, contacts, messages and mailbox health: a data folder in
   * Node (`client.db`), an IndexedDB database name in a browser (default `postbox`).
   */
  location?: string | undefined;
  /** The same as `location` (its name before the SDK ran in browsers). */
  dataDir?: string | undefined;
  /** A storage opened by the caller instead (then `location` is not opened, and `stop` leaves it open). */
  storage?: ClientStorage | undefined;
  /** The chain: the registry to discover mailboxes, and channels to pay them. */
  chain?: { publicClient: PublicClient; registry: Address } | undefined;
  /** Pays paid mailboxes (required to use them). The caller closes it. */
  channels?: ChannelManager | undefined;
  /** Deposit of a channel the client opens on first use of a mailbox (default: 100 full pages). */
  channelDeposit?: bigint | undefined;
  /** Mailboxes known by address, in addition to the registry. */
  mailboxes?: StaticMailbox[] | undefined;
  proberUrl?: string | undefined;
  weights?: Partial<ScoreWeights> | undefined;
  maxPageCost?: bigint | undefined;
  /** How many mailboxes to use at once (default 1). */
  k?: number | undefined;
  /** Catch-up starts this far before the last message seen (default 30 s: covers clock skew). */
  overlapMs?: number | undefined;
  pageSize?: number | undefined;
  /**
   * Workers that open catch-up pages (default: Node one per core, at most 8; a browser one fewer
   * than its cores, 1 to 4). 0 opens them on the calling thread.
   */
  workers?: number | undefined;
  /** What the client dials (default: the platform's; a browser's depends on the page's scheme). */
  dialPolicy?: DialPolicy | undefined;
  /** A libp2p host to use (default: one the client creates, and stops). */
  host?: ClientHost | undefined;
  /** How long a mailbox stays graylisted after two failures in a row (ms; default 1 h). */
  graylistMs?: number | undefined;
  /** A sent message no mailbox stored within this long is `not-stored` (ms; default 10 s). */
  sendTimeoutMs?: number | undefined;
  /** Live messages are acknowledged this long after the first of a conversation arrives (ms; default 1 s). */
  ackDelayMs?: number | undefined;
  random?: (() => number) | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/** Where a message goes: a contact (by name or public key), `#room`, or `group:<id>`. */
export type Destination =
  | { kind: "dm"; publicKey: Uint8Array }
  | { kind: "room"; name: string }
  | { kind: "group"; id: string; key: Uint8Array };

export interface SendResult {
  /** Envelope id (hex). */
  id: string;
  /** Message id (hex): the same for every copy of the signed message. */
  messageId: string;
  conversation: string;
  timestamp: number;
  /** Mailboxes that signed a store receipt for it. */
  receipts: StoredReceipt[];
  /** Whether it was also published to live peers over gossipsub. */
  gossiped: boolean;
  /** Its delivery state when the call returned (`sending` while gossip's copy is being confirmed). */
  state: DeliveryState;
  /** A retry that sealed the message again: the message id of the copy it replaces. */
  replaces?: string;
}

export interface FeedCatchUp {
  feed: string;
  pages: number;
  envelopes: number;
  /** New messages saved. */
  added: number;
  /** Envelopes on the topic that were not for us or did not verify. */
  skipped: number;
  served: string[];
  gaps: MailboxGap[];
}

/** A per-conversation id: `dm:<public key hex>`, `room:<name>` or `group:<id>`. */
export type ConversationId = string;

/** The device key this client signs with, certified by its identity (message format v2). */
interface Device {
  identity: string;
  key: StoredDeviceKey;
  certificate: WireCertificate;
}

interface Sealed {
  envelope: IdentifiedEnvelope;
  message: StoredMessage;
}

/**
 * The client a chat app embeds: an identity with contacts, rooms and groups; sending (gossip when
 * in the mesh, and pushed to mailboxes for signed store receipts); live receiving; and catching up
 * after being offline — paid, paged, decrypted, verified, deduplicated and ordered, with progress,
 * from mailboxes chosen by score, with failover. The same code runs in Node and in a browser; what
 * differs (storage, transports, crypto, workers) comes from its {@link Platform}. It never logs: it
 * returns results, emits {@link ClientEvent}s and throws {@link BaseError}s.
 *
 * Create it with `createPostboxClient(init)` (the package's entry binds the platform).
 */
export class PostboxClient {
  readonly identity: Identity;
  readonly storage: ClientStorage;
  readonly directory: MailboxDirectory;
  readonly platform: Platform;
  readonly #init: PostboxClientInit;
  readonly #ownsStorage: boolean;
  readonly #policy: DialPolicy;
  readonly #messages = new Listeners<StoredMessage>();
  readonly #events = new Listeners<ClientEvent>();
  readonly #delivery: DeliveryTracker;
  /** Certificates known good, by cache key (workers are told, so that they do not check them again). */
  readonly #knownCertificates = new Set<string>();
  #certificatesLoaded: Promise<void> | undefined;
  /** The main thread's certificate cache (live messages). */
  readonly #certs = new CertificateCache();
  readonly #rtt = new Map<string, number>();
  #pool: WorkerPool<OpenPageJob, OpenPageResult> | undefined;
  #sender: Promise<DeviceSender> | undefined;
  #host: ClientHost | undefined;
  #ownsHost = false;
  #started = false;

  /** Opens the storage, and the identity in it (made on first use). */
  static async create(platform: Platform, init: PostboxClientInit): Promise<PostboxClient> {
    const location = init.location ?? init.dataDir ?? (platform.name === "browser" ? "postbox" : undefined);
    if (!init.storage && location === undefined)
      throw new BaseError("where is the client's data kept?", { details: "give location (a data folder)" });
    const storage = init.storage ?? (await platform.openStorage(location!));
    try {
      let key = await storage.get("identity");
      if (!key) {
        key = toBareHex(createIdentity().privateKey);
        await storage.set("identity", key);
        await storage.set("createdAt", String(Date.now()));
      }
      const identity = createIdentity(fromBareHex(key));
      await storage.follow({
        feed: "inbox",
        topic: inboxTopic(identity.publicKey),
        since: Number((await storage.get("createdAt")) ?? Date.now()),
      });
      return new PostboxClient(platform, init, storage, !init.storage, identity);
    } catch (err) {
      if (!init.storage) await storage.close().catch(() => undefined);
      throw err;
    }
  }

  private constructor(
    platform: Platform,
    init: PostboxClientInit,
    storage: ClientStorage,
    ownsStorage: boolean,
    identity: Identity,
  ) {
    this.platform = platform;
    this.#init = init;
    this.storage = storage;
    this.#ownsStorage = ownsStorage;
    this.identity = identity;
    this.#policy = init.dialPolicy ?? platform.dialPolicy();
    if (init.host) this.#host = init.host;
    this.#delivery = new DeliveryTracker({
      storage,
      self: toBareHex(identity.publicKey),
      emit: (e) => this.#events.emit(e),
      send: (conversation, body) => this.#sendControl(conversation, body),
      sendTimeoutMs: init.sendTimeoutMs,
      ackDelayMs: init.ackDelayMs,
    });
    this.directory = new MailboxDirectory({
      storage,
      dialPolicy: this.#policy,
      emit: (e) => this.#events.emit(e),
      chain: init.chain,
      proberUrl: init.proberUrl,
      mailboxes: init.mailboxes,
      weights: init.weights,
      maxPageCost: init.maxPageCost,
      graylistMs: init.graylistMs,
      random: init.random,
      fetch: init.fetch,
    });
  }

  /** What pays paid mailboxes (listen to its events to tell the user what is paid). */
  get channels(): ChannelManager | undefined {
    return this.#init.channels;
  }

  /** The public key others address us by (33 bytes, hex). */
  get publicKey(): string {
    return toBareHex(this.identity.publicKey);
  }

  /** The private key, to move the identity to another device. Keep it secret. */
  exportIdentity(): string {
    return toBareHex(this.identity.privateKey);
  }

  /** Registers a listener for what happens (mailboxes, failovers, catch-up progress); returns its remover. */
  onEvent(listener: (event: ClientEvent) => void): () => void {
    return this.#events.add(listener);
  }

  /** Registers a listener for new messages (live or caught up); returns its remover. */
  onMessage(listener: (m: StoredMessage) => void): () => void {
    return this.#messages.add(listener);
  }

  async addContact(name: string, publicKey: string): Promise<void> {
    const key = publicKey.replace(/^0x/, "").toLowerCase();
    if (!/^0[23][0-9a-f]{64}$/.test(key))
      throw new BaseError("not a public key", { details: "expected 33 bytes of compressed secp256k1, hex" });
    if (!/^[\w.-]{1,64}$/.test(name)) throw new BaseError("a contact name is 1-64 letters, digits, . - _");
    await this.storage.addContact({ name, publicKey: key });
  }

  contacts(): Promise<Contact[]> {
    return this.storage.contacts();
  }

  /** Follows a public room from now on (its history before joining is not fetched). */
  async joinRoom(name: string, since = Date.now()): Promise<string> {
    const room = normaliseRoomName(name);
    if (!room) throw new BaseError("a room needs a name");
    await this.storage.follow({ feed: `room:${room}`, topic: roomTopic(room), since });
    this.#topics = undefined;
    return `room:${room}`;
  }

  async leaveRoom(name: string): Promise<void> {
    await this.storage.unfollow(`room:${normaliseRoomName(name)}`);
    this.#topics = undefined;
  }

  /**
   * Creates a group: share its id and key with its members out of band. Like {@link joinGroup},
   * it announces this member on the group's topic.
   */
  async createGroup(): Promise<{ id: string; key: string }> {
    const id = toBareHex(createGroupKey().subarray(0, 16));
    const key = toBareHex(createGroupKey());
    await this.joinGroup(id, key);
    return { id, key };
  }

  /**
   * Follows a group from now on, and announces this member on its topic once (a `join` message:
   * members count each other by them, for "delivered to N of M"). If no mailbox takes the join
   * now, it is sent after a later catch-up or before a later message to the group; `joinAnnounced`
   * says which.
   */
  async joinGroup(id: string, key: string, since = Date.now()): Promise<string> {
    if (!/^[0-9a-f]{64}$/i.test(key)) throw new BaseError("a group key is 32 bytes, hex");
    await this.storage.follow({ feed: `group:${id}`, topic: groupTopic(id), since, key: key.toLowerCase() });
    this.#topics = undefined;
    await this.#delivery.join(`group:${id}`);
    return `group:${id}`;
  }

  /** Whether this member's join message to a group was stored by a mailbox. */
  async joinAnnounced(conversation: string): Promise<boolean> {
    return (await this.storage.get(`join:${conversation}`)) === "sent";
  }

  /** A group's other members seen so far (their join, text or ack on its topic), by public key. */
  groupMembers(conversation: string): Promise<string[]> {
    return this.#delivery.members(conversation);
  }

  feeds(): Promise<Feed[]> {
    return this.storage.feeds();
  }

  /** Followed feeds by topic, for the live path (re-read when what we follow changes). */
  #topics: Promise<Map<string, Feed[]>> | undefined;
  #feedsByTopic(): Promise<Map<string, Feed[]>> {
    this.#topics ??= this.storage.feeds().then((feeds) => {
      const map = new Map<string, Feed[]>();
      for (const f of feeds) map.set(f.topic, [...(map.get(f.topic) ?? []), f]);
      return map;
    });
    return this.#topics;
  }

  /** Parses `name`, a public key, `#room` or `group:<id>` into a destination. */
  async resolve(to: string): Promise<Destination> {
    if (to.startsWith("#")) return { kind: "room", name: normaliseRoomName(to) };
    if (to.startsWith("room:")) return { kind: "room", name: normaliseRoomName(to.slice(5)) };
    if (to.startsWith("group:")) {
      const feed = (await this.storage.feeds()).find((f) => f.feed === to);
      if (!feed?.key) throw new BaseError("unknown group", { details: `join it first: ${to}` });
      return { kind: "group", id: to.slice(6), key: fromBareHex(feed.key) };
    }
    const raw = to.startsWith("dm:") ? to.slice(3) : to;
    const contact = (await this.storage.contacts()).find((c) => c.name === raw);
    const key = (contact?.publicKey ?? raw).replace(/^0x/, "").toLowerCase();
    if (!/^0[23][0-9a-f]{64}$/.test(key))
      throw new BaseError("unknown contact", { details: `add it first: postbox contact add ${raw} PUBKEY` });
    return { kind: "dm", publicKey: fromBareHex(key) };
  }

  /** A conversation id for `to` (a contact, public key, #room or group:id). */
  async conversationOf(to: string): Promise<ConversationId> {
    return conversationOf(await this.resolve(to));
  }

  /**
   * The device key messages are signed with, certified by the identity: made and certified on first
   * use, kept in storage, and certified again when less than 30 days of its certificate remain.
   */
  #device(now: bigint): Promise<DeviceSender> {
    const current = this.#sender;
    this.#sender = (async () => {
      const known = await current?.catch(() => undefined);
      if (known && !certificateNeedsRenewal(known.certificate, now)) return known;
      const stored = await this.storage.getObject<Device>("device");
      let key: DeviceKey | undefined;
      let certificate: WireCertificate | undefined;
      if (stored?.identity === this.publicKey) {
        key = await this.platform.crypto.ed25519.load(stored.key);
        certificate = stored.certificate;
      }
      key ??= await this.platform.crypto.ed25519.generate();
      if (!certificate || certificateNeedsRenewal(certificate, now)) {
        certificate = signDeviceCertificate(this.identity, key.publicKey, deviceCertificateValidity(now));
        await this.storage.setObject("device", {
          identity: this.publicKey,
          key: key.stored,
          certificate,
        } satisfies Device);
      }
      return { identity: this.identity, device: key, certificate };
    })();
    return this.#sender;
  }

  /**
   * The device key this client signs with (hex) and its certificate's validity (ms): made and
   * certified on first use, certified again when less than 30 days remain.
   */
  async device(now = Date.now()): Promise<{ publicKey: string; notBefore: number; notAfter: number }> {
    const { device, certificate } = await this.#device(BigInt(now));
    return {
      publicKey: toBareHex(device.publicKey),
      notBefore: Number(certificate.notBefore),
      notAfter: Number(certificate.notAfter),
    };
  }

  /** Seals a body for `dest`: a v2 message signed by the device key, in a fresh envelope. */
  async #sealBody(
    dest: Destination,
    body: MessageBody,
  ): Promise<{ envelope: IdentifiedEnvelope; messageId: string; timestamp: number }> {
    const now = Date.now();
    const timestamp = BigInt(now);
    const sender = await this.#device(timestamp);
    const sealed: SealedMessage =
      dest.kind === "dm"
        ? await sealDirectV2(sender, dest.publicKey, body, timestamp)
        : dest.kind === "room"
          ? await sealRoomV2(sender, dest.name, body, timestamp)
          : await sealGroupV2(sender, dest.id, dest.key, body, timestamp);
    const envelope = identify(
      createEnvelope({ contentTopic: sealed.contentTopic, payload: sealed.payload, timestamp }),
    );
    return { envelope, messageId: toBareHex(sealed.messageId), timestamp: now };
  }

  /** Seals a text for `dest`, and the message as it is kept. */
  async #seal(dest: Destination, text: string): Promise<Sealed> {
    const { envelope, messageId, timestamp } = await this.#sealBody(dest, { type: "text", text });
    return {
      envelope,
      message: {
        id: toBareHex(envelope.id),
        messageId,
        version: 2,
        conversation: conversationOf(dest),
        timestamp,
        sender: this.publicKey,
        text,
        outgoing: true,
      },
    };
  }

  /** True when live peers hear what we publish (the client was started and a mailbox is connected). */
  get inMesh(): boolean {
    return (
      this.#started && (this.#host?.services.pubsub.getSubscribers(DEFAULT_PUBSUB_TOPIC).length ?? 0) > 0
    );
  }

  /** Publishes an envelope over gossipsub when in the mesh; whether it went out. */
  async #gossip(envelope: IdentifiedEnvelope): Promise<boolean> {
    if (!this.inMesh) return false;
    return this.#host!.services.pubsub.publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(envelope)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Sends a message. Its delivery state starts `sending` ({@link outgoing}, `message-state`
   * events). In the mesh ({@link start}) it is published over gossipsub and pushed to a mailbox in
   * the background for a receipt (or at once with `receipt`); otherwise it is pushed to `k`
   * mailboxes, whose signed store receipts are checked and kept: `stored`. When no mailbox stores
   * it, it is kept as `not-stored` and a {@link NotStoredError} says why, mailbox by mailbox;
   * {@link retry} sends it again.
   */
  async send(
    to: string | Destination,
    text: string,
    options: { receipt?: boolean } = {},
  ): Promise<SendResult> {
    const dest = typeof to === "string" ? await this.resolve(to) : to;
    if (dest.kind === "group") await this.#delivery.join(conversationOf(dest));
    const { envelope, message } = await this.#seal(dest, text);
    await this.storage.saveMessages([message]);
    await this.#delivery.sealed(outgoingRecord(message), {
      copy: { envelope: Envelope.encode(envelope), text },
    });
    const gossiped = await this.#gossip(envelope);
    const result = {
      id: message.id,
      messageId: message.messageId,
      conversation: message.conversation,
      timestamp: message.timestamp,
      gossiped,
    };
    if (gossiped && !options.receipt) {
      // Gossip gives no receipt: a push of the same envelope does (a mailbox keeps it once).
      void this.#pushOrThrow(envelope, message).catch(() => undefined);
      return { ...result, receipts: [], state: "sending" };
    }
    const receipts = await this.#pushOrThrow(envelope, message);
    return { ...result, receipts, state: "stored" };
  }

  /**
   * Sends again a message no mailbox stored (`not-stored`, or `sending` from a client that
   * stopped): first a free presence query asks whether a mailbox holds it after all (a gossiped
   * copy, a receipt lost on the way); if not, the same envelope is pushed while its timestamp is
   * within {@link RESEND_WINDOW_MS} of now, else the text is sealed again under a new id (the
   * record and the kept message are replaced: `replaces` names the old id). A stored or delivered
   * message is left as it is. Throws {@link NotStoredError} when no mailbox takes it this time.
   */
  async retry(messageId: string): Promise<SendResult> {
    const record = await this.#delivery.record(messageId);
    if (!record) throw new BaseError("no such sent message", { details: messageId });
    const resultOf = (r: OutgoingRecord, receipts: StoredReceipt[]): SendResult => ({
      id: r.envelopeId,
      messageId: r.messageId,
      conversation: r.conversation,
      timestamp: r.timestamp,
      receipts,
      gossiped: false,
      state: r.state,
    });
    if (record.state === "stored" || record.state === "delivered")
      return resultOf(record, await this.storage.receipts(record.envelopeId));
    const copy = await this.#delivery.pendingCopy(messageId);
    const held = await this.#heldBy(record, copy);
    if (held) {
      await this.#delivery.confirmed(messageId, held);
      return resultOf((await this.#delivery.record(messageId)) ?? record, []);
    }
    if (copy?.envelope && Math.abs(Date.now() - record.timestamp) <= RESEND_WINDOW_MS) {
      await this.#delivery.attempt(messageId);
      const receipts = await this.#pushOrThrow(identify(Envelope.decode(copy.envelope)), record);
      return resultOf({ ...record, state: "stored" }, receipts);
    }
    const text =
      copy?.text ??
      (await this.storage.messages(record.conversation)).find((m) => m.messageId === messageId)?.text;
    if (text === undefined)
      throw new BaseError("the text of this message is no longer kept", { details: messageId });
    const dest = await this.resolve(record.conversation);
    const { envelope, message } = await this.#seal(dest, text);
    await this.storage.saveMessages([message]);
    await this.#delivery.sealed(
      { ...outgoingRecord(message), attempts: record.attempts + 1 },
      { copy: { envelope: Envelope.encode(envelope), text }, replaces: messageId },
    );
    await this.storage.deleteMessage(record.envelopeId);
    const receipts = await this.#pushOrThrow(envelope, message);
    return { ...resultOf(outgoingRecord(message), receipts), state: "stored", replaces: messageId };
  }

  /** The first of the chosen mailboxes that holds a sent message (a free presence query), if any. */
  async #heldBy(record: OutgoingRecord, copy: { envelope?: Uint8Array | undefined } | undefined) {
    try {
      const topic = copy?.envelope
        ? Envelope.decode(copy.envelope).contentTopic
        : topicOf(await this.resolve(record.conversation));
      const host = await this.#ensureHost();
      const k = this.#init.k ?? 1;
      for (const c of (await this.directory.choose(k)).slice(0, Math.max(k, 2))) {
        const res = await queryStore(host, this.#addresses(c), {
          contentTopics: [topic],
          includeData: false,
          ids: [fromBareHex(record.envelopeId)],
        }).catch(() => undefined);
        if (res?.status === StatusCode.OK && res.ids.some((id) => toBareHex(id) === record.envelopeId)) {
          if (copy?.envelope) await this.#keepPresence(c, res, [identify(Envelope.decode(copy.envelope))]);
          return c.id;
        }
      }
    } catch {
      // No mailbox to ask: the message is sent again.
    }
    return undefined;
  }

  /** Seals an ack or a join and gets it stored (gossiped when in the mesh, and pushed). */
  async #sendControl(conversation: string, body: MessageBody): Promise<void> {
    const dest = await this.resolve(conversation);
    if (dest.kind === "room") throw new BaseError("rooms are never acknowledged or joined");
    const { envelope } = await this.#sealBody(dest, body);
    const gossiped = await this.#gossip(envelope);
    const failures: MailboxFailure[] = [];
    const what = body.type === "ack" ? "the acknowledgement" : "the join";
    let receipts: StoredReceipt[] = [];
    try {
      receipts = await this.#push(envelope, conversation, failures);
    } catch (err) {
      if (!gossiped) throw new NotStoredError("", failures, what, errorText(err));
    }
    if (receipts.length === 0 && !gossiped) throw new NotStoredError("", failures, what);
  }

  /**
   * Sends many messages in batches of 500: each batch is sealed and published over gossipsub,
   * then confirmed with free presence queries to a mailbox; whatever it does not hold is pushed,
   * with its receipt (sealed afresh, a timestamp within the mailboxes' ±20 s window, when no
   * mailbox takes the first copy any more). Nothing is lost if gossip drops some. Each message's
   * delivery state follows (`stored` by the mailbox that confirmed or receipted it).
   */
  async sendMany(
    to: string | Destination,
    texts: readonly string[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ sent: number; confirmed: number; pushed: number }> {
    const dest = typeof to === "string" ? await this.resolve(to) : to;
    if (!this.#started) await this.start();
    if (dest.kind === "group") await this.#delivery.join(conversationOf(dest));
    const host = this.#host!;
    for (let i = 0; i < 100 && !this.inMesh; i++) await new Promise((r) => setTimeout(r, 50));
    let confirmed = 0;
    let pushed = 0;
    for (let b = 0; b < texts.length; b += 500) {
      const batch = texts.slice(b, b + 500);
      const sealed: Sealed[] = [];
      for (const t of batch) sealed.push(await this.#seal(dest, t));
      await this.storage.saveMessages(sealed.map((s) => s.message));
      for (const s of sealed) await this.#delivery.sealed(outgoingRecord(s.message), { timer: false });
      if (this.inMesh) {
        for (const s of sealed)
          await host.services.pubsub
            .publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(s.envelope))
            .catch(() => undefined);
        // Let the mailbox commit what it heard, then confirm.
        await new Promise((r) => setTimeout(r, 200));
      }
      const [mailbox] = await this.directory.choose(1);
      const missing: number[] = [];
      for (let i = 0; i < sealed.length; i += 100) {
        const chunk = sealed.slice(i, i + 100);
        const held = new Set<string>();
        try {
          const res = await withBackoff(async () => {
            const r = await queryStore(host, this.#addresses(mailbox!), {
              contentTopics: [chunk[0]!.envelope.contentTopic],
              includeData: false,
              ids: chunk.map((s) => s.envelope.id),
            });
            if (r.status !== StatusCode.OK)
              throw new MailboxStatusError(r.status, r.statusDesc, StatusCode[r.status] ?? String(r.status));
            return r;
          });
          for (const id of res.ids) held.add(toBareHex(id));
          await this.#keepPresence(
            mailbox!,
            res,
            chunk.map((s) => s.envelope),
          );
        } catch {
          // Unconfirmed: pushed below.
        }
        for (const [j, s] of chunk.entries()) {
          if (held.has(s.message.id)) {
            confirmed++;
            await this.#delivery.confirmed(s.message.messageId, mailbox!.id);
          } else missing.push(i + j);
        }
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < missing.length) {
            const at = missing[next++]!;
            const old = sealed[at]!;
            // Unconfirmed may only mean late: gossip can commit the first copy after the presence
            // query. Push that same envelope (same id: a mailbox keeps it once). Only if no mailbox
            // takes it (its timestamp has left their ±20 s window, where gossip cannot bring it
            // either) is it sealed again with a fresh timestamp.
            try {
              await this.#pushOrThrow(old.envelope, old.message);
            } catch {
              const s = await this.#seal(dest, batch[at]!);
              await this.storage.saveMessages([s.message]);
              await this.#delivery.sealed(outgoingRecord(s.message), {
                replaces: old.message.messageId,
                timer: false,
              });
              await this.storage.deleteMessage(old.message.id);
              await this.#pushOrThrow(s.envelope, s.message);
            }
            pushed++;
          }
        }),
      );
      onProgress?.(Math.min(texts.length, b + 500), texts.length);
    }
    return { sent: texts.length, confirmed, pushed };
  }

  /**
   * Keeps a presence answer's EIP-712 evidence (a mailbox with a chain whose operator is known) as
   * a receipt for each of `envelopes` it lists: what confirms a gossiped message is evidence as a
   * push receipt is (an omission proof takes it; a push receipt it never replaces).
   */
  async #keepPresence(c: MailboxCandidate, res: StoreResponse, envelopes: readonly IdentifiedEnvelope[]) {
    const presence = c.operator ? presenceFromWire(c.operator, res) : undefined;
    if (!presence || !res.evidence) return;
    const ids = presence.ids.map((id) => id.slice(2));
    const signature = bytesToHex(res.evidence);
    for (const envelope of envelopes) {
      const envelopeId = toBareHex(envelope.id);
      if (!ids.includes(envelopeId)) continue;
      await this.storage.saveReceipt({
        envelopeId,
        mailbox: c.id,
        storedAt: Number(presence.servedAt),
        retainUntil: Number(presence.retainUntil),
        evidence: {
          operator: presence.operator.toLowerCase() as Address,
          contentTopic: envelope.contentTopic,
          timestamp: Number(envelope.timestamp),
          signature,
          envelope: Envelope.encode(envelope),
          presence: { ids },
        },
      });
    }
  }

  /**
   * A mailbox's addresses this client dials, in order: of one of its nodes when its entry lists
   * several (round robin, a node that failed lately last; see `MailboxNodes`).
   */
  #addresses(c: MailboxCandidate): Multiaddr[] {
    return mailboxNodes.pick(c.id, dialableAddresses(c, this.#policy));
  }

  /**
   * Pushes a sent message's envelope to k mailboxes: each verified receipt makes it `stored`; if
   * none stores it, it is `not-stored` and a {@link NotStoredError} says why, mailbox by mailbox.
   */
  async #pushOrThrow(
    envelope: IdentifiedEnvelope,
    message: { messageId: string; conversation: string },
  ): Promise<StoredReceipt[]> {
    const failures: MailboxFailure[] = [];
    let receipts: StoredReceipt[];
    try {
      receipts = await this.#push(envelope, message.conversation, failures, (r) =>
        this.#delivery.receipt(message.messageId, r),
      );
    } catch (err) {
      // No mailbox to push to at all.
      await this.#delivery.failed(message.messageId, errorText(err));
      throw new NotStoredError(message.messageId, failures, "the message", errorText(err));
    }
    if (receipts.length === 0) {
      await this.#delivery.failed(message.messageId, failures);
      throw new NotStoredError(message.messageId, failures);
    }
    return receipts;
  }

  async #push(
    envelope: IdentifiedEnvelope,
    conversation: string,
    failures: MailboxFailure[],
    onReceipt?: (r: StoredReceipt) => Promise<void>,
  ): Promise<StoredReceipt[]> {
    const id = toBareHex(envelope.id);
    const k = this.#init.k ?? 1;
    const host = await this.#ensureHost();
    const queue = await this.directory.choose(k);
    const receipts: StoredReceipt[] = [];
    const slot = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          const to = this.#addresses(c);
          const r = await withBackoff(() => pushEnvelope(host, to, envelope, { timeoutMs: 10_000 }));
          // Signed by the node pushed to: one the entry lists (the connection proved its key).
          const peerKey = peerIdFromString(nodePeerId(to) ?? c.peerId).publicKey;
          if (!peerKey || toBareHex(r.envelopeId) !== id)
            throw new BaseError("the mailbox's store receipt is not for this message", { details: c.id });
          await verifyPeerSignature(peerKey, receiptSigningBytes(r), r.signature);
          const receipt: StoredReceipt = {
            envelopeId: id,
            mailbox: c.id,
            storedAt: Number(r.storedAt),
            retainUntil: Number(r.retainUntil),
          };
          // Its EIP-712 evidence, kept for a dispute (checked when one is filed: docs/users.md).
          if (r.evidence && c.operator)
            receipt.evidence = {
              operator: c.operator.toLowerCase() as Address,
              contentTopic: envelope.contentTopic,
              timestamp: Number(envelope.timestamp),
              signature: bytesToHex(r.evidence),
              envelope: Envelope.encode(envelope),
            };
          await this.storage.saveReceipt(receipt);
          receipts.push(receipt);
          await onReceipt?.(receipt);
          await this.directory.succeeded(c.id);
          this.#connected(c.id);
          return;
        } catch (err) {
          const reason = errorText(err);
          failures.push({ mailbox: c.id, name: c.name, reason: shortReason(err) });
          // A refusal of this envelope (bad request) is not the mailbox's failure.
          if (!(err instanceof MailboxStatusError && err.status === StatusCode.BAD_REQUEST))
            await this.#failed(c.id, err);
          this.#events.emit({ type: "failover", feed: conversation, from: c.id, to: queue[0]?.id, reason });
        }
      }
    };
    await Promise.all(Array.from({ length: k }, slot));
    return receipts;
  }

  /** The receipts mailboxes signed for a sent message. */
  receipts(envelopeId: string): Promise<StoredReceipt[]> {
    return this.storage.receipts(envelopeId);
  }

  /**
   * The messages this client sent (in a conversation, or matching a query), oldest first, each
   * with its delivery state: `sending`, `stored` (`storedBy`: the mailboxes), `delivered`
   * (`deliveredTo`: the identities that acknowledged it; in a group `members` is M of "N of M"),
   * or `not-stored` (`error` says why; {@link retry} sends it again). `message-state` events
   * report each change.
   */
  outgoing(query: ConversationId | OutgoingQuery = {}): Promise<OutgoingStatus[]> {
    return this.#delivery.outgoing(typeof query === "string" ? { conversation: query } : query);
  }

  /**
   * Catches up every followed feed (or one): from (last seen − overlap), paged and paid, from the
   * chosen mailboxes with failover; decrypts, verifies, drops duplicates and saves in order.
   */
  async catchUp(
    options: { feed?: string; onProgress?: (p: CatchUpProgress) => void; signal?: AbortSignal } = {},
  ): Promise<FeedCatchUp[]> {
    this.#openerPool(); // the workers load while the host starts and the mailboxes are chosen
    const certificates = this.#loadCertificates();
    const host = await this.#ensureHost();
    await certificates;
    const k = this.#init.k ?? 1;
    const candidates = await this.directory.choose(k);
    const out: FeedCatchUp[] = [];
    for (const feed of await this.storage.feeds()) {
      if (options.feed && feed.feed !== options.feed) continue;
      const from =
        feed.lastTimestamp === null ? feed.since : feed.lastTimestamp - (this.#init.overlapMs ?? 30_000);
      const keys = feedKeys(feed);
      let added = 0;
      let skipped = 0;
      let saved: Promise<void> = Promise.resolve();
      const waiting: Promise<void>[] = [];
      const health: Promise<unknown>[] = [];
      const served = new Set<string>();
      const result = await fetchHistory({
        host,
        addresses: (c) => dialableAddresses(c, this.#policy),
        candidates,
        k,
        topics: [feed.topic],
        from,
        pageSize: this.#init.pageSize ?? 100,
        channels: this.#init.channels,
        deposit: this.#init.channelDeposit,
        feed: feed.feed,
        signal: options.signal,
        onCommitment: (c, commitment, signature) =>
          this.storage.saveCommitment({
            mailbox: c.id,
            operator: commitment.operator.toLowerCase() as Address,
            contentTopics: [...commitment.contentTopics],
            timeStart: commitment.timeStart,
            timeEnd: commitment.timeEnd,
            ids: commitment.ids.map((id) => id.slice(2)),
            nextCursor: commitment.nextCursor,
            servedAt: Number(commitment.servedAt),
            signature: bytesToHex(signature),
          }),
        // A presence answer's promise, kept as a receipt with the envelope another mailbox returned.
        onPresence: (c, res, envelope) => this.#keepPresence(c, res, [envelope]),
        onFailure: (c, err) => health.push(this.#failed(c.id, err)),
        onSuccess: (c) => health.push(this.directory.succeeded(c.id)),
        onFailover: (from, to, reason) =>
          this.#events.emit({ type: "failover", feed: feed.feed, from: from.id, to: to?.id, reason }),
        // Pages are opened (decrypted, verified) on the workers while the next ones are fetched,
        // and saved strictly in arrival order; at most 4 pages wait, then fetching waits too.
        onPage: (envelopes, progress) => {
          if (!served.has(progress.mailbox)) {
            served.add(progress.mailbox);
            this.#connected(progress.mailbox);
          }
          const opening = this.#openEnvelopes(keys, envelopes);
          opening.catch(() => undefined); // awaited in order below
          saved = saved.then(async () => {
            const results = await opening;
            const opened: StoredMessage[] = [];
            const received: ReceivedMessage[] = [];
            results.forEach((m, i) => {
              if (!m) skipped++;
              else {
                // Acks and joins are not kept as messages: the delivery tracker reads them.
                if (m.type === "text") opened.push(this.#stored(feed, envelopes[i]!, m));
                received.push(this.#receivedOf(feed, m));
              }
            });
            const last = envelopes.at(-1);
            // With k = 1 pages arrive in order: the mark moves with them (crash-safe progress).
            const fresh = await this.storage.saveMessages(
              opened,
              k === 1 && last
                ? { feed: feed.feed, timestamp: Number(last.timestamp), id: toBareHex(last.id) }
                : undefined,
            );
            added += fresh.length;
            // Only once saved: acks applied, members learnt, acks owed (sent at the end).
            await this.#delivery.received(received);
            for (const m of fresh) this.#messages.emit(m);
            this.#events.emit({ type: "catch-up", progress });
            options.onProgress?.(progress);
          });
          waiting.push(saved);
          // (A failure surfaces below, not as a failing mailbox.)
          return waiting.length > 4 ? waiting.shift()?.catch(() => undefined) : undefined;
        },
      }).finally(() => saved.catch(() => undefined));
      await saved;
      const last = result.envelopes.at(-1);
      if (last)
        await this.storage.saveMessages([], {
          feed: feed.feed,
          timestamp: Number(last.timestamp),
          id: toBareHex(last.id),
        });
      for (const g of result.gaps)
        if (g.missing.length + g.omitted.length > 0)
          health.push(
            this.directory.failed(g.mailbox, `left out ${g.missing.length + g.omitted.length} message(s)`),
          );
      await Promise.all(health);
      out.push({
        feed: feed.feed,
        pages: result.pages,
        envelopes: result.envelopes.length,
        added,
        skipped,
        served: result.served,
        gaps: result.gaps,
      });
    }
    // One ack per conversation for what was saved (100 message ids each), and joins still owed.
    await this.#delivery.flush();
    await this.#delivery.sendJoins();
    return out;
  }

  /** The page-opening workers, started once. */
  #openerPool(): WorkerPool<OpenPageJob, OpenPageResult> {
    this.#pool ??= this.platform.openerPool(this.#init.workers);
    return this.#pool;
  }

  /** The certificates storage remembers as checked (once per client). */
  #loadCertificates(): Promise<void> {
    this.#certificatesLoaded ??= this.storage.certificates().then((stored) => {
      const keys = stored.flatMap((c) => {
        const key = (c as CachedCertificate & { key?: unknown }).key;
        return typeof key === "string" ? [key] : [];
      });
      for (const key of keys) this.#knownCertificates.add(key);
      this.#certs.seed(keys);
    });
    return this.#certificatesLoaded;
  }

  /**
   * Opens a page of a feed's envelopes on the workers: split into one part per worker, each part's
   * payloads moved in one buffer. Certificates checked for the first time are remembered.
   */
  async #openEnvelopes(feed: FeedKeys, envelopes: IdentifiedEnvelope[]): Promise<(OpenedMessage | null)[]> {
    if (envelopes.length === 0) return [];
    const pool = this.#openerPool();
    const parts = Math.max(1, Math.min(pool.size, Math.ceil(envelopes.length / 8)));
    const per = Math.ceil(envelopes.length / parts);
    const knownCertificates = [...this.#knownCertificates];
    const results = await Promise.all(
      Array.from({ length: parts }, (_, i) => {
        const { job, transfer } = packPage(feed, envelopes.slice(i * per, (i + 1) * per), {
          identityKey: feed.kind === "inbox" ? this.identity.privateKey : undefined,
          knownCertificates,
        });
        return pool.run(job, transfer);
      }),
    );
    const fresh = results.flatMap((r) => r.newCertificates);
    if (fresh.length > 0) {
      for (const c of fresh) this.#knownCertificates.add(c.key);
      await this.storage.saveCertificates(fresh);
    }
    return results.flatMap((r) => r.opened);
  }

  #stored(feed: Feed, e: { timestamp: bigint; id: Uint8Array }, m: OpenedMessage): StoredMessage {
    const sender = toBareHex(m.sender);
    return {
      id: toBareHex(e.id),
      messageId: toBareHex(m.messageId),
      version: m.version,
      conversation: feed.feed === "inbox" ? `dm:${sender}` : feed.feed,
      timestamp: Number(e.timestamp),
      sender,
      text: m.text,
      outgoing: sender === this.publicKey,
    };
  }

  /** What the delivery tracker is told of an opened message. */
  #receivedOf(feed: Feed, m: OpenedMessage): ReceivedMessage {
    const sender = toBareHex(m.sender);
    return {
      conversation: feed.feed === "inbox" ? `dm:${sender}` : feed.feed,
      sender,
      type: m.type,
      acks: m.acks.map((a) => toBareHex(a)),
      timestamp: Number(m.timestamp),
    };
  }

  /** Decrypts and verifies a live envelope of a feed (on this thread); undefined when it is not ours. */
  async #open(feed: Feed, e: IdentifiedEnvelope): Promise<OpenedMessage | undefined> {
    try {
      return await openEnvelope(
        feedKeys(feed),
        e,
        openContext(this.platform.crypto, this.#certs, this.identity),
      );
    } catch (err) {
      if (err instanceof DecryptionError) return undefined;
      throw err;
    }
  }

  /** A conversation's messages in (timestamp, id) order: all, the last `limit`, or a page of them. */
  messages(conversation: ConversationId, query?: number | MessageQuery): Promise<StoredMessage[]> {
    return this.storage.messages(conversation, typeof query === "number" ? { limit: query } : query);
  }

  conversations(): Promise<ConversationSummary[]> {
    return this.storage.conversations();
  }

  /** Every known mailbox with its state, price, score and chance of being picked. */
  mailboxes(): Promise<MailboxCandidate[]> {
    return this.directory.list(this.#init.k ?? 1);
  }

  /**
   * Measures a mailbox's round-trip time (libp2p ping; it is dialled if need be) and reports it as
   * a `mailbox` event: `connected` with `rttMs`, or `unreachable` ({@link MailboxUnreachableError}).
   */
  async ping(mailbox: string | MailboxCandidate, options: { signal?: AbortSignal } = {}): Promise<number> {
    const c =
      typeof mailbox === "string"
        ? (await this.mailboxes()).find((m) => m.id === mailbox.toLowerCase())
        : mailbox;
    if (!c) throw new BaseError("no such mailbox", { details: String(mailbox) });
    const addresses = this.#addresses(c);
    if (addresses.length === 0) {
      this.#events.emit({
        type: "mailbox",
        mailbox: c.id,
        state: "unreachable",
        error: c.unreachableReason!,
      });
      throw new MailboxUnreachableError(c.unreachableReason ?? "no dialable address");
    }
    const host = await this.#ensureHost();
    try {
      const rttMs = await host.services.ping.ping(addresses, {
        signal: options.signal ?? AbortSignal.timeout(10_000),
      });
      this.#rtt.set(c.id, rttMs);
      this.#events.emit({ type: "mailbox", mailbox: c.id, state: "connected", rttMs });
      return rttMs;
    } catch (err) {
      this.#events.emit({ type: "mailbox", mailbox: c.id, state: "unreachable", error: errorText(err) });
      throw new MailboxUnreachableError(`ping: ${errorText(err)}`, err);
    }
  }

  /**
   * Counts a mailbox's failure (graylisting it after two in a row), and says it could not be reached
   * when that was the failure.
   */
  #failed(mailbox: string, err: unknown): Promise<boolean> {
    if (err instanceof MailboxUnreachableError)
      this.#events.emit({ type: "mailbox", mailbox, state: "unreachable", error: errorText(err) });
    return this.directory.failed(mailbox, errorText(err));
  }

  /** Says a mailbox served us (with its last measured round trip, if any). */
  #connected(mailbox: string): void {
    const rttMs = this.#rtt.get(mailbox);
    this.#events.emit({
      type: "mailbox",
      mailbox,
      state: "connected",
      ...(rttMs === undefined ? {} : { rttMs }),
    });
  }

  /**
   * Goes online: connects to the chosen mailboxes (each measured with a ping: a `mailbox` event)
   * and receives live messages over gossipsub for every followed feed.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const host = await this.#ensureHost();
    const pubsub = host.services.pubsub;
    pubsub.subscribe(DEFAULT_PUBSUB_TOPIC);
    pubsub.addEventListener("message", (evt: CustomEvent<Message>) => {
      if (evt.detail.topic !== DEFAULT_PUBSUB_TOPIC) return;
      let e: IdentifiedEnvelope;
      try {
        const decoded = Envelope.decode(evt.detail.data);
        validateEnvelope(decoded);
        e = identify(decoded);
      } catch {
        return;
      }
      void this.#receive(e).catch(() => undefined);
    });
    const k = this.#init.k ?? 1;
    const candidates = (await this.directory.choose(k)).slice(0, k);
    const pinged = await Promise.allSettled(candidates.map((c) => this.ping(c)));
    // Online once a mailbox's gossip stream is up (its subscription has arrived, so has ours):
    // from then on what it relays reaches us. At most 5 s.
    if (pinged.some((d) => d.status === "fulfilled"))
      for (let i = 0; i < 100 && !this.inMesh; i++) await new Promise((r) => setTimeout(r, 50));
  }

  /** A live envelope: opened for each feed of its topic, saved, and announced if new. */
  async #receive(e: IdentifiedEnvelope): Promise<void> {
    for (const feed of (await this.#feedsByTopic()).get(e.contentTopic) ?? []) {
      const m = await this.#open(feed, e);
      if (!m) continue;
      const saved = m.type === "text" ? await this.storage.saveMessages([this.#stored(feed, e, m)]) : [];
      await this.#delivery.received([this.#receivedOf(feed, m)], { live: true });
      for (const s of saved) this.#messages.emit(s);
    }
  }

  async #ensureHost(): Promise<ClientHost> {
    if (!this.#host) {
      this.#host = await createHost(this.platform, { dialPolicy: this.#policy });
      this.#ownsHost = true;
    }
    return this.#host;
  }

  /** The libp2p host (created on first use). */
  get host(): ClientHost | undefined {
    return this.#host;
  }

  /** Goes offline: stops the workers and the host, and closes the storage (unless they were handed in). */
  async stop(): Promise<void> {
    await this.#delivery.close(); // sends the acks still waiting for their live delay
    await this.#pool?.close();
    this.#pool = undefined;
    if (this.#host && this.#ownsHost) await this.#host.stop();
    if (this.#ownsHost) this.#host = undefined;
    this.#started = false;
    if (this.#ownsStorage) await this.storage.close();
  }
}

/** The conversation a destination's messages belong to. */
function conversationOf(d: Destination): ConversationId {
  return d.kind === "dm"
    ? `dm:${toBareHex(d.publicKey)}`
    : d.kind === "room"
      ? `room:${d.name}`
      : `group:${d.id}`;
}

/** A new message's outgoing record: `sending`, first attempt. */
function outgoingRecord(m: StoredMessage): OutgoingRecord {
  return {
    messageId: m.messageId,
    envelopeId: m.id,
    conversation: m.conversation,
    timestamp: m.timestamp,
    state: "sending",
    storedBy: [],
    deliveredTo: [],
    attempts: 1,
  };
}

/** The content topic a destination's messages go on. */
function topicOf(d: Destination): string {
  return d.kind === "dm" ? inboxTopic(d.publicKey) : d.kind === "room" ? roomTopic(d.name) : groupTopic(d.id);
}

/** Why a mailbox did not store a message, in a word where there is one: `unreachable`, `RATE_LIMITED`. */
function shortReason(err: unknown): string {
  if (err instanceof MailboxUnreachableError) return "unreachable";
  if (err instanceof MailboxStatusError) return StatusCode[err.status] ?? String(err.status);
  return errorText(err);
}

/** What a feed's envelopes are opened with. */
function feedKeys(feed: Feed): FeedKeys {
  if (feed.feed === "inbox") return { kind: "inbox" };
  if (feed.feed.startsWith("room:")) return { kind: "room", room: feed.feed.slice(5) };
  return { kind: "group", groupId: feed.feed.slice(6), groupKey: fromBareHex(feed.key ?? "") };
}

/** An error in one line: a BaseError's short message (and details), or the message. */
function errorText(err: unknown): string {
  const e = err as BaseError;
  if (e?.shortMessage) return e.details ? `${e.shortMessage} (${e.details})` : e.shortMessage;
  return (err as Error)?.message ?? String(err);
}

export type { CatchUpProgress, ClientEvent } from "./events.js";
export type { MailboxGap } from "./history.js";
