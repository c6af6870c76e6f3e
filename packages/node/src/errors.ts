/** Parameters every mailbox-node error takes. */
export interface BaseErrorParameters {
  details?: string;
  cause?: unknown;
}

/** The base of every error `@postbox/node` throws: a short message, details and the cause. */
export class BaseError extends Error {
  override name = "PostboxNodeError";
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(shortMessage: string, args: BaseErrorParameters = {}) {
    super(
      args.details ? `${shortMessage}\nDetails: ${args.details}` : shortMessage,
      args.cause === undefined ? undefined : { cause: args.cause },
    );
    this.shortMessage = shortMessage;
    this.details = args.details;
  }
}

/** A configuration value is missing or invalid; `setting` names it. */
export class ConfigError extends BaseError {
  override name = "ConfigError" as const;
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`invalid setting ${setting}: ${problem}`);
    this.setting = setting;
  }
}

/** The archive failed (I/O, database, corruption). */
export class ArchiveError extends BaseError {
  override name = "ArchiveError" as const;
  constructor(details: string, cause?: unknown) {
    super("Archive operation failed.", cause === undefined ? { details } : { details, cause });
  }
}

/**
 * The pino serializer for `err`: name, the short message and details (viem's and ours), a cause
 * chain and code, and the stack only for errors that are not described by a short message. A
 * failed JSON-RPC call logs one readable line, not its contract's whole ABI.
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
