import { BaseError as ViemError } from "viem";
import { describe, expect, it } from "vitest";
import { BaseError, ConfigError, serializeError } from "./errors.js";

describe("BaseError", () => {
  it("keeps the short message, the details and the cause", () => {
    const cause = new Error("disk full");
    const e = new BaseError("Archive operation failed.", { details: "append", cause });
    expect(e.message).toBe("Archive operation failed.\nDetails: append");
    expect(e.shortMessage).toBe("Archive operation failed.");
    expect(e.details).toBe("append");
    expect(e.cause).toBe(cause);
    expect(new BaseError("short").message).toBe("short");
    expect(new BaseError("short").cause).toBeUndefined();
  });

  it("ConfigError names the setting", () => {
    const e = new ConfigError("chain-id", "must be a positive integer");
    expect(e).toBeInstanceOf(BaseError);
    expect(e.name).toBe("ConfigError");
    expect(e.setting).toBe("chain-id");
    expect(e.message).toBe("invalid setting chain-id: must be a positive integer");
  });
});

describe("serializeError", () => {
  it("logs a short-message error as one line: type, message, details, code; no stack or cause", () => {
    const e = Object.assign(
      new BaseError("Archive operation failed.", { details: "append", cause: new Error("x") }),
      {
        code: "EIO",
      },
    );
    expect(serializeError(e)).toEqual({
      type: "PostboxProtocolError",
      message: "Archive operation failed.",
      details: "append",
      code: "EIO",
    });
  });

  it("logs viem's short message and details, not its whole message", () => {
    const e = new ViemError("Execution reverted.", {
      details: "NotOpen()",
      metaMessages: ["a long ABI dump"],
    });
    const out = serializeError(e);
    expect(out.message).toBe("Execution reverted.");
    expect(out.details).toBe("NotOpen()");
    expect(JSON.stringify(out)).not.toContain("a long ABI dump");
    expect(out.stack).toBeUndefined();
  });

  it("logs a plain error with its stack and cause chain", () => {
    const e = Object.assign(new Error("outer", { cause: new TypeError("inner") }), { code: 7 });
    const out = serializeError(e);
    expect(out).toMatchObject({ type: "Error", message: "outer", code: 7 });
    expect(out.stack).toContain("outer");
    expect(out.cause).toMatchObject({ type: "TypeError", message: "inner" });
    expect(serializeError("a string")).toEqual({ message: "a string" });
  });
});
