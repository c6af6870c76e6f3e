import {
  type CatchUpProgress,
  type ChannelManager,
  type ChannelStatus,
  type ClientEvent,
  type ClientHost,
  type ClientStorage,
  type Contact,
  type ConversationSummary,
  createChannelManager,
  createClientHost,
  createPostboxClient,
  defaultPlatform,
  type Feed,
  type FeedCatchUp,
  type KeptOmissionProof,
  keptOmissionProofs,
  type MailboxCandidate,
  type OmissionProofArgs,
  type OutgoingStatus,
  omissionProofArgs,
  type PostboxClient,
  StorageBusyError,
  type StoredMessage,
} from "@postbox/client/browser";
import {
  createIdentity,
  ExportedKeyError,
  type ExportedKeyProblem,
  normaliseRoomName,
  parseExportedKey,
  toBareHex,
} from "@postbox/protocol";
import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { chain, settings } from "../env";
import { setChatBridge } from "./bridge";
import { type GapNotice, gapNotices, proofConversation } from "./omission";
import { chatError, type Delivery, deliveryOf, failoverText, mailboxLabel } from "./words";

/**
 * The chat of one browser tab: one Postbox client (the SDK's browser entry) on the IndexedDB
 * database `postbox`, one channel manager paying from the connected wallet with a session key kept
 * in the browser, and everything the page shows, as one immutable state object that changes by
 * replacement (`useSyncExternalStore`). A Web Lock keeps a second tab from running a second client
 * on the same database: two signers on one channel would race each other's vouchers.
 *
 * It outlives the React tree (client-side navigation between `/` and `/chat` keeps it online).
 */

export const DATABASE = "postbox";
const TAB_LOCK = "postbox-client";
const BROADCAST = "postbox";

/** Settings kept in the client's storage (`kv`), beside what the SDK keeps there. */
const KEY = {
  k: "chat:k",
  cap: "chat:spending-cap",
  deposit: "chat:deposit",
  autoTopUp: "chat:auto-top-up",
  open: "chat:open",
  profile: "chat:profile-name",
  bought: "chat:bought",
  groupName: (id: string) => `chat:group-name:${id}`,
} as const;

/** The deposit of a channel the chat opens by itself, unless the user sets another (SNT base units). */
export const DEFAULT_DEPOSIT = 10n * 10n ** 18n;

export type Phase = "starting" | "other-tab" | "moved" | "no-identity" | "ready" | "failed";

export interface MailboxLive {
  state: "connected" | "unreachable" | "graylisted";
  rttMs?: number | undefined;
  until?: number | undefined;
  error?: string | undefined;
  at: number;
}

export interface FailoverNotice {
  id: number;
  at: number;
  /**
   * Where the line is written: the room or group whose catch-up failed over; for the inbox (every
   * 1:1 conversation's feed), the conversation that was open.
   */
  conversation: string | undefined;
  feed: string;
  text: string;
  reason: string;
}

export interface CatchUpView {
  running: boolean;
  /** Bumped by every catch-up run. */
  run: number;
  startedAt?: number;
  finishedAt?: number;
  /** The latest progress of each feed in this run, in the order they started. */
  feeds: CatchUpProgress[];
  results?: FeedCatchUp[];
  error?: string;
}

/**
 * An omission proof the client keeps (from storage: those of earlier visits too), with the
 * Disputes contract's arguments built from it. Sent only when the user presses "Prove on-chain".
 */
export interface ProofView {
  envelopeId: string;
  mailbox: string;
  operator: string;
  kind: KeptOmissionProof["kind"];
  /** The conversation of its topic (`"inbox"` for a direct message), if it is still followed. */
  conversation: string | undefined;
  heldAt: number;
  servedAt: number;
  args: OmissionProofArgs;
}

/** A send under way in this tab. */
export interface PendingSend {
  key: number;
  conversation: string;
  text: string;
  startedAt: number;
}

/** What this browser bought on a channel: pages received and the envelopes new in them. */
export interface Bought {
  pages: number;
  messages: number;
}

export interface ChannelView {
  payee: Address;
  channelId: Hex;
  deposit: bigint;
  /** What the mailbox reports charged (cumulative). */
  spent: bigint;
  /** The highest voucher signed. */
  authorized: bigint;
  /** Redeemed by the mailbox on-chain so far. */
  paidOnChain: bigint;
  state: "open" | "closing";
  /** When the payer may withdraw (chain seconds; 0 while open). */
  closesAt: bigint;
  bought: Bought | undefined;
}

export interface ChatSettings {
  /** Mailboxes used at once (1–3). */
  k: number;
  /** The most one channel may authorise in all (base units), or none. */
  spendingCap: bigint | undefined;
  /** The deposit of a channel the chat opens. */
  deposit: bigint;
  autoTopUp: boolean;
}

export interface ActionStatus {
  scope: string;
  text: string;
  busy: boolean;
  error: boolean;
}

