import {
  mailboxRegistryAbi,
  openChannelRequest,
  paymentChannelsAbi,
  requestCloseRequest,
  topUpChannelRequest,
  withdrawChannelRequest,
} from "@postbox/contracts";
import {
  bigintToBytes,
  bytesToBigint,
  computeChannelId,
  formatSnt,
  fromBareHex,
  pageCost,
  type Quote,
  StatusCode,
  type StoreQuery,
  type StoreResponse,
  type Voucher,
} from "@postbox/protocol";
import {
  type Account,
  type Address,
  type Chain,
  ContractFunctionExecutionError,
  type Hex,
  keccak256,
  type PublicClient,
  parseEventLogs,
  type Transport,
  toHex,
  type WalletClient,
} from "viem";
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { BaseError, PaymentRefusedError, StaleChannelError } from "../errors.js";
import type { Platform } from "../platform/types.js";
import type {
  ArchivedChannelRecord,
  ChannelDeployment,
  ChannelKey,
  ChannelRecord,
  ChannelStore,
} from "../storage/types.js";
import { createVoucherSigner } from "./voucher-signer.js";

export type { ArchivedChannelRecord, ChannelRecord } from "../storage/types.js";

/** A channel's record with what the chain says about it now. */
export interface ChannelStatus extends ChannelRecord {
  state: "open" | "closing";
  depositOnChain: bigint;
  paidOnChain: bigint;
  /** When a requested close lets the payer withdraw (chain seconds; 0 while open). */
  closesAt: bigint;
  finalised: boolean;
}

/** What checking a record against the chain found. */
export type ChannelCheck =
  | { state: "open" | "closing"; status: ChannelStatus }
  | { state: "archived"; record: ArchivedChannelRecord }
  | { state: "none" };

/**
 * What the manager is about to do or just did with the user's money and records, for an app to
 * tell its user (the SDK never logs): opening and topping up are announced before the transaction.
 */
export type ChannelEvent =
  | { type: "opening"; payee: Address; deposit: bigint }
  | { type: "opened"; record: ChannelRecord; tx: Hex }
  | { type: "topping-up"; record: ChannelRecord; amount: bigint }
  | { type: "archived"; record: ArchivedChannelRecord };

export interface ChannelManagerInit {
  /**
   * Where the session key and channel records live: a data folder in Node (`channels.db`, SQLite,
   * mode 0600), an IndexedDB database name in a browser (default `postbox`).
   */
  location?: string | undefined;
  /** The same as `location` (its name before the SDK ran in browsers). */
  dataDir?: string | undefined;
  /** Records kept by the caller instead (then `location` is not opened, and not closed). */
  store?: ChannelStore | undefined;
  publicClient: PublicClient;
  /** The payer's wallet: funds channels (approveAndCall), closes and withdraws. */
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  chainId: number;
  snt: Address;
  registry: Address;
  channels: Address;
  /** The most the user accepts to pay for one page (token base units). */
  maxPageCost?: bigint | undefined;
  /**
   * The most one channel may ever authorise in total (token base units): a voucher above it is
   * refused with `PaymentRefusedError("spending cap reached")`, the client's own refusal (never
   * counted against a mailbox). Raise it to continue.
   */
  spendingCap?: bigint | undefined;
  /**
   * Tops a channel up by `amount` when what is left of its deposit after the next voucher would
   * fall below `below` (token base units). Without it, a low channel refuses with a typed error.
   */
  autoTopUp?: { below: bigint; amount: bigint } | undefined;
  /**
   * How many pages a voucher may pay ahead (default {@link DEFAULT_CREDIT_PAGES}; a whole number
   * from 1 to {@link MAX_CREDIT_PAGES}): the client authorises up to this many pages at their
   * largest beyond what it has spent — never beyond `spendingCap` or the deposit — and the mailbox
   * draws each page's actual cost from that credit with no new voucher. The most a mailbox could
   * take without serving is this many pages' worth. 1 signs a voucher for every page.
   */
  creditPages?: number | undefined;
}

