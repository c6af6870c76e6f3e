import { BaseError } from "../errors.js";

/** The client's storage failed: it could not be opened, or a write was refused (nothing of it was kept). */
export class StorageError extends BaseError {
  override name = "StorageError";
}

/** Another tab (or window) of this browser holds the storage open. */
export class StorageBusyError extends StorageError {
  override name = "StorageBusyError";
}

/** Wraps what a storage call threw as a {@link StorageError} (one line: what failed, and why). */
export function storageError(what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { name?: unknown; message?: unknown } | undefined;
  const why =
    typeof e?.message === "string" && e.message !== ""
      ? `${typeof e.name === "string" && e.name !== "Error" ? `${e.name}: ` : ""}${e.message.split("\n")[0]}`
      : String(err);
  return new StorageError(what, { details: why, cause: err });
}
