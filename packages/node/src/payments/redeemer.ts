import { paymentChannelsAbi } from "@postbox/contracts";
import { toHex } from "@postbox/protocol";
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

/**
 * Collects what the mailbox earned: it redeems settled vouchers on-chain when enough has built
 * up, at once for a channel whose payer asked to close, and everything on shutdown. It retries on
 * the next pass after a failure and logs every redemption with its transaction hash.
 */
export class Redeemer {
  readonly #init: RedeemerInit;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  #running: Promise<number> | undefined;
  readonly #urgent = new Set<string>();

  constructor(init: RedeemerInit) {
    this.#init = init;
  }

  start(): void {
    this.#timer = setInterval(() => void this.run("interval"), this.#init.intervalMs);
    this.#timer.unref();
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

  /** Stops watching and redeems everything that is left. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#unwatch?.();
    await this.#running;
    await this.run("shutdown", true);
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
    const due = accounts.filter((a) => {
      const id = `0x${toHex(a.channelId)}`;
      return all || this.#urgent.has(id) || a.settledAmount - a.redeemed >= this.#init.minAmount;
    });
    let redeemed = 0;
    for (let i = 0; i < due.length; i += this.#init.batch ?? 20) {
      const slice = due.slice(i, i + (this.#init.batch ?? 20));
      const entries = slice.map((a) => ({
        channelId: `0x${toHex(a.channelId)}` as Hex,
        cumulativeAmount: a.settledAmount,
        signature: `0x${toHex(a.settledSignature)}` as Hex,
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
}

function fromHexId(id: Hex): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(id.slice(2 + i * 2, 4 + i * 2), 16);
  return out;
}
