import { paymentChannelsAbi } from "@postbox/contracts";
import { toBareHex } from "@postbox/protocol";
import type { Logger } from "pino";
import type { Account, Chain, Hex, Transport, WalletClient } from "viem";
import type { ChainReader } from "./chain.js";
import type { ChannelAccount, Ledger } from "./ledger.js";

export interface RedeemerInit {
  chain: ChainReader;
  ledger: Ledger;
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  log: Logger;
  /**
   * Claim a channel once this much (token base units) is redeemable: set it so that the gas of a
   * redemption is a small share of it at your network's prices.
   */
  minAmount: bigint;
  /** How often to look (ms). */
  intervalMs: number;
  /** At most this many channels per `redeemMany` transaction. */
  batch?: number;
}

/** Concurrent `getChannel` reads of a pass. */
export const STATE_READS_AT_ONCE = 8;

/**
 * Collects what the mailbox earned: it redeems settled vouchers on-chain when enough has built
 * up, at once for a channel whose payer asked to close, and everything on shutdown. It retries on
 * the next pass after a failure and logs every redemption with its transaction hash.
 *
 * Close requests reach it two ways. The `CloseRequested` watch is the fast path, but it starts at
 * the current block and can fail, so a request made while the mailbox was down, or while the watch
 * was failing, would be missed and the payer would withdraw everything after `closesAt`. So every
 * pass (the first one at start, then every `intervalMs`) also reads the on-chain state of each
 * channel that holds an unredeemed settled voucher, and redeems at once those whose close is
 * pending: one `getChannel` call per such channel per pass, {@link STATE_READS_AT_ONCE} at a time.
 *
 * The same read sets aside what cannot be redeemed: a channel finalised before it was redeemed
 * (its value is lost), and one that does not exist on this chain or pays another operator (the
 * ledger holds vouchers of another chain or deployment, say a restarted local chain). Those stay
 * in the ledger, are logged once, and are not sent to `redeemMany` pass after pass, which would
 * spend gas on redemptions the contract can only skip.
 */
export class Redeemer {
  readonly #init: RedeemerInit;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  #running: Promise<number> | undefined;
  readonly #urgent = new Set<string>();
  /** Channels that cannot be redeemed here (finalised, or not on this chain): warned about once. */
  readonly #unredeemable = new Set<string>();

  constructor(init: RedeemerInit) {
    this.#init = init;
  }

