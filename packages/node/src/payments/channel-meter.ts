import {
  bigintToBytes,
  bytesEqual,
  bytesToBigint,
  InvalidVoucherError,
  pageCost,
  type Quote,
  StatusCode,
  type StoreQuery,
  toBareHex,
} from "@postbox/protocol";
import type { Hex } from "viem";
import { type Charge, ChargeRefused, type MeterDecision, type QueryMeter } from "../meter.js";
import type { ChainReader } from "./chain.js";
import type { ChannelAccount, Ledger } from "./ledger.js";
import { VoucherVerifier } from "./voucher-verifier.js";

export interface ChannelMeterInit {
  chain: ChainReader;
  ledger: Ledger;
  /** Refuse a channel whose close deadline is nearer than this (seconds): time to redeem first. */
  closeSafetyMarginSeconds: number;
  /** Most a channel may owe beyond what it has paid on-chain (token base units). */
  exposureCap: bigint;
  /** Called when a channel reaches half its exposure cap: a hint to redeem now. */
  onExposure?: (channelId: Hex) => void;
  /**
   * The longest a page drawn from a voucher's credit stays charged in memory only (ms, default
   * 1,000): a channel's spent amount is committed with every voucher the mailbox accepts, with
   * every settlement, on close, and at the latest this long after a draw.
   */
  commitDelayMs?: number;
}

type Refusal = { ok: false; status: StatusCode; desc: string; quote?: Quote };

/** A channel this process has charged: its account now, page by page, and what the ledger was given. */
interface Live {
  /** The account now: `spent` moves with every page; the vouchers with every acceptance. */
  account: ChannelAccount;
  /** The last account handed to the ledger (committed, or being committed). */
  written: ChannelAccount | undefined;
  /**
   * Vouchers that a higher one replaced while they were still above `spent` (ascending, at most
   * {@link EARLIER_KEPT}): the highest the spending passes becomes the settled (redeemable) one.
   */
  earlier: Voucher[];
  /** Ledger writes under way. */
  writes: number;
  /** The commit of draws, due `commitDelayMs` after the first one not yet written. */
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Channels kept in memory once they are idle and written (the ledger has the rest). */
const LIVE_CHANNELS = 10_000;
/** Replaced vouchers kept per channel (see `Live.earlier`). */
const EARLIER_KEPT = 4;

type Voucher = { amount: bigint; signature: Uint8Array };

/**
 * Paid access: every store query carries an EIP-712 voucher on a channel to this mailbox. A
 * voucher is accepted only if the channel is open on-chain and pays this operator, no close is due
 * within the safety margin, the signature is the channel's signer's (the same rules as the
 * contract), the amount is above every voucher accepted before, within the deposit, and covers the
 * page at its largest, and the unredeemed exposure stays under the cap.
 *
 * A voucher may pay ahead (a credit window): a query that carries the voucher accepted last again
 * draws its page from that voucher's credit while the credit covers the page at its largest, with
 * no signature check (the bytes are those accepted) and no ledger commit; so does one carrying a
 * voucher that the last replaced while it was still above the spent amount (queries in flight at
 * once arrive out of order). Below that, a voucher is stale. Queries on one channel are serialised,
 * so the spent amount moves page by page and never passes the accepted voucher.
 *
 * What is durable when: a newly accepted voucher is committed to the ledger with the spent amount
 * after its page, before that page is sent; so is a settlement. Pages drawn from credit are
 * charged in memory (and reported in each response) and committed with the next voucher, the next
 * settlement, on {@link close}, or `commitDelayMs` after the draw. A crash loses at most the charges
 * drawn since the last commit (pages served unpaid: the mailbox's loss, never the payer's), never an
 * accepted voucher; the redeemer claims only the settled voucher the ledger holds, which is never
 * above the spent amount committed with it.
 *
 * All of the above is one process's design, for a ledger only it writes (SQLite). On a ledger that
 * several nodes of the mailbox share (PostgreSQL: {@link Ledger.charge} is present) nothing is
 * kept in memory and the database decides each charge (see `#authorizeShared`).
 */
export class ChannelMeter implements QueryMeter {
  readonly mode = "paid" as const;
  readonly #init: ChannelMeterInit;
  readonly #locks = new Map<string, Promise<void>>();
  readonly #live = new Map<string, Live>();
  readonly #commitDelayMs: number;
  #closed = false;

  readonly #verifier: VoucherVerifier;

