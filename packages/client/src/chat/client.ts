import type { Message } from "@libp2p/gossipsub";
import { peerIdFromString } from "@libp2p/peer-id";
import {
  createEnvelope,
  createGroupKey,
  createIdentity,
  DEFAULT_PUBSUB_TOPIC,
  DecryptionError,
  decryptDirect,
  decryptGroup,
  decryptRoom,
  Envelope,
  encryptDirect,
  encryptGroup,
  encryptRoom,
  fromHex,
  groupTopic,
  type IdentifiedEnvelope,
  type Identity,
  identify,
  inboxTopic,
  normaliseRoomName,
  type OpenedMessage,
  receiptSigningBytes,
  roomTopic,
  type ScoreWeights,
  type SignatureVerifier,
  StatusCode,
  toHex,
  validateEnvelope,
  verifyPeerSignature,
} from "@postbox/protocol";
import type { Address, PublicClient } from "viem";
import type { ChannelManager } from "../channels.js";
import { BaseError, MailboxStatusError } from "../errors.js";
import { type ClientHost, createClientHost } from "../host.js";
import { pushEnvelope, queryStore } from "../wire/index.js";
import { type MailboxCandidate, MailboxDirectory, type StaticMailbox } from "./directory.js";
import { type CatchUpProgress, dialable, fetchHistory, type MailboxGap, withBackoff } from "./history.js";
import { type Feed, LocalStore, type StoredMessage, type StoredReceipt } from "./local-store.js";
import { PageOpener } from "./opener.js";
import { createNativeVerifier } from "./verify.js";

export interface PostboxClientInit {
  /** The client's folder: identity, contacts, messages, channels. */
  dataDir: string;
  /** The chain: the registry to discover mailboxes, and channels to pay them. */
  chain?: { publicClient: PublicClient; registry: Address } | undefined;
  /** Pays paid mailboxes (required to use them). */
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
   * Signature check for received messages. Default: libsecp256k1 (WebAssembly), with catch-up pages
   * opened on worker threads; a custom verifier runs on the main thread.
   */
  verify?: SignatureVerifier | undefined;
  /** Worker threads that open catch-up pages (default: one per core, at most 8; 0 = none). */
  workers?: number | undefined;
  random?: (() => number) | undefined;
  fetch?: typeof globalThis.fetch | undefined;
}

/** Where a message goes: a contact (by name or public key), `#room`, or `group:<id>`. */
export type Destination =
  | { kind: "dm"; publicKey: Uint8Array }
  | { kind: "room"; name: string }
  | { kind: "group"; id: string; key: Uint8Array };

export interface SendResult {
  id: string;
  conversation: string;
  timestamp: number;
  /** Mailboxes that signed a store receipt for it. */
  receipts: StoredReceipt[];
  /** Whether it was also published to live peers over gossipsub. */
  gossiped: boolean;
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

/**
 * The client a chat app embeds: an identity with contacts, rooms and groups; sending (gossip when
 * in the mesh, and pushed to mailboxes for signed store receipts); live receiving; and catching up
 * after being offline — paid, paged, decrypted, verified, deduplicated and ordered, with progress,
 * from mailboxes chosen by score, with failover. It never logs: it returns results, emits events
 * and throws {@link BaseError}s.
 */
export class PostboxClient {
  readonly identity: Identity;
  readonly store: LocalStore;
  readonly directory: MailboxDirectory;
  readonly #init: PostboxClientInit;
  readonly #verify: SignatureVerifier;
  #opener: PageOpener | undefined;
  readonly #listeners = new Set<(m: StoredMessage) => void>();
  #host: ClientHost | undefined;
  #ownsHost = false;
  #started = false;

