import type { DeliveryState } from "../storage/types.js";

/** Progress of a catch-up, reported after every page. */
export interface CatchUpProgress {
  feed: string;
  /** The mailbox that served the page. */
  mailbox: string;
  /** Pages from that mailbox so far. */
  pages: number;
  /** Distinct envelopes received so far (every mailbox). */
  envelopes: number;
  /** How far through the missed time span, 0..1. */
  fraction: number;
  /**
   * The envelopes the whole catch-up will bring, estimated from the time covered so far
   * (`envelopes / fraction`; `envelopes` once done): "3,400 of ≈ 10,000".
   */
  estimatedTotal: number;
}

/**
 * What a client reports as it happens, for an app to show (the SDK never logs):
 * - `message-state`: a sent message went `sending → stored → delivered` (or `not-stored`);
 * - `mailbox`: a mailbox was reached (with its round-trip time), could not be reached (also when
 *   none of its addresses can be dialled from here: `error` says why), or was graylisted after
 *   failing twice in a row (`until`, ms);
 * - `failover`: a feed's catch-up moved from one mailbox to the next (`to` undefined: none was left);
 * - `catch-up`: a page of a feed's catch-up was saved.
 */
export type ClientEvent =
  | {
      type: "message-state";
      messageId: string;
      state: DeliveryState;
      /** The mailboxes (ids) that store it. */
      storedBy: string[];
      /** The identities (hex) that acknowledged it. */
      deliveredTo: string[];
      error?: string;
      /** The conversation it was sent to. */
      conversation?: string;
      /** In a group: M of "delivered to N of M" (the other members known when it was sent). */
      members?: number;
      /** The message id of the copy this one replaces (a retry that sealed it again). */
      replaces?: string;
    }
  | {
      type: "mailbox";
      mailbox: string;
      state: "connected" | "unreachable" | "graylisted";
      rttMs?: number;
      until?: number;
      error?: string;
    }
  | { type: "failover"; feed: string; from: string; to: string | undefined; reason: string }
  | { type: "catch-up"; progress: CatchUpProgress };

/** A set of listeners: `add` returns the remover. */
export class Listeners<E> {
  readonly #set = new Set<(event: E) => void>();

  add(listener: (event: E) => void): () => void {
    this.#set.add(listener);
    return () => this.#set.delete(listener);
  }

  emit(event: E): void {
    for (const l of this.#set) l(event);
  }
}
