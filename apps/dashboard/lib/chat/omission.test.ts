import { describe, expect, it } from "vitest";
import { gapNotices, gapText, proofConversation, proofShownIn, proofText, provedText } from "./omission";

const SNT = 10n ** 18n;
const BETA = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
const ME = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";

describe("the chat's words for a mailbox that left messages out", () => {
  it("names the mailbox and counts what it did not return, and what it admits holding", () => {
    expect(gapText("beta", 0, 1)).toBe(
      "Mailbox beta did not return 1 message another mailbox had (1 it admits holding)",
    );
    expect(gapText("beta", 1_200, 3)).toBe(
      "Mailbox beta did not return 1,203 messages another mailbox had (3 it admits holding)",
    );
    expect(gapText("gamma", 2, 0)).toBe(
      "Mailbox gamma did not return 2 messages another mailbox had (0 it admits holding)",
    );
  });

  it("writes a notice per feed and mailbox that left something out, into its conversation", () => {
    const label = (m: string) => (m === BETA ? "beta" : m);
    const notices = gapNotices(
      [
        { feed: "room:x", gaps: [{ mailbox: BETA, missing: [], omitted: ["e1"], proved: ["e1"] }] },
        // A mailbox that returned everything: no notice.
        { feed: "room:y", gaps: [{ mailbox: BETA, missing: [], omitted: [], proved: [] }] },
        { feed: "inbox", gaps: [{ mailbox: "alpha", missing: ["e2", "e3"], omitted: [], proved: [] }] },
        { feed: "group:ab", gaps: [] },
      ],
      label,
      "dm:02aa",
      1_000,
      7,
    );
    expect(notices).toEqual([
      {
        id: 7,
        at: 1_000,
        conversation: "room:x",
        feed: "room:x",
        mailbox: BETA,
        missing: 0,
        omitted: 1,
        proved: 1,
        text: "Mailbox beta did not return 1 message another mailbox had (1 it admits holding)",
      },
      {
        id: 8,
        at: 1_000,
        // The inbox's gaps go to the conversation open, as its failovers do.
        conversation: "dm:02aa",
        feed: "inbox",
        mailbox: "alpha",
        missing: 2,
        omitted: 0,
        proved: 0,
        text: "Mailbox alpha did not return 2 messages another mailbox had (0 it admits holding)",
      },
    ]);
  });

  it("offers a kept proof with what it does and that it costs gas", () => {
    expect(proofText("beta", "presence")).toBe(
      "An omission proof is kept: beta said it held this message and left it out again. Proving it on-chain slashes beta's stake and pays you a reward; it costs gas.",
    );
    expect(proofText("beta", "receipt")).toMatch(
      /^An omission proof is kept: beta gave a receipt for this message and left it out of a page\. .* it costs gas\.$/,
    );
  });

  it("says what an upheld proof did: the slash, the reward and to whom, the jail term", () => {
    const outcome = { slashed: 100n * SNT, reward: 50n * SNT, challenger: ME, jailedUntil: 0n };
    expect(provedText("beta", outcome, ME.toLowerCase())).toBe(
      "Proved on-chain: beta's stake was slashed by 100 SNT; 50 SNT reward paid to you.",
    );
    expect(provedText("beta", outcome, undefined)).toBe(
      `Proved on-chain: beta's stake was slashed by 100 SNT; 50 SNT reward paid to ${ME}.`,
    );
    expect(provedText("beta", { ...outcome, slashed: 0n, reward: 0n, jailedUntil: 1_700_000_000n }, ME)).toBe(
      "Proved on-chain: beta's stake was not slashed (its slash allowance for this period was used up); 0 SNT reward paid to you; it is jailed until 2023-11-14 22:13 UTC.",
    );
  });

  it("shows a kept proof in the conversation of its topic; the inbox's in direct conversations", () => {
    const feeds = [
      { feed: "inbox", topic: "/postbox/1/inbox-02aa/proto" },
      { feed: "room:x", topic: "/postbox/1/room-x/proto" },
    ];
    expect(proofConversation("/postbox/1/room-x/proto", feeds)).toBe("room:x");
    expect(proofConversation("/postbox/1/inbox-02aa/proto", feeds)).toBe("inbox");
    expect(proofConversation("/postbox/1/room-left/proto", feeds)).toBeUndefined();
    expect(proofShownIn("room:x", "room:x")).toBe(true);
    expect(proofShownIn("room:x", "room:y")).toBe(false);
    expect(proofShownIn("inbox", "dm:02bb")).toBe(true);
    expect(proofShownIn("inbox", "room:x")).toBe(false);
    expect(proofShownIn(undefined, "room:x")).toBe(false);
  });
});