export interface ChatState {
  phase: Phase;
  error?: string | undefined;
  publicKey?: string | undefined;
  profileName?: string | undefined;
  /** The wallet channels are paid from, once connected. */
  wallet?: Address | undefined;
  /** The session key that signs vouchers (the channels' signer). */
  session?: Address | undefined;
  contacts: Contact[];
  feeds: Feed[];
  summaries: ConversationSummary[];
  groupNames: Record<string, string>;
  open?: string | undefined;
  catchUp: CatchUpView;
  mailboxes: MailboxCandidate[];
  mailboxesError?: string | undefined;
  live: Record<string, MailboxLive>;
  failovers: FailoverNotice[];
  /** Mailboxes that left out messages another returned, per catch-up (k ≥ 2). */
  gaps: GapNotice[];
  /** The omission proofs kept (read from storage at start and after each catch-up). */
  proofs: ProofView[];
  pending: PendingSend[];
  /** A send refused before its message was kept (an unknown contact or group), by conversation. */
  sendError?: { conversation: string; text: string } | undefined;
  /** The latest `message-state` event per message id. */
  messageStates: Record<string, Extract<ClientEvent, { type: "message-state" }>>;
  /** Bumped when a conversation's messages (or their delivery) change. */
  versions: Record<string, number>;
  settings: ChatSettings;
  channels: ChannelView[];
  channelsError?: string | undefined;
  status?: ActionStatus | undefined;
}

export interface WalletInput {
  address: Address;
  client: WalletClient<Transport, Chain | undefined, Account>;
}

export interface ThreadPage {
  messages: StoredMessage[];
  deliveries: Record<string, Delivery>;
  /** Every message of the conversation (stored). */
  total: number;
  /** In a group: the other members seen so far (their join, text or ack), by public key. */
  members?: string[] | undefined;
}

const INITIAL: ChatState = {
  phase: "starting",
  contacts: [],
  feeds: [],
  summaries: [],
  groupNames: {},
  catchUp: { running: false, run: 0, feeds: [] },
  mailboxes: [],
  live: {},
  failovers: [],
  gaps: [],
  proofs: [],
  pending: [],
  messageStates: {},
  versions: {},
  settings: { k: 1, spendingCap: undefined, deposit: DEFAULT_DEPOSIT, autoTopUp: true },
  channels: [],
};

/** How often listeners hear of state changes while a catch-up runs (see `#set`). */
const CATCH_UP_NOTIFY_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A step of the chat's start, on the page's performance timeline (`postbox:…` marks: devtools, benchmarks). */
function mark(step: string): void {
  globalThis.performance?.mark?.(`postbox:${step}`);
}

