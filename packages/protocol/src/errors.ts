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

/** A configuration value (a mailbox setting, a CLI flag) is missing or invalid; `setting` names it. */
export class ConfigError extends BaseError {
  override name = "ConfigError" as const;
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`invalid setting ${setting}: ${problem}`);
    this.setting = setting;
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
  | "amount out of range"
  | "malformed channel id";

/** An envelope is malformed, too large, or outside the accepted time window. */
export class InvalidEnvelopeError extends BaseError {
  override name = "InvalidEnvelopeError" as const;
  constructor(details: string) {
    super("Invalid envelope.", { details });
  }
}

/** A message could not be decrypted or its sender signature did not verify. */
export class DecryptionError extends BaseError {
  override name = "DecryptionError" as const;
  constructor(details: string, cause?: unknown) {
    super("Cannot open message.", cause === undefined ? { details } : { details, cause });
  }
}

/** A store receipt or a page commitment did not verify. */
export class InvalidSignatureError extends BaseError {
  override name = "InvalidSignatureError" as const;
  constructor(details: string) {
    super("Invalid mailbox signature.", { details });
  }
}

/**
 * The pino serializer for `err` (the mailbox's and the prober's): name, the short message and
 * details (viem's and ours), and the code; the stack and the cause chain only for errors that are
 * not described by a short message. A failed JSON-RPC call logs one readable line, not its
 * contract's whole ABI.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { shortMessage?: string; details?: string; code?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: e.shortMessage ?? e.message };
  if (e.details) out.details = e.details;
  if (e.code !== undefined) out.code = e.code;
  if (e.shortMessage === undefined && e.stack) out.stack = e.stack;
  if (e.cause !== undefined && e.shortMessage === undefined) out.cause = serializeError(e.cause);
  return out;
}
