import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { mailboxRegistryAbi, paymentChannelsAbi, sntAbi } from "@postbox/contracts";
import {
  bigintToBytes,
  bytesToBigint,
  computeChannelId,
  fromHex,
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
  encodeFunctionData,
  type Hex,
  keccak256,
  type PublicClient,
  type Transport,
  toHex,
  type WalletClient,
} from "viem";
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import { BaseError } from "./errors.js";
import { createVoucherSigner } from "./voucher-signer.js";

/** A payment was refused by the client's own rules (price above the chain's or the user's cap). */
export class PaymentRefusedError extends BaseError {
  override name = "PaymentRefusedError" as const;
}

/** What the client remembers about one channel, persisted in its data folder. */
export interface ChannelRecord {
  channelId: Hex;
  payee: Address;
  salt: Hex;
  deposit: string;
  /** What the mailbox says it has charged (cumulative). */
  spent: string;
  /** The highest voucher signed (cumulative): never sign below it again. */
  authorized: string;
}

interface State {
  sessionKey: Hex;
  channels: Record<string, ChannelRecord>;
}

export interface ChannelManagerInit {
  /** Where the session key and channel records live (channels.db, SQLite, mode 0600). */
  dataDir: string;
  publicClient: PublicClient;
  /** The payer's wallet: funds channels (approveAndCall), closes and withdraws. */
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  chainId: number;
  snt: Address;
  registry: Address;
  channels: Address;
  /** The most the user accepts to pay for one page (token base units). */
  maxPageCost?: bigint;
  /**
   * Tops a channel up by `amount` when what is left of its deposit after the next voucher would
   * fall below `below` (token base units). Without it, a low channel refuses with a typed error.
   */
  autoTopUp?: { below: bigint; amount: bigint };
}

/**
 * The client's side of paid history: it keeps a session key (so a chat app signs vouchers without
 * wallet pop-ups), finds or opens a channel to a mailbox with one `approveAndCall`, tops it up,
 * signs one cumulative voucher per query — never above the mailbox's on-chain price or the user's
 * cap — records what the mailbox charged, and settles, closes and withdraws. Its records survive a
 * restart, so no credit is lost.
 */