/** Pages a voucher pays ahead unless `creditPages` says otherwise. */
export const DEFAULT_CREDIT_PAGES = 8;
/** The most `creditPages` may be. */
export const MAX_CREDIT_PAGES = 1_000;

/**
 * A page in flight on a voucher (its largest cost), held against the channel's credit until its
 * answer is recorded, the query is {@link ChannelManager.release}d, or {@link HOLD_MS} pass.
 */
interface Hold {
  max: bigint;
  at: number;
  /** Which hand-out of the channel's vouchers this was (see `Credit.handed`). */
  seq: number;
  /** Whether no other page was in flight on the channel when it was handed out. */
  alone: boolean;
  released: boolean;
}

/** The voucher signed last on a channel (reused while its credit covers a page) and its pages in flight. */
interface Credit {
  amount: bigint;
  signature: Uint8Array;
  holds: Hold[];
  /** Vouchers handed out so far (new ones and draws). */
  handed: number;
}

/** A hold outlives any query's time-outs (15 s, and once more on a fresh stream) after this. */
const HOLD_MS = 60_000;

/**
 * The client's side of paid history: it keeps a session key (so a chat app signs vouchers without
 * wallet pop-ups), finds or opens a channel to a mailbox with one `approveAndCall`, tops it up,
 * signs cumulative vouchers that pay up to `creditPages` pages ahead — never above the mailbox's
 * on-chain price or the user's caps — and hands the same voucher out again while its credit
 * covers the next page; it records what the mailbox charged, and settles, closes and withdraws.
 * Its records survive a restart, so no credit is lost.
 *
 * A record belongs to one chain and PaymentChannels contract. Before its first use in a process it
 * is checked against the chain (the channel exists, pays this payee, was opened by this wallet for
 * this session key, is not finalised): a record that does not hold — a local chain that was
 * restarted gives the same chain id and addresses, so only the channel's state tells — is set
 * aside as archived (an `archived` event) and a new channel is opened in its place.
 */
export class ChannelManager {
  readonly #init: ChannelManagerInit;
  readonly #store: ChannelStore;
  /** Whether the manager opened its store (and closes it). */
  readonly #ownsStore: boolean;
  /** This deployment's records, by payee (lower case). */
  readonly #records = new Map<string, ChannelRecord>();
  readonly #prices = new Map<
    string,
    { at: number; price: { pricePerQuery: bigint; pricePerMessage: bigint } }
  >();
  readonly session: PrivateKeyAccount;
  readonly #signVoucher: (voucher: Voucher) => Uint8Array;
  /** The wallet's transactions, one at a time (two at once would race for the same nonce). */
  #queue: Promise<unknown> = Promise.resolve();
  /** Channels checked against the chain in this process. */
  readonly #checked = new Set<Hex>();
  /** Checks under way, so that one record is checked (and archived) once. */
  readonly #checking = new Map<Hex, Promise<ChannelCheck>>();
  readonly #listeners = new Set<(event: ChannelEvent) => void>();
  readonly #creditPages: bigint;
  /** Per channel: the voucher signed last in this process and the pages in flight on its credit. */
  readonly #credit = new Map<Hex, Credit>();
  /** The hold of each voucher handed out (while the voucher object lives). */
  readonly #holds = new WeakMap<object, Hold>();

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Opens the records (`init.store`, or the platform's store at `init.location`) and reads the
   * session key (made on first use) and this deployment's records. Records an earlier version kept
   * without naming their chain are taken as this deployment's; the check before first use archives
   * those that do not hold.
   */
  static async open(
    platform: Pick<Platform, "name" | "openChannelStore" | "crypto">,
    init: ChannelManagerInit,
  ): Promise<ChannelManager> {
    const pages = init.creditPages ?? DEFAULT_CREDIT_PAGES;
    if (!Number.isInteger(pages) || pages < 1 || pages > MAX_CREDIT_PAGES)
      throw new BaseError("creditPages must be a whole number from 1 to 1000", { details: String(pages) });
    const location = init.location ?? init.dataDir ?? (platform.name === "browser" ? "postbox" : undefined);
    if (!init.store && location === undefined)
      throw new BaseError("where are the channel records kept?", { details: "give location (or store)" });
    const store = init.store ?? (await platform.openChannelStore(location!));
    try {
      const loaded = await store.load(deploymentOf(init));
      const sessionKey = loaded.sessionKey ?? (await store.saveSessionKey(generatePrivateKey()));
      const mine = loaded.records.filter((r) => sameDeployment(r, init));
      return new ChannelManager(init, store, !init.store, sessionKey, mine, platform.crypto);
    } catch (err) {
      if (!init.store) await store.close().catch(() => undefined);
      throw err;
    }
  }

  private constructor(
    init: ChannelManagerInit,
    store: ChannelStore,
    ownsStore: boolean,
    sessionKey: Hex,
    records: ChannelRecord[],
    crypto: Platform["crypto"],
  ) {
    this.#init = init;
    this.#creditPages = BigInt(init.creditPages ?? DEFAULT_CREDIT_PAGES);
    this.#store = store;
    this.#ownsStore = ownsStore;
    for (const r of records) this.#records.set(r.payee.toLowerCase(), r);
    this.session = privateKeyToAccount(sessionKey);
    this.#signVoucher = createVoucherSigner(
      sessionKey,
      { chainId: init.chainId, verifyingContract: init.channels },
      crypto,
    );
  }

