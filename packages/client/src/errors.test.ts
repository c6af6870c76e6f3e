import { BaseError as ProtocolBaseError, StatusCode } from "@postbox/protocol";
import { describe, expect, it } from "vitest";
import { BaseError, MailboxStatusError, MailboxUnreachableError, PaymentRefusedError } from "./errors.js";

describe("the client's errors", () => {
  it("are @postbox/protocol BaseErrors with their own names and the same message shape", () => {
    const cause = new Error("ECONNREFUSED");
    const e = new MailboxUnreachableError("dial failed", cause);
    expect(e).toBeInstanceOf(BaseError);
    expect(e).toBeInstanceOf(ProtocolBaseError);
    expect(e.name).toBe("MailboxUnreachableError");
    expect(e.message).toBe("Mailbox unreachable.\nDetails: dial failed");
    expect(e.shortMessage).toBe("Mailbox unreachable.");
    expect(e.details).toBe("dial failed");
    expect(e.cause).toBe(cause);
    expect(new BaseError("no such mailbox").name).toBe("PostboxClientError");
    expect(new PaymentRefusedError("over your cap").message).toBe("over your cap");
    expect(
      new MailboxStatusError(StatusCode.PAYMENT_REQUIRED, "pay first", "PAYMENT_REQUIRED").statusDesc,
    ).toBe("pay first");
  });
});