export class ChatRuntime {
  #state: ChatState = INITIAL;
  readonly #listeners = new Set<() => void>();
  #notifyTimer: ReturnType<typeof setTimeout> | undefined;
  #storage: ClientStorage | undefined;
  #client: PostboxClient | undefined;
  #host: ClientHost | undefined;
  #channels: ChannelManager | undefined;
  #unsubscribe: (() => void)[] = [];
  readonly #publicClient: PublicClient;
  /** The wallet reported by the page: undefined until wagmi has settled (connected or not). */
  #wallet: { wallet: WalletInput | undefined } | undefined;
  #walletSettled!: () => void;
  readonly #walletReady = new Promise<void>((r) => {
    this.#walletSettled = r;
  });
  /** Lifecycle steps (launch, relaunch, stop) one at a time. */
  #lifecycle: Promise<unknown> = Promise.resolve();
  #catchUpRun: Promise<void> | undefined;
  #catchUpAgain = false;
  #abort: AbortController | undefined;
  #timers: ReturnType<typeof setInterval>[] = [];
  #broadcast: BroadcastChannel | undefined;
  #hiddenAt: number | undefined;
  #noticeId = 0;
  #pendingKey = 0;
  /** When each mailbox was last reported unreachable (the failover line says "unreachable"). */
  readonly #unreachableAt = new Map<string, number>();
  /** Per catch-up run and feed: envelopes counted so far (what each page brought is the difference). */
  readonly #counted = new Map<string, number>();
  #bought: Record<string, Bought> = {};
  #boughtTimer: ReturnType<typeof setTimeout> | undefined;
  #conversationsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.#publicClient = createPublicClient({
      chain,
      transport: http(settings.rpcUrl),
      ...(settings.devnet ? { pollingInterval: 250 } : {}),
    }) as PublicClient;
  }

  // ---- state ----

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  readonly getState = (): ChatState => this.#state;

  /**
   * Replaces part of the state; listeners hear of it at most every 100 ms, and every 500 ms while a
   * catch-up runs: it reports per page, and each notice re-renders the open thread (its 200 messages)
   * on the page's thread, which also saves the pages — at 100 ms the renders took ≈ 3.7 s of a
   * 10,000-message catch-up's main thread.
   */
  #set(patch: Partial<ChatState> | ((s: ChatState) => Partial<ChatState>), now = false): void {
    const p = typeof patch === "function" ? patch(this.#state) : patch;
    this.#state = { ...this.#state, ...p };
    if (now) {
      clearTimeout(this.#notifyTimer);
      this.#notifyTimer = undefined;
      for (const l of this.#listeners) l();
      return;
    }
    this.#notifyTimer ??= setTimeout(
      () => {
        this.#notifyTimer = undefined;
        for (const l of this.#listeners) l();
      },
      this.#state.catchUp.running ? CATCH_UP_NOTIFY_MS : 100,
    );
  }

  #bump(conversation: string): void {
    this.#set((s) => ({ versions: { ...s.versions, [conversation]: (s.versions[conversation] ?? 0) + 1 } }));
  }

  #status(scope: string, text: string, busy: boolean, error = false): void {
    this.#set({ status: { scope, text, busy, error } }, true);
  }

  /** The client, once the chat is ready (throws otherwise: a button pressed too early). */
  get #ready(): PostboxClient {
    if (!this.#client) throw new Error("the chat is not ready yet");
    return this.#client;
  }

  // ---- start and stop ----

  /** Takes the tab lock (or says another tab has the chat), opens the storage and, with an identity, goes online. */
  async boot(steal = false): Promise<void> {
    if (typeof window !== "undefined" && !window.isSecureContext) {
      this.#set(
        {
          phase: "failed",
          error: `The chat needs a secure page (https, or http on localhost or 127.0.0.1); this one is ${window.location.origin}. Its keys and signatures use the browser's WebCrypto, which only secure pages have.`,
        },
        true,
      );
      return;
    }
    this.#set({ phase: "starting", error: undefined }, true);
    const lock = await takeTabLock(steal, () => void this.#movedAway());
    if (!lock) {
      this.#set({ phase: "other-tab" }, true);
      return;
    }
    try {
      mark("boot");
      this.#storage = await openStorageWaiting();
      mark("storage");
      const storage = this.#storage;
      const [identity, k, cap, deposit, autoTopUp, open, profile, bought] = await Promise.all([
        storage.get("identity"),
        storage.get(KEY.k),
        storage.get(KEY.cap),
        storage.get(KEY.deposit),
        storage.get(KEY.autoTopUp),
        storage.get(KEY.open),
        storage.get(KEY.profile),
        storage.get(KEY.bought),
      ]);
      this.#bought = bought ? (JSON.parse(bought) as Record<string, Bought>) : {};
      this.#set(
        {
          settings: {
            k: Math.min(3, Math.max(1, Number(k ?? 1) || 1)),
            spendingCap: cap ? BigInt(cap) : undefined,
            deposit: deposit ? BigInt(deposit) : DEFAULT_DEPOSIT,
            autoTopUp: autoTopUp !== "off",
          },
          open: open ?? undefined,
          profileName: profile ?? undefined,
        },
        true,
      );
      this.#listen();
      if (!identity) {
        this.#set({ phase: "no-identity" }, true);
        return;
      }
      await this.#serial(() => this.#launch());
    } catch (err) {
      this.#set({ phase: "failed", error: chatError(err) }, true);
    }
  }

  /** Another tab took the chat over ("use it here" there): go offline and say so. */
  async #movedAway(): Promise<void> {
    await this.#serial(() => this.#teardown());
    await this.#storage?.close().catch(() => undefined);
    this.#storage = undefined;
    this.#set({ phase: "moved" }, true);
  }

  /** The page's signals: pins from other tabs and pages, coming back to a hidden tab, the network. */
  #listen(): void {
    if (this.#broadcast || typeof window === "undefined") return;
    if (typeof BroadcastChannel !== "undefined") {
      this.#broadcast = new BroadcastChannel(BROADCAST);
      this.#broadcast.onmessage = (e: MessageEvent<{ type?: string }>) => {
        if (e.data?.type === "pin") void this.refreshMailboxes(true);
      };
    }
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.#hiddenAt = Date.now();
      else if (this.#hiddenAt !== undefined && Date.now() - this.#hiddenAt > 30_000) {
        // Gossip a background tab missed (throttled timers, a sleeping laptop): from the mailboxes.
        this.#hiddenAt = undefined;
        void this.catchUp();
      }
    });
    window.addEventListener("online", () => void this.catchUp());
    setChatBridge({ pin: (id) => this.pin(id), unpin: () => this.unpin() });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lifecycle.then(fn, fn);
    this.#lifecycle = run.catch(() => undefined);
    return run;
  }

  /** The wallet as wagmi reports it: `undefined` while it is still connecting or reconnecting. */
  setWallet(report: { settled: false } | { settled: true; wallet: WalletInput | undefined }): void {
    if (!report.settled) return;
    const before = this.#wallet?.wallet?.address;
    const first = this.#wallet === undefined;
    this.#wallet = { wallet: report.wallet };
    this.#walletSettled();
    this.#set({ wallet: report.wallet?.address });
    if (!first && before?.toLowerCase() !== report.wallet?.address.toLowerCase() && this.#client)
      void this.#relaunch();
  }

  /** Starts the client (and channels, with a wallet), then goes online and catches up. */
  async #launch(): Promise<void> {
    const storage = this.#storage;
    if (!storage) return;
    if (!settings.registry || !settings.channels || !settings.snt)
      throw new Error(
        `no Postbox contracts are known for chain ${settings.chainId}: set NEXT_PUBLIC_REGISTRY, NEXT_PUBLIC_CHANNELS and NEXT_PUBLIC_SNT`,
      );
    // wagmi reconnects a remembered wallet right after the page loads: wait for it (briefly).
    await Promise.race([this.#walletReady, sleep(4_000)]);
    mark("wallet");
    const wallet = this.#wallet?.wallet;
    const s = this.#state.settings;
    // The libp2p host starts while the channels' records and the client open; the host is the
    // runtime's, so that going online and catching up share it from the start.
    const starting = createClientHost();
    starting.catch(() => undefined);
    let channels: ChannelManager | undefined;
    let host: ClientHost | undefined;
    let client: PostboxClient;
    try {
      if (wallet)
        channels = await createChannelManager({
          location: DATABASE,
          publicClient: this.#publicClient,
          wallet: wallet.client,
          chainId: settings.chainId,
          snt: settings.snt,
          registry: settings.registry,
          channels: settings.channels,
          spendingCap: s.spendingCap,
          ...(s.autoTopUp ? { autoTopUp: { below: 0n, amount: s.deposit } } : {}),
        });
      host = await starting;
      client = await createPostboxClient({
        host,
        storage,
        chain: { publicClient: this.#publicClient, registry: settings.registry },
        channels,
        channelDeposit: s.deposit,
        proberUrl: settings.proberUrl,
        k: s.k,
      });
    } catch (err) {
      await channels?.close().catch(() => undefined);
      await Promise.resolve((host ?? (await starting.catch(() => undefined)))?.stop()).catch(() => undefined);
      throw err;
    }
    this.#client = client;
    this.#host = host;
    this.#channels = channels;
    mark("client");
    this.#unsubscribe.push(
      client.onEvent((e) => this.#onEvent(e)),
      client.onMessage((m) => this.#onMessage(m)),
    );
    if (channels) this.#unsubscribe.push(channels.onEvent(() => void this.refreshChannels()));
    this.#set(
      { phase: "ready", publicKey: client.publicKey, session: channels?.session.address, error: undefined },
      true,
    );
    // The omission proofs of earlier visits are offered at once (their conversations first).
    void this.#reloadConversations().then(
      () => this.#loadProofs(),
      () => undefined,
    );
    if (!this.#timers.length) {
      this.#timers.push(setInterval(() => void this.#heartbeat(), 15_000));
      this.#timers.push(setInterval(() => void this.refreshChannels(), 10_000));
    }
    void this.#goOnline(client);
  }

  async #goOnline(client: PostboxClient): Promise<void> {
    void this.refreshMailboxes();
    // Live receive and the catch-up start together: nothing published meanwhile is missed (the
    // catch-up covers until now, gossip from now on; what both bring is saved once).
    const live = client.start().then(
      () => mark("online"),
      (err: unknown) => {
        if (client === this.#client) this.#set({ mailboxesError: chatError(err) });
      },
    );
    await this.catchUp();
    mark("caught-up");
    await live;
    if (client !== this.#client) return;
    await this.refreshMailboxes();
    await this.refreshChannels();
  }

  /** Stops the client and the channels (pending channel writes are finished), keeping the storage open. */
  async #teardown(): Promise<void> {
    this.#abort?.abort();
    await this.#catchUpRun?.catch(() => undefined);
    for (const u of this.#unsubscribe.splice(0)) u();
    const client = this.#client;
    const host = this.#host;
    const channels = this.#channels;
    this.#client = undefined;
    this.#host = undefined;
    this.#channels = undefined;
    await client?.stop().catch(() => undefined);
    await Promise.resolve(host?.stop()).catch(() => undefined);
    await channels?.close().catch(() => undefined);
  }

  /** A wallet or a setting changed: the client and channel manager start again with it (the storage stays). */
  #relaunch(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#storage || this.#state.phase === "moved") return;
      await this.#teardown();
      this.#set({ catchUp: { ...this.#state.catchUp, running: false } });
      try {
        await this.#launch();
      } catch (err) {
        this.#set({ phase: "failed", error: chatError(err) }, true);
      }
    });
  }

  // ---- identity ----

  /** Makes a new identity (a secp256k1 key kept in this browser) and goes online. */
  async createIdentity(): Promise<void> {
    const storage = this.#need();
    await storage.set("identity", toBareHex(createIdentity().privateKey));
    await storage.set("createdAt", String(Date.now()));
    await this.#serial(() => this.#launch());
  }

  /**
   * Imports an exported identity (64 hexadecimal digits) and goes online; its inbox is fetched
   * from `since` (ms).
   */
  async importIdentity(hex: string, since: number): Promise<void> {
    const key = checkPrivateKey(hex);
    if (!key.ok) throw new Error(key.message);
    const storage = this.#need();
    await storage.set("identity", key.value);
    await storage.set("createdAt", String(since));
    await this.#serial(() => this.#launch());
  }

  /** The private key, for moving the identity to another device (the page warns first). */
  exportIdentity(): string {
    return this.#ready.exportIdentity();
  }

  async setProfileName(name: string): Promise<void> {
    const clean = name.trim().slice(0, 64);
    await this.#need().set(KEY.profile, clean || undefined);
    this.#set({ profileName: clean || undefined }, true);
  }

  #need(): ClientStorage {
    if (!this.#storage) throw new Error("the chat's storage is not open");
    return this.#storage;
  }

  // ---- conversations ----

  async #reloadConversations(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    const [contacts, feeds, summaries] = await Promise.all([
      client.contacts(),
      client.feeds(),
      client.conversations(),
    ]);
    const groupNames: Record<string, string> = {};
    await Promise.all(
      feeds
        .filter((f) => f.feed.startsWith("group:"))
        .map(async (f) => {
          const id = f.feed.slice(6);
          const name = await client.storage.get(KEY.groupName(id));
          if (name) groupNames[id] = name;
        }),
    );
    this.#set({ contacts, feeds, summaries, groupNames });
  }

  /** Conversation summaries change with every saved page: re-read them at most twice a second. */
  #conversationsSoon(): void {
    this.#conversationsTimer ??= setTimeout(() => {
      this.#conversationsTimer = undefined;
      void this.#reloadConversations().catch(() => undefined);
    }, 500);
  }

  async addContact(name: string, publicKey: string): Promise<string> {
    const client = this.#ready;
    await client.addContact(name, publicKey);
    await this.#reloadConversations();
    return `dm:${publicKey.replace(/^0x/, "").toLowerCase()}`;
  }

  /** Joins a public room; with `since` in the past, fetches its history from then. */
  async joinRoom(name: string, since: number): Promise<string> {
    const room = normaliseRoomName(name);
    if (!/^[\p{L}\p{N}_.-]{1,64}$/u.test(room))
      throw new Error("A room name is 1–64 letters, digits, ., - or _ (a leading # is fine).");
    const id = await this.#ready.joinRoom(room, since);
    await this.#reloadConversations();
    void this.catchUp(id);
    return id;
  }

  async leaveRoom(conversation: string): Promise<void> {
    await this.#ready.leaveRoom(conversation.slice(5));
    await this.#reloadConversations();
  }

  /** Creates a group; share its link with its members. */
  async createGroup(name: string): Promise<string> {
    const client = this.#ready;
    const { id } = await client.createGroup();
    if (name.trim()) await client.storage.set(KEY.groupName(id), name.trim().slice(0, 64));
    await this.#reloadConversations();
    return `group:${id}`;
  }

  /** Joins a group by its id and key (from a link), and fetches what was said in it since `since`. */
  async joinGroup(id: string, key: string, name: string | undefined, since = Date.now()): Promise<string> {
    const client = this.#ready;
    const conversation = await client.joinGroup(id.toLowerCase(), key, since);
    if (name?.trim()) await client.storage.set(KEY.groupName(id.toLowerCase()), name.trim().slice(0, 64));
    await this.#reloadConversations();
    void this.catchUp(conversation);
    return conversation;
  }

  /** The group's key (for its share link). */
  groupKey(conversation: string): string | undefined {
    return this.#state.feeds.find((f) => f.feed === conversation)?.key ?? undefined;
  }

  /** The conversation shown; an inbox failover's line is written into it. */
  open(conversation: string | undefined): void {
    if (conversation === this.#state.open) return;
    this.#set({ open: conversation }, true);
    void this.#storage?.set(KEY.open, conversation).catch(() => undefined);
  }

  /** The last `limit` messages of a conversation, with the delivery state of each one we sent. */
  async thread(conversation: string, limit: number): Promise<ThreadPage> {
    const client = this.#ready;
    const messages = await client.messages(conversation, { limit });
    const summary = this.#state.summaries.find((s) => s.conversation === conversation);
    const mine = messages.filter((m) => m.outgoing);
    const records = new Map<string, OutgoingStatus>();
    if (mine.length > 0) for (const r of await client.outgoing(conversation)) records.set(r.messageId, r);
    const deliveries: Record<string, Delivery> = {};
    const { pending, messageStates } = this.#state;
    await Promise.all(
      mine.map(async (m) => {
        const d = deliveryOf({
          record: records.get(m.messageId),
          event: messageStates[m.messageId],
          receipts: await client.receipts(m.id),
          sending: pending.some(
            (p) =>
              p.conversation === m.conversation && p.text === m.text && m.timestamp >= p.startedAt - 1_000,
          ),
        });
        if (d) deliveries[m.id] = d;
      }),
    );
    const members = conversation.startsWith("group:") ? await client.groupMembers(conversation) : undefined;
    return { messages, deliveries, total: Math.max(summary?.count ?? 0, messages.length), members };
  }

  // ---- sending ----

  /**
   * Sends a message: it shows as sending, then stored (by which mailboxes), delivered (acknowledged),
   * or not stored with the reason (the SDK's delivery states; a failed send is kept, for Retry).
   */
  async send(conversation: string, text: string): Promise<void> {
    const client = this.#ready;
    const pending: PendingSend = { key: ++this.#pendingKey, conversation, text, startedAt: Date.now() };
    this.#set((s) => ({ pending: [...s.pending, pending], sendError: undefined }), true);
    try {
      await client.send(conversation, text);
    } catch (err) {
      // NotStoredError: the message is kept as not stored, with the reason; anything else was
      // refused before it was saved (a contact or group not known), and is said here.
      if ((err as { name?: string }).name !== "NotStoredError")
        this.#set({ sendError: { conversation, text: chatError(err) } }, true);
    } finally {
      this.#set((s) => ({ pending: s.pending.filter((p) => p !== pending) }));
      this.#bump(conversation);
      this.#conversationsSoon();
    }
  }

  /** Sends a message no mailbox stored again (the same envelope within ±15 s, else sealed again). */
  async retry(message: StoredMessage): Promise<void> {
    try {
      await this.#ready.retry(message.messageId);
    } catch (err) {
      if ((err as { name?: string }).name !== "NotStoredError")
        this.#set({ sendError: { conversation: message.conversation, text: chatError(err) } }, true);
    } finally {
      this.#bump(message.conversation);
      this.#conversationsSoon();
    }
  }

  // ---- catching up ----

  /** Catches up every followed feed (or one); a call during a run runs once more after it. */
  catchUp(feed?: string): Promise<void> {
    if (this.#catchUpRun) {
      this.#catchUpAgain = true;
      return this.#catchUpRun;
    }
    const client = this.#client;
    if (!client) return Promise.resolve();
    this.#catchUpRun = (async () => {
      let next: string | undefined = feed;
      do {
        this.#catchUpAgain = false;
        await this.#runCatchUp(client, next);
        next = undefined; // another request during the run: everything
      } while (this.#catchUpAgain && client === this.#client);
    })().finally(() => {
      this.#catchUpRun = undefined;
    });
    return this.#catchUpRun;
  }

  async #runCatchUp(client: PostboxClient, feed: string | undefined): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const run = this.#state.catchUp.run + 1;
    this.#set({ catchUp: { running: true, run, startedAt: Date.now(), feeds: [] } }, true);
    let outcome: { results: FeedCatchUp[] } | { error: string };
    try {
      outcome = { results: await client.catchUp({ ...(feed ? { feed } : {}), signal: abort.signal }) };
    } catch (err) {
      outcome = { error: chatError(err) };
    }
    // What was bought is kept, and the conversations' counts are read again, before the page says
    // it is done (a tab closed then loses nothing; every count shown is the final one).
    await this.#saveBought(true);
    await this.#reloadConversations().catch(() => undefined);
    if (abort.signal.aborted) return;
    // A mailbox that left out what another returned is named in the conversation; the proofs kept
    // (this catch-up's and earlier ones) are offered there.
    const names = this.#names();
    const gaps =
      "results" in outcome
        ? gapNotices(
            outcome.results,
            (m) => mailboxLabel(m, names),
            this.#state.open,
            Date.now(),
            this.#noticeId + 1,
          )
        : [];
    this.#noticeId += gaps.length;
    await this.#loadProofs();
    this.#set(
      (s) => ({
        catchUp: { ...s.catchUp, running: false, finishedAt: Date.now(), ...outcome },
        gaps: [...s.gaps, ...gaps].slice(-50),
      }),
      true,
    );
  }

  /** Reads the kept omission proofs from storage (a proof whose evidence cannot be read is left out). */
  async #loadProofs(): Promise<void> {
    const storage = this.#storage;
    if (!storage) return;
    try {
      const kept = await keptOmissionProofs(storage);
      const feeds = this.#state.feeds;
      const proofs: ProofView[] = [];
      for (const k of kept) {
        let args: OmissionProofArgs;
        try {
          args = omissionProofArgs(k.receipt, k.commitment);
        } catch {
          continue;
        }
        proofs.push({
          envelopeId: k.envelopeId,
          mailbox: k.mailbox,
          operator: k.operator,
          kind: k.kind,
          conversation: proofConversation(k.receipt.evidence?.contentTopic ?? "", feeds),
          heldAt: k.heldAt,
          servedAt: k.servedAt,
          args,
        });
      }
      if (storage === this.#storage) this.#set({ proofs });
    } catch {
      // Reading them again after the next catch-up.
    }
  }

  // ---- events ----

  /** Conversations whose new messages are shown at the next half second (during a catch-up). */
  readonly #changed = new Set<string>();
  #changedTimer: ReturnType<typeof setTimeout> | undefined;

  #onMessage(m: StoredMessage): void {
    this.#conversationsSoon();
    if (!this.#state.catchUp.running) {
      this.#bump(m.conversation);
      return;
    }
    // A catch-up saves a page at a time, up to hundreds a second: the open thread is read again
    // twice a second, not for every page (the page's main thread has pages to save).
    this.#changed.add(m.conversation);
    this.#changedTimer ??= setTimeout(() => {
      this.#changedTimer = undefined;
      for (const c of this.#changed) this.#bump(c);
      this.#changed.clear();
    }, 500);
  }

  #onEvent(e: ClientEvent): void {
    switch (e.type) {
      case "catch-up":
        this.#onProgress(e.progress);
        return;
      case "mailbox": {
        if (e.state === "unreachable") this.#unreachableAt.set(e.mailbox, Date.now());
        const live: MailboxLive = {
          state: e.state,
          rttMs: e.rttMs ?? (e.state === "connected" ? this.#state.live[e.mailbox]?.rttMs : undefined),
          until: e.until,
          error: e.error,
          at: Date.now(),
        };
        this.#set((s) => ({ live: { ...s.live, [e.mailbox]: live } }));
        return;
      }
      case "failover": {
        const names = this.#names();
        const unreachable = Date.now() - (this.#unreachableAt.get(e.from) ?? 0) < 5_000;
        const notice: FailoverNotice = {
          id: ++this.#noticeId,
          at: Date.now(),
          conversation: e.feed === "inbox" ? this.#state.open : e.feed,
          feed: e.feed,
          reason: e.reason,
          text: failoverText(
            mailboxLabel(e.from, names),
            e.to ? mailboxLabel(e.to, names) : undefined,
            e.reason,
            unreachable,
          ),
        };
        this.#set((s) => ({ failovers: [...s.failovers.slice(-49), notice] }), true);
        void this.refreshMailboxes();
        return;
      }
      case "message-state": {
        this.#set((s) => ({ messageStates: { ...s.messageStates, [e.messageId]: e } }));
        const conversation = e.conversation ?? this.#state.open;
        if (conversation) this.#bump(conversation);
        if (e.replaces) this.#conversationsSoon();
        return;
      }
    }
  }

  /** A page of a catch-up was saved: progress, and what this browser bought on that mailbox's channel. */
  #onProgress(p: CatchUpProgress): void {
    const { catchUp } = this.#state;
    // A feed's first page is shown at once ("100 of ≈ 1,000"): the notices are 500 ms apart during a
    // catch-up, and a short one would otherwise end before any progress reached the screen.
    const first = !catchUp.feeds.some((f) => f.feed === p.feed);
    this.#set({ catchUp: { ...catchUp, feeds: ordered(catchUp.feeds, p) } }, first);
    const runKey = `${catchUp.run}:${p.feed}`;
    const fresh = p.envelopes - (this.#counted.get(runKey) ?? 0);
    this.#counted.set(runKey, p.envelopes);
    const candidate = this.#state.mailboxes.find((m) => m.id === p.mailbox);
    const operator = (candidate?.operator ?? (p.mailbox.startsWith("0x") ? p.mailbox : undefined)) as
      | Address
      | undefined;
    const record = operator ? this.#channels?.channelTo(operator) : undefined;
    if (record) {
      const b = this.#bought[record.channelId] ?? { pages: 0, messages: 0 };
      this.#bought[record.channelId] = { pages: b.pages + 1, messages: b.messages + fresh };
      void this.#saveBought(false);
      this.#set({ channels: this.#withLiveFigures(this.#state.channels) });
    }
  }

  #saveBought(now: boolean): Promise<void> {
    clearTimeout(this.#boughtTimer);
    const write = () => this.#storage?.set(KEY.bought, JSON.stringify(this.#bought)).catch(() => undefined);
    if (now) return write() ?? Promise.resolve();
    this.#boughtTimer = setTimeout(() => void write(), 500);
    return Promise.resolve();
  }

  // ---- mailboxes ----

  #names(): Map<string, string | undefined> {
    return new Map(this.#state.mailboxes.map((m) => [m.id, m.name]));
  }

  /** Re-reads every mailbox's state, price, score and chance (from the registry, the prober and storage). */
  async refreshMailboxes(fresh = false): Promise<void> {
    const client = this.#client;
    if (!client) return;
    try {
      if (fresh) client.directory.refresh();
      const mailboxes = await client.mailboxes();
      if (client === this.#client) this.#set({ mailboxes, mailboxesError: undefined });
    } catch (err) {
      if (client === this.#client) this.#set({ mailboxesError: chatError(err) });
    }
  }

  /** Every 15 s: the mailboxes' figures, and a ping of those the chat may use (connectivity, RTT). */
  async #heartbeat(): Promise<void> {
    const client = this.#client;
    if (!client || document.visibilityState === "hidden") return;
    await this.refreshMailboxes();
    const used = this.#state.mailboxes.filter(
      (m) =>
        m.reachable &&
        !m.graylisted &&
        (m.pinned || m.chance > 0 || this.#state.live[m.id]?.state === "connected"),
    );
    await Promise.allSettled(used.map((m) => client.ping(m)));
  }

  /** The address this tab is connected to a mailbox on (`/dns4/…/tls/ws`, `/ip4/…/ws`), if it is. */
  connectedAddress(m: Pick<MailboxCandidate, "peerId">): string | undefined {
    const host = this.#client?.host;
    if (!host) return undefined;
    const c = host.getConnections().find((x) => x.remotePeer.toString() === m.peerId && x.status === "open");
    return c?.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, "");
  }

  /** Pins a mailbox: the chat always uses it (from here, the discovery table or another tab). */
  async pin(id: string): Promise<void> {
    const client = this.#client;
    // The SDK's own setting (`pin`): written through the client when it runs, else straight to storage.
    if (client) await client.directory.pin(id);
    else await this.#need().set("pin", id.toLowerCase());
    this.#broadcast?.postMessage({ type: "pin" });
    await this.refreshMailboxes();
    const m = this.#state.mailboxes.find((x) => x.id === id.toLowerCase());
    if (client && m?.reachable) void client.ping(m).catch(() => undefined);
  }

  async unpin(): Promise<void> {
    const client = this.#client;
    if (client) await client.directory.unpin();
    else await this.#need().set("pin", undefined);
    this.#broadcast?.postMessage({ type: "pin" });
    await this.refreshMailboxes();
  }

  // ---- settings ----

  async setSettings(patch: Partial<ChatSettings>): Promise<void> {
    const storage = this.#need();
    const next = { ...this.#state.settings, ...patch };
    await storage.set(KEY.k, String(next.k));
    await storage.set(KEY.cap, next.spendingCap === undefined ? undefined : next.spendingCap.toString());
    await storage.set(KEY.deposit, next.deposit.toString());
    await storage.set(KEY.autoTopUp, next.autoTopUp ? undefined : "off");
    this.#set({ settings: next }, true);
    // k and the cap are fixed when the client and its channel manager start: start them again.
    await this.#relaunch();
  }

  // ---- payments ----

  #withLiveFigures(views: ChannelView[]): ChannelView[] {
    return views.map((v) => {
      const r = this.#channels?.channelTo(v.payee);
      return {
        ...v,
        ...(r && r.channelId === v.channelId
          ? { spent: BigInt(r.spent), authorized: BigInt(r.authorized), deposit: BigInt(r.deposit) }
          : {}),
        bought: this.#bought[v.channelId],
      };
    });
  }

  /** Every channel of this browser on this chain, with what the chain says of each. */
  async refreshChannels(): Promise<void> {
    const channels = this.#channels;
    if (!channels) {
      if (this.#state.channels.length) this.#set({ channels: [] });
      return;
    }
    try {
      const { channels: list } = await channels.list();
      if (channels !== this.#channels) return;
      const views = list.map(
        (c: ChannelStatus): ChannelView => ({
          payee: c.payee,
          channelId: c.channelId,
          deposit: c.depositOnChain,
          spent: BigInt(c.spent),
          authorized: BigInt(c.authorized),
          paidOnChain: c.paidOnChain,
          state: c.state,
          closesAt: c.closesAt,
          bought: undefined,
        }),
      );
      this.#set({ channels: this.#withLiveFigures(views), channelsError: undefined });
    } catch (err) {
      this.#set({ channelsError: chatError(err) });
    }
  }

  async #payAction(scope: string, label: string, fn: (c: ChannelManager) => Promise<string>): Promise<void> {
    const channels = this.#channels;
    if (!channels) {
      this.#status(scope, `${label}: connect a wallet first (top right).`, false, true);
      return;
    }
    this.#status(scope, `${label}: waiting for the wallet and the chain…`, true);
    try {
      const done = await fn(channels);
      this.#status(scope, `${label}: ${done}`, false);
    } catch (err) {
      this.#status(scope, `${label}: ${chatError(err)}`, false, true);
    }
    await this.refreshChannels();
  }

  openChannel(payee: Address, deposit: bigint): Promise<void> {
    return this.#payAction("open", "Open a channel", async (c) => {
      const r = await c.open(payee, deposit);
      return `open (${r.channelId.slice(0, 10)}…).`;
    });
  }

  topUp(payee: Address, amount: bigint): Promise<void> {
    return this.#payAction(`channel-${payee.toLowerCase()}`, "Top up", async (c) => {
      await c.topUp(payee, amount);
      return "done.";
    });
  }

  closeChannel(payee: Address): Promise<void> {
    return this.#payAction(`channel-${payee.toLowerCase()}`, "Close", async (c) => {
      await c.requestClose(payee);
      return "requested: the mailbox may still redeem until the grace period ends, then withdraw.";
    });
  }

  withdraw(payee: Address, format: (amount: bigint) => string): Promise<void> {
    return this.#payAction(`channel-${payee.toLowerCase()}`, "Withdraw", async (c) => {
      const r = await c.withdraw(payee);
      return `${format(r.refund)} back to your wallet; the mailbox was paid ${format(r.paid)}.`;
    });
  }

  /** Takes the chat over from another tab. */
  async takeOver(): Promise<void> {
    await this.boot(true);
  }
}

