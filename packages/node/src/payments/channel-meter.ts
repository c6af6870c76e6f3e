import {
  bigintToBytes,
  bytesToBigint,
  InvalidVoucherError,
  pageCost,
  type Quote,
  StatusCode,
  type StoreQuery,
  toHex,
} from "@postbox/protocol";
import type { Hex } from "viem";
import type { Charge, MeterDecision, QueryMeter } from "../meter.js";
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
}

type Refusal = { ok: false; status: StatusCode; desc: string; quote?: Quote };

/**
 * Paid access: every store query carries an EIP-712 voucher on a channel to this mailbox. A
 * voucher is accepted only if the channel is open on-chain and pays this operator, no close is due
 * within the safety margin, the signature is the channel's signer's (the same rules as the
 * contract), the amount is above every voucher accepted before, within the deposit, and covers the
 * page at its largest, and the unredeemed exposure stays under the cap. Queries on one channel are
 * serialised; the voucher and the charge are committed together before the page is sent.
 */
export class ChannelMeter implements QueryMeter {
  readonly mode = "paid" as const;
  readonly #init: ChannelMeterInit;
  readonly #locks = new Map<string, Promise<void>>();

  readonly #verifier: VoucherVerifier;

  constructor(init: ChannelMeterInit) {
    this.#init = init;
    this.#verifier = new VoucherVerifier({
      chainId: init.chain.settings.chainId,
      verifyingContract: init.chain.settings.channels,
    });
  }

  close(): Promise<void> {
    return this.#verifier.close();
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
    if (v.cumulativeAmount.length > 32 || v.signature.length !== 65) {
      // Every refusal on a known channel carries what the channel has spent.
      const known = await ledger.get(v.channelId);
      return refuse(StatusCode.INVALID_VOUCHER, "malformed voucher", quote(known?.spent ?? 0n));
    }
    const channelId = `0x${toHex(v.channelId)}` as Hex;
    const amount = bytesToBigint(v.cumulativeAmount);
    const release = await this.#lock(channelId);
    try {
      const channel = await chain.channel(channelId);
      const account = await ledger.get(v.channelId);
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
      try {
        await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
      } catch (err) {
        if (err instanceof InvalidVoucherError)
          return refusal(StatusCode.INVALID_VOUCHER, `voucher: ${err.reason}`);
        throw err;
      }
      if (account && amount <= account.authorizedAmount) {
        return refusal(
          StatusCode.INVALID_VOUCHER,
          `stale or replayed voucher: amounts must increase past ${account.authorizedAmount}`,
        );
      }
      if (amount > channel.deposit) {
        return refusal(
          StatusCode.INSUFFICIENT_FUNDS,
          `voucher of ${amount} exceeds the deposit of ${channel.deposit}; top up`,
        );
      }
      if (amount < spent + maxCost) {
        return refusal(
          StatusCode.INSUFFICIENT_FUNDS,
          `voucher must cover ${spent} spent plus ${maxCost} for this page`,
        );
      }
      if (amount - channel.paid > this.#init.exposureCap) {
        this.#init.onExposure?.(channelId);
        return refusal(StatusCode.RATE_LIMITED, "too much unredeemed credit on this channel; retry shortly");
      }
      if ((amount - channel.paid) * 2n > this.#init.exposureCap) this.#init.onExposure?.(channelId);
      let done = false;
      return {
        ok: true,
        charge: async (messages: number): Promise<Charge> => {
          try {
            const cost = pageCost(price, messages);
            const newSpent = spent + cost;
            // The redeemer claims only a voucher within what was served: this one if the page cost
            // all it authorised, else the previous one once the spending has caught up with it.
            let settledAmount = account?.settledAmount ?? 0n;
            let settledSignature = account?.settledSignature ?? new Uint8Array(0);
            if (amount === newSpent) {
              settledAmount = amount;
              settledSignature = v.signature;
            } else if (
              account &&
              account.authorizedAmount <= newSpent &&
              account.authorizedAmount > settledAmount
            ) {
              settledAmount = account.authorizedAmount;
              settledSignature = account.authorizedSignature;
            }
            const next: ChannelAccount = {
              channelId: v.channelId,
              spent: newSpent,
              authorizedAmount: amount,
              authorizedSignature: v.signature,
              settledAmount,
              settledSignature,
              redeemed: channel.paid,
              updatedAt: Date.now(),
            };
            await ledger.put(next);
            return { cost, spent: next.spent };
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

  async settle(args: { voucher: NonNullable<StoreQuery["voucher"]> }) {
    const { chain, ledger } = this.#init;
    const v = args.voucher;
    if (v.channelId.length !== 32 || v.cumulativeAmount.length > 32 || v.signature.length !== 65) {
      return { ok: false as const, status: StatusCode.INVALID_VOUCHER, desc: "malformed voucher" };
    }
    const channelId = `0x${toHex(v.channelId)}` as Hex;
    const amount = bytesToBigint(v.cumulativeAmount);
    const release = await this.#lock(channelId);
    try {
      const account = await ledger.get(v.channelId);
      if (!account)
        return { ok: false as const, status: StatusCode.NOT_FOUND, desc: "nothing spent on this channel" };
      if (amount !== account.spent) {
        return {
          ok: false as const,
          status: StatusCode.INVALID_VOUCHER,
          desc: `a settlement is for exactly ${account.spent}`,
        };
      }
      if (amount <= account.settledAmount) return { ok: true as const, spent: account.spent };
      const channel = await chain.channel(channelId);
      try {
        await this.#verifier.verify({ channelId, cumulativeAmount: amount }, v.signature, channel.signer);
      } catch (err) {
        if (err instanceof InvalidVoucherError)
          return { ok: false as const, status: StatusCode.INVALID_VOUCHER, desc: `voucher: ${err.reason}` };
        throw err;
      }
      await ledger.put({
        ...account,
        settledAmount: amount,
        settledSignature: v.signature,
        updatedAt: Date.now(),
      });
      return { ok: true as const, spent: account.spent };
    } finally {
      release();
    }
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
