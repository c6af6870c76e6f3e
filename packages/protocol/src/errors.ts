/** Parameters every Postbox protocol error takes. */
export interface BaseErrorParameters {
  details?: string;
  cause?: unknown;
  metaMessages?: string[];
}

/**
 * The base of every error `@postbox/protocol` throws: a short message for people, optional
 * details, and the cause. Libraries never log; they throw these.
 */
export class BaseError extends Error {
  override name = "PostboxProtocolError";
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(shortMessage: string, args: BaseErrorParameters = {}) {
    const message = [
      shortMessage,
      ...(args.metaMessages ?? []),
      args.details ? `Details: ${args.details}` : "",
    ]
      .filter(Boolean)
      .join("\n");
    super(message, args.cause === undefined ? undefined : { cause: args.cause });
    this.shortMessage = shortMessage;
    this.details = args.details;
  }
}

/** A voucher failed verification; `reason` says which rule it broke. */
export class InvalidVoucherError extends BaseError {
  override name = "InvalidVoucherError" as const;
  readonly reason: InvalidVoucherReason;

  constructor(reason: InvalidVoucherReason, details?: string) {
    super(`Invalid voucher: ${reason}.`, details === undefined ? {} : { details });
    this.reason = reason;
  }
}

export type InvalidVoucherReason =
  | "malformed signature"
  | "signature length"
  | "signature v"
  | "signature s"
  | "wrong signer"
  | "amount out of range";