  constructor(init: PostboxClientInit) {
    this.#init = init;
    this.store = new LocalStore(init.dataDir);
    let key = this.store.get("identity");
    if (!key) {
      key = toHex(createIdentity().privateKey);
      this.store.set("identity", key);
      this.store.set("createdAt", String(Date.now()));
    }
    this.identity = createIdentity(fromHex(key));
    this.store.follow("inbox", inboxTopic(this.identity.publicKey), Number(this.store.get("createdAt")));
    this.#verify = init.verify ?? createNativeVerifier();
    this.directory = new MailboxDirectory({
      store: this.store,
      chain: init.chain,
      proberUrl: init.proberUrl,
      mailboxes: init.mailboxes,
      weights: init.weights,
      maxPageCost: init.maxPageCost,
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
    return toHex(this.identity.publicKey);
  }

  /** The private key, to move the identity to another device. Keep it secret. */
  exportIdentity(): string {
    return toHex(this.identity.privateKey);
  }

  addContact(name: string, publicKey: string): void {
    const key = publicKey.replace(/^0x/, "").toLowerCase();
    if (!/^0[23][0-9a-f]{64}$/.test(key))
      throw new BaseError("not a public key", { details: "expected 33 bytes of compressed secp256k1, hex" });
    if (!/^[\w.-]{1,64}$/.test(name)) throw new BaseError("a contact name is 1-64 letters, digits, . - _");
    this.store.addContact(name, key);
  }

  contacts() {
    return this.store.contacts();
  }

  /** Follows a public room from now on (its history before joining is not fetched). */
  joinRoom(name: string, since = Date.now()): string {
    const room = normaliseRoomName(name);
    if (!room) throw new BaseError("a room needs a name");
    this.store.follow(`room:${room}`, roomTopic(room), since);
    this.#topics = undefined;
    return `room:${room}`;
  }

  leaveRoom(name: string): void {
    this.store.unfollow(`room:${normaliseRoomName(name)}`);
    this.#topics = undefined;
  }

  /** Creates a group: share its id and key with its members out of band. */
  createGroup(): { id: string; key: string } {
    const id = toHex(createGroupKey().subarray(0, 16));
    const key = toHex(createGroupKey());
    this.joinGroup(id, key);
    return { id, key };
  }

  joinGroup(id: string, key: string, since = Date.now()): string {
    if (!/^[0-9a-f]{64}$/i.test(key)) throw new BaseError("a group key is 32 bytes, hex");
    this.store.follow(`group:${id}`, groupTopic(id), since, key.toLowerCase());
    this.#topics = undefined;
    return `group:${id}`;
  }

  feeds(): Feed[] {
    return this.store.feeds();
  }

  /** Followed feeds by topic, for the live path (re-read when what we follow changes). */
  #topics: Map<string, Feed[]> | undefined;
  #feedsByTopic(): Map<string, Feed[]> {
    if (!this.#topics) {
      this.#topics = new Map();
      for (const f of this.store.feeds())
        this.#topics.set(f.topic, [...(this.#topics.get(f.topic) ?? []), f]);
    }
    return this.#topics;
  }

  /** Parses `name`, a public key, `#room` or `group:<id>` into a destination. */
  resolve(to: string): Destination {
    if (to.startsWith("#")) return { kind: "room", name: normaliseRoomName(to) };
    if (to.startsWith("room:")) return { kind: "room", name: normaliseRoomName(to.slice(5)) };
    if (to.startsWith("group:")) {
      const feed = this.store.feeds().find((f) => f.feed === to);
      if (!feed?.key) throw new BaseError("unknown group", { details: `join it first: ${to}` });
      return { kind: "group", id: to.slice(6), key: fromHex(feed.key) };
    }
    const raw = to.startsWith("dm:") ? to.slice(3) : to;
    const contact = this.store.contacts().find((c) => c.name === raw);
    const key = (contact?.publicKey ?? raw).replace(/^0x/, "").toLowerCase();
    if (!/^0[23][0-9a-f]{64}$/.test(key))
      throw new BaseError("unknown contact", { details: `add it first: postbox contact add ${raw} PUBKEY` });
    return { kind: "dm", publicKey: fromHex(key) };
  }

  /** Registers a listener for new messages (live or caught up); returns its remover. */
  onMessage(listener: (m: StoredMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #seal(dest: Destination, text: string) {
    const timestamp = BigInt(Date.now());
    const sealed =
      dest.kind === "dm"
        ? encryptDirect(this.identity, dest.publicKey, text, timestamp)
        : dest.kind === "room"
          ? encryptRoom(this.identity, dest.name, text, timestamp)
          : encryptGroup(this.identity, dest.id, dest.key, text, timestamp);
    const envelope = createEnvelope({ ...sealed, timestamp });
    const id = toHex(envelope.id);
    const conversation =
      dest.kind === "dm"
        ? `dm:${toHex(dest.publicKey)}`
        : dest.kind === "room"
          ? `room:${dest.name}`
          : `group:${dest.id}`;
    this.store.saveMessages([
      { id, conversation, timestamp: Number(timestamp), sender: this.publicKey, text, outgoing: true },
    ]);
    return { envelope, id, conversation, timestamp: Number(timestamp) };
  }

  /** True when live peers hear what we publish (the client was started and a mailbox is connected). */
  get inMesh(): boolean {
    return (
      this.#started && (this.#host?.services.pubsub.getSubscribers(DEFAULT_PUBSUB_TOPIC).length ?? 0) > 0
    );
  }

  /**
   * Sends a message. In the mesh ({@link start}), it is published over gossipsub (ask for
   * `receipt` to also push it); otherwise it is pushed to `k` mailboxes, whose signed store
   * receipts are checked and kept.
   */
  async send(
    to: string | Destination,
    text: string,
    options: { receipt?: boolean } = {},
  ): Promise<SendResult> {
    const dest = typeof to === "string" ? this.resolve(to) : to;
    const { envelope, id, conversation, timestamp } = this.#seal(dest, text);
    let gossiped = false;
    if (this.inMesh) {
      await this.#host!.services.pubsub.publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(envelope)).then(
        () => {
          gossiped = true;
        },
        () => undefined,
      );
    }
    const receipts = gossiped && !options.receipt ? [] : await this.#pushOrThrow(envelope, id);
    return { id, conversation, timestamp, receipts, gossiped };
  }

  /**
   * Sends many messages in batches of 500: each batch is sealed and published over gossipsub,
   * then confirmed with free presence queries to a mailbox; whatever it does not hold is sealed
   * afresh (a timestamp within the mailboxes' ±20 s window) and pushed, with its receipt. Nothing
   * is lost if gossip drops some.
   */
  async sendMany(
    to: string | Destination,
    texts: readonly string[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ sent: number; confirmed: number; pushed: number }> {
    const dest = typeof to === "string" ? this.resolve(to) : to;
    if (!this.#started) await this.start();
    const host = this.#host!;
    for (let i = 0; i < 100 && !this.inMesh; i++) await new Promise((r) => setTimeout(r, 50));
    let confirmed = 0;
    let pushed = 0;
    for (let b = 0; b < texts.length; b += 500) {
      const sealed = texts.slice(b, b + 500).map((t) => this.#seal(dest, t));
      if (this.inMesh) {
        for (const s of sealed)
          await host.services.pubsub
            .publish(DEFAULT_PUBSUB_TOPIC, Envelope.encode(s.envelope))
            .catch(() => undefined);
        // Let the mailbox commit what it heard, then confirm.
        await new Promise((r) => setTimeout(r, 200));
      }
      const [mailbox] = await this.directory.choose(1);
      const missing: typeof sealed = [];
      for (let i = 0; i < sealed.length; i += 100) {
        const chunk = sealed.slice(i, i + 100);
        const held = new Set<string>();
        try {
          const res = await withBackoff(async () => {
            const r = await queryStore(host, dialable(mailbox!), {
              contentTopics: [chunk[0]!.envelope.contentTopic],
              includeData: false,
              ids: chunk.map((s) => s.envelope.id),
            });
            if (r.status !== StatusCode.OK)
              throw new MailboxStatusError(r.status, r.statusDesc, StatusCode[r.status] ?? String(r.status));
            return r;
          });
          for (const id of res.ids) held.add(toHex(id));
        } catch {
          // Unconfirmed: pushed below.
        }
        for (const s of chunk) {
          if (held.has(s.id)) confirmed++;
          else missing.push(s);
        }
      }
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < missing.length) {
            const old = missing[next++]!;
            // Unconfirmed may only mean late: gossip can commit the first copy after the presence
            // query. Push that same envelope (same id: a mailbox keeps it once). Only if no mailbox
            // takes it (its timestamp has left their ±20 s window, where gossip cannot bring it
            // either) is it sealed again with a fresh timestamp.
            try {
              await this.#pushOrThrow(old.envelope, old.id);
            } catch {
              this.store.deleteMessage(old.id);
              const s = this.#seal(dest, texts[b + sealed.indexOf(old)]!);
              await this.#pushOrThrow(s.envelope, s.id);
            }
            pushed++;
          }
        }),
      );
      onProgress?.(Math.min(texts.length, b + 500), texts.length);
    }
    return { sent: texts.length, confirmed, pushed };
  }

