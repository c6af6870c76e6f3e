import { BaseError as ProtocolBaseError, type StatusCode } from "@postbox/protocol";

/** The parameters every Postbox error takes (short message aside): details, cause, meta messages. */
export type { BaseErrorParameters } from "@postbox/protocol";

/**
 * The base of every error `@postbox/client` throws. The SDK never logs; it throws these. It is a
 * `@postbox/protocol` `BaseError`, so one `instanceof` check covers every Postbox error.
 */
export class BaseError extends ProtocolBaseError {
  override name = "PostboxClientError";
}

/** A mailbox answered with a non-OK status. */
export class MailboxStatusError extends BaseError {
  override name = "MailboxStatusError" as const;
  readonly status: StatusCode;
  readonly statusDesc: string;

  constructor(status: StatusCode, statusDesc: string, statusName: string) {
    super(`Mailbox refused: ${statusName}.`, { details: statusDesc });
    this.status = status;
    this.statusDesc = statusDesc;
  }
}

/** The mailbox could not be reached or the stream failed. */
export class MailboxUnreachableError extends BaseError {
  override name = "MailboxUnreachableError" as const;
  constructor(details: string, cause?: unknown) {
    super("Mailbox unreachable.", cause === undefined ? { details } : { details, cause });
  }
}

/**
 * A payment was refused by the client's own rules: a price above the chain's or the user's cap, a
 * channel that needs a top-up or is closing, no wallet for a paid mailbox. Not the mailbox's fault.
 */
export class PaymentRefusedError extends BaseError {
  override name = "PaymentRefusedError" as const;
}

/**
 * The client's own channel record does not hold on the chain it talks to (another chain, a chain
 * that was reset, a channel closed elsewhere): it was set aside as archived. Not the mailbox's fault.
 */
export class StaleChannelError extends BaseError {
  override name = "StaleChannelError" as const;
}
