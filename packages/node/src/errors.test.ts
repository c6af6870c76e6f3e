import { BaseError as ProtocolBaseError, ConfigError as ProtocolConfigError } from "@postbox/protocol";
import { describe, expect, it } from "vitest";
import { ArchiveError, BaseError, ConfigError } from "./errors.js";

describe("the node's errors", () => {
  it("are @postbox/protocol BaseErrors with their own names and the same message shape", () => {
    const cause = new Error("SQLITE_FULL");
    const e = new ArchiveError("append", cause);
    expect(e).toBeInstanceOf(BaseError);
    expect(e).toBeInstanceOf(ProtocolBaseError);
    expect(e.name).toBe("ArchiveError");
    expect(e.message).toBe("Archive operation failed.\nDetails: append");
    expect(e.shortMessage).toBe("Archive operation failed.");
    expect(e.details).toBe("append");
    expect(e.cause).toBe(cause);
    expect(new BaseError("cannot read the peer key").name).toBe("PostboxNodeError");
    expect(ConfigError).toBe(ProtocolConfigError);
  });
});
