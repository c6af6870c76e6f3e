import { mailboxRegistryAbi, paymentChannelsAbi } from "@postbox/contracts";
import { encodeAbiParameters, encodeEventTopics, type Hex } from "viem";
import { describe, expect, it } from "vitest";
import { describeEvent, describeLog, metadataText } from "./events";

process.env.TZ = "UTC";
const SNT = 10n ** 18n;
const OP = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("contract events in words", () => {
  it("names a mailbox's evidence key, and its change, by short address", () => {
    const zero = "0x0000000000000000000000000000000000000000";
    const key = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    const first = describeEvent("EvidenceSignerSet", { operator: OP, previous: zero, signer: key });
    expect(first.title).toBe("Evidence key set");
    expect(first.details).toEqual([
      "key 0x3C44…93BC",
      "signs the mailbox's receipts and page commitments, which disputes check",
    ]);
    const changed = describeEvent("EvidenceSignerSet", { operator: OP, previous: key, signer: OP });
    expect(changed.details[0]).toBe(
      "key 0x3C44…93BC → 0x7099…79C8 (evidence the old key signed until now stays valid)",
    );
    expect([...first.details, ...changed.details].join(" ")).not.toMatch(/\d{10,}/);
  });

  it("writes registry amounts in SNT with the reference page, not in wei", () => {
    // Issue #17 point 12: "Price and stake history" showed raw wei.
    const e = describeEvent("PriceAnnounced", {
      operator: OP,
      oldPricePerQuery: SNT / 100n,
      oldPricePerMessage: SNT / 10_000n,
      newPricePerQuery: SNT / 20n,
      newPricePerMessage: SNT / 10_000n,
      effectiveAt: 1_700_000_060n,
    });
    expect(e.title).toBe("Price announced");
    expect(e.details).toEqual([
      "from 0.01 SNT per query + 0.0001 SNT per message (0.02 SNT per 100-message page)",
      "to 0.05 SNT per query + 0.0001 SNT per message (0.06 SNT per 100-message page)",
      "applies 2023-11-14 22:14",
    ]);
    expect(e.details.join(" ")).not.toMatch(/\d{10,}/);
    expect(
      describeEvent("StakeAdded", { operator: OP, from: OP, amount: 500n * SNT, stake: 1500n * SNT }).details,
    ).toEqual(["+500 SNT", "stake now 1,500 SNT"]);
    expect(
      describeEvent("MailboxRegistered", {
        operator: OP,
        peerId: "12D3KooWx",
        multiaddrs: ["/ip4/127.0.0.1/tcp/9"],
        metadataURI: "",
        stake: 1000n * SNT,
        pricePerQuery: SNT / 50n,
        pricePerMessage: 5n * 10n ** 13n,
        retention: 30n * 86_400n,
      }).details,
    ).toEqual([
      "stake 1,000 SNT",
      "0.02 SNT per query + 0.00005 SNT per message (0.025 SNT per 100-message page)",
      "retention 30 d 0 h",
      "peer 12D3KooWx",
      "at /ip4/127.0.0.1/tcp/9",
    ]);
  });

  it("shows a metadata URI briefly: an inline document by its kind, a long URL cut", () => {
    expect(metadataText("")).toBeUndefined();
    expect(
      metadataText(`data:application/json,${encodeURIComponent(JSON.stringify({ name: "alpha" }))}`),
    ).toBe("metadata inline (application/json)");
    expect(metadataText("https://example.org/m.json")).toBe("metadata https://example.org/m.json");
    expect(metadataText(`https://example.org/${"x".repeat(100)}`)).toHaveLength("metadata ".length + 80);
  });

  it("decodes a receipt's log of either contract, and skips others", () => {
    const channelId = `0x${"11".repeat(32)}` as Hex;
    const topics = encodeEventTopics({
      abi: paymentChannelsAbi,
      eventName: "Redeemed",
      args: { channelId, payee: OP },
    });
    const data = encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [SNT / 10n, SNT / 5n]);
    expect(describeLog({ topics: topics as [Hex, ...Hex[]], data })).toEqual({
      event: "Redeemed",
      title: "Redeemed",
      details: ["channel 0x1111…1111", "0.1 SNT paid to 0x7099…79C8", "0.2 SNT in total"],
    });
    const exit = encodeEventTopics({
      abi: mailboxRegistryAbi,
      eventName: "ExitRequested",
      args: { operator: OP },
    });
    const exitData = encodeAbiParameters(
      [{ type: "uint256" }, { type: "uint256" }],
      [1000n * SNT, 1_700_000_120n],
    );
    expect(describeLog({ topics: exit as [Hex, ...Hex[]], data: exitData })?.details).toEqual([
      "stake 1,000 SNT",
      "withdrawable 2023-11-14 22:15",
    ]);
    expect(describeLog({ topics: [`0x${"00".repeat(32)}`], data: "0x" })).toBeUndefined();
  });

  it("a slash with its dispute, reward and treasury share; a jail with its term; a new treasury", () => {
    // The registry's events since issue #20, decoded from logs as the chain encodes them.
    const log = (eventName: string, args: Record<string, unknown>, types: string[], values: unknown[]) => ({
      topics: encodeEventTopics({ abi: mailboxRegistryAbi, eventName, args } as never) as [Hex, ...Hex[]],
      data: encodeAbiParameters(
        types.map((type) => ({ type })),
        values,
      ),
    });
    const dispute = `0x${"d1".repeat(32)}` as Hex;
    expect(
      describeLog(
        log(
          "Slashed",
          { operator: OP, disputeId: dispute },
          ["uint256", "uint256", "uint256", "uint256"],
          [100n * SNT, 50n * SNT, 50n * SNT, 900n * SNT],
        ),
      ),
    ).toEqual({
      event: "Slashed",
      title: "Slashed",
      details: [
        "dispute 0xd1d1…d1d1",
        "100 SNT taken",
        "50 SNT reward to the disputes contract",
        "50 SNT to the treasury",
        "stake now 900 SNT",
      ],
    });
    expect(
      describeLog(log("Jailed", { operator: OP }, ["uint8", "uint256"], [1, 1_700_000_060n]))?.details,
    ).toEqual(["was active", "until 2023-11-14 22:14"]);
    // Jailed by a slash below the minimum, with no term.
    expect(describeLog(log("Jailed", { operator: OP }, ["uint8", "uint256"], [1, 0n]))?.details).toEqual([
      "was active",
      "no term: until the stake is back at the minimum",
    ]);
    expect(describeLog(log("Unjailed", { operator: OP }, [], []))).toMatchObject({
      title: "Unjailed",
      details: ["active again"],
    });
    expect(
      describeLog(
        log(
          "TreasuryScheduled",
          {},
          ["address", "address", "uint256"],
          [OP, "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", 1_700_000_060n],
        ),
      ),
    ).toEqual({
      event: "TreasuryScheduled",
      title: "Treasury change scheduled",
      details: [
        "from 0x7099…79C8",
        "to 0x9965…A4dc",
        "applies 2023-11-14 22:14",
        "receives the non-reward part of later slashes",
      ],
    });
  });
});
