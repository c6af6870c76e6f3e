import { BaseError as ProtocolBaseError } from "@postbox/protocol";

/**
 * `ConfigError` and `serializeError` live in `@postbox/protocol` (the CLI's client commands and the
 * prober use them too); they are re-exported here so `@postbox/node` keeps exporting them.
 */
export { ConfigError, serializeError } from "@postbox/protocol";

/**
 * The base of every error `@postbox/node` throws: a short message, details and the cause. It is a
 * `@postbox/protocol` `BaseError`, so one `instanceof` check covers every Postbox error.
 */
export class BaseError extends ProtocolBaseError {
  override name = "PostboxNodeError";
}

/** The archive failed (I/O, database, corruption). */
export class ArchiveError extends BaseError {
  override name = "ArchiveError" as const;
  constructor(details: string, cause?: unknown) {
    super("Archive operation failed.", cause === undefined ? { details } : { details, cause });
  }
}
