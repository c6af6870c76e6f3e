/** A mailbox's prices, in token base units. */
export interface Price {
  pricePerQuery: bigint;
  pricePerMessage: bigint;
}

/** Cost of one page: `pricePerQuery + pricePerMessage × messages`. */
export function pageCost(price: Price, messages: number): bigint {
  if (!Number.isSafeInteger(messages) || messages < 0)
    throw new RangeError(`messages must be a count, got ${messages}`);
  return price.pricePerQuery + price.pricePerMessage * BigInt(messages);
}

/** The most a page of up to `pageSize` messages can cost: what a voucher must cover in advance. */
export function maxPageCost(price: Price, pageSize: number): bigint {
  return pageCost(price, pageSize);
}

/** A registry entry's prices: the current ones and any announced change (the contract's rule). */
export interface PricedEntry {
  pricePerQuery: bigint;
  pricePerMessage: bigint;
  pendingPricePerQuery: bigint;
  pendingPricePerMessage: bigint;
  /** When the announced prices apply (chain seconds; 0: none announced). */
  priceEffectiveAt: bigint | number;
}

/**
 * The price an entry charges at `now` (chain seconds) — an announced price once its time has come
 * — and the change still pending, if any. Matches `MailboxRegistry.effectivePrice`.
 */
export function effectivePrice(
  entry: PricedEntry,
  now: bigint | number,
): { price: Price; pending: (Price & { effectiveAt: number }) | undefined } {
  const at = Number(entry.priceEffectiveAt);
  const announced = {
    pricePerQuery: entry.pendingPricePerQuery,
    pricePerMessage: entry.pendingPricePerMessage,
  };
  if (at !== 0 && at <= Number(now)) return { price: announced, pending: undefined };
  return {
    price: { pricePerQuery: entry.pricePerQuery, pricePerMessage: entry.pricePerMessage },
    pending: at !== 0 ? { ...announced, effectiveAt: at } : undefined,
  };
}