  start(): void {
    this.#timer = setInterval(() => void this.run("interval"), this.#init.intervalMs);
    this.#timer.unref();
    // Close requests made while the mailbox was down are found by this first pass.
    void this.run("start");
    this.#unwatch = this.#init.chain.client.watchContractEvent({
      address: this.#init.chain.settings.channels,
      abi: paymentChannelsAbi,
      eventName: "CloseRequested",
      onLogs: (logs) => {
        for (const l of logs) if (l.args.channelId) this.urgent(l.args.channelId);
      },
      onError: (err) =>
        this.#init.log.warn({ err }, "watching close requests failed; relying on the interval"),
    });
  }

  /** Redeems this channel on the next pass regardless of the amount (its payer is closing). */
  urgent(channelId: Hex): void {
    this.#urgent.add(channelId.toLowerCase());
    this.#init.chain.invalidate(channelId);
    void this.run("close requested");
  }

  /**
   * Stops watching and redeems everything that is left; with `final` false, only stops (another
   * node of the mailbox has taken over the redeemer).
   */
  async stop(final = true): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#running;
    if (final) await this.run("shutdown", true);
  }

  /** One pass; resolves with how many channels were redeemed. */
  async run(reason: string, all = false): Promise<number> {
    if (this.#running) return this.#running;
    this.#running = this.#pass(reason, all).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(reason: string, all: boolean): Promise<number> {
    const { ledger, wallet, chain, log } = this.#init;
    let accounts: ChannelAccount[];
    try {
      accounts = await ledger.redeemable();
    } catch (err) {
      log.error({ err }, "cannot read the ledger");
      return 0;
    }
    const due = (await this.#redeemableHere(accounts)).filter((a) => {
      const id = `0x${toBareHex(a.channelId)}`;
      return all || this.#urgent.has(id) || a.settledAmount - a.redeemed >= this.#init.minAmount;
    });
    let redeemed = 0;
    for (let i = 0; i < due.length; i += this.#init.batch ?? 20) {
      const slice = due.slice(i, i + (this.#init.batch ?? 20));
      const entries = slice.map((a) => ({
        channelId: `0x${toBareHex(a.channelId)}` as Hex,
        cumulativeAmount: a.settledAmount,
        signature: `0x${toBareHex(a.settledSignature)}` as Hex,
      }));
      try {
        const hash = await wallet.writeContract({
          address: chain.settings.channels,
          abi: paymentChannelsAbi,
          functionName: "redeemMany",
          args: [entries],
          chain: wallet.chain,
        });
        const receipt = await chain.client.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new Error(`redeemMany ${hash} reverted`);
        for (const e of entries) {
          chain.invalidate(e.channelId);
          const state = await chain.channel(e.channelId, true);
          await ledger.markRedeemed(fromHexId(e.channelId), state.paid);
          this.#urgent.delete(e.channelId.toLowerCase());
          log.info(
            {
              channelId: e.channelId,
              amount: e.cumulativeAmount.toString(),
              paid: state.paid.toString(),
              tx: hash,
              reason,
            },
            "redeemed",
          );
        }
        redeemed += entries.length;
      } catch (err) {
        log.warn({ err, channels: entries.length, reason }, "redemption failed; will retry");
      }
    }
    return redeemed;
  }

  /**
   * The accounts among `accounts` that this chain can still redeem, read fresh (not from the
   * cache); those whose close is pending are marked urgent. A channel that is finalised, does not
   * exist here or pays another operator is left out and logged once; one whose state cannot be
   * read is kept (the redemption itself will tell).
   */
  async #redeemableHere(accounts: ChannelAccount[]): Promise<ChannelAccount[]> {
    const { chain, log } = this.#init;
    const operator = chain.settings.operator.toLowerCase();
    const kept: ChannelAccount[] = [];
    const candidates = accounts.filter((a) => !this.#unredeemable.has(`0x${toBareHex(a.channelId)}`));
    let next = 0;
    const reader = async () => {
      while (next < candidates.length) {
        const a = candidates[next++]!;
        const id = `0x${toBareHex(a.channelId)}` as Hex;
        let state: Awaited<ReturnType<ChainReader["channel"]>>;
        try {
          state = await chain.channel(id, true);
        } catch (err) {
          log.warn({ err, channelId: id }, "cannot read a channel's state; will retry");
          kept.push(a);
          continue;
        }
        const unredeemed = (a.settledAmount - a.redeemed).toString();
        if (state.payer === ZERO || state.payee.toLowerCase() !== operator) {
          this.#unredeemable.add(id);
          log.warn(
            { channelId: id, unredeemed },
            "the ledger holds vouchers of a channel this chain does not have (another chain or deployment); not redeemed",
          );
        } else if (state.finalised) {
          this.#unredeemable.add(id);
          log.warn(
            { channelId: id, unredeemed },
            "channel finalised before its settled vouchers were redeemed",
          );
        } else {
          if (state.closesAt !== 0n && !this.#urgent.has(id.toLowerCase())) {
            this.#urgent.add(id.toLowerCase());
            log.info({ channelId: id, closesAt: state.closesAt.toString() }, "close request found on-chain");
          }
          kept.push(a);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATE_READS_AT_ONCE, candidates.length) }, reader));
    return kept;
  }
}

const ZERO = "0x0000000000000000000000000000000000000000";

function fromHexId(id: Hex): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(id.slice(2 + i * 2, 4 + i * 2), 16);
  return out;
}
