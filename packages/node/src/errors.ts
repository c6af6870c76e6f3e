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
