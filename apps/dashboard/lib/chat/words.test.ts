import { describe, expect, it } from "vitest";
import { conversationName, deliveredText, deliveryOf, failoverText, progressText } from "./words";

describe("chat words", () => {
  it("names conversations as people know them", () => {
    const contacts = new Map([[`02${"1".repeat(64)}`, "alice"]]);
    const groups = new Map([["abcd".repeat(8), "family"]]);
    expect(conversationName("room:x", contacts, groups)).toBe("#x");
    expect(conversationName(`dm:02${"1".repeat(64)}`, contacts, groups)).toBe("alice");
    expect(conversationName(`dm:03${"2".repeat(64)}`, contacts, groups)).toBe("0322222222…");
    expect(conversationName(`group:${"abcd".repeat(8)}`, contacts, groups)).toBe("family");
    expect(conversationName(`group:${"ef".repeat(16)}`, contacts, groups)).toBe("group efefefef…");
  });

  it("shows catch-up progress against the estimated total, then the count", () => {
    expect(progressText({ envelopes: 3_400, estimatedTotal: 10_012, fraction: 0.34 })).toBe(
      "3,400 of ≈ 10,012",
    );
    // An estimate below what already arrived is never shown.
    expect(progressText({ envelopes: 500, estimatedTotal: 400, fraction: 0.9 })).toBe("500 of ≈ 500");
    expect(progressText({ envelopes: 10_000, estimatedTotal: 10_000, fraction: 1 })).toBe("10,000");
  });

  it("says a failover in one line", () => {
    expect(failoverText("alpha", "beta", "cannot open /postbox/store/1: connection refused", true)).toBe(
      "mailbox alpha unreachable — using beta",
    );
    expect(failoverText("alpha", undefined, "spending cap reached", false)).toBe(
      "mailbox alpha not used (spending cap reached) — no other mailbox left",
    );
  });

  it("takes a sent message's state from the furthest source, never back", () => {
    const none = { receipts: [], sending: false };
    expect(deliveryOf(none)).toBeUndefined();
    expect(deliveryOf({ ...none, sending: true })).toEqual({
      state: "sending",
      storedBy: [],
      deliveredTo: [],
    });
    const notStored = {
      state: "not-stored" as const,
      storedBy: [],
      deliveredTo: [],
      error: "alpha: unreachable",
    };
    expect(deliveryOf({ ...none, record: notStored })).toEqual({ ...notStored });
    // A receipt in storage proves "stored", whatever an older record says.
    expect(
      deliveryOf({ ...none, record: notStored, receipts: [{ mailbox: "0xa", retainUntil: 5 }] }),
    ).toEqual({ state: "stored", storedBy: ["0xa"], deliveredTo: [], retainUntil: 5 });
    // A newer event moves it forward; an acknowledgement is "delivered" with the group's size.
    expect(
      deliveryOf({
        ...none,
        record: { state: "stored", storedBy: ["0xa"], deliveredTo: [] },
        event: { state: "delivered", storedBy: ["0xb"], deliveredTo: ["02cc"], members: 2 },
      }),
    ).toEqual({ state: "delivered", storedBy: ["0xa", "0xb"], deliveredTo: ["02cc"], members: 2 });
    expect(
      deliveryOf({
        ...none,
        record: { state: "delivered", storedBy: [], deliveredTo: ["02cc"] },
        event: { state: "stored", storedBy: [], deliveredTo: [] },
      })?.state,
    ).toBe("delivered");
  });

  it("counts deliveries in a group", () => {
    expect(deliveredText(1, undefined, false)).toBe("delivered");
    expect(deliveredText(1, 2, true)).toBe("delivered to 1 of 2");
    expect(deliveredText(3, undefined, true)).toBe("delivered to 3");
  });
});