export class ChannelManager {
  readonly #init: ChannelManagerInit;
  #db!: DatabaseSync;
  #put!: StatementSync;
  #delete!: StatementSync;
  #state: State;
  readonly #prices = new Map<
    string,
    { at: number; price: { pricePerQuery: bigint; pricePerMessage: bigint } }
  >();
  readonly session: PrivateKeyAccount;
  readonly #signVoucher: (voucher: Voucher) => Uint8Array;
  /** The wallet's transactions, one at a time (two at once would race for the same nonce). */
  #queue: Promise<unknown> = Promise.resolve();

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  constructor(init: ChannelManagerInit) {
    this.#init = init;
    this.#state = this.#load();
    this.session = privateKeyToAccount(this.#state.sessionKey);
    this.#signVoucher = createVoucherSigner(this.#state.sessionKey, {
      chainId: init.chainId,
      verifyingContract: init.channels,
    });
  }

  /**
   * Opens `channels.db` (SQLite, WAL, mode 0600) and reads the session key and channel records; a
   * `channels.json` left by an earlier version is imported once. A record is rewritten on its own
   * when it changes (once or twice per paid page: see `#writeSoon`), a small write with no fsync:
   * what a crash or a power cut could lose is at most the last amounts, which the mailbox's
   * reported `spent` reconciles.
   */
  #load(): State {
    let db: DatabaseSync;
    try {
      mkdirSync(this.#init.dataDir, { recursive: true });
      const path = join(this.#init.dataDir, "channels.db");
      // Created 0600 before SQLite opens it: its -wal and -shm files take the same mode.
      if (!existsSync(path)) writeFileSync(path, "", { mode: 0o600 });
      db = new DatabaseSync(path);
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
        CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;`);
    } catch (err) {
      throw new BaseError("cannot open the channel records", { cause: err, details: this.#init.dataDir });
    }
    this.#db = db;
    this.#put = db.prepare("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)");
    this.#delete = db.prepare("DELETE FROM records WHERE key = ?");
    const rows = db.prepare("SELECT key, value FROM records").all() as { key: string; value: string }[];
    const state: State = { sessionKey: "0x", channels: {} };
    for (const { key, value } of rows) {
      if (key === "sessionKey") state.sessionKey = value as Hex;
      else if (key.startsWith("channel:")) state.channels[key.slice(8)] = JSON.parse(value) as ChannelRecord;
    }
    if (state.sessionKey !== "0x") return state;
    const legacy = join(this.#init.dataDir, "channels.json");
    let imported: State | undefined;
    try {
      imported = JSON.parse(readFileSync(legacy, "utf8")) as State;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        throw new BaseError("cannot read the channel records", { cause: err, details: legacy });
      }
    }
    const initial = imported ?? { sessionKey: generatePrivateKey(), channels: {} };
    db.exec("BEGIN IMMEDIATE");
    this.#put.run("sessionKey", initial.sessionKey);
    for (const record of Object.values(initial.channels)) this.#write(record);
    db.exec("COMMIT");
    if (imported) renameSync(legacy, `${legacy}.imported`);
    return initial;
  }

  #write(record: ChannelRecord): void {
    this.#dirty.delete(record);
    this.#put.run(`channel:${record.payee.toLowerCase()}`, JSON.stringify(record));
  }

  /** Records changed in memory whose write waits for the end of this turn of the event loop. */
  readonly #dirty = new Set<ChannelRecord>();
  #flushing: ReturnType<typeof setImmediate> | undefined;

  /**
   * Writes `record` at the end of this turn of the event loop, unless something writes it first:
   * a query loop records a page's spent amount and signs the next voucher in one turn, and the
   * voucher's write (which must precede it) then carries both.
   */
  #writeSoon(record: ChannelRecord): void {
    this.#dirty.add(record);
    this.#flushing ??= setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushing = undefined;
    if (!this.#db.isOpen) return;
    for (const record of this.#dirty) this.#write(record);
  }

  /** Writes what is pending and closes the records database. */
  close(): void {
    if (this.#flushing) clearImmediate(this.#flushing);
    this.#flush();
    if (this.#db.isOpen) this.#db.close();
  }

  /** The channel to `payee`, if one was opened from here. */
  channelTo(payee: Address): ChannelRecord | undefined {
    return this.#state.channels[payee.toLowerCase()];
  }

  /** Opens a channel to `payee` (one transaction: SNT approveAndCall), or returns the open one. */
  open(payee: Address, deposit: bigint): Promise<ChannelRecord> {
    return this.#serial(() => this.#open(payee, deposit));
  }

  async #open(payee: Address, deposit: bigint): Promise<ChannelRecord> {
    const existing = this.channelTo(payee);
    if (existing) {
      const c = await this.#onChain(existing.channelId);
      if (c.payer !== ZERO && !c.finalised) return existing;
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
    };
    // Record before sending: the id is computable in advance, so a crash mid-way loses nothing.
    this.#state.channels[payee.toLowerCase()] = record;
    this.#write(record);
    const hash = await wallet.writeContract({
      address: this.#init.snt,
      abi: sntAbi,
      functionName: "approveAndCall",
      args: [
        this.#init.channels,
        deposit,
        encodeFunctionData({
          abi: paymentChannelsAbi,
          functionName: "open",
          args: [payee, this.session.address, 0n, salt],
        }),
      ],
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BaseError("opening the channel failed", { details: hash });
    return record;
  }

  /** Adds to a channel's deposit. */
  topUp(payee: Address, amount: bigint): Promise<ChannelRecord> {
    return this.#serial(() => this.#topUp(payee, amount));
  }

  async #topUp(payee: Address, amount: bigint): Promise<ChannelRecord> {
    const record = this.#require(payee);
    const { wallet, publicClient } = this.#init;
    const hash = await wallet.writeContract({
      address: this.#init.snt,
      abi: sntAbi,
      functionName: "approveAndCall",
      args: [
        this.#init.channels,
        amount,
        encodeFunctionData({ abi: paymentChannelsAbi, functionName: "topUp", args: [record.channelId, 0n] }),
      ],
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BaseError("top-up failed", { details: hash });
    record.deposit = (await this.#onChain(record.channelId)).deposit.toString();
    this.#write(record);
    return record;
  }

  /**
   * The voucher for the next query to `payee`: what was spent plus the page at its largest, at the
   * mailbox's on-chain price. Refuses a quote above the chain's price or the user's cap.
   */
  async voucherFor(
    payee: Address,
    pageSize: number,
    quote?: Quote,
  ): Promise<NonNullable<StoreQuery["voucher"]>> {
    const record = this.#require(payee);
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
      throw new PaymentRefusedError(`a page costs up to ${max}, above your cap of ${this.#init.maxPageCost}`);
    }
    let amount = BigInt(record.spent) + max;
    if (amount <= BigInt(record.authorized)) amount = BigInt(record.authorized) + 1n;
    const top = this.#init.autoTopUp;
    if (top && BigInt(record.deposit) - amount < top.below) {
      await this.topUp(payee, top.amount);
    }
    if (amount > BigInt(record.deposit)) {
      throw new PaymentRefusedError(`the channel needs a top-up: ${amount} > deposit ${record.deposit}`);
    }
    return this.#sign(record, amount);
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
    return this.#sign(record, BigInt(record.spent), false);
  }

  async #sign(record: ChannelRecord, amount: bigint, raise = true) {
    if (raise) {
      // Persist the authorisation before it leaves: after a crash we never sign below it.
      record.authorized = amount.toString();
      this.#write(record);
    }
    return {
      channelId: fromHex(record.channelId),
      cumulativeAmount: bigintToBytes(amount),
      signature: this.#signVoucher({ channelId: record.channelId, cumulativeAmount: amount }),
    };
  }

  /**
   * Records what the mailbox reports after a query; returns whether our figure changed. The
   * mailbox's figure is authoritative when it lies within what we authorised; above it, something
   * is wrong and we keep ours. A refusal's quote may only raise it: a mailbox whose answer we lost
   * charged a page we never saw, and until we know its figure, every voucher we sign falls short.
   */
  record(payee: Address, response: Pick<StoreResponse, "status" | "spent" | "quote">): boolean {
    const record = this.#require(payee);
    const ok = response.status === StatusCode.OK;
    const reported = ok ? response.spent : response.quote?.spent;
    if (!reported || reported.length === 0) return false;
    const spent = bytesToBigint(reported);
    if (spent > BigInt(record.authorized) || (!ok && spent < BigInt(record.spent))) return false;
    if (spent.toString() === record.spent) return false;
    record.spent = spent.toString();
    this.#writeSoon(record);
    return true;
  }

  /** Asks to close: the mailbox may still redeem until the grace period ends. */
  async requestClose(payee: Address): Promise<Hex> {
    const record = this.#require(payee);
    return this.#tx("requestClose", record.channelId);
  }

  /** After the grace period: takes back what was not paid. */
  async withdraw(payee: Address): Promise<Hex> {
    const record = this.#require(payee);
    const hash = await this.#tx("withdraw", record.channelId);
    delete this.#state.channels[payee.toLowerCase()];
    this.#dirty.delete(record); // a pending write must not bring the record back
    this.#delete.run(`channel:${payee.toLowerCase()}`);
    return hash;
  }

  async status(payee: Address) {
    const record = this.#require(payee);
    const c = await this.#onChain(record.channelId);
    return {
      ...record,
      paidOnChain: c.paid,
      depositOnChain: c.deposit,
      closesAt: c.closesAt,
      finalised: c.finalised,
    };
  }

  #tx(fn: "requestClose" | "withdraw", id: Hex): Promise<Hex> {
    return this.#serial(() => this.#send(fn, id));
  }

  async #send(fn: "requestClose" | "withdraw", id: Hex): Promise<Hex> {
    const { wallet, publicClient } = this.#init;
    const hash = await wallet.writeContract({
      address: this.#init.channels,
      abi: paymentChannelsAbi,
      functionName: fn,
      args: [id],
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new BaseError(`${fn} failed`, { details: hash });
    return hash;
  }

  #require(payee: Address): ChannelRecord {
    const r = this.channelTo(payee);
    if (!r) throw new BaseError("no channel to this mailbox", { details: `open one first (${payee})` });
    return r;
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

const ZERO = "0x0000000000000000000000000000000000000000";