/** Keeps the feeds in the order their catch-up started, replacing `p.feed`'s entry. */
function ordered(feeds: CatchUpProgress[], p: CatchUpProgress): CatchUpProgress[] {
  const i = feeds.findIndex((f) => f.feed === p.feed);
  if (i < 0) return [...feeds, p];
  const out = [...feeds];
  out[i] = p;
  return out;
}

/** Why a pasted export cannot be used, in the chat's words (by `parseExportedKey`'s problem). */
const EXPORT_PROBLEM: Record<ExportedKeyProblem, (e: ExportedKeyError) => string> = {
  empty: () => "Paste the exported key: 64 hexadecimal digits, or both lines of postbox id --export.",
  json: () => "This looks like JSON but is not valid: paste the whole line postbox id --export --json wrote.",
  "no-private-key": () => "This JSON has no privateKey: it was not written by postbox id --export.",
  lines: () =>
    "These lines have no privateKey line: paste both lines of postbox id --export, or the key alone.",
  "not-hex": () => "An exported key has only the digits 0–9 and the letters a–f.",
  length: (e) => `An exported key has 64 hexadecimal digits (this has ${e.digits}).`,
  invalid: () => "This is not a valid key (it is zero or too large for secp256k1).",
  mismatch: () => "The publicKey line is not this private key's: the paste is cut or mixed up.",
};

