import type { PeerId } from "@libp2p/interface";
import type { Quote, StatusCode, StoreQuery } from "@postbox/protocol";

/** What a page cost and the channel's new cumulative total. */
export interface Charge {
  cost: bigint;
  spent: bigint;
}

export type MeterDecision =
  | {
      ok: true;
      /**
       * Records the charge for `messages` returned. Paid by a new voucher, it resolves once the
       * voucher and the charge are durably committed; drawn from the credit of one accepted before,
       * at once (the charge is committed later: see `ChannelMeter`).
       */
      charge(messages: number): Promise<Charge>;
      /** Releases a reservation when nothing is served (an error after authorisation). */
      release(): void;
    }
  | { ok: false; status: StatusCode; desc: string; quote?: Quote };

/**
 * Decides whether a store query is paid for. The free meter serves everything; the channel meter
 * (paid mode) checks the query's voucher and commits it with the charge.
 */
export interface QueryMeter {
  readonly mode: "free" | "paid";
  authorize(args: { peer: PeerId; query: StoreQuery; maxMessages: number }): Promise<MeterDecision>;
  /**
   * A settlement: a voucher for exactly what was spent, sent with a presence query when a client
   * is done, so that the mailbox can redeem exactly what it served (the last page is usually not
   * full, so the voucher that paid for it authorised more than it cost).
   */
  settle?(args: {
    voucher: NonNullable<StoreQuery["voucher"]>;
  }): Promise<{ ok: true; spent: bigint } | { ok: false; status: StatusCode; desc: string }>;
  /** Releases what the meter holds (worker threads). */
  close?(): Promise<void>;
}

/**
 * A charge refused after the query was authorised: on a ledger shared by several mailbox nodes
 * another node drew the channel's credit in between (the database's conditional update is the
 * judge). Nothing is served or charged; the store answers with `status`, `desc` and the quote.
 */
export class ChargeRefused extends Error {
  constructor(
    readonly status: StatusCode,
    readonly desc: string,
    readonly quote?: Quote,
  ) {
    super(desc);
    this.name = "ChargeRefused";
  }
}

/** Serves every query without charge: free mode, chosen by the operator or when no chain is configured. */
export class FreeMeter implements QueryMeter {
  readonly mode = "free" as const;
  async authorize(): Promise<MeterDecision> {
    return { ok: true, charge: async () => ({ cost: 0n, spent: 0n }), release: () => undefined };
  }
}