  async #pushOrThrow(envelope: IdentifiedEnvelope, id: string): Promise<StoredReceipt[]> {
    const errors: string[] = [];
    const receipts = await this.#push(envelope, id, errors);
    if (receipts.length === 0)
      throw new BaseError("no mailbox stored the message", { details: errors.join("; ") || "no mailbox" });
    return receipts;
  }

  async #push(envelope: IdentifiedEnvelope, id: string, errors: string[] = []): Promise<StoredReceipt[]> {
    const k = this.#init.k ?? 1;
    const host = await this.#ensureHost();
    const queue = await this.directory.choose(k);
    const receipts: StoredReceipt[] = [];
    const slot = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        try {
          const r = await withBackoff(() => pushEnvelope(host, dialable(c), envelope, { timeoutMs: 10_000 }));
          const peerKey = peerIdFromString(c.peerId).publicKey;
          if (!peerKey || toHex(r.envelopeId) !== id)
            throw new BaseError("the mailbox's store receipt is not for this message", { details: c.id });
          await verifyPeerSignature(peerKey, receiptSigningBytes(r), r.signature);
          const receipt = {
            envelopeId: id,
            mailbox: c.id,
            storedAt: Number(r.storedAt),
            retainUntil: Number(r.retainUntil),
          };
          this.store.saveReceipt(receipt);
          receipts.push(receipt);
          this.directory.succeeded(c.id);
          return;
        } catch (err) {
          errors.push(`${c.id}: ${(err as BaseError).shortMessage ?? (err as Error).message}`);
          // A refusal of this envelope (bad request) is not the mailbox's failure.
          if (!(err instanceof MailboxStatusError && err.status === StatusCode.BAD_REQUEST))
            this.directory.failed(c.id);
        }
      }
    };
    await Promise.all(Array.from({ length: k }, slot));
    return receipts;
  }

  /** The receipts mailboxes signed for a sent message. */
  receipts(envelopeId: string): StoredReceipt[] {
    return this.store.receipts(envelopeId);
  }

  /**
   * Catches up every followed feed (or one): from (last seen − overlap), paged and paid, from the
   * chosen mailboxes with failover; decrypts, verifies, drops duplicates and saves in order.
   */
  async catchUp(
    options: { feed?: string; onProgress?: (p: CatchUpProgress) => void; signal?: AbortSignal } = {},
  ): Promise<FeedCatchUp[]> {
    this.#startOpener(); // the workers load while the host starts and the mailboxes are chosen
    const host = await this.#ensureHost();
    const k = this.#init.k ?? 1;
    const candidates = await this.directory.choose(k);
    const out: FeedCatchUp[] = [];
    for (const feed of this.store.feeds()) {
      if (options.feed && feed.feed !== options.feed) continue;
      const from =
        feed.lastTimestamp === null ? feed.since : feed.lastTimestamp - (this.#init.overlapMs ?? 30_000);
      let added = 0;
      let skipped = 0;
      let saved: Promise<void> = Promise.resolve();
      const waiting: Promise<void>[] = [];
      const result = await fetchHistory({
        host,
        candidates,
        k,
        topics: [feed.topic],
        from,
        pageSize: this.#init.pageSize ?? 100,
        channels: this.#init.channels,
        deposit: this.#init.channelDeposit,
        feed: feed.feed,
        signal: options.signal,
        onFailure: (c) => this.directory.failed(c.id),
        onSuccess: (c) => this.directory.succeeded(c.id),
        // Pages are opened (decrypted, verified) on the workers while the next ones are fetched,
        // and saved strictly in arrival order; at most 4 pages wait, then fetching waits too.
        onPage: (envelopes, progress) => {
          const opening = this.#openPage(feed, envelopes);
          opening.catch(() => undefined); // awaited in order below
          saved = saved.then(async () => {
            const results = await opening;
            const opened: StoredMessage[] = [];
            for (const m of results) {
              if (m) opened.push(m);
              else skipped++;
            }
            const last = envelopes.at(-1);
            // With k = 1 pages arrive in order: the mark moves with them (crash-safe progress).
            added += this.store.saveMessages(
              opened,
              k === 1 && last
                ? { feed: feed.feed, timestamp: Number(last.timestamp), id: toHex(last.id) }
                : undefined,
            );
            for (const m of opened) this.#emit(m);
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
        this.store.saveMessages([], {
          feed: feed.feed,
          timestamp: Number(last.timestamp),
          id: toHex(last.id),
        });
      for (const g of result.gaps)
        if (g.missing.length + g.omitted.length > 0) this.directory.failed(g.mailbox);
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
    return out;
  }

  /** The page-opening workers, started once (undefined when pages are opened inline). */
  #startOpener(workers = this.#init.verify ? 0 : this.#init.workers): PageOpener | undefined {
    if (workers === 0) return undefined;
    this.#opener ??= new PageOpener({
      identityKey: this.identity.privateKey,
      ...(workers !== undefined ? { workers } : {}),
    });
    return this.#opener;
  }

  /** Opens a page of a feed's envelopes: on the worker threads, or inline with a custom verifier. */
  async #openPage(feed: Feed, envelopes: IdentifiedEnvelope[]): Promise<(StoredMessage | undefined)[]> {
    const opener = this.#startOpener();
    if (!opener) return envelopes.map((e) => this.#open(feed, e));
    const results = await opener.open(
      { feed: feed.feed, topic: feed.topic, groupKey: feed.key ? fromHex(feed.key) : undefined },
      envelopes,
    );
    return results.map((m, i) => (m ? this.#message(feed, envelopes[i]!, m) : undefined));
  }

  #message(feed: Feed, e: { timestamp: bigint; id: Uint8Array }, m: { sender: Uint8Array; text: string }) {
    const sender = toHex(m.sender);
    return {
      id: toHex(e.id),
      conversation: feed.feed === "inbox" ? `dm:${sender}` : feed.feed,
      timestamp: Number(e.timestamp),
      sender,
      text: m.text,
      outgoing: sender === this.publicKey,
    } satisfies StoredMessage;
  }

  /** Decrypts and verifies an envelope of a feed; undefined when it is not ours or is forged. */
  #open(feed: Feed, e: { contentTopic: string; timestamp: bigint; payload: Uint8Array; id: Uint8Array }) {
    if (e.contentTopic !== feed.topic) return undefined;
    let m: OpenedMessage;
    try {
      if (feed.feed === "inbox") m = decryptDirect(this.identity, e, { verify: this.#verify });
      else if (feed.feed.startsWith("room:"))
        m = decryptRoom(feed.feed.slice(5), e, { verify: this.#verify });
      else m = decryptGroup(feed.feed.slice(6), fromHex(feed.key ?? ""), e, { verify: this.#verify });
    } catch (err) {
      if (err instanceof DecryptionError) return undefined;
      throw err;
    }
    return this.#message(feed, e, m);
  }

  #emit(m: StoredMessage) {
    for (const l of this.#listeners) l(m);
  }

  /** Messages of a conversation, in (timestamp, id) order. */
  messages(conversation: ConversationId, limit?: number): StoredMessage[] {
    return this.store.messages(conversation, limit);
  }

  conversations() {
    return this.store.conversations();
  }

  /** A conversation id for `to` (a contact, public key, #room or group:id). */
  conversationOf(to: string): ConversationId {
    const d = this.resolve(to);
    return d.kind === "dm"
      ? `dm:${toHex(d.publicKey)}`
      : d.kind === "room"
        ? `room:${d.name}`
        : `group:${d.id}`;
  }

  mailboxes(): Promise<MailboxCandidate[]> {
    return this.directory.list(this.#init.k ?? 1);
  }

  /**
   * Goes online: connects to the chosen mailboxes and receives live messages over gossipsub for
   * every followed feed.
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
      for (const feed of this.#feedsByTopic().get(e.contentTopic) ?? []) {
        const m = this.#open(feed, e);
        if (m && this.store.saveMessages([m]) === 1) this.#emit(m);
      }
    });
    const candidates = await this.directory.choose(this.#init.k ?? 1);
    const dialed = await Promise.allSettled(
      candidates
        .slice(0, this.#init.k ?? 1)
        .map((c) => host.dial(dialable(c), { signal: AbortSignal.timeout(10_000) })),
    );
    // Online once a mailbox's gossip stream is up (its subscription has arrived, so has ours):
    // from then on what it relays reaches us. At most 5 s.
    if (dialed.some((d) => d.status === "fulfilled"))
      for (let i = 0; i < 100 && !this.inMesh; i++) await new Promise((r) => setTimeout(r, 50));
  }

  async #ensureHost(): Promise<ClientHost> {
    if (!this.#host) {
      this.#host = await createClientHost();
      this.#ownsHost = true;
    }
    return this.#host;
  }

  /** The libp2p host (created on first use). */
  get host(): ClientHost | undefined {
    return this.#host;
  }

  async stop(): Promise<void> {
    await this.#opener?.close();
    this.#opener = undefined;
    if (this.#host && this.#ownsHost) await this.#host.stop();
    this.#host = undefined;
    this.#started = false;
    this.store.close();
  }
}

export type { CatchUpProgress, MailboxGap } from "./history.js";