  constructor(init: ChannelMeterInit) {
    this.#init = init;
    this.#commitDelayMs = init.commitDelayMs ?? 1_000;
    this.#verifier = new VoucherVerifier({
      chainId: init.chain.settings.chainId,
      verifyingContract: init.chain.settings.channels,
    });
  }

  /** Commits every channel's charges not yet written, then stops the verifier's threads. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#verifier.close();
  }

  /** Commits every channel's charges drawn from credit and not yet written. */
  async flush(): Promise<void> {
    const writes = [...this.#live.values()].map((live) => this.#commit(live));
    const failed = (await Promise.allSettled(writes)).find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  async authorize(args: {
    query: import("@postbox/protocol").StoreQuery;
    maxMessages: number;
  }): Promise<MeterDecision> {
    const { chain, ledger } = this.#init;
    const price = await chain.price();
    const maxCost = pageCost(price, args.maxMessages);
    const quote = (spent: bigint): Quote => ({
      pricePerQuery: bigintToBytes(price.pricePerQuery),
      pricePerMessage: bigintToBytes(price.pricePerMessage),
      maxPageCost: bigintToBytes(maxCost),
      spent: bigintToBytes(spent),
      payee: chain.settings.operator,
      chainId: BigInt(chain.settings.chainId),
      channelsContract: chain.settings.channels,
    });
    const v = args.query.voucher;
    if (!v) {
      return refuse(
        StatusCode.PAYMENT_REQUIRED,
        `attach a voucher for at least ${maxCost} (see the quote)`,
        quote(0n),
      );
    }
    if (v.channelId.length !== 32)
      return refuse(StatusCode.INVALID_VOUCHER, "malformed voucher: a channel id is 32 bytes", quote(0n));
    const channelId = `0x${toBareHex(v.channelId)}` as Hex;
    if (v.cumulativeAmount.length > 32 || v.signature.length !== 65) {
      // Every refusal on a known channel carries what the channel has spent.
      const known = this.#live.get(channelId)?.account ?? (await ledger.get(v.channelId));
      return refuse(StatusCode.INVALID_VOUCHER, "malformed voucher", quote(known?.spent ?? 0n));
    }
    const amount = bytesToBigint(v.cumulativeAmount);
    if (ledger.charge) return this.#authorizeShared(channelId, v, amount, price, maxCost, quote);
    const release = await this.#lock(channelId);
    try {
      const channel = await chain.channel(channelId);
      const live = await this.#load(channelId, v.channelId);
      const account = live?.account;
      const spent = account?.spent ?? 0n;
      const refusal = (status: StatusCode, desc: string): Refusal => {
        release();
        return refuse(status, desc, quote(spent));
      };
      if (channel.payer === ZERO)
        return refusal(StatusCode.INVALID_VOUCHER, "no such channel (not opened, or not confirmed yet)");
      if (channel.finalised) return refusal(StatusCode.INVALID_VOUCHER, "the channel is closed");
      if (channel.payee.toLowerCase() !== chain.settings.operator.toLowerCase()) {
        return refusal(StatusCode.INVALID_VOUCHER, "the channel pays another mailbox");
      }
      const nowS = await chain.time();
      if (channel.closesAt !== 0n && channel.closesAt - nowS < BigInt(this.#init.closeSafetyMarginSeconds)) {
        return refusal(StatusCode.CHANNEL_CLOSING, "the channel is closing; open another");
      }
      // The voucher accepted last, again, draws on its credit; so does one it replaced while that
      // one was still above the spent amount (queries in flight at once can arrive out of order,
      // and such a voucher was never redeemable, so never public). The same bytes need no check;
      // a copy signed again (deterministic signatures make it the same bytes, but a signer need not
      // be) is checked like a new voucher.
      const earlier = live?.earlier ?? [];
      const overtaken = earlier.some((e) => amount === e.amount && bytesEqual(v.signature, e.signature));
      const draw = overtaken || (account !== undefined && amount === account.authorizedAmount);
      if (!overtaken && !(draw && bytesEqual(v.signature, account!.authorizedSignature))) {
        try {
          await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
        } catch (err) {
          if (err instanceof InvalidVoucherError)
            return refusal(StatusCode.INVALID_VOUCHER, `voucher: ${err.reason}`);
          throw err;
        }
      }
      if (account && amount < account.authorizedAmount && !overtaken) {
        return refusal(
          StatusCode.INVALID_VOUCHER,
          `stale or replayed voucher: amounts must increase past ${account.authorizedAmount}`,
        );
      }
      // What the page is paid from: the voucher accepted last (a draw), or this new one.
      const paying = draw
        ? { amount: account!.authorizedAmount, signature: account!.authorizedSignature }
        : { amount, signature: v.signature };
      if (paying.amount > channel.deposit) {
        return refusal(
          StatusCode.INSUFFICIENT_FUNDS,
          `voucher of ${paying.amount} exceeds the deposit of ${channel.deposit}; top up`,
        );
      }
      if (paying.amount < spent + maxCost) {
        if (draw) {
          // A voucher seen before whose credit is used up: what a replay of it meets too.
          return refusal(
            StatusCode.INVALID_VOUCHER,
            `replayed voucher: ${paying.amount - spent} of its credit is left, below this page's ${maxCost}; sign one past ${paying.amount}`,
          );
        }
        return refusal(
          StatusCode.INSUFFICIENT_FUNDS,
          `voucher must cover ${spent} spent plus ${maxCost} for this page`,
        );
      }
      if (paying.amount - channel.paid > this.#init.exposureCap) {
        this.#init.onExposure?.(channelId);
        return refusal(StatusCode.RATE_LIMITED, "too much unredeemed credit on this channel; retry shortly");
      }
      if (!draw && (amount - channel.paid) * 2n > this.#init.exposureCap) this.#init.onExposure?.(channelId);
      let done = false;
      return {
        ok: true,
        charge: async (messages: number): Promise<Charge> => {
          try {
            const cost = pageCost(price, messages);
            const newSpent = spent + cost;
            let settledAmount = account?.settledAmount ?? 0n;
            let settledSignature = account?.settledSignature ?? new Uint8Array(0);
            // The redeemer claims only a voucher within what was served: the one this page used if
            // the spending has reached it exactly, else the highest one it replaced that the
            // spending has caught up with.
            let replaced = earlier;
            if (!draw && account && account.authorizedAmount > settledAmount) {
              const voucher = { amount: account.authorizedAmount, signature: account.authorizedSignature };
              replaced = [...earlier, voucher].slice(-EARLIER_KEPT);
            }
            const reached = replaced.filter((e) => e.amount <= newSpent).at(-1);
            if (reached) {
              if (reached.amount > settledAmount) {
                settledAmount = reached.amount;
                settledSignature = reached.signature;
              }
              replaced = replaced.filter((e) => e.amount > newSpent);
            }
            if (paying.amount === newSpent && paying.amount > settledAmount) {
              settledAmount = paying.amount;
              settledSignature = paying.signature;
            }
            const next: ChannelAccount = {
              channelId: v.channelId,
              spent: newSpent,
              authorizedAmount: paying.amount,
              authorizedSignature: paying.signature,
              settledAmount,
              settledSignature,
              redeemed: account && account.redeemed > channel.paid ? account.redeemed : channel.paid,
              updatedAt: Date.now(),
            };
            const state = live ?? this.#adopt(channelId);
            const before = { account: state.account, earlier: state.earlier };
            state.account = next;
            state.earlier = replaced;
            if (draw) {
              this.#commitLater(state);
            } else {
              // A new voucher is committed, with the spent amount after its page, before the page.
              try {
                await this.#commit(state);
              } catch (err) {
                // Not served: the page is not charged and the voucher not taken.
                if (state.account === next) Object.assign(state, before);
                if (!state.written) this.#live.delete(channelId);
                throw err;
              }
            }
            return { cost, spent: newSpent };
          } finally {
            done = true;
            release();
          }
        },
        release: () => {
          if (!done) {
            done = true;
            release();
          }
        },
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Paid access on a ledger several nodes share (PostgreSQL). Nothing is kept in memory and queries
   * on one channel are not serialised: each query reads the channel's row, checks the voucher
   * against it and the chain as above, and its page's charge is one conditional statement
   * ({@link Ledger.charge}) that adds the cost only if the voucher still covers it. Any voucher the
   * channel's signer signed authorises spending up to its amount, so one below the highest accepted
   * (queries in flight arrive out of order, at different nodes) draws on the credit that is left
   * under it; one whose credit is used — on this node or another — is refused as a replay, by the
   * database. Every charge is committed before its page is sent: a crash loses nothing.
   */
  async #authorizeShared(
    channelId: Hex,
    v: NonNullable<StoreQuery["voucher"]>,
    amount: bigint,
    price: Awaited<ReturnType<ChainReader["price"]>>,
    maxCost: bigint,
    quote: (spent: bigint) => Quote,
  ): Promise<MeterDecision> {
    const { chain, ledger } = this.#init;
    const [channel, account] = await Promise.all([chain.channel(channelId), ledger.get(v.channelId)]);
    const spent = account?.spent ?? 0n;
    const refusal = (status: StatusCode, desc: string): Refusal => refuse(status, desc, quote(spent));
    if (channel.payer === ZERO)
      return refusal(StatusCode.INVALID_VOUCHER, "no such channel (not opened, or not confirmed yet)");
    if (channel.finalised) return refusal(StatusCode.INVALID_VOUCHER, "the channel is closed");
    if (channel.payee.toLowerCase() !== chain.settings.operator.toLowerCase())
      return refusal(StatusCode.INVALID_VOUCHER, "the channel pays another mailbox");
    const nowS = await chain.time();
    if (channel.closesAt !== 0n && channel.closesAt - nowS < BigInt(this.#init.closeSafetyMarginSeconds))
      return refusal(StatusCode.CHANNEL_CLOSING, "the channel is closing; open another");
    const known =
      account !== undefined &&
      amount === account.authorizedAmount &&
      bytesEqual(v.signature, account.authorizedSignature);
    if (!known) {
      try {
        await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
      } catch (err) {
        if (err instanceof InvalidVoucherError)
          return refusal(StatusCode.INVALID_VOUCHER, `voucher: ${err.reason}`);
        throw err;
      }
    }
    if (amount > channel.deposit)
      return refusal(
        StatusCode.INSUFFICIENT_FUNDS,
        `voucher of ${amount} exceeds the deposit of ${channel.deposit}; top up`,
      );
    const accepted = account?.authorizedAmount ?? 0n;
    const replayed = (left: bigint) =>
      `replayed voucher: ${left} of its credit is left, below this page's ${maxCost}; sign one past ${accepted > amount ? accepted : amount}`;
    if (amount < spent + maxCost) {
      if (amount <= accepted)
        return refusal(StatusCode.INVALID_VOUCHER, replayed(amount > spent ? amount - spent : 0n));
      return refusal(
        StatusCode.INSUFFICIENT_FUNDS,
        `voucher must cover ${spent} spent plus ${maxCost} for this page`,
      );
    }
    const highest = amount > accepted ? amount : accepted;
    if (highest - channel.paid > this.#init.exposureCap) {
      this.#init.onExposure?.(channelId);
      return refusal(StatusCode.RATE_LIMITED, "too much unredeemed credit on this channel; retry shortly");
    }
    if (amount > accepted && (amount - channel.paid) * 2n > this.#init.exposureCap)
      this.#init.onExposure?.(channelId);
    return {
      ok: true,
      charge: async (messages: number): Promise<Charge> => {
        const cost = pageCost(price, messages);
        const after = await ledger.charge!({
          channelId: v.channelId,
          amount,
          signature: v.signature,
          cost,
          paid: channel.paid,
          now: Date.now(),
        });
        if (!after) {
          // Drawn meanwhile by another query, here or on another node: the database said no.
          const now = await ledger.get(v.channelId);
          const spentNow = now?.spent ?? spent;
          throw new ChargeRefused(
            StatusCode.INVALID_VOUCHER,
            `replayed voucher: ${amount > spentNow ? amount - spentNow : 0n} of its credit is left, below this page's ${cost}; sign one past ${spentNow}`,
            quote(spentNow),
          );
        }
        return { cost, spent: after.spent };
      },
      release: () => undefined,
    };
  }

  async settle(args: { voucher: NonNullable<StoreQuery["voucher"]> }) {
    const { chain } = this.#init;
    const v = args.voucher;
    if (v.channelId.length !== 32 || v.cumulativeAmount.length > 32 || v.signature.length !== 65) {
      return { ok: false as const, status: StatusCode.INVALID_VOUCHER, desc: "malformed voucher" };
    }
    const channelId = `0x${toBareHex(v.channelId)}` as Hex;
    const amount = bytesToBigint(v.cumulativeAmount);
    if (this.#init.ledger.settle) return this.#settleShared(channelId, v, amount);
    const release = await this.#lock(channelId);
    try {
      const live = await this.#load(channelId, v.channelId);
      if (!live)
        return { ok: false as const, status: StatusCode.NOT_FOUND, desc: "nothing spent on this channel" };
      const account = live.account;
      if (amount !== account.spent) {
        return {
          ok: false as const,
          status: StatusCode.INVALID_VOUCHER,
          desc: `a settlement is for exactly ${account.spent}`,
        };
      }
      const previous = { account: live.account, earlier: live.earlier };
      if (amount > account.settledAmount) {
        const known =
          amount === account.authorizedAmount && bytesEqual(v.signature, account.authorizedSignature);
        if (!known) {
          const channel = await chain.channel(channelId);
          try {
            await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
          } catch (err) {
            if (err instanceof InvalidVoucherError)
              return {
                ok: false as const,
                status: StatusCode.INVALID_VOUCHER,
                desc: `voucher: ${err.reason}`,
              };
            throw err;
          }
        }
        live.account = {
          ...account,
          settledAmount: amount,
          settledSignature: v.signature,
          updatedAt: Date.now(),
        };
        live.earlier = live.earlier.filter((e) => e.amount > amount);
      }
      // Settled is committed before the answer, with everything drawn before it.
      try {
        await this.#commit(live);
      } catch (err) {
        if (live.account !== previous.account) Object.assign(live, previous); // not settled
        throw err;
      }
      return { ok: true as const, spent: account.spent };
    } finally {
      release();
    }
  }

  /** A settlement on a shared ledger: verified here, recorded by one conditional statement. */
  async #settleShared(channelId: Hex, v: NonNullable<StoreQuery["voucher"]>, amount: bigint) {
    const { chain, ledger } = this.#init;
    const account = await ledger.get(v.channelId);
    if (!account)
      return { ok: false as const, status: StatusCode.NOT_FOUND, desc: "nothing spent on this channel" };
    const wrong = (spent: bigint) => ({
      ok: false as const,
      status: StatusCode.INVALID_VOUCHER,
      desc: `a settlement is for exactly ${spent}`,
    });
    if (amount !== account.spent) return wrong(account.spent);
    if (amount <= account.settledAmount) return { ok: true as const, spent: account.spent };
    const known = amount === account.authorizedAmount && bytesEqual(v.signature, account.authorizedSignature);
    if (!known) {
      const channel = await chain.channel(channelId);
      try {
        await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
      } catch (err) {
        if (err instanceof InvalidVoucherError)
          return { ok: false as const, status: StatusCode.INVALID_VOUCHER, desc: `voucher: ${err.reason}` };
        throw err;
      }
    }
    const after = await ledger.settle!(v.channelId, amount, v.signature, Date.now());
    if (!after) return wrong((await ledger.get(v.channelId))?.spent ?? account.spent);
    return { ok: true as const, spent: after.spent };
  }

  /** The channel's state, from memory or the ledger (under the channel's lock). */
  async #load(key: string, channelId: Uint8Array): Promise<Live | undefined> {
    const known = this.#live.get(key);
    if (known) {
      // Most recently used last: idle channels are let go from the front.
      this.#live.delete(key);
      this.#live.set(key, known);
      return known;
    }
    const account = await this.#init.ledger.get(channelId);
    if (!account) return undefined;
    return this.#adopt(key, account);
  }

  #adopt(key: string, account?: ChannelAccount): Live {
    const live: Live = {
      account: account as ChannelAccount, // set by the caller when new
      written: account,
      earlier: [],
      writes: 0,
      timer: undefined,
    };
    this.#live.set(key, live);
    if (this.#live.size > LIVE_CHANNELS) {
      for (const [k, l] of this.#live) {
        if (this.#live.size <= LIVE_CHANNELS) break;
        if (l.account === l.written && l.writes === 0 && !this.#locks.has(k)) this.#live.delete(k);
      }
    }
    return live;
  }

  /** Hands the channel's account to the ledger (resolves once committed) unless it was already. */
  async #commit(live: Live): Promise<void> {
    if (live.timer) {
      clearTimeout(live.timer);
      live.timer = undefined;
    }
    const account = live.account;
    if (account === live.written) return;
    const before = live.written;
    live.written = account;
    live.writes++;
    try {
      await this.#init.ledger.put(account);
    } catch (err) {
      if (live.written === account) live.written = before;
      throw err;
    } finally {
      live.writes--;
    }
  }

  /** Commits the channel's draws `commitDelayMs` from now, unless something commits them first. */
  #commitLater(live: Live): void {
    if (live.timer || this.#closed) return;
    live.timer = setTimeout(() => {
      live.timer = undefined;
      // A failing ledger refuses the next voucher's commit, which is what reports it.
      this.#commit(live).catch(() => undefined);
    }, this.#commitDelayMs);
    live.timer.unref?.();
  }

  /** Serialises work on one channel. */
  async #lock(key: string): Promise<() => void> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let unlock!: () => void;
    const mine = new Promise<void>((r) => {
      unlock = r;
    });
    const tail = previous.then(() => mine);
    this.#locks.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      unlock();
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    };
  }
}

const ZERO = "0x0000000000000000000000000000000000000000";

function refuse(status: StatusCode, desc: string, quote: Quote): Refusal {
  return { ok: false, status, desc, quote };
}