/**
 * An exported identity as pasted: the 64 hexadecimal digits of "Export your key" (0x allowed), or
 * what `postbox id --export` wrote (both lines, or its --json line), by the rules the CLI's import
 * uses. The value is the private key's bare hex.
 */
export function checkPrivateKey(input: string): { ok: true; value: string } | { ok: false; message: string } {
  try {
    return { ok: true, value: parseExportedKey(input).privateKey };
  } catch (err) {
    if (err instanceof ExportedKeyError) return { ok: false, message: EXPORT_PROBLEM[err.problem](err) };
    throw err;
  }
}

/**
 * The tab's hold on the chat: resolves with its release, or undefined when another tab holds it
 * (`steal` takes it from that tab, which is told through `onLost`).
 */
async function takeTabLock(steal: boolean, onLost: () => void): Promise<(() => void) | undefined> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return () => undefined;
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  return new Promise((resolve) => {
    locks
      .request(TAB_LOCK, steal ? { steal: true } : { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(undefined);
          return undefined;
        }
        resolve(release);
        return held;
      })
      .catch((err: unknown) => {
        // Stolen by another tab ("use it here"): this one goes offline.
        if ((err as { name?: string }).name === "AbortError") onLost();
        else resolve(undefined);
      });
  });
}

/** Opens the storage; a tab that just gave the chat up may still be closing it, so wait up to 15 s. */
async function openStorageWaiting(): Promise<ClientStorage> {
  const until = Date.now() + 15_000;
  for (;;) {
    try {
      return await defaultPlatform().openStorage(DATABASE);
    } catch (err) {
      if (!(err instanceof StorageBusyError) || Date.now() > until) throw err;
    }
  }
}

let runtime: ChatRuntime | undefined;

/** The tab's chat (made and booted once). */
export function getRuntime(): ChatRuntime {
  if (!runtime) {
    runtime = new ChatRuntime();
    void runtime.boot();
  }
  return runtime;
}
