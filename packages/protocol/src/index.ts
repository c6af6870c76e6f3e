/**
 * @packageDocumentation
 * The isomorphic core of Postbox, shared by the mailbox node, the client SDK, the prober and the
 * dashboard (browser and Node alike: no `node:` imports). Vouchers and price math here match the
 * contracts exactly.
 */

export {
  BaseError,
  type BaseErrorParameters,
  InvalidVoucherError,
  type InvalidVoucherReason,
} from "./errors.js";
export { maxPageCost, type Price, pageCost } from "./price.js";
export {
  computeChannelId,
  hashVoucher,
  MAX_AMOUNT,
  signVoucher,
  VOUCHER_DOMAIN_NAME,
  VOUCHER_DOMAIN_VERSION,
  type Voucher,
  type VoucherDomain,
  verifyVoucher,
  voucherDomain,
  voucherTypes,
} from "./vouchers.js";
