import { mailboxRegistryAbi, paymentChannelsAbi } from "@postbox/contracts";
import type { Address, Hex, PublicClient } from "viem";

export interface ChannelState {
  payer: Address;
  payee: Address;
  signer: Address;
  deposit: bigint;
  paid: bigint;
  /** 0 when no close is pending (seconds since the epoch otherwise). */
  closesAt: bigint;
  finalised: boolean;
}

export interface PriceState {
  pricePerQuery: bigint;
  pricePerMessage: bigint;
  pendingPricePerQuery: bigint;
  pendingPricePerMessage: bigint;
  priceEffectiveAt: bigint;
  status: number;
}

export interface ChainSettings {
  chainId: number;
  registry: Address;
  channels: Address;
  /** The mailbox's on-chain address: its registry entry and the payee of its channels. */
  operator: Address;
}

/**
 * Reads what metering needs from the chain, with short caches: a channel's state for
 * `channelTtlMs` (a close request is caught by the redeemer's event watch and, at worst, after the
 * TTL — far inside the close grace), and the effective price for `priceTtlMs` (increases are
 * announced `priceDelay` ahead).
 */
export class ChainReader {
  readonly settings: ChainSettings;
  readonly client: PublicClient;
  readonly #channelTtlMs: number;
  readonly #priceTtlMs: number;
  readonly #channels = new Map<string, { at: number; state: Promise<ChannelState> }>();
  #price: { at: number; state: Promise<PriceState> } | undefined;
  #time: { readAt: number; timestamp: bigint } | undefined;

  constructor(
    client: PublicClient,
    settings: ChainSettings,
    options: { channelTtlMs?: number; priceTtlMs?: number } = {},
  ) {
    this.client = client;
    this.settings = settings;
    this.#channelTtlMs = options.channelTtlMs ?? 3_000;
    this.#priceTtlMs = options.priceTtlMs ?? 5_000;
  }

  /**
   * Drops the cached price as soon as the operator announces a change, so a decrease (effective at
   * once) is charged from the next query on. Returns the function that stops watching.
   */
  watchPrice(onError: (err: Error) => void): () => void {
    return this.client.watchContractEvent({
      address: this.settings.registry,
      abi: mailboxRegistryAbi,
      eventName: "PriceAnnounced",
      args: { operator: this.settings.operator },
      onLogs: () => {
        this.#price = undefined;
      },
      onError,
    });
  }

  channel(id: Hex, fresh = false): Promise<ChannelState> {
    const cached = this.#channels.get(id);
    if (!fresh && cached && Date.now() - cached.at < this.#channelTtlMs) return cached.state;
    const state = this.client
      .readContract({
        address: this.settings.channels,
        abi: paymentChannelsAbi,
        functionName: "getChannel",
        args: [id],
      })
      .then((c) => ({
        payer: c.payer,
        payee: c.payee,
        signer: c.signer,
        deposit: c.deposit,
        paid: c.paid,
        closesAt: BigInt(c.closesAt),
        finalised: c.finalised,
      }));
    state.catch(() => this.#channels.delete(id));
    this.#channels.set(id, { at: Date.now(), state });
    if (this.#channels.size > 10_000) this.#channels.delete(this.#channels.keys().next().value!);
    return state;
  }

  /**
   * The chain's time (seconds): the latest block's timestamp plus the wall time since it was read.
   * Close deadlines are enforced by block time, so they are judged by it too.
   */
  async time(): Promise<bigint> {
    if (!this.#time || Date.now() - this.#time.readAt > 1_000) {
      const block = await this.client.getBlock({ blockTag: "latest" });
      this.#time = { readAt: Date.now(), timestamp: block.timestamp };
    }
    return this.#time.timestamp + BigInt(Math.floor((Date.now() - this.#time.readAt) / 1000));
  }

  /** Forgets a channel's cached state (after a top-up, a close, a redemption). */
  invalidate(id: Hex): void {
    this.#channels.delete(id);
  }

  price(): Promise<PriceState> {
    if (this.#price && Date.now() - this.#price.at < this.#priceTtlMs) return this.#price.state;
    const state = this.client
      .readContract({
        address: this.settings.registry,
        abi: mailboxRegistryAbi,
        functionName: "getMailbox",
        args: [this.settings.operator],
      })
      .then((m) => ({
        pricePerQuery: m.pricePerQuery,
        pricePerMessage: m.pricePerMessage,
        pendingPricePerQuery: m.pendingPricePerQuery,
        pendingPricePerMessage: m.pendingPricePerMessage,
        priceEffectiveAt: m.priceEffectiveAt,
        status: m.status,
      }));
    state.catch(() => {
      this.#price = undefined;
    });
    this.#price = { at: Date.now(), state };
    return state;
  }
}