  /** Registers a listener for what the manager does with channels; returns its remover. */
  onEvent(listener: (event: ChannelEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: ChannelEvent): void {
    for (const l of this.#listeners) l(event);
  }

  /** The key of this deployment's record of the channel to `payee`. */
  #key(payee: Address): ChannelKey {
    return { chainId: this.#init.chainId, channelsContract: this.#init.channels, payee };
  }

  /** Writes a record now (a voucher's authorisation is written before the voucher leaves). */
  #write(record: ChannelRecord): Promise<void> {
    this.#dirty.delete(record);
    return this.#store.put(record);
  }

  /** Records changed in memory whose write waits for the end of this task. */
  readonly #dirty = new Set<ChannelRecord>();
  #flushing = false;
  /** Background writes not yet done (awaited by close; their failure surfaces there). */
  #writes: Promise<void> = Promise.resolve();

  /**
   * Writes `record` once the current task ends, unless something writes it first: a query loop
   * records a page's spent amount and may sign the next voucher at once, and that voucher's write
   * (which must precede it) then carries both. A small write with no fsync: what a crash could lose
   * is at most the last amounts, which the mailbox's reported `spent` reconciles.
   */
  #writeSoon(record: ChannelRecord): void {
    this.#dirty.add(record);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      this.#flushing = false;
      for (const r of this.#dirty) {
        const write = this.#write(r);
        this.#writes = this.#writes.then(() => write);
      }
    });
  }

  /** Writes what is pending and closes the records (unless they were handed in). */
  async close(): Promise<void> {
    for (const r of this.#dirty) {
      const write = this.#write(r);
      this.#writes = this.#writes.then(() => write);
    }
    try {
      await this.#writes;
    } finally {
      if (this.#ownsStore) await this.#store.close();
    }
  }

  /** This deployment's record of the channel to `payee`, if one was opened from here. */
  channelTo(payee: Address): ChannelRecord | undefined {
    return this.#records.get(payee.toLowerCase());
  }

  /**
   * The channel to `payee`: the recorded one once the chain confirms it (checked on first use in
   * this process; a record that does not hold is archived), or a new one funded with `deposit` (one
   * transaction: SNT approveAndCall), announced by an `opening` event before it is sent.
   */
  open(payee: Address, deposit: bigint): Promise<ChannelRecord> {
    return this.#serial(() => this.#open(payee, deposit));
  }

  async #open(payee: Address, deposit: bigint): Promise<ChannelRecord> {
    const existing = this.channelTo(payee);
    if (existing) {
      if (this.#checked.has(existing.channelId)) return existing;
      if ((await this.#check(existing)).state !== "archived") return existing;
    }
    const { wallet, publicClient } = this.#init;
    const salt = keccak256(toHex(`${Date.now()}:${Math.random()}`));
    const channelId = computeChannelId({
      payer: wallet.account.address,
      payee,
      signer: this.session.address,
      salt,
    });
    const record: ChannelRecord = {
      channelId,
      payee,
      salt,
      deposit: deposit.toString(),
      spent: "0",
      authorized: "0",
      chainId: this.#init.chainId,
      channelsContract: this.#init.channels,
    };
    this.#emit({ type: "opening", payee, deposit });
    // Record before sending: the id is computable in advance, so a crash mid-way loses nothing.
    this.#records.set(payee.toLowerCase(), record);
    await this.#write(record);
    const forget = async () => {
      this.#records.delete(payee.toLowerCase());
      await this.#store.remove(this.#key(payee));
    };
    let hash: Hex;
    try {
      hash = await wallet.writeContract({
        ...openChannelRequest({
          snt: this.#init.snt,
          channels: this.#init.channels,
          payee,
          signer: this.session.address,
          deposit,
          salt,
        }),
        chain: wallet.chain,
      });
    } catch (err) {
      // Refused before it was sent (the simulation reverted: no SNT, no gas): nothing to keep.
      if (err instanceof ContractFunctionExecutionError) await forget();
      throw err;
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") {
      await forget();
      throw new BaseError("opening the channel failed", { details: hash });
    }
    this.#checked.add(channelId);
    this.#emit({ type: "opened", record, tx: hash });
    return record;
  }

  /** Adds to a channel's deposit (announced by a `topping-up` event before it is sent). */
  topUp(payee: Address, amount: bigint): Promise<ChannelRecord> {
    return this.#serial(() => this.#topUp(payee, amount));
  }

  async #topUp(payee: Address, amount: bigint): Promise<ChannelRecord> {
    const record = await this.#usable(payee);
    const { wallet, publicClient } = this.#init;
    this.#emit({ type: "topping-up", record, amount });
    const hash = await wallet.writeContract({
      ...topUpChannelRequest({
        snt: this.#init.snt,
        channels: this.#init.channels,
        channelId: record.channelId,
        amount,
      }),
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BaseError("top-up failed", { details: hash });
    record.deposit = (await this.#onChain(record.channelId)).deposit.toString();
    await this.#write(record);
    return record;
  }

  /**
   * The voucher for the next query to `payee`, at the mailbox's on-chain price. While the voucher
   * signed last covers what was spent, the pages in flight and this page at its largest, that same
   * voucher again (a draw on its credit: no signature, no write). Otherwise a new one for what was
   * spent plus `creditPages` pages at their largest (one page with `creditPages` 1) beside those in
   * flight, within the user's spending cap and the deposit, written down before it leaves. Refuses
   * a quote above the chain's price or the user's caps, and a record that does not hold on this
   * chain ({@link StaleChannelError}, after archiving it). Give the voucher back to
   * {@link record} with the answer, or to {@link release} if none came.
   */
  async voucherFor(
    payee: Address,
    pageSize: number,
    quote?: Quote,
  ): Promise<NonNullable<StoreQuery["voucher"]>> {
    const record = await this.#usable(payee);
    const price = await this.#price(payee);
    if (quote) {
      const q = {
        pricePerQuery: bytesToBigint(quote.pricePerQuery),
        pricePerMessage: bytesToBigint(quote.pricePerMessage),
      };
      if (q.pricePerQuery > price.pricePerQuery || q.pricePerMessage > price.pricePerMessage) {
        throw new PaymentRefusedError("the mailbox quoted more than its on-chain price");
      }
    }
    const max = pageCost(price, pageSize);
    if (this.#init.maxPageCost !== undefined && max > this.#init.maxPageCost) {
      throw new PaymentRefusedError(
        `a ${pageSize}-message page costs up to ${formatSnt(max)}, above your cap of ${formatSnt(this.#init.maxPageCost)}`,
      );
    }
    let plan = this.#plan(record, payee, max);
    const top = this.#init.autoTopUp;
    if (plan.sign && top && BigInt(record.deposit) - plan.amount < top.below) {
      await this.topUp(payee, top.amount);
      plan = this.#plan(record, payee, max); // what was spent or signed meanwhile counts too
    }
    // From here to the voucher nothing waits: two calls at once never sign from the same figures.
    if (!plan.sign) return this.#hand(record, max);
    const deposit = BigInt(record.deposit);
    if (plan.least > deposit) {
      throw new PaymentRefusedError(`the channel to ${payee} needs a top-up`, {
        details: `the next voucher (${formatSnt(plan.least)}) is above its deposit (${formatSnt(deposit)})`,
      });
    }
    const amount = plan.amount < deposit ? plan.amount : deposit;
    const voucher = this.#voucher(record, amount);
    record.authorized = amount.toString();
    if (this.#creditPages > 1n) {
      const credit = this.#creditOf(record.channelId);
      credit.amount = amount;
      credit.signature = voucher.signature;
      this.#hold(voucher, credit, max);
    }
    try {
      // Persist the authorisation before it leaves: after a crash we never sign below it.
      await this.#write(record);
    } catch (err) {
      this.release(voucher);
      throw err;
    }
    return voucher;
  }

  /**
   * Whether the next voucher to `payee` is the one signed last (its credit covers what was spent,
   * the pages in flight and this page at its largest) or a new one: `amount` within the spending
   * cap, at least `least` (what this page needs above the last authorisation).
   */
  #plan(
    record: ChannelRecord,
    payee: Address,
    max: bigint,
  ): { sign: false } | { sign: true; amount: bigint; least: bigint } {
    const spent = BigInt(record.spent);
    const authorized = BigInt(record.authorized);
    const credit = this.#creditPages > 1n ? this.#creditOf(record.channelId) : undefined;
    const held = credit ? this.#held(credit) : 0n;
    const cap = this.#init.spendingCap;
    // A draw spends within what was authorised, and within the cap if it was lowered since.
    const covered = spent + held + max;
    if (credit && authorized >= covered && (cap === undefined || covered <= cap)) return { sign: false };
    // The least a new voucher may be: it covers this page and is above the last one.
    let least = spent + max;
    if (least <= authorized) least = authorized + 1n;
    let amount = spent + held + this.#creditPages * max;
    if (amount < least) amount = least;
    if (cap !== undefined && least > cap) {
      throw new PaymentRefusedError("spending cap reached", {
        details: `the next voucher to ${payee} (${formatSnt(least)}) would take the channel above your spending cap of ${formatSnt(cap)}: raise it to continue`,
      });
    }
    if (cap !== undefined && amount > cap) amount = cap;
    return { sign: true, amount, least };
  }

  /** The credit of a channel (created empty: nothing signed in this process yet). */
  #creditOf(channelId: Hex): Credit {
    let credit = this.#credit.get(channelId);
    if (!credit) {
      credit = { amount: -1n, signature: new Uint8Array(0), holds: [], handed: 0 };
      this.#credit.set(channelId, credit);
    }
    return credit;
  }

  /** What the pages in flight on a channel may cost at most (holds past their time are dropped). */
  #held(credit: Credit): bigint {
    const now = Date.now();
    credit.holds = credit.holds.filter((h) => !h.released && now - h.at < HOLD_MS);
    return credit.holds.reduce((sum, h) => sum + h.max, 0n);
  }

  /**
   * Hands out the channel's last authorised voucher again (a draw on its credit; signed again if
   * this process has not signed it: the record says it was authorised), holding `max` against it.
   */
  #hand(record: ChannelRecord, max: bigint): NonNullable<StoreQuery["voucher"]> {
    const credit = this.#creditOf(record.channelId);
    const authorized = BigInt(record.authorized);
    if (credit.amount !== authorized) {
      credit.amount = authorized;
      credit.signature = this.#signVoucher({ channelId: record.channelId, cumulativeAmount: authorized });
    }
    const out = {
      channelId: fromBareHex(record.channelId),
      cumulativeAmount: bigintToBytes(authorized),
      signature: credit.signature,
    };
    this.#hold(out, credit, max);
    return out;
  }

  #hold(voucher: object, credit: Credit, max: bigint): void {
    const alone = this.#held(credit) === 0n;
    const hold: Hold = { max, at: Date.now(), seq: ++credit.handed, alone, released: false };
    credit.holds.push(hold);
    this.#holds.set(voucher, hold);
  }

  /**
   * Whether a refusal of `voucher` (from {@link voucherFor}) may come from other pages in flight on
   * the channel at the same time rather than from a fault — they used its credit up first, or a
   * newer voucher signed for one of them reached the mailbox first — so that asking for the next
   * voucher cures it. Never with `creditPages` 1, nor for a query that was alone in flight.
   */
  mayRetry(payee: Address, voucher: object): boolean {
    const hold = this.#holds.get(voucher);
    const record = this.channelTo(payee);
    const credit = record && this.#credit.get(record.channelId);
    return hold !== undefined && credit !== undefined && (!hold.alone || credit.handed !== hold.seq);
  }

  /** Ends the hold of a voucher whose query got no answer (no need when its answer was recorded). */
  release(voucher: object): void {
    const hold = this.#holds.get(voucher);
    if (hold) hold.released = true;
  }

  /**
   * The mailbox's on-chain effective price, read at most every 10 s: an increase is announced
   * `priceDelay` ahead, so a short cache never pays a price the chain has not made effective.
   */
  async #price(payee: Address): Promise<{ pricePerQuery: bigint; pricePerMessage: bigint }> {
    const cached = this.#prices.get(payee.toLowerCase());
    if (cached && Date.now() - cached.at < 10_000) return cached.price;
    const onChain = await this.#init.publicClient.readContract({
      address: this.#init.registry,
      abi: mailboxRegistryAbi,
      functionName: "effectivePrice",
      args: [payee],
    });
    const price = { pricePerQuery: onChain[0], pricePerMessage: onChain[1] };
    this.#prices.set(payee.toLowerCase(), { at: Date.now(), price });
    return price;
  }

  /** A settlement voucher for exactly what was spent, so the mailbox redeems only that. */
  async settlementFor(payee: Address): Promise<NonNullable<StoreQuery["voucher"]>> {
    const record = this.#require(payee);
    return this.#voucher(record, BigInt(record.spent));
  }

  #voucher(record: ChannelRecord, amount: bigint): NonNullable<StoreQuery["voucher"]> {
    return {
      channelId: fromBareHex(record.channelId),
      cumulativeAmount: bigintToBytes(amount),
      signature: this.#signVoucher({ channelId: record.channelId, cumulativeAmount: amount }),
    };
  }

  /**
   * Records what the mailbox reports after a query; returns whether our figure changed. The
   * mailbox's figure is authoritative when it lies within what we authorised; above it, something
   * is wrong and we keep ours. A refusal's quote may only raise it: a mailbox whose answer we lost
   * charged a page we never saw, and until we know its figure, every voucher we sign falls short.
   * `voucher` (the one the query carried) ends its page's hold on the credit.
   */
  record(
    payee: Address,
    response: Pick<StoreResponse, "status" | "spent" | "quote">,
    voucher?: object,
  ): boolean {
    const record = this.#require(payee);
    const credit = this.#credit.get(record.channelId);
    // Whether other pages were in flight on the channel beside this one (then answers can arrive
    // out of order, and a lower figure than ours may be an earlier page's).
    let concurrent = false;
    if (credit) {
      // The page is no longer in flight (without its voucher: the oldest page in flight).
      const hold = voucher ? this.#holds.get(voucher) : credit.holds.find((h) => !h.released);
      if (hold) hold.released = true;
      concurrent = hold ? !hold.alone || credit.handed !== hold.seq : this.#held(credit) > 0n;
    }
    const ok = response.status === StatusCode.OK;
    const reported = ok ? response.spent : response.quote?.spent;
    if (!reported || reported.length === 0) return false;
    const spent = bytesToBigint(reported);
    if (spent > BigInt(record.authorized) || (!ok && spent < BigInt(record.spent))) return false;
    // With pages in flight at once, an earlier page's answer can arrive after a later one's: a
    // lower figure is taken only from a page that was alone in flight (the mailbox's own figure,
    // after it lost charges in a crash, say).
    if (spent < BigInt(record.spent) && concurrent) return false;
    if (spent.toString() === record.spent) return false;
    record.spent = spent.toString();
    this.#writeSoon(record);
    return true;
  }

  /**
   * Checks the channel to `payee` against the chain now (after a mailbox refused a voucher: was it
   * our record?). A record that does not hold is archived; the next {@link open} opens a new one.
   */
  reconcile(payee: Address): Promise<ChannelCheck> {
    const record = this.channelTo(payee);
    return record ? this.#check(record) : Promise.resolve({ state: "none" });
  }

  /** Asks to close: the mailbox may still redeem until the grace period ends. */
  async requestClose(payee: Address): Promise<Hex> {
    const record = await this.#usable(payee);
    const receipt = await this.#serial(() => this.#send("requestClose", record.channelId));
    return receipt.transactionHash;
  }

  /** After the grace period: takes back what was not paid (as the chain's `ChannelFinalised` says). */
  async withdraw(payee: Address): Promise<{ tx: Hex; paid: bigint; refund: bigint }> {
    const record = await this.#usable(payee);
    const receipt = await this.#serial(() => this.#send("withdraw", record.channelId));
    this.#records.delete(payee.toLowerCase());
    this.#credit.delete(record.channelId);
    this.#dirty.delete(record); // a pending write must not bring the record back
    await this.#store.remove(this.#key(payee));
    const [finalised] = parseEventLogs({
      abi: paymentChannelsAbi,
      eventName: "ChannelFinalised",
      logs: receipt.logs,
    });
    return {
      tx: receipt.transactionHash,
      paid: finalised?.args.paid ?? 0n,
      refund: finalised?.args.refund ?? 0n,
    };
  }

  /** The channel to `payee` with its state on the chain now ({@link StaleChannelError} if it does not hold). */
  async status(payee: Address): Promise<ChannelStatus> {
    const check = await this.#check(this.#require(payee));
    if (check.state === "archived") throw stale(check.record);
    if (check.state === "none") throw this.#missing(payee);
    return check.status;
  }

  /**
   * Every channel this data folder knows: this deployment's, each checked against the chain now
   * (those that do not hold are archived), the archived ones, and those of other deployments.
   */
  async list(): Promise<{
    channels: ChannelStatus[];
    archived: ArchivedChannelRecord[];
    elsewhere: ChannelRecord[];
  }> {
    const channels: ChannelStatus[] = [];
    for (const record of [...this.#records.values()]) {
      const check = await this.#check(record);
      if (check.state === "open" || check.state === "closing") channels.push(check.status);
    }
    const stored = await this.#store.load(deploymentOf(this.#init));
    const archived = stored.archived;
    const elsewhere = stored.records.filter((r) => !sameDeployment(r, this.#init));
    archived.sort((a, b) => a.archivedAt - b.archivedAt);
    return { channels, archived, elsewhere };
  }

  /**
   * The chain's time now (seconds): the pending block's timestamp, which is what a transaction
   * sent now is judged by (on a quiet local chain the latest block can be minutes old), or the
   * latest block's where the node keeps no pending block.
   */
  async chainTime(): Promise<bigint> {
    const { publicClient } = this.#init;
    const block = await publicClient
      .getBlock({ blockTag: "pending" })
      .catch(() => publicClient.getBlock({ blockTag: "latest" }));
    return block.timestamp;
  }

  async #send(fn: "requestClose" | "withdraw", id: Hex) {
    const { wallet, publicClient } = this.#init;
    const request = { channels: this.#init.channels, channelId: id };
    const hash = await wallet.writeContract({
      ...(fn === "requestClose" ? requestCloseRequest(request) : withdrawChannelRequest(request)),
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BaseError(`${fn} failed`, { details: hash });
    return receipt;
  }

  #missing(payee: Address): BaseError {
    return new BaseError("no channel to this mailbox", { details: `open one first (${payee})` });
  }

  #require(payee: Address): ChannelRecord {
    const r = this.channelTo(payee);
    if (!r) throw this.#missing(payee);
    return r;
  }

  /** The record of the channel to `payee`, checked against the chain once per process. */
  async #usable(payee: Address): Promise<ChannelRecord> {
    const record = this.#require(payee);
    if (this.#checked.has(record.channelId)) return record;
    const check = await this.#check(record);
    if (check.state === "archived") throw stale(check.record);
    return record;
  }

  /** Checks a record against the chain (one check at a time per channel). */
  #check(record: ChannelRecord): Promise<ChannelCheck> {
    let running = this.#checking.get(record.channelId);
    if (!running) {
      running = this.#compare(record).finally(() => this.#checking.delete(record.channelId));
      this.#checking.set(record.channelId, running);
    }
    return running;
  }

  async #compare(record: ChannelRecord): Promise<ChannelCheck> {
    const c = await this.#onChain(record.channelId);
    if (this.channelTo(record.payee) !== record) {
      // Replaced or withdrawn meanwhile.
      const current = this.channelTo(record.payee);
      return current ? this.#compare(current) : { state: "none" };
    }
    const reason = this.#staleReason(record, c);
    if (reason) return { state: "archived", record: await this.#archive(record, reason) };
    // The chain knows best what was deposited (a top-up from the dashboard) and redeemed.
    const before = JSON.stringify(record);
    record.deposit = c.deposit.toString();
    if (c.paid > BigInt(record.spent)) record.spent = c.paid.toString();
    if (c.paid > BigInt(record.authorized)) record.authorized = c.paid.toString();
    if (JSON.stringify(record) !== before) await this.#write(record);
    this.#checked.add(record.channelId);
    const closesAt = BigInt(c.closesAt);
    return {
      state: closesAt === 0n ? "open" : "closing",
      status: {
        ...record,
        state: closesAt === 0n ? "open" : "closing",
        depositOnChain: c.deposit,
        paidOnChain: c.paid,
        closesAt,
        finalised: c.finalised,
      },
    };
  }

  /** Why a record does not hold on this chain, or undefined when it does. */
  #staleReason(
    record: ChannelRecord,
    c: { payer: Address; payee: Address; signer: Address; finalised: boolean },
  ): string | undefined {
    const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
    if (same(c.payer, ZERO))
      return `not on this chain (chain ${this.#init.chainId}, channels contract ${this.#init.channels}): the chain was reset or replaced, or the channel's opening never confirmed`;
    if (c.finalised) return "closed and withdrawn on this chain";
    if (!same(c.payer, this.#init.wallet.account.address)) return `opened by another wallet (${c.payer})`;
    if (!same(c.payee, record.payee)) return `pays another address (${c.payee})`;
    if (!same(c.signer, this.session.address)) return `vouchers are signed by another key (${c.signer})`;
    return undefined;
  }

  /** Sets a record aside as archived, in one commit with its removal. */
  async #archive(record: ChannelRecord, reason: string): Promise<ArchivedChannelRecord> {
    const archived: ArchivedChannelRecord = { ...record, reason, archivedAt: Date.now() };
    await this.#store.archive(archived);
    this.#records.delete(record.payee.toLowerCase());
    this.#credit.delete(record.channelId);
    this.#dirty.delete(record);
    this.#checked.delete(record.channelId);
    this.#emit({ type: "archived", record: archived });
    return archived;
  }

  #onChain(id: Hex) {
    return this.#init.publicClient.readContract({
      address: this.#init.channels,
      abi: paymentChannelsAbi,
      functionName: "getChannel",
      args: [id],
    });
  }
}

function stale(record: ArchivedChannelRecord): StaleChannelError {
  return new StaleChannelError(
    `the channel to ${record.payee} does not hold on this chain: it was archived`,
    {
      details: `${record.channelId}: ${record.reason}`,
    },
  );
}

const ZERO = "0x0000000000000000000000000000000000000000";

function deploymentOf(init: Pick<ChannelManagerInit, "chainId" | "channels">): ChannelDeployment {
  return { chainId: init.chainId, channelsContract: init.channels };
}

function sameDeployment(r: ChannelRecord, init: Pick<ChannelManagerInit, "chainId" | "channels">): boolean {
  return r.chainId === init.chainId && r.channelsContract.toLowerCase() === init.channels.toLowerCase();
}
