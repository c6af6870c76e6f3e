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
